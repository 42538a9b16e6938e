// HTTPTransport over HTTP/2: nginx (h2 over TLS, h2c) and nghttpd as independent servers,
// and the in-process nghttp2 server for frame-level faults (GOAWAY, REFUSED_STREAM,
// RST_STREAM, MAX_CONCURRENT_STREAMS, PING).
#include "http/wire/tls_reader.hpp"
#include "http/wire/tls_writer.hpp"
#include "integration/client.hpp"
#include "support/arrival.hpp"
#include "support/h2_server.hpp"
#include "support/servers.hpp"

#include <nector/http/errors.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <gtest/gtest.h>

#include <openssl/bio.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string_view>

namespace nector::test {
namespace asio = boost::asio;
namespace {

using namespace std::chrono_literals;
using http::Duration;
using http::Version;

Options h2_tls() {
    Options o;
    o.http2 = true;
    o.tls.ca_file = certificates().ca_cert.string();
    return o;
}

Options h2c() {
    Options o;
    o.http2_prior_knowledge = true;
    return o;
}

Options h2c(std::string base_url) {
    Options o = h2c();
    o.base_url = std::move(base_url);
    return o;
}

/// `count` GETs of `path` at once on `t`; returns how many answered 200 with `body`.
asio::awaitable<int> concurrent_gets(HTTPTransport<>& t, int count, std::string path,
                                     std::string body) {
    auto ex = co_await asio::this_coro::executor;
    int ok = 0;
    int done = 0;
    asio::steady_timer all_done(ex, asio::steady_timer::time_point::max());
    for (int i = 0; i < count; ++i) {
        asio::co_spawn(
            ex,
            [&]() -> asio::awaitable<void> {
                try {
                    const Response r = co_await t.get(path);
                    if (r.status == 200 && r.body == body && r.version == Version::http_2) ++ok;
                } catch (const std::exception& e) {
                    ADD_FAILURE() << e.what();
                }
                if (++done == count) all_done.cancel();
            },
            asio::detached);
    }
    co_await all_done.async_wait(asio::as_tuple(asio::use_awaitable));
    co_return ok;
}

// --- nginx -----------------------------------------------------------------------------

TEST(Http2Nginx, NegotiatesH2ByAlpnOverTls) {
    const Response r = fetch(nginx().h2_url("/hello.txt"), h2_tls());
    EXPECT_EQ(r.version, Version::http_2);
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.reason, "OK");
    EXPECT_EQ(r.body, "hello\n");
    EXPECT_EQ(r.headers.get("content-type"), "text/plain");
    EXPECT_GT(r.timings.tls, Duration::zero());

