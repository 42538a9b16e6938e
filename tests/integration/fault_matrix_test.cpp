// The fault matrix (docs/reliability.md): each fault a server or the network can commit, over
// HTTP/1.1 and HTTP/2, plain and TLS, with its exact typed error and a bound on the time it
// took; after each, the next request on the same transport succeeds on a new connection and no
// connection is left open but that one. A POST that may have reached the server is never
// sent twice, whatever the fault (the server's log of requests says so).
//
// The HTTP/2 side is served by hand (tests/support/h2_peer.hpp), so a test sends exact frames:
// a frame cut by a reset, a body past its content-length, floods, a window overflow, a stream
// id used twice.
#include "integration/client.hpp"
#include "integration/wires.hpp"
#include "support/h2_peer.hpp"
#include "support/servers.hpp"
#include "support/test_server.hpp"

#include <nector/http/errors.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <tuple>

namespace nector::test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using http::Timeout;

/// What a faulty connection does after it has read one request (HTTP/1.1) or opened the
/// session and read one request on stream `id` (HTTP/2).
using H1Fault = std::function<asio::awaitable<void>(TestConnection&)>;
using H2Fault = std::function<asio::awaitable<void>(TestConnection&, h2::Peer&, std::uint32_t)>;

struct Fault {
    std::string name;
    H1Fault h1;    // empty: no HTTP/1.1 form
    H2Fault h2;    // empty: no HTTP/2 form
    errc expected; // the call's error
    std::string says;
    Timeout timeout{};          // the call's timeouts (the rest default)
    Clock::duration bound = 3s; // the call ends within this
    /// HTTP/2: the fault ends one stream, not the connection, which stays in use (a stream
    /// error, a timeout on a server still framing correctly).
    bool h2_keeps_connection = false;
};

Options options_for(Wire w, const Timeout& timeout) {
    Options o;
    o.timeout = timeout;
    if (is_tls(w)) o.tls.ca_file = certificates().ca_cert.string();
    if (w == Wire::h2c) o.http2_prior_knowledge = true;
    if (w == Wire::h2_tls) o.http2 = true;
    return o;
}

std::string h2_ok(std::uint32_t id) {
    h2::Fields fields{{":status", "200"}, {"content-length", "2"}};
    return h2::headers_frame(id, fields, false) + h2::frame(h2::data, h2::end_stream, id, "ok");
}

/// Answers every further request with 200 "ok" until the client leaves.
asio::awaitable<void> h2_serve_rest(h2::Peer& peer) {
    try {
        for (;;) {
            const std::uint32_t id = co_await peer.read_request();
            if (id == 0) co_return;
            co_await peer.send(h2_ok(id));
        }
    } catch (const boost::system::system_error&) {
        // the client left (or the fault reset the connection)
    }
}

asio::awaitable<void> h2_answer_ok(TestConnection& c) {
    h2::Peer peer(c);
    co_await peer.open();
    co_await h2_serve_rest(peer);
}

/// A server whose connections commit `fault` (all of them, or only the first), the others
/// answering 200 "ok".
std::unique_ptr<TestServer> serve(Wire w, const Fault& fault, bool every_connection) {
    auto handler = [w, fault, every_connection](TestConnection& c) -> asio::awaitable<void> {
        const bool faulty = every_connection || c.index() == 0;
        if (!is_h2(w)) {
            auto request = co_await c.read_request();
            if (!request) co_return;
            if (faulty) {
                co_await fault.h1(c);
                co_return;
            }
            co_await c.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
            auto next = co_await c.read_request(); // until the client closes
            (void)next;
            co_return;
        }
        if (!faulty) {
            co_await h2_answer_ok(c);
            co_return;
        }
        h2::Peer peer(c);
        co_await peer.open();
        const std::uint32_t id = co_await peer.read_request();
        if (id == 0) co_return;
        co_await fault.h2(c, peer, id);
        co_await h2_serve_rest(peer);
    };
    if (!is_tls(w)) return std::make_unique<TestServer>(handler);
    const auto& pki = certificates();
    return std::make_unique<TestServer>(handler, TlsFiles{.certificate_chain = pki.server_cert,
                                                          .private_key = pki.server_key,
                                                          .alpn = is_h2(w) ? "h2" : "http/1.1"});
}

struct Outcome {
    std::optional<errc> error;
    std::string message;
    Clock::duration took{};
    int status = 0;
};

asio::awaitable<Outcome> call(HTTPTransport<>& t, HttpMessage m) {
    Outcome out;
    const auto start = Clock::now();
    try {
        Response r = co_await t.request(std::move(m));
        out.status = r.status;
    } catch (const TransportError& e) {
        out.error = static_cast<errc>(e.code().value());
        out.message = e.what();
    }
    out.took = Clock::now() - start;
    co_return out;
}

double seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

/// The fault once, retries off: its error, in its bound; then the pool is healthy.
void expect_fault(Wire w, const Fault& fault) {
    auto server = serve(w, fault, false);
    Options o = options_for(w, fault.timeout);
    o.retry.max_retries = 0;
    run([&]() -> asio::awaitable<void> {
        HTTPTransport<> t(o);
        co_await t.connect();
        HttpMessage first{.url = server->url("/fault")};
        const Outcome failed = co_await call(t, std::move(first));
        EXPECT_EQ(failed.error, fault.expected) << failed.message;
        EXPECT_TRUE(contains(failed.message, fault.says)) << failed.message;
        EXPECT_LT(failed.took, fault.bound) << seconds(failed.took) << " s: " << failed.message;
        // The pool is healthy: the next request succeeds, on a new connection, and the faulty
        // one is not left open.
        HttpMessage second{.url = server->url("/next")};
        const Outcome next = co_await call(t, std::move(second));
        EXPECT_FALSE(next.error) << next.message;
        EXPECT_EQ(next.status, 200);
        const bool kept = is_h2(w) && fault.h2_keeps_connection;
        EXPECT_EQ(server->connections(), kept ? 1u : 2u);
        EXPECT_LE(t.metrics().open_connections, 1u);
        co_await t.disconnect();
        EXPECT_EQ(t.metrics().open_connections, 0u);
    }());
}

/// Under the default retry policy, a POST that reached the server is sent once.
void expect_post_sent_once(Wire w, const Fault& fault) {
    auto server = serve(w, fault, true);
    Options o = options_for(w, fault.timeout);
    o.retry.backoff_factor = 1ms;
    int retries = 0;
    o.hooks.on_retry = [&retries](const http::RetryEvent&) { ++retries; };
    HttpMessage post{.method = "POST", .url = server->url("/order")};
    post.form = {{"pay", "once"}};
    run([&]() -> asio::awaitable<void> {
        HTTPTransport<> t(o);
        co_await t.connect();
        const Outcome out = co_await call(t, std::move(post));
        // A reset that lands while the POST's body is still being written may surface as the
        // write's EPIPE (the connection closed) rather than as ECONNRESET: either way the
        // POST failed once, which is what this test is about.
        const bool reset_while_sending = fault.expected == errc::connection_reset &&
                                         out.error == errc::connection_closed &&
                                         contains(out.message, "sending the request");
        if (!reset_while_sending) {
            EXPECT_EQ(out.error, fault.expected) << out.message;
        }
        co_await t.disconnect();
    }());
    EXPECT_EQ(retries, 0);
    EXPECT_EQ(server->connections(), 1u);
    if (!is_h2(w)) {
        EXPECT_EQ(server->requests().size(), 1u);
    }
}

// --- the faults -------------------------------------------------------------------------------

/// Writes `bytes` one at a time, `gap` apart (below the read timeout, so only the total
/// timeout can end the wait).
asio::awaitable<void> drip(TestConnection& c, std::string bytes, Clock::duration gap) {
    for (char ch : bytes) {
        co_await c.delay(gap);
        co_await c.write(std::string_view(&ch, 1));
    }
}