    const Response big = fetch(nginx().h2_url("/1m.bin"), h2_tls());
    EXPECT_EQ(big.version, Version::http_2);
    EXPECT_EQ(big.body, read_file(nginx().docroot() / "1m.bin"));
}

TEST(Http2Nginx, StaysOnHttp11WhenNotOfferedOrNotChosen) {
    Options plain = h2_tls();
    plain.http2 = false; // no ALPN offer: nginx speaks HTTP/1.1 on its h2 port too
    EXPECT_EQ(fetch(nginx().h2_url("/hello.txt"), plain).version, Version::http_1_1);
    // Offered, but the server's ALPN has no h2.
    EXPECT_EQ(fetch(nginx().https_url("/hello.txt"), h2_tls()).version, Version::http_1_1);
    // http2 alone does not change http:// URLs.
    Options o;
    o.http2 = true;
    EXPECT_EQ(fetch(nginx().url("/hello.txt"), o).version, Version::http_1_1);
}

TEST(Http2Nginx, PriorKnowledgeH2c) {
    const Response r = fetch(nginx().h2c_url("/hello.txt"), h2c());
    EXPECT_EQ(r.version, Version::http_2);
    EXPECT_EQ(r.body, "hello\n");
    const Response big = fetch(nginx().h2c_url("/1m.bin"), h2c());
    EXPECT_EQ(big.body.size(), std::size_t{1} << 20);
    const Response head =
        fetch(h2c(), HttpMessage{.method = "HEAD", .url = nginx().h2c_url("/1m.bin")});
    EXPECT_EQ(head.version, Version::http_2);
    EXPECT_EQ(head.headers.get("content-length"), "1048576");
    EXPECT_EQ(head.body, "");
}

TEST(Http2Nginx, StatusErrorsAndRedirectsAsOverHttp11) {
    const auto e = fetch_error<http::HTTPNotFoundError>(nginx().h2c_url("/status/404"), h2c());
    ASSERT_TRUE(e);
    EXPECT_EQ(e->response().version, Version::http_2);
    EXPECT_TRUE(contains(e->what(), "404")) << e->what();
    Options once = h2_tls();
    once.retry.max_retries = 0;
    EXPECT_THROW(fetch(nginx().h2_url("/status/503"), once), http::HTTPServerError);

    const Response r = fetch(nginx().h2_url("/redirect"), h2_tls());
    EXPECT_EQ(r.body, "hello\n");
    ASSERT_EQ(r.history.size(), 1u);
    EXPECT_EQ(r.history[0].status, 302);
    EXPECT_EQ(r.history[0].version, Version::http_2);
}

TEST(Http2Nginx, PriorKnowledgeAgainstAnHttp11ServerFailsClearly) {
    Options o = h2c(); // the default retry policy: this failure is not retried
    int retries = 0;
    o.hooks.on_retry = [&retries](const http::RetryEvent&) { ++retries; };
    const auto e = fetch_error<TransportError>(nginx().url("/hello.txt"), o);
    ASSERT_TRUE(e);
    // nginx answers the preface with an HTTP/1.1 400, which is no HTTP/2 frame.
    EXPECT_EQ(e->code(), errc::protocol_error) << e->what();
    EXPECT_TRUE(contains(e->what(), "the server does not speak HTTP/2")) << e->what();
    EXPECT_EQ(retries, 0);
}

TEST(Http2Nginx, TrailersArrive) {
    const Response r = fetch(nginx().h2c_url("/trailers"), h2c());
    EXPECT_EQ(r.body, "body\n");
    EXPECT_EQ(r.trailers.get("x-checksum"), "abc");
    EXPECT_FALSE(r.headers.contains("x-checksum"));
}

TEST(Http2Nginx, SixtyFourConcurrentRequestsShareOneConnection) {
    run([]() -> asio::awaitable<void> {
        HTTPTransport<> t(h2c(nginx().h2c_url("/")));
        co_await t.connect();
        EXPECT_EQ(co_await concurrent_gets(t, 64, "/12b.txt", "hello world\n"), 64);
        EXPECT_EQ(co_await concurrent_gets(t, 64, "/12b.txt", "hello world\n"), 64);
        EXPECT_EQ(t.metrics().connections_opened, 1u);
    }());
    run([]() -> asio::awaitable<void> {
        Options o = h2_tls();
        o.base_url = nginx().h2_url("/");
        HTTPTransport<> t(o);
        co_await t.connect();
        EXPECT_EQ(co_await concurrent_gets(t, 64, "/hello.txt", "hello\n"), 64);
        EXPECT_EQ(t.metrics().connections_opened, 1u);
    }());
}

// --- nghttpd -----------------------------------------------------------------------------

TEST(Http2Nghttpd, GetPostAndTrailersOverTls) {
    run([]() -> asio::awaitable<void> {
        Options o = h2_tls();
        o.base_url = nghttpd().tls_url("/");
        HTTPTransport<> t(o);
        co_await t.connect();
        const Response r = co_await t.get("/hello.txt");
        EXPECT_EQ(r.version, Version::http_2);
        EXPECT_EQ(r.body, "hello\n");
        EXPECT_EQ(r.trailers.get("x-trailer"), "yes");

        HttpMessage post{.method = "POST", .url = "/echo", .content = to_bytes("ping")};
        const Response echoed = co_await t.request(std::move(post));
        EXPECT_EQ(echoed.body, "ping");
        EXPECT_EQ(echoed.headers.get("nghttpd-response"), "echo");
        EXPECT_EQ(t.metrics().connections_opened, 1u);
    }());
}

TEST(Http2Nghttpd, LargeUploadFlowsThroughTheServersWindow) {
    // 3 MiB: far beyond the default 64 KiB stream window nghttpd grants, so the upload only
    // completes if WINDOW_UPDATEs resume it.
    std::string big(3 << 20, '\0');
    for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>('a' + i % 26);
    HttpMessage post{.method = "PUT", .url = nghttpd().h2c_url("/up"), .content = to_bytes(big)};
    const Response r = fetch(h2c(), std::move(post));
    EXPECT_EQ(r.version, Version::http_2);
    EXPECT_EQ(r.body.size(), big.size());
    EXPECT_TRUE(r.body == big);
}

TEST(Http2Nghttpd, DownloadWithASmallReceiveWindow) {
    Options o = h2c();
    o.http2_settings.stream_window = 65535;
    o.http2_settings.connection_window = 65535;
    const Response r = fetch(nghttpd().h2c_url("/1m.bin"), o);
    EXPECT_EQ(r.body, read_file(nghttpd().docroot() / "1m.bin"));
}

TEST(Http2Nghttpd, LargeDownloadsOverTlsAreByteExact) {
    // 1 MiB over TLS (64 records and more), read whole and streamed into small buffers.
    run([]() -> asio::awaitable<void> {
        Options o = h2_tls();
        o.base_url = nghttpd().tls_url("/");
        HTTPTransport<> t(o);
        co_await t.connect();
        const std::string want = read_file(nghttpd().docroot() / "1m.bin");
        const Response r = co_await t.get("/1m.bin");
        EXPECT_EQ(r.version, Version::http_2);
        EXPECT_TRUE(r.body == want) << r.body.size() << " bytes";
        HttpMessage message{.url = "/1m.bin"};
        http::ResponseStream s = co_await t.stream(std::move(message));
        std::string streamed;
        std::array<char, 1000> buffer{};
        while (const std::size_t n = co_await s.read_some(asio::buffer(buffer))) {
            streamed.append(buffer.data(), n);
        }
        EXPECT_TRUE(streamed == want) << streamed.size() << " bytes";
        EXPECT_EQ(t.metrics().connections_opened, 1u);
    }());
}

TEST(Http2Nghttpd, MissingFileIs404) {
    EXPECT_THROW(fetch(nghttpd().h2c_url("/nope"), h2c()), http::HTTPNotFoundError);
}

// --- the in-process server: requests as the server sees them ------------------------------

TEST(Http2Server, RequestFieldsFollowRfc9113) {
    H2TestServer server;
    HttpMessage m{.method = "POST",
                  .url = server.url("/path?q=1"),
                  .headers = {{"X-Mixed-Case", "v"},
                              {"Connection", "keep-alive"},
                              {"Keep-Alive", "timeout=5"},
                              {"Upgrade", "websocket"},
                              {"Proxy-Connection", "close"},
                              {"TE", "gzip"},
                              {"Host", "example.test:8080"}},
                  .content = to_bytes("abc")};
    EXPECT_EQ(fetch(h2c(), std::move(m)).body, "abc");
    const auto seen = server.requests().at(0);
    EXPECT_EQ(seen.method, "POST");
    EXPECT_EQ(seen.scheme, "http");
    EXPECT_EQ(seen.authority, "example.test:8080");
    EXPECT_EQ(seen.path, "/path?q=1");
    EXPECT_EQ(seen.header("x-mixed-case"), "v");
    EXPECT_EQ(seen.header("content-length"), "3");
    for (const char* banned : {"connection", "keep-alive", "upgrade", "proxy-connection", "te",
                               "host", "transfer-encoding"}) {
        EXPECT_FALSE(seen.header(banned)) << banned;
    }
    for (const auto& [name, value] : seen.headers) {
        for (char c : name) EXPECT_FALSE(c >= 'A' && c <= 'Z') << name;
    }

    HttpMessage te{.url = server.url("/te"), .headers = {{"TE", "trailers"}}};
    (void)fetch(h2c(), std::move(te));
    const auto second = server.requests().at(1);
    EXPECT_EQ(second.header("te"), "trailers");
    EXPECT_EQ(second.authority, "127.0.0.1:" + std::to_string(server.port()));
    EXPECT_FALSE(second.header("content-length")); // a GET without a body
}

TEST(Http2Server, EmptyPostSendsContentLengthZero) {
    H2TestServer server;
    (void)fetch(h2c(), HttpMessage{.method = "POST", .url = server.url("/")});
    EXPECT_EQ(server.requests().at(0).header("content-length"), "0");
    EXPECT_EQ(server.requests().at(0).body, "");
}

// --- GOAWAY, REFUSED_STREAM, RST_STREAM ---------------------------------------------------

Options no_retries(std::string base_url) {
    Options o = h2c(std::move(base_url));
    o.retry.max_retries = 0;
    return o;
}

TEST(Http2Server, GoawayMidFlightReplaysTheUnprocessedStreams) {
    // The server holds five requests per connection, then answers the lowest stream of the
    // first connection and sends GOAWAY naming it as the last: the other four were never
    // processed, and nector replays them on a new connection.
    std::atomic<bool> gone_away{false};
    H2TestServer server(
        [&](const H2Request& r) {
            if (r.connection == 0 && !gone_away.exchange(true)) {
                H2Action a = H2Action::goaway(H2Error::no_error);
                a.answer_after_goaway = true;
                a.body = "ok " + r.path;
                return a;
            }
            return H2Action::respond(200, "ok " + r.path);
        },
        {.batch = 5});
    std::vector<std::string> bodies;
    run([&]() -> asio::awaitable<void> {
        HTTPTransport<> t(h2c(server.url()));
        co_await t.connect();
        auto ex = co_await asio::this_coro::executor;
        asio::steady_timer all_done(ex, asio::steady_timer::time_point::max());
        const auto get = [&](std::string path) -> asio::awaitable<void> {
            try {
                bodies.push_back((co_await t.get(path)).body);
            } catch (const std::exception& e) {
                ADD_FAILURE() << e.what();
                bodies.push_back("failed");
            }
            // The second connection's batch needs a fifth request: send it once the GOAWAY
            // (which precedes /0's response) has been seen.
            if (path == "/0") {
                asio::co_spawn(
                    ex,
                    [&]() -> asio::awaitable<void> {
                        bodies.push_back((co_await t.get("/5")).body);
                        if (bodies.size() == 6) all_done.cancel();
                    },
                    asio::detached);
            }
            if (bodies.size() == 6) all_done.cancel();
        };
        for (int i = 0; i < 5; ++i)
            asio::co_spawn(ex, get("/" + std::to_string(i)), asio::detached);
        co_await all_done.async_wait(asio::as_tuple(asio::use_awaitable));
        EXPECT_EQ(t.metrics().replays, 4u);
        EXPECT_EQ(t.metrics().connections_opened, 2u);
    }());
    std::sort(bodies.begin(), bodies.end());
    EXPECT_EQ(bodies,
              (std::vector<std::string>{"ok /0", "ok /1", "ok /2", "ok /3", "ok /4", "ok /5"}));
    EXPECT_EQ(server.connections_accepted(), 2u);
    EXPECT_TRUE(server.errors().empty());
}

TEST(Http2Server, RefusedStreamIsReplayedOnceThenFails) {
    std::atomic<int> attempts_r{0};
    H2TestServer server([&](const H2Request& r) {
        if (r.path == "/never") return H2Action::refuse();
        if (r.path == "/r" && attempts_r++ == 0) return H2Action::refuse();
        return H2Action::respond(200, "fine");
    });
    run([&]() -> asio::awaitable<void> {
        HTTPTransport<> t(no_retries(server.url()));
        co_await t.connect();
        // POST too: a refused stream was not processed, so any method is replayed.
        HttpMessage post{.method = "POST", .url = "/r", .content = to_bytes("x")};
        EXPECT_EQ((co_await t.request(std::move(post))).body, "fine");
        EXPECT_EQ(t.metrics().replays, 1u);
        try {
            (void)co_await t.get("/never");
            ADD_FAILURE() << "a stream refused twice succeeded";
        } catch (const ConnectionError& e) {
            EXPECT_EQ(e.code(), errc::stream_refused);
            EXPECT_EQ(e.code(), condition::network);
            EXPECT_TRUE(contains(e.what(), "GET " + server.url("/never"))) << e.what();
            EXPECT_TRUE(contains(e.what(), "REFUSED_STREAM")) << e.what();
        }
    }());
    std::size_t never = 0;
    for (const auto& r : server.requests()) never += r.path == "/never" ? 1u : 0u;
    EXPECT_EQ(never, 2u); // the request and its one replay
    EXPECT_EQ(server.connections_accepted(), 1u);
}

TEST(Http2Server, RefusedStreamsCountAsConnectFailuresForRetries) {
    H2TestServer server([](const H2Request&) { return H2Action::refuse(); });
    Options o = h2c(server.url());
    o.retry.max_retries = 2;
    o.retry.backoff_factor = 1ms;
    const auto e = fetch_error<ConnectionError>(o, HttpMessage{.url = "/"});
    ASSERT_TRUE(e);
    EXPECT_EQ(e->code(), errc::stream_refused);
    EXPECT_TRUE(contains(e->what(), "3 attempts")) << e->what();
    EXPECT_EQ(server.requests().size(), 6u); // 3 attempts, each replayed once
}

TEST(Http2Server, GoawayWithAnErrorNamesIt) {
    H2TestServer server([](const H2Request&) {
        H2Action a = H2Action::goaway(H2Error::enhance_your_calm);
        a.last_stream_id = 0; // nothing was processed
        a.goaway_debug = "slow\x1b[2J down\r\n";
        return a;
    });
    const auto e = fetch_error<ConnectionError>(no_retries(server.url()), HttpMessage{.url = "/"});
    ASSERT_TRUE(e);
    EXPECT_EQ(e->code(), errc::stream_refused);
    EXPECT_TRUE(contains(e->what(), "GOAWAY ENHANCE_YOUR_CALM")) << e->what();
    // The server's debug text is in the message, escaped: no terminal control bytes.
    EXPECT_TRUE(contains(e->what(), "slow\\x1B[2J down\\r\\n")) << e->what();
    EXPECT_EQ(std::string_view(e->what()).find('\x1b'), std::string_view::npos);
    EXPECT_EQ(server.connections_accepted(), 2u); // the replay went to a new connection
}

TEST(Http2Server, ResetStreamIsATypedErrorAndTheConnectionStays) {
    H2TestServer server([](const H2Request& r) {
        if (r.path == "/boom") return H2Action::reset(H2Error::internal_error);
        return H2Action::respond(200, "fine");
    });
    run([&]() -> asio::awaitable<void> {
        HTTPTransport<> t(h2c(server.url()));
        co_await t.connect();
        try {
            (void)co_await t.get("/boom");
            ADD_FAILURE() << "a reset stream succeeded";
        } catch (const TransportSpecificError& e) {
            EXPECT_EQ(e.code(), errc::stream_reset);
            EXPECT_EQ(e.code(), condition::server);
            EXPECT_TRUE(contains(e.what(), "RST_STREAM INTERNAL_ERROR")) << e.what();
            EXPECT_TRUE(contains(e.what(), "GET " + server.url("/boom"))) << e.what();
        }
        EXPECT_EQ((co_await t.get("/after")).body, "fine");
    }());
    EXPECT_EQ(server.connections_accepted(), 1u);
    EXPECT_EQ(server.requests().size(), 2u); // a reset after processing is not replayed
}

TEST(Http2Server, DeadConnectionFailsItsStreams) {
    H2TestServer server([](const H2Request&) { return H2Action::close(); });
    const auto e = fetch_error<ConnectionError>(no_retries(server.url()), HttpMessage{.url = "/"});
    ASSERT_TRUE(e);
    EXPECT_EQ(e->code(), condition::network);
    EXPECT_TRUE(contains(e->what(), "HTTP/2 connection")) << e->what();
}

TEST(Http2Server, OneStreamAtATimeServesFiftyConcurrentRequests) {
    H2TestServer server({}, {.max_concurrent_streams = 1});
    run([&]() -> asio::awaitable<void> {
        Options o = h2c(server.url());
        o.limits.max_connections_per_origin = 1;
        HTTPTransport<> t(o);
        co_await t.connect();
        EXPECT_EQ(co_await concurrent_gets(t, 50, "/", "hello\n"), 50);
        EXPECT_EQ(t.metrics().replays, 0u);
    }());
    EXPECT_EQ(server.connections_accepted(), 1u);
    EXPECT_TRUE(server.resets_received().empty());
    EXPECT_TRUE(server.errors().empty());

    // With room for more connections, nector opens them instead of waiting.
    H2TestServer wide({}, {.max_concurrent_streams = 1});
    run([&]() -> asio::awaitable<void> {
        HTTPTransport<> t(h2c(wide.url()));
        co_await t.connect();
        EXPECT_EQ(co_await concurrent_gets(t, 50, "/", "hello\n"), 50);
    }());
    EXPECT_GT(wide.connections_accepted(), 1u);
    EXPECT_TRUE(wide.errors().empty());
}

// --- cancellation, timeouts, limits, liveness ----------------------------------------------

TEST(Http2Server, CancellationResetsTheStreamAndKeepsTheConnection) {
    std::atomic<Arrival*> arrival{nullptr};
    H2TestServer server([&](const H2Request& r) {
        H2Action a = H2Action::respond(200, "fast");
        if (r.path == "/slow") {
            arrival.load()->signal();
            a.delay = 10s;
        }
        return a;
    });
    run([&]() -> asio::awaitable<void> {
        using namespace asio::experimental::awaitable_operators;
        HTTPTransport<> t(h2c(server.url()));
        co_await t.connect();
        Arrival slow_arrived(co_await asio::this_coro::executor);
        arrival = &slow_arrived;
        // Cancelled once the server has the request.
        auto result = co_await (t.get("/slow") || slow_arrived.wait());
        EXPECT_EQ(result.index(), 1u);
        // Frames go out in order: the RST_STREAM precedes this request.
        EXPECT_EQ((co_await t.get("/fast")).body, "fast");
    }());
    EXPECT_EQ(server.connections_accepted(), 1u);
    const auto resets = server.resets_received();
    ASSERT_EQ(resets.size(), 1u);
    EXPECT_EQ(resets[0].error, H2Error::cancel);
    EXPECT_EQ(resets[0].stream_id, 1);
}

TEST(Http2Server, AsyncRequestWithCancellationSlot) {
    asio::io_context io;
    Arrival arrived(io.get_executor());
    H2TestServer server([&](const H2Request&) {
        arrived.signal();
        H2Action a = H2Action::respond(200, "late");
        a.delay = 10s;
        return a;
    });
    std::optional<std::error_code> result;
    {
        HTTPTransport<> t(io.get_executor(), h2c(server.url()));
        asio::cancellation_signal signal;
        asio::co_spawn(io, t.connect(), [&](std::exception_ptr) {
            t.async_request(
                {.url = "/"},
                asio::bind_cancellation_slot(signal.slot(), [&](std::error_code ec, Response) {
                    result = ec;
                    // An open HTTP/2 connection keeps a read
                    // pending: close it so that run() returns.
                    asio::co_spawn(io, t.disconnect(), asio::detached);
                }));
            // Cancelled once the server has the request.
            asio::co_spawn(io, arrived.wait(), [&](std::exception_ptr) {
                signal.emit(asio::cancellation_type::terminal);
            });
        });
        io.run();
    }
    ASSERT_TRUE(result);
    EXPECT_EQ(*result, condition::cancelled) << result->message();
}

TEST(Http2Server, ReadTimeoutResetsOnlyThatStream) {
    H2TestServer server([](const H2Request& r) {
        return r.path == "/silent" ? H2Action::ignore() : H2Action::respond(200, "fine");
    });
    run([&]() -> asio::awaitable<void> {
        Options o = no_retries(server.url());
        o.timeout.read = 200ms;
        HTTPTransport<> t(o);
        co_await t.connect();
        try {
            (void)co_await t.get("/silent");
            ADD_FAILURE() << "no timeout";
        } catch (const ConnectionTimeoutError& e) {
            EXPECT_EQ(e.code(), errc::read_timeout);
            EXPECT_TRUE(contains(e.what(), "read timeout")) << e.what();
        }
        EXPECT_EQ((co_await t.get("/next")).body, "fine");
    }());
    EXPECT_EQ(server.connections_accepted(), 1u);
    ASSERT_EQ(server.resets_received().size(), 1u);
    EXPECT_EQ(server.resets_received()[0].error, H2Error::cancel);
}

TEST(Http2Server, EachWaitingStreamTimesOutOnItsOwnDeadline) {
    // Two unanswered streams on one connection, the second started later: one watchdog
    // per connection wakes each at its own deadline, not before and not never.
    H2TestServer server([](const H2Request&) { return H2Action::ignore(); });
    std::vector<std::chrono::steady_clock::duration> waited;
    run([&]() -> asio::awaitable<void> {
        Options o = no_retries(server.url());
        o.timeout.read = 300ms;
        HTTPTransport<> t(o);
        co_await t.connect();
        const auto executor = co_await asio::this_coro::executor;
        auto silent = [&](std::chrono::milliseconds delay) -> asio::awaitable<void> {
            asio::steady_timer pause(executor, delay);
            co_await pause.async_wait(asio::use_awaitable);
            const auto started = std::chrono::steady_clock::now();
            try {
                (void)co_await t.get("/silent");
                ADD_FAILURE() << "no timeout";
            } catch (const ConnectionTimeoutError& e) {
                EXPECT_EQ(e.code(), errc::read_timeout);
            }
            waited.push_back(std::chrono::steady_clock::now() - started);
        };
        using namespace asio::experimental::awaitable_operators;
        co_await (silent(0ms) && silent(150ms));
    }());
    ASSERT_EQ(waited.size(), 2u);
    for (const auto w : waited) {
        EXPECT_GE(w, 300ms);
        EXPECT_LT(w, 3s);
    }
    EXPECT_EQ(server.connections_accepted(), 1u);
}

TEST(Http2Server, ResponseLargerThanTheLimitIsRefused) {
    H2TestServer server([](const H2Request& r) {
        return H2Action::respond(200, std::string(r.path == "/big" ? 100000 : 10, 'x'));
    });
    run([&]() -> asio::awaitable<void> {
        Options o = h2c(server.url());
        o.max_response_bytes = 10000;
        HTTPTransport<> t(o);
        co_await t.connect();
        try {
            (void)co_await t.get("/big");
            ADD_FAILURE() << "no limit";
        } catch (const TransportSpecificError& e) {
            EXPECT_EQ(e.code(), errc::body_too_large);
            EXPECT_TRUE(contains(e.what(), "max_response_bytes")) << e.what();
        }
        EXPECT_EQ((co_await t.get("/small")).body.size(), 10u);
    }());
    EXPECT_EQ(server.connections_accepted(), 1u);
}

TEST(Http2Server, UnansweredPingClosesADeadConnection) {
    H2TestServer server(
        [](const H2Request&) {
            H2Action a = H2Action::respond(200, "late");
            a.delay = 5s;
            return a;
        },
        {.answer_pings = false});
    Options o = no_retries(server.url());
    o.http2_settings.ping_interval = 100ms;
    o.http2_settings.ping_timeout = 200ms;
    const auto e = fetch_error<ConnectionError>(o, HttpMessage{.url = "/"});
    ASSERT_TRUE(e);
    EXPECT_EQ(e->code(), errc::connection_failed);
    EXPECT_TRUE(contains(e->what(), "PING")) << e->what();
    EXPECT_GE(server.pings_received(), 1u);
}

TEST(Http2Server, AnsweredPingsKeepASlowExchangeAlive) {
    H2TestServer server([](const H2Request&) {
        H2Action a = H2Action::respond(200, "late");
        a.delay = 600ms;
        return a;
    });
    Options o = no_retries(server.url());
    o.http2_settings.ping_interval = 100ms;
    o.http2_settings.ping_timeout = 200ms;
    EXPECT_EQ(fetch(o, HttpMessage{.url = "/"}).body, "late");
    EXPECT_GE(server.pings_received(), 2u);
}

TEST(Http2Server, TrailersAndReceiveOrder) {
    // The three requests are answered once all have arrived, last path first: receive()
    // gives them in the order they completed.
    H2TestServer server(
        [](const H2Request& r) {
            H2Action a = H2Action::respond(200, r.path);
            a.trailers = {{"x-sum", "42"}};
            return a;
        },
        H2ServerOptions{.batch = 3, .batch_order = [](const H2Request& a, const H2Request& b) {
                            return a.path > b.path;
                        }});
    run([&]() -> asio::awaitable<void> {
        HTTPTransport<> t(h2c(server.url()));
        co_await t.connect();
        auto ex = co_await asio::this_coro::executor;
        int sent = 0;
        asio::steady_timer all_sent(ex, asio::steady_timer::time_point::max());
        for (int i = 0; i < 3; ++i) {
            asio::co_spawn(ex, t.send(HttpMessage{.url = "/" + std::to_string(i)}),
                           [&](std::exception_ptr e) {
                               EXPECT_FALSE(e);
                               if (++sent == 3) all_sent.cancel();
                           });
        }
        co_await all_sent.async_wait(asio::as_tuple(asio::use_awaitable));
        std::vector<std::string> order;
        while (auto r = co_await t.receive_response()) {
            order.push_back(r->body);
            EXPECT_EQ(r->trailers.get("x-sum"), "42");
        }
        EXPECT_EQ(order, (std::vector<std::string>{"/2", "/1", "/0"}));
    }());
    EXPECT_EQ(server.connections_accepted(), 1u);
}

// --- TlsReader: the reads of an HTTP/2 connection over TLS --------------------------------------

/// A TLS client and server in memory: each SSL object reads and writes one half of a BIO
/// pair, as Asio's engine sets up a client (the same BIO as read and write BIO), and the
/// test carries the bytes between the other halves.
class TlsPair {
public:
    /// `max_version`: the highest TLS version the server takes (0: OpenSSL's highest).
    explicit TlsPair(int max_version = 0) {
        const auto& pki = certificates();
        client_ctx_ = SSL_CTX_new(TLS_client_method());
        server_ctx_ = SSL_CTX_new(TLS_server_method());
        if (!client_ctx_ || !server_ctx_ ||
            SSL_CTX_set_max_proto_version(server_ctx_, max_version) != 1 ||
            SSL_CTX_use_certificate_chain_file(server_ctx_, pki.server_cert.c_str()) != 1 ||
            SSL_CTX_use_PrivateKey_file(server_ctx_, pki.server_key.c_str(), SSL_FILETYPE_PEM) !=
                1) {
            throw std::runtime_error("TlsPair: OpenSSL set-up failed");
        }
        client = join(client_ctx_, client_net);
        server = join(server_ctx_, server_net);
        SSL_set_connect_state(client);
        SSL_set_accept_state(server);
        for (int turn = 0; turn < 20; ++turn) {
            const int c = SSL_do_handshake(client);
            carry(client_net, server_net);
            const int s = SSL_do_handshake(server);
            carry(server_net, client_net);
            if (c == 1 && s == 1) return;
        }
        throw std::runtime_error("TlsPair: the handshake did not finish");
    }
    ~TlsPair() {
        SSL_free(client); // each frees its half of its pair
        SSL_free(server);
        BIO_free(client_net);
        BIO_free(server_net);
        SSL_CTX_free(client_ctx_);
        SSL_CTX_free(server_ctx_);
    }
    TlsPair(const TlsPair&) = delete;
    TlsPair& operator=(const TlsPair&) = delete;