/// HTTP/2: writes `pieces` one at a time, `gap` apart, while reading the client's frames.
/// When the client resets stream `id` the dripping stops: the rest is written at once when
/// `finish_frame` (a frame was being dripped: the connection's framing must stay whole),
/// else dropped (whole frames of a stream the client gave up).
asio::awaitable<void> h2_drip(TestConnection& c, h2::Peer& peer, std::uint32_t id,
                              std::vector<std::string> pieces, bool finish_frame) {
    struct State {
        bool stop = false;
        bool finished = false;
        std::optional<asio::steady_timer> done;
    };
    auto state = std::make_shared<State>();
    auto executor = co_await asio::this_coro::executor;
    state->done.emplace(executor, Clock::time_point::max());
    auto self = c.shared_from_this();
    auto writer = [self, state, finish_frame,
                   pieces = std::move(pieces)]() -> asio::awaitable<void> {
        try {
            std::size_t i = 0;
            for (; i < pieces.size() && !state->stop; ++i) {
                co_await self->delay(10ms);
                co_await self->write(pieces[i]);
            }
            if (finish_frame) {
                std::string rest;
                for (; i < pieces.size(); ++i) rest += pieces[i];
                if (!rest.empty()) co_await self->write(rest);
            }
        } catch (const boost::system::system_error&) {
            // the client left
        }
        state->finished = true;
        state->done->cancel();
    };
    asio::co_spawn(executor, std::move(writer), asio::detached);
    for (;;) {
        std::optional<h2::Frame> f = co_await peer.next();
        if (!f) break;
        if (f->type == h2::rst_stream && f->stream == id) break;
    }
    state->stop = true;
    if (!state->finished) {
        auto [ignored] = co_await state->done->async_wait(asio::as_tuple(asio::use_awaitable));
        (void)ignored;
    }
}

/// Writes `frames` until the client goes away or `count` have gone, in batches.
asio::awaitable<void> flood(h2::Peer& peer, std::string one, int count) {
    std::string batch;
    for (int i = 0; i < 256; ++i) batch += one;
    try {
        for (int sent = 0; sent < count; sent += 256) co_await peer.send(batch);
    } catch (const boost::system::system_error&) {
        // the client ended the connection: what a flood should come to
    }
}

/// A response HEADERS frame: `status`, then a content-length when `length` is not empty
/// (built outside coroutines: GCC 12 rejects braced lists in them).
std::string h2_head(std::uint32_t id, std::string status, std::string length = "",
                    bool end_of_stream = false) {
    h2::Fields fields{{":status", std::move(status)}};
    if (!length.empty()) fields.emplace_back("content-length", std::move(length));
    return h2::headers_frame(id, fields, end_of_stream);
}

/// An HPACK block of one field.
std::string h2_block(std::string name, std::string value) {
    h2::Fields fields{{std::move(name), std::move(value)}};
    return h2::hpack(fields);
}

std::vector<std::string> bytes_of(const std::string& s) {
    std::vector<std::string> out;
    for (char ch : s) out.emplace_back(1, ch);
    return out;
}

/// `count` DATA frames of one byte on stream `id`.
std::vector<std::string> data_frames(std::uint32_t id, int count) {
    return std::vector<std::string>(static_cast<std::size_t>(count),
                                    h2::frame(h2::data, 0, id, "b"));
}

std::vector<Fault> make_faults() {
    std::vector<Fault> all;
    all.push_back(Fault{
        .name = "ResetMidHeaders",
        .h1 = [](TestConnection& c) -> asio::awaitable<void> {
            co_await c.write("HTTP/1.1 200 OK\r\nContent-Length: 10\r\nX-Cut: ha");
            c.reset();
        },
        .h2 = [](TestConnection& c, h2::Peer& peer, std::uint32_t id) -> asio::awaitable<void> {
            // A HEADERS frame, cut 10 bytes into its block.
            const std::string block =
                h2_block(":status", "200") + h2_block("x-cut", std::string(100, 'c'));
            co_await peer.send(h2::frame_header(static_cast<std::uint32_t>(block.size()),
                                                h2::headers, h2::end_headers, id) +
                               block.substr(0, 10));
            c.reset();
        },
        .expected = errc::connection_reset,
        .says = "reset",
    });
    all.push_back(Fault{
        .name = "ResetMidBody",
        .h1 = [](TestConnection& c) -> asio::awaitable<void> {
            co_await c.write("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789");
            c.reset();
        },
        .h2 = [](TestConnection& c, h2::Peer& peer, std::uint32_t id) -> asio::awaitable<void> {
            co_await peer.send(h2_head(id, "200", "100") + h2::frame_header(100, h2::data, 0, id) +
                               "0123456789");
            c.reset();
        },
        .expected = errc::connection_reset,
        .says = "reset",
    });
    all.push_back(Fault{
        .name = "SlowDripHeaders",
        .h1 = [](TestConnection& c) -> asio::awaitable<void> {
            co_await drip(c,
                          "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Slow: " +
                              std::string(200, 's') + "\r\n\r\nok",
                          10ms);
        },
        .h2 = [](TestConnection& c, h2::Peer& peer, std::uint32_t id) -> asio::awaitable<void> {
            // One HEADERS frame, its bytes dripped.
            const std::string block =
                h2_block(":status", "200") + h2_block("x-slow", std::string(200, 's'));
            co_await peer.send(h2::frame_header(static_cast<std::uint32_t>(block.size()),
                                                h2::headers, h2::end_headers | h2::end_stream, id));
            co_await h2_drip(c, peer, id, bytes_of(block), true);
        },
        .expected = errc::total_timeout,
        .says = "total timeout of 0.3 s",
        .timeout = {.read = 5s, .total = 300ms},
        .h2_keeps_connection = true,
    });
    all.push_back(Fault{
        .name = "SlowDripBody",
        .h1 = [](TestConnection& c) -> asio::awaitable<void> {
            co_await c.write("HTTP/1.1 200 OK\r\nContent-Length: 200\r\n\r\n");
            co_await drip(c, std::string(200, 'b'), 10ms);
        },
        .h2 = [](TestConnection& c, h2::Peer& peer, std::uint32_t id) -> asio::awaitable<void> {
            co_await peer.send(h2_head(id, "200", "200"));
            co_await h2_drip(c, peer, id, data_frames(id, 200), false);
        },
        .expected = errc::total_timeout,
        .says = "total timeout of 0.3 s",
        .timeout = {.read = 5s, .total = 300ms},
        .h2_keeps_connection = true,
    });
    all.push_back(Fault{
        .name = "MoreBytesThanContentLength",
        .h1 = {}, // HTTP/1.1: the conformance cases (the extra bytes are the next response's)
        .h2 = [](TestConnection&, h2::Peer& peer, std::uint32_t id) -> asio::awaitable<void> {
            co_await peer.send(h2_head(id, "200", "2") +
                               h2::frame(h2::data, h2::end_stream, id, "hello"));
        },
        .expected = errc::protocol_error,
        .says = "malformed HTTP/2 response; the stream was reset (PROTOCOL_ERROR)",
        .h2_keeps_connection = true,
    });
    all.push_back(Fault{
        .name = "ABodyAfter204",
        .h1 = {}, // HTTP/1.1: the conformance cases
        .h2 = [](TestConnection&, h2::Peer& peer, std::uint32_t id) -> asio::awaitable<void> {
            co_await peer.send(h2_head(id, "204") +
                               h2::frame(h2::data, h2::end_stream, id, "hello"));
        },
        .expected = errc::protocol_error,
        .says = "malformed HTTP/2 response; the stream was reset (PROTOCOL_ERROR)",
        .h2_keeps_connection = true,
    });
    all.push_back(Fault{
        .name = "EndlessInterimResponses",
        .h1 = [](TestConnection& c) -> asio::awaitable<void> {
            std::string many;
            for (int i = 0; i < 1000; ++i) many += "HTTP/1.1 100 Continue\r\n\r\n";
            try {
                for (;;) co_await c.write(many);
            } catch (const boost::system::system_error&) {
            }
        },
        .h2 = [](TestConnection&, h2::Peer& peer, std::uint32_t id) -> asio::awaitable<void> {
            co_await flood(peer, h2_head(id, "100"), 512);
        },
        .expected = errc::protocol_error,
        .says = "more than 100 interim (1xx) responses",
        .h2_keeps_connection = true,
    });
    // HTTP/2 only: frames nghttp2's server API will not send.
    all.push_back(Fault{
        .name = "MalformedFrame",
        .h2 = [](TestConnection&, h2::Peer& peer, std::uint32_t) -> asio::awaitable<void> {
            // SETTINGS whose length is not a multiple of 6.
            co_await peer.send(h2::frame(h2::settings, 0, 0, std::string(5, '\0')));
            co_await peer.read_until_closed();
        },
        .expected = errc::protocol_error,
        .says = "GOAWAY FRAME_SIZE_ERROR",
    });
    all.push_back(Fault{
        .name = "HeaderBlockThatNeverEnds",
        .h2 = [](TestConnection&, h2::Peer& peer, std::uint32_t id) -> asio::awaitable<void> {
            co_await peer.send(h2::frame(h2::headers, 0, id, h2_block(":status", "200")));
            co_await flood(peer, h2::frame(h2::continuation, 0, id, h2_block("x-more", "1")),
                           1 << 20);
        },
        .expected = errc::protocol_error,
        .says = "CONTINUATION",
    });
    all.push_back(Fault{
        .name = "SettingsFlood",
        .h2 = [](TestConnection&, h2::Peer& peer, std::uint32_t) -> asio::awaitable<void> {
            co_await flood(peer, h2::settings_frame(), 1 << 20);
        },
        .expected = errc::protocol_error,
        .says = "the server flooded the HTTP/2 connection",
    });
    all.push_back(Fault{
        .name = "PingFlood",
        .h2 = [](TestConnection&, h2::Peer& peer, std::uint32_t) -> asio::awaitable<void> {
            co_await flood(peer, h2::ping_frame(42), 1 << 20);
        },
        .expected = errc::protocol_error,
        .says = "the server flooded the HTTP/2 connection",
    });
    all.push_back(Fault{
        .name = "EmptyDataFlood",
        .h2 = [](TestConnection&, h2::Peer& peer, std::uint32_t id) -> asio::awaitable<void> {
            co_await peer.send(h2_head(id, "200"));
            co_await flood(peer, h2::frame(h2::data, 0, id), 1 << 20);
        },
        .expected = errc::protocol_error,
        .says = "the server flooded the HTTP/2 connection",
    });
    all.push_back(Fault{
        .name = "WindowUpdateOverflow",
        .h2 = [](TestConnection&, h2::Peer& peer, std::uint32_t) -> asio::awaitable<void> {
            co_await peer.send(h2::window_update_frame(0, 0x7fffffff));
            co_await peer.read_until_closed();
        },
        .expected = errc::protocol_error,
        .says = "FLOW_CONTROL_ERROR",
    });
    return all;
}