    /// Everything `from`'s SSL object wrote, as it would cross the network.
    static std::string take(BIO* net) {
        std::string bytes;
        std::array<char, 4096> buffer{};
        int n = 0;
        while ((n = BIO_read(net, buffer.data(), static_cast<int>(buffer.size()))) > 0) {
            bytes.append(buffer.data(), static_cast<std::size_t>(n));
        }
        return bytes;
    }
    static void give(BIO* net, std::string_view bytes) {
        ASSERT_EQ(BIO_write(net, bytes.data(), static_cast<int>(bytes.size())),
                  static_cast<int>(bytes.size()));
    }
    /// Everything `ssl` can read of what reached it.
    static std::string read_all(SSL* ssl) {
        std::string plain;
        std::array<char, 16384> buffer{};
        std::size_t got = 0;
        while (SSL_read_ex(ssl, buffer.data(), buffer.size(), &got) == 1) {
            plain.append(buffer.data(), got);
        }
        return plain;
    }
    /// The client reads through OpenSSL what reached it (the server's session tickets
    /// after a TLS 1.3 handshake): nothing then waits in its own BIO.
    void client_reads_what_waits() { (void)read_all(client); }

    SSL* client = nullptr;
    SSL* server = nullptr;
    BIO* client_net = nullptr; // the network side of the client's pair
    BIO* server_net = nullptr;

private:
    static SSL* join(SSL_CTX* ctx, BIO*& net) {
        SSL* ssl = SSL_new(ctx);
        BIO* inside = nullptr;
        if (!ssl || BIO_new_bio_pair(&inside, 1 << 20, &net, 1 << 20) != 1) {
            throw std::runtime_error("TlsPair: OpenSSL set-up failed");
        }
        SSL_set_bio(ssl, inside, inside);
        return ssl;
    }
    static void carry(BIO* from, BIO* to) { give(to, take(from)); }