const std::vector<Fault>& faults() {
    static const std::vector<Fault> all = make_faults();
    return all;
}

struct Param {
    std::size_t fault;
    Wire wire;
};

std::vector<Param> params() {
    std::vector<Param> out;
    for (std::size_t i = 0; i < faults().size(); ++i) {
        for (Wire w : {Wire::h1, Wire::h1_tls, Wire::h2c, Wire::h2_tls}) {
            const Fault& f = faults()[i];
            if (is_h2(w) ? static_cast<bool>(f.h2) : static_cast<bool>(f.h1)) out.push_back({i, w});
        }
    }
    return out;
}

class FaultMatrix : public ::testing::TestWithParam<Param> {};

TEST_P(FaultMatrix, EndsInItsErrorAndLeavesThePoolHealthy) {
    expect_fault(GetParam().wire, faults()[GetParam().fault]);
}

TEST_P(FaultMatrix, APostIsNeverSentTwice) {
    expect_post_sent_once(GetParam().wire, faults()[GetParam().fault]);
}

INSTANTIATE_TEST_SUITE_P(Faults, FaultMatrix, ::testing::ValuesIn(params()),
                         [](const ::testing::TestParamInfo<Param>& p) {
                             return faults()[p.param.fault].name + "_" + wire_name(p.param.wire);
                         });

// --- HTTP/2: a stream id used again ------------------------------------------------------------

struct Reuse {
    std::string name;
    std::string (*frame)(std::uint32_t closed_stream); // what arrives on the closed stream
};

std::string headers_again(std::uint32_t closed) { return h2_head(closed, "200", "", true); }
std::string data_again(std::uint32_t closed) {
    return h2::frame(h2::data, h2::end_stream, closed, "late");
}

class ClosedStream : public ::testing::TestWithParam<std::tuple<Reuse, Wire>> {};

TEST_P(ClosedStream, AFrameOnAStreamThatEndedEndsTheConnection) {
    // The first request is answered on its stream; the second is answered with a frame on
    // the first's (closed) stream: a connection error, so the second call fails with a typed
    // error and the third goes out on a new connection.
    const auto& [reuse, w] = GetParam();
    auto handler = [frame = reuse.frame](TestConnection& c) -> asio::awaitable<void> {
        if (c.index() != 0) {
            co_await h2_answer_ok(c);
            co_return;
        }
        h2::Peer peer(c);
        co_await peer.open();
        const std::uint32_t first = co_await peer.read_request();
        if (first == 0) co_return;
        co_await peer.send(h2_ok(first));
        const std::uint32_t second = co_await peer.read_request();
        if (second == 0) co_return;
        co_await peer.send(frame(first));
        co_await h2_serve_rest(peer);
    };
    const auto& pki = certificates();
    auto server = is_tls(w) ? std::make_unique<TestServer>(
                                  handler, TlsFiles{.certificate_chain = pki.server_cert,
                                                    .private_key = pki.server_key,
                                                    .alpn = "h2"})
                            : std::make_unique<TestServer>(handler);
    Options o = options_for(w, {});
    o.retry.max_retries = 0;
    run([&]() -> asio::awaitable<void> {
        HTTPTransport<> t(o);
        co_await t.connect();
        HttpMessage a{.url = server->url("/a")};
        const Outcome first = co_await call(t, std::move(a));
        EXPECT_EQ(first.status, 200) << first.message;
        HttpMessage b{.url = server->url("/b")};
        const Outcome second = co_await call(t, std::move(b));
        EXPECT_EQ(second.error, errc::protocol_error) << second.message;
        EXPECT_TRUE(contains(second.message,
                             "on stream 1 after its END_STREAM); nector ended "
                             "the connection with GOAWAY STREAM_CLOSED"))
            << second.message;
        EXPECT_LT(second.took, 3s) << seconds(second.took) << " s";
        HttpMessage c{.url = server->url("/c")};
        const Outcome third = co_await call(t, std::move(c));
        EXPECT_EQ(third.status, 200) << third.message;
        EXPECT_EQ(server->connections(), 2u);
        EXPECT_LE(t.metrics().open_connections, 1u);
        co_await t.disconnect();
    }());
}

INSTANTIATE_TEST_SUITE_P(Faults, ClosedStream,
                         ::testing::Combine(::testing::Values(Reuse{"HeadersAgain", headers_again},
                                                              Reuse{"DataAgain", data_again}),
                                            ::testing::Values(Wire::h2c, Wire::h2_tls)),
                         [](const ::testing::TestParamInfo<std::tuple<Reuse, Wire>>& p) {
                             return std::get<0>(p.param).name + "_" +
                                    wire_name(std::get<1>(p.param));
                         });

// --- TLS handshakes that stall ----------------------------------------------------------------