    SSL_CTX* client_ctx_ = nullptr;
    SSL_CTX* server_ctx_ = nullptr;
};

/// `size` bytes, byte i = i % 251.
std::string pattern(std::size_t size) {
    std::string bytes(size, '\0');
    for (std::size_t i = 0; i < size; ++i) bytes[i] = static_cast<char>(i % 251);
    return bytes;
}

/// Feeds `wire` to `reader` in pieces of `piece` bytes (at most its free room each) and
/// returns the plaintext it decrypts, with the error that ended it.
std::string read_through(http::detail::TlsReader& reader, std::string_view wire, std::size_t piece,
                         boost::system::error_code& ec) {
    std::string plain;
    std::array<char, 16384> out{};
    while (!wire.empty() && !ec) {
        const asio::mutable_buffer room = reader.space();
        EXPECT_GT(room.size(), 0u);
        if (room.size() == 0) break;
        const std::size_t n = std::min({piece, room.size(), wire.size()});
        std::memcpy(room.data(), wire.data(), n);
        reader.filled(n);
        wire.remove_prefix(n);
        while (const std::size_t got = reader.read(asio::buffer(out), ec)) {
            plain.append(out.data(), got);
        }
    }
    return plain;
}

TEST(TlsReader, ReadsRecordsSplitAcrossReadsAndTheCloseNotify) {
    TlsPair tls;
    tls.client_reads_what_waits();
    http::detail::TlsReader reader;
    ASSERT_TRUE(reader.attach(tls.client));
    // 200 KiB: 13 records and more, fed 7000 bytes at a time (every read ends inside a
    // record), then the server's close_notify.
    const std::string message = pattern(200 * 1024);
    std::size_t written = 0;
    ASSERT_EQ(SSL_write_ex(tls.server, message.data(), message.size(), &written), 1);
    ASSERT_EQ(written, message.size());
    ASSERT_GE(SSL_shutdown(tls.server), 0);
    const std::string wire = TlsPair::take(tls.server_net);
    ASSERT_GT(wire.size(), message.size());
    boost::system::error_code ec;
    const std::string plain = read_through(reader, wire, 7000, ec);
    EXPECT_TRUE(plain == message) << plain.size() << " of " << message.size() << " bytes";
    EXPECT_EQ(ec, asio::error::eof) << ec.message();
}

TEST(TlsReader, WaitsWhileBytesWaitInTheFirstBio) {
    TlsPair tls;
    tls.client_reads_what_waits();
    // A record that reached the client's own BIO and that OpenSSL has not read: the reader
    // must not take over yet, or the record would be lost.
    std::size_t written = 0;
    ASSERT_EQ(SSL_write_ex(tls.server, "first", 5, &written), 1);
    TlsPair::give(tls.client_net, TlsPair::take(tls.server_net));
    http::detail::TlsReader reader;
    EXPECT_FALSE(reader.attach(tls.client));
    EXPECT_FALSE(reader.attached());
    std::array<char, 16> buffer{};
    std::size_t got = 0;
    ASSERT_EQ(SSL_read_ex(tls.client, buffer.data(), buffer.size(), &got), 1);
    EXPECT_EQ(std::string_view(buffer.data(), got), "first");
    // Read: now it takes over, and the next record comes through it.
    ASSERT_TRUE(reader.attach(tls.client));
    ASSERT_EQ(SSL_write_ex(tls.server, "second", 6, &written), 1);
    boost::system::error_code ec;
    EXPECT_EQ(read_through(reader, TlsPair::take(tls.server_net), 1 << 16, ec), "second");
    EXPECT_FALSE(ec) << ec.message();
}

TEST(TlsReader, ARecordThatDoesNotVerifyIsAnSslError) {
    TlsPair tls;
    tls.client_reads_what_waits();
    http::detail::TlsReader reader;
    ASSERT_TRUE(reader.attach(tls.client));
    const std::string message = pattern(1000);
    std::size_t written = 0;
    ASSERT_EQ(SSL_write_ex(tls.server, message.data(), message.size(), &written), 1);
    std::string wire = TlsPair::take(tls.server_net);
    wire[wire.size() / 2] = static_cast<char>(wire[wire.size() / 2] ^ 0x5a); // in the body
    boost::system::error_code ec;
    const std::string plain = read_through(reader, wire, 1 << 16, ec);
    EXPECT_TRUE(plain.empty());
    EXPECT_EQ(ec.category(), asio::error::get_ssl_category()) << ec.message();
}

// --- TlsWriter: the writes of an HTTP/2 connection over TLS --------------------------------------

/// What the server decrypts of `wire`.
std::string server_reads(TlsPair& tls, std::string_view wire) {
    TlsPair::give(tls.server_net, wire);
    return TlsPair::read_all(tls.server);
}

TEST(TlsWriter, SealsABatchIntoRecordsThePeerReads) {
    TlsPair tls;
    tls.client_reads_what_waits();
    http::detail::TlsWriter writer;
    ASSERT_TRUE(writer.attach(tls.client));
    EXPECT_FALSE(writer.pending());
    // 200 KiB in one batch: all its records come back at once, none through the old BIO.
    const std::string message = pattern(200 * 1024);
    boost::system::error_code ec;
    const std::string first(writer.seal(message, ec));
    ASSERT_FALSE(ec) << ec.message();
    EXPECT_GT(first.size(), message.size());
    EXPECT_TRUE(TlsPair::take(tls.client_net).empty());
    EXPECT_FALSE(writer.pending());
    // A second batch holds only its own records.
    const std::string second(writer.seal("second", ec));
    ASSERT_FALSE(ec) << ec.message();
    EXPECT_LT(second.size(), 100u);
    const std::string plain = server_reads(tls, first + second);
    EXPECT_TRUE(plain == message + "second") << plain.size() << " bytes";
}

TEST(TlsWriter, WaitsWhileRecordsWaitUnsentInTheFirstBio) {
    TlsPair tls;
    tls.client_reads_what_waits();
    // A record the client's own BIO holds, not yet sent: the writer must not take over, or
    // it would be lost.
    std::size_t written = 0;
    ASSERT_EQ(SSL_write_ex(tls.client, "first", 5, &written), 1);
    http::detail::TlsWriter writer;
    EXPECT_FALSE(writer.attach(tls.client));
    EXPECT_FALSE(writer.attached());
    std::string wire = TlsPair::take(tls.client_net);
    ASSERT_TRUE(writer.attach(tls.client));
    boost::system::error_code ec;
    wire += writer.seal("then", ec);
    ASSERT_FALSE(ec) << ec.message();
    EXPECT_EQ(server_reads(tls, wire), "firstthen");
}

TEST(TlsWriter, AKeyUpdateAnswerLeavesBeforeTheNextRecords) {
    // The server asks for a TLS 1.3 key update: the client's answer (a KeyUpdate of its
    // own) must reach the server before the client's next records, sealed under the new
    // key, or the server cannot read them.
    TlsPair tls;
    tls.client_reads_what_waits();
    ASSERT_EQ(SSL_version(tls.client), TLS1_3_VERSION);
    http::detail::TlsReader reader;
    http::detail::TlsWriter writer;
    ASSERT_TRUE(reader.attach(tls.client));
    ASSERT_TRUE(writer.attach(tls.client));
    ASSERT_EQ(SSL_key_update(tls.server, SSL_KEY_UPDATE_REQUESTED), 1);
    std::size_t written = 0;
    ASSERT_EQ(SSL_write_ex(tls.server, "ping", 4, &written), 1);
    boost::system::error_code ec;
    EXPECT_EQ(read_through(reader, TlsPair::take(tls.server_net), 1 << 16, ec), "ping");
    ASSERT_FALSE(ec) << ec.message();
    const std::string wire(writer.seal("pong", ec));
    ASSERT_FALSE(ec) << ec.message();
    EXPECT_EQ(server_reads(tls, wire), "pong");
    EXPECT_EQ(SSL_get_key_update_type(tls.client), SSL_KEY_UPDATE_NONE); // answered
}

TEST(TlsWriter, AnAlertTheReaderMakesWaitsForTheNextBatch) {
    // Over TLS 1.2 the server asks to renegotiate (HTTP/2 forbids it): the client's
    // SSL_read refuses with a no_renegotiation alert, which it writes by itself.
    TlsPair tls(TLS1_2_VERSION);
    http::detail::TlsReader reader;
    http::detail::TlsWriter writer;
    ASSERT_TRUE(reader.attach(tls.client));
    ASSERT_TRUE(writer.attach(tls.client));
    ASSERT_EQ(SSL_renegotiate(tls.server), 1);
    (void)SSL_do_handshake(tls.server); // the HelloRequest goes out
    boost::system::error_code ec;
    EXPECT_EQ(read_through(reader, TlsPair::take(tls.server_net), 1 << 16, ec), "");
    ASSERT_FALSE(ec) << ec.message();
    ASSERT_TRUE(writer.pending());
    const std::string alert(writer.seal("", ec));
    ASSERT_FALSE(ec) << ec.message();
    EXPECT_FALSE(writer.pending());
    ERR_clear_error();
    EXPECT_EQ(server_reads(tls, alert), "");
    EXPECT_EQ(ERR_GET_REASON(ERR_peek_error()), SSL_R_NO_RENEGOTIATION);
    ERR_clear_error();
}

} // namespace
} // namespace nector::test