/// The length of the first TLS record in `bytes`, header included, once its header is there.
std::size_t record_size(std::string_view bytes) {
    if (bytes.size() < 5) return 0;
    return 5 + ((static_cast<std::size_t>(static_cast<std::uint8_t>(bytes[3])) << 8) |
                static_cast<std::uint8_t>(bytes[4]));
}

/// Reads from the client until the end, answering nothing.
asio::awaitable<void> read_until_gone(TestConnection& c) {
    for (;;) {
        std::string more;
        try {
            more = co_await c.read_some_raw();
        } catch (const boost::system::system_error&) {
            co_return;
        }
        if (more.empty()) co_return;
    }
}

/// A call to `url` with a 300 ms connect timeout ends in it, in the TLS handshake.
void expect_handshake_timeout(const std::string& url) {
    Options o;
    o.tls.ca_file = certificates().ca_cert.string();
    o.timeout.connect = 300ms;
    o.retry.max_retries = 0;
    const auto start = Clock::now();
    auto error = fetch_error<ConnectionTimeoutError>(url, o);
    const auto took = Clock::now() - start;
    ASSERT_TRUE(error);
    EXPECT_EQ(error->code(), errc::connect_timeout);
    EXPECT_TRUE(contains(error->what(),
                         "TLS handshake with 127.0.0.1: no answer within the connect timeout"))
        << error->what();
    EXPECT_LT(took, 3s) << seconds(took) << " s";
}

TEST(TlsStall, AfterTheClientHello) {
    // A plain TCP server that takes the ClientHello and answers nothing.
    std::atomic<bool> hello{false};
    TestServer server([&hello](TestConnection& c) -> asio::awaitable<void> {
        std::string first = co_await c.read_some_raw();
        if (!first.empty() && first[0] == '\x16') hello = true; // a TLS handshake record
        co_await read_until_gone(c);
    });
    const std::string url = "https://127.0.0.1:" + std::to_string(server.port()) + "/";
    expect_handshake_timeout(url);
    EXPECT_TRUE(hello);
}

TEST(TlsStall, MidHandshake) {
    // A relay in front of a real TLS server passes the ClientHello on and the server's first
    // record (its ServerHello) back, then holds the rest of the server's flight.
    const auto& pki = certificates();
    TestServer origin(
        TestServer::respond("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
        TlsFiles{.certificate_chain = pki.server_cert, .private_key = pki.server_key});
    const std::uint16_t origin_port = origin.port();
    std::atomic<bool> server_hello{false};
    TestServer relay([origin_port, &server_hello](TestConnection& c) -> asio::awaitable<void> {
        auto executor = co_await asio::this_coro::executor;
        asio::ip::tcp::socket up(executor);
        const asio::ip::tcp::endpoint at(asio::ip::make_address("127.0.0.1"), origin_port);
        co_await up.async_connect(at, asio::use_awaitable);
        std::string hello;
        while (hello.empty() || hello.size() < record_size(hello)) {
            std::string more = co_await c.read_some_raw();
            if (more.empty()) co_return;
            hello += more;
        }
        co_await asio::async_write(up, asio::buffer(hello), asio::use_awaitable);
        std::string flight;
        std::string chunk(16384, '\0');
        while (flight.size() < 5 || flight.size() < record_size(flight)) {
            const std::size_t n =
                co_await up.async_read_some(asio::buffer(chunk), asio::use_awaitable);
            flight.append(chunk, 0, n);
        }
        const std::string first = flight.substr(0, record_size(flight));
        // A handshake record holding a ServerHello (handshake type 2).
        if (first.size() > 5 && first[0] == '\x16' && first[5] == '\x02') server_hello = true;
        co_await c.write(first);
        co_await read_until_gone(c);
    });
    const std::string url = "https://127.0.0.1:" + std::to_string(relay.port()) + "/";
    expect_handshake_timeout(url);
    EXPECT_TRUE(server_hello) << "the relay did not pass a ServerHello on";
    EXPECT_EQ(origin.connections(), 1u);
    EXPECT_TRUE(relay.errors().empty()) << relay.errors().front();
}

} // namespace
} // namespace nector::test
