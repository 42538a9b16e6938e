// Streaming uploads: a body from a file path, from a producer (chunked over HTTP/1.1, DATA
// frames over HTTP/2), and multipart parts read from disk, against httpbin, nghttpd and the
// in-process servers.
#include "integration/client.hpp"
#include "support/h2_peer.hpp"
#include "support/h2_server.hpp"
#include "support/servers.hpp"
#include "support/test_server.hpp"
#include "support/unix_server.hpp"

#include <nector/http/errors.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/json/parse.hpp>

#include <gtest/gtest.h>

#include <array>
#include <fstream>
#include <functional>
#include <memory>

#include <unistd.h>

namespace nector::test {
namespace asio = boost::asio;
namespace {

using http::BodyProducer;

/// A file of `size` bytes (byte i = 'a' + i % 26) in `dir`.
std::filesystem::path make_file(const TempDir& dir, std::string name, std::size_t size) {
    const auto path = dir.path() / name;
    std::string bytes(size, '\0');
    for (std::size_t i = 0; i < size; ++i) bytes[i] = static_cast<char>('a' + i % 26);
    std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(size));
    return path;
}

/// A producer of `pieces`, one per call.
BodyProducer producer_of(std::vector<std::string> pieces,
                         std::optional<std::uint64_t> size = std::nullopt) {
    auto state =
        std::make_shared<std::pair<std::vector<std::string>, std::size_t>>(std::move(pieces), 0);
    return BodyProducer{.next = [state]() -> asio::awaitable<std::optional<std::string>> {
                            if (state->second == state->first.size()) co_return std::nullopt;
                            co_return state->first[state->second++];
                        },
                        .size = size};
}

TEST(Upload, FileBodyOverHttp11AndHttp2) {
    TempDir dir;
    const auto path = make_file(dir, "body.bin", 3 << 20);
    const std::string expected = read_file(path);
    // HTTP/1.1 with a Content-Length, read back by the in-process server.
    TestServer server(TestServer::respond(http_response(200, "ok")));
    (void)fetch({}, HttpMessage{.method = "PUT", .url = server.url("/"), .content_path = path});
    const auto seen = server.requests().at(0);
    EXPECT_EQ(seen.header("Content-Length"), std::to_string(expected.size()));
    EXPECT_FALSE(seen.header("Transfer-Encoding"));
    EXPECT_TRUE(seen.body == expected);
    // HTTP/2: the in-process server echoes it.
    H2TestServer h2_server;
    Options h2;
    h2.http2_prior_knowledge = true;
    const Response echoed =
        fetch(h2, HttpMessage{.method = "PUT", .url = h2_server.url("/up"), .content_path = path});
    EXPECT_EQ(echoed.body.size(), expected.size());
    EXPECT_TRUE(echoed.body == expected);
    EXPECT_EQ(h2_server.requests().at(0).header("content-length"), std::to_string(expected.size()));
}

// Over TLS each piece's records are made at once and written in one socket write
// (tls_batch.hpp): the server must read exactly the bytes sent, file and producer alike.
TEST(Upload, FileAndProducerBodiesOverTls) {
    TempDir dir;
    const auto path = make_file(dir, "body.bin", (3 << 20) + 17);
    const std::string expected = read_file(path);
    TestServer server(TestServer::respond(http_response(200, "ok")),
                      TlsFiles{certificates().server_cert, certificates().server_key, ""});
    Options o;
    o.tls.ca_file = certificates().ca_cert.string();
    (void)fetch(o, HttpMessage{.method = "PUT", .url = server.url("/"), .content_path = path});
    std::vector<std::string> pieces;
    for (std::size_t at = 0; at < expected.size(); at += 100000)
        pieces.push_back(expected.substr(at, 100000));
    (void)fetch(
        o, HttpMessage{.method = "POST", .url = server.url("/"), .producer = producer_of(pieces)});
    const auto seen = server.requests();
    ASSERT_EQ(seen.size(), 2u);
    EXPECT_EQ(seen[0].header("Content-Length"), std::to_string(expected.size()));
    EXPECT_TRUE(seen[0].body == expected);
    EXPECT_EQ(seen[1].header("Transfer-Encoding"), "chunked");
    EXPECT_TRUE(seen[1].body == expected);
}

TEST(Upload, ProducerIsChunkedOverHttp11) {
    TestServer server(TestServer::respond(http_response(200, "ok")));
    (void)fetch({}, HttpMessage{.method = "POST",
                                .url = server.url("/"),
                                .producer = producer_of({"one,", "", "two,", "three"})});
    const auto seen = server.requests().at(0);
    EXPECT_EQ(seen.header("Transfer-Encoding"), "chunked");
    EXPECT_FALSE(seen.header("Content-Length"));
    EXPECT_EQ(seen.body, "one,two,three");
}

TEST(Upload, ProducerWithASizeSendsContentLength) {
    TestServer server(TestServer::respond(http_response(200, "ok")));
    (void)fetch({}, HttpMessage{.method = "POST",
                                .url = server.url("/"),
                                .producer = producer_of({"abc", "de"}, 5)});
    const auto seen = server.requests().at(0);
    EXPECT_EQ(seen.header("Content-Length"), "5");
    EXPECT_EQ(seen.body, "abcde");
    // A producer that breaks its word is a SerializationError, not a corrupt request.
    TestServer other(TestServer::respond(http_response(200, "ok")));
    const auto e = fetch_error<SerializationError>(
        {},
        HttpMessage{.method = "POST", .url = other.url("/"), .producer = producer_of({"abc"}, 5)});
    ASSERT_TRUE(e);
    EXPECT_TRUE(contains(e->what(), "declared 5")) << e->what();
}

TEST(Upload, ProducerOverHttp2) {
    H2TestServer server; // echoes the body
    Options o;
    o.http2_prior_knowledge = true;
    const Response r = fetch(o, HttpMessage{.method = "POST",
                                            .url = server.url("/"),
                                            .producer = producer_of({"alpha ", "beta ", "gamma"})});
    EXPECT_EQ(r.body, "alpha beta gamma");
    EXPECT_FALSE(server.requests().at(0).header("content-length"));
}

// Over h2c an upload's bytes are written from where the reader holds them (a producer's
// piece, a file through sendfile), gathered with other streams' frames into the same writes,
// and the reader moves on only once its piece is written. Three uploads at once on one
// connection, pieces larger than the 64 KiB windows: each must arrive byte for byte.
TEST(Upload, ConcurrentUploadsOnOneH2cConnectionArriveWhole) {
    TempDir dir;
    const auto path = make_file(dir, "body.bin", (3 << 20) + 7);
    std::vector<std::string> sent(3);
    for (std::size_t k = 0; k < 2; ++k) {
        sent[k].resize((2 << 20) + 1000 * k);
        for (std::size_t i = 0; i < sent[k].size(); ++i)
            sent[k][i] = static_cast<char>((i * (k + 3)) % 251);
    }
    sent[2] = read_file(path);
    H2TestServer server; // echoes the body
    Options o;
    o.http2_prior_knowledge = true;
    std::vector<Response> echoed(3);
    run([&]() -> asio::awaitable<void> {
        HTTPTransport<> t(o);
        co_await t.connect();
        auto ex = co_await asio::this_coro::executor;
        int done = 0;
        asio::steady_timer all_done(ex, asio::steady_timer::time_point::max());
        for (std::size_t k = 0; k < 3; ++k) {
            asio::co_spawn(
                ex,
                [&, k]() -> asio::awaitable<void> {
                    const std::array<const char*, 3> paths{"/0", "/1", "/2"};
                    HttpMessage m{.method = "PUT", .url = server.url(paths[k])};
                    if (k < 2) {
                        std::vector<std::string> pieces;
                        for (std::size_t at = 0; at < sent[k].size(); at += 100000)
                            pieces.push_back(sent[k].substr(at, 100000));
                        m.producer = producer_of(pieces);
                    } else {
                        m.content_path = path;
                    }
                    try {
                        echoed[k] = co_await t.request(std::move(m));
                    } catch (const std::exception& e) {
                        ADD_FAILURE() << k << ": " << e.what();
                    }
                    if (++done == 3) all_done.cancel();
                },
                asio::detached);
        }
        co_await all_done.async_wait(asio::as_tuple(asio::use_awaitable));
        co_await t.disconnect();
    }());
    for (std::size_t k = 0; k < 3; ++k) {
        EXPECT_EQ(echoed[k].status, 200) << k;
        EXPECT_TRUE(echoed[k].body == sent[k])
            << k << ": " << echoed[k].body.size() << " of " << sent[k].size() << " bytes";
    }
    const auto seen = server.requests();
    ASSERT_EQ(seen.size(), 3u);
    for (const auto& request : seen) EXPECT_EQ(request.connection, 0u);
}

TEST(Upload, MultipartFilesAreStreamedFromDisk) {
    TempDir dir;
    const auto path = make_file(dir, "report.txt", 200000);
    HttpMessage m{.method = "POST",
                  .url = httpbin().url("/post"),
                  .form = {{"title", "weekly"}},
                  .files = {{.field = "doc", .path = path},
                            {.field = "note", .filename = "n.txt", .content = to_bytes("hi")}}};
    const Response r = fetch({}, std::move(m));
    const auto json = boost::json::parse(r.body);
    EXPECT_EQ(json.at("form").at("title").as_string(), "weekly");
    EXPECT_TRUE(json.at("files").at("doc").as_string() == read_file(path));
    EXPECT_EQ(json.at("files").at("note").as_string(), "hi");
}

/// The boundary a multipart Content-Type names.
std::string boundary_of(const std::optional<std::string>& content_type) {
    const std::string value = content_type.value_or("");
    const auto at = value.find("boundary=");
    return at == std::string::npos ? std::string() : value.substr(at + 9);
}

// Over h2c each file of a multipart body goes out from the page cache (sendfile, DATA frames
// of it as large as the server allows) between the parts held in memory: the server must
// read the bytes HTTP/1.1 sends, for a file of many frames, an empty one and a small one.
TEST(Upload, MultipartFilesOverH2cAreTheBytesHttp11Sends) {
    TempDir dir;
    const auto big = make_file(dir, "big.bin", (2 << 20) + 5);
    const auto empty = make_file(dir, "empty.bin", 0);
    const auto small = make_file(dir, "small.txt", 1000);
    auto message = [&](std::string url) {
        return HttpMessage{
            .method = "POST",
            .url = std::move(url),
            .form = {{"title", "weekly"}},
            .files = {{.field = "a", .path = big},
                      {.field = "b", .path = empty},
                      {.field = "note", .filename = "n.txt", .content = to_bytes("hi")},
                      {.field = "c", .path = small}}};
    };
    TestServer h1(TestServer::respond(http_response(200, "ok")));
    (void)fetch({}, message(h1.url("/")));
    H2TestServer h2_server; // echoes the body
    Options h2;
    h2.http2_prior_knowledge = true;
    const Response echoed = fetch(h2, message(h2_server.url("/up")));
    const auto h1_seen = h1.requests().at(0);
    const std::string h1_boundary = boundary_of(h1_seen.header("Content-Type"));
    const std::string h2_boundary = boundary_of(h2_server.requests().at(0).header("content-type"));
    ASSERT_FALSE(h1_boundary.empty());
    ASSERT_EQ(h1_boundary.size(), h2_boundary.size());
    std::string body = echoed.body;
    for (auto at = body.find(h2_boundary); at != std::string::npos;
         at = body.find(h2_boundary, at + h2_boundary.size())) {
        body.replace(at, h2_boundary.size(), h1_boundary);
    }
    EXPECT_GT(body.size(), std::size_t{2} << 20);
    EXPECT_TRUE(body == h1_seen.body) << body.size() << " bytes, HTTP/1.1 " << h1_seen.body.size();
}

TEST(Upload, AProducerBodyIsNeverRetried) {
    TestServer server(TestServer::respond(http_response(503, "busy")));
    Options o;
    o.retry.backoff_factor = std::chrono::milliseconds(1);
    const auto e = fetch_error<http::HTTPServerError>(
        o, HttpMessage{.method = "PUT", .url = server.url("/"), .producer = producer_of({"x"})});
    ASSERT_TRUE(e);
    EXPECT_TRUE(contains(e->what(), "cannot be sent again")) << e->what();
    EXPECT_EQ(server.requests().size(), 1u);
    // The same request with a file body is retried (PUT is idempotent).
    TempDir dir;
    const auto path = make_file(dir, "f", 10);
    TestServer again(TestServer::respond(http_response(503, "busy")));
    (void)fetch_error<http::HTTPServerError>(
        o, HttpMessage{.method = "PUT", .url = again.url("/"), .content_path = path});
    EXPECT_EQ(again.requests().size(), 4u);
    EXPECT_EQ(again.requests().back().body, read_file(path));
}

TEST(Upload, A307OfAProducerBodyIsReturnedNotFollowed) {
    TestServer server(TestServer::respond(
        http_response(307, "", {{"Location", "/elsewhere"}}, "Temporary Redirect")));
    const Response r = fetch(
        {}, HttpMessage{.method = "POST", .url = server.url("/"), .producer = producer_of({"x"})});
    EXPECT_EQ(r.status, 307);
    EXPECT_EQ(server.requests().size(), 1u);
}

/// A server that, once a request's head has arrived, calls `change` (the client is then
/// still sending: the body is far larger than what the sockets buffer), then reads until the
/// client stops.
TestServer::Handler change_after_head(std::function<void()> change) {
    return [change = std::move(change)](TestConnection& c) -> asio::awaitable<void> {
        std::string seen;
        bool changed = false;
        try {
            for (;;) {
                const std::string bytes = co_await c.read_some_raw();
                if (bytes.empty()) break;
                if (!changed) {
                    seen += bytes;
                    if (seen.find("\r\n\r\n") != std::string::npos) {
                        change();
                        changed = true;
                    }
                }
            }
        } catch (const boost::system::system_error&) { // the client gave up: a reset
        }
    };
}

/// HTTP/2 (h2c): opens the session, reads the request's HEADERS, makes `change`, then opens
/// the windows wide and reads until the client leaves. The client has sent at most the
/// first window's 65 535 bytes of the body by then.
TestServer::Handler h2_change_after_head(std::function<void()> change) {
    return [change = std::move(change)](TestConnection& c) -> asio::awaitable<void> {
        h2::Peer peer(c);
        try {
            co_await peer.open();
            for (;;) {
                const std::optional<h2::Frame> frame = co_await peer.next();
                if (!frame) co_return;
                if (frame->type == h2::headers) break;
            }
            change();
            co_await peer.send(h2::frame(h2::settings, h2::ack, 0) +
                               h2::window_update_frame(0, 1u << 30) +
                               h2::window_update_frame(1, 1u << 30));
            const auto goaway = co_await peer.read_until_closed();
            (void)goaway;
        } catch (const boost::system::system_error&) { // the client gave up: a reset
        }
    };
}

// Over h2c a file is framed a batch at a time even when the server opens its windows wide:
// frames the connection must send meanwhile (a PING's answer, window updates, resets) wait
// for one batch, not for the whole file. The server opens 1 GiB windows, lets 1 MiB of the
// body arrive, sends a PING, and counts the body bytes that arrive before its answer.
TEST(Upload, AFileOverH2cLeavesRoomForOtherFrames) {
    constexpr std::size_t size = 64 << 20;
    TempDir dir;
    const auto path = make_file(dir, "big.bin", size);
    std::size_t before_ack = 0;
    std::size_t total = 0;
    TestServer server([&](TestConnection& c) -> asio::awaitable<void> {
        h2::Peer peer(c);
        try {
            co_await peer.open();
            co_await peer.send(h2::frame(h2::settings, h2::ack, 0) +
                               h2::window_update_frame(0, 1u << 30) +
                               h2::window_update_frame(1, 1u << 30));
            bool pinged = false;
            bool acked = false;
            for (;;) {
                const std::optional<h2::Frame> frame = co_await peer.next();
                if (!frame) co_return;
                if (frame->type == h2::data) {
                    total += frame->payload.size();
                    if (!acked) before_ack += pinged ? frame->payload.size() : 0;
                    if (!pinged && total >= (1u << 20)) {
                        co_await peer.send(h2::ping_frame(7));
                        pinged = true;
                    }
                    if ((frame->flags & h2::end_stream) != 0) break;
                } else if (frame->type == h2::ping && (frame->flags & h2::ack) != 0) {
                    acked = true;
                }
            }
            const h2::Fields answer{{":status", "204"}};
            co_await peer.send(h2::headers_frame(1, answer, true));
            const auto goaway = co_await peer.read_until_closed();
            (void)goaway;
        } catch (const boost::system::system_error&) { // the client left
        }
    });
    Options o;
    o.http2_prior_knowledge = true;
    const Response r =
        fetch(o, HttpMessage{.method = "PUT", .url = server.url("/"), .content_path = path});
    EXPECT_EQ(r.status, 204);
    EXPECT_EQ(total, size);
    // One batch (4 MiB of the file) and what the sockets hold, far from the whole file.
    EXPECT_LT(before_ack, std::size_t{24} << 20) << before_ack << " bytes before the PING's answer";
}

// A file sent from disk (sendfile over plain TCP and h2c, read() over TLS) must still have
// the size it had when the request was prepared: one that shrinks or grows meanwhile fails
// the request with a SerializationError naming the file, rather than sending a body that is
// not what the Content-Length says.
TEST(Upload, AFileThatChangesWhileItIsSentIsASerializationError) {
    constexpr std::size_t size = 64 << 20; // more than loopback's socket buffers hold
    for (const std::string wire : {"plain", "TLS", "h2c"}) {
        const bool tls = wire == "TLS";
        for (const bool grows : {false, true}) {
            SCOPED_TRACE(wire + (grows ? ", grows" : ", shrinks"));
            TempDir dir;
            const auto path = make_file(dir, "big.bin", size);
            auto change = [path, grows] {
                if (grows) {
                    std::ofstream(path, std::ios::binary | std::ios::app) << "more";
                } else {
                    std::filesystem::resize_file(path, 1 << 20);
                }
            };
            const auto server =
                tls ? std::make_unique<TestServer>(
                          change_after_head(change),
                          TlsFiles{certificates().server_cert, certificates().server_key, ""})
                : wire == "h2c" ? std::make_unique<TestServer>(h2_change_after_head(change))
                                : std::make_unique<TestServer>(change_after_head(change));
            Options o;
            o.tls.ca_file = certificates().ca_cert.string();
            o.http2_prior_knowledge = wire == "h2c";
            o.retry.max_retries = 0;
            const auto e = fetch_error<SerializationError>(
                o, HttpMessage{.method = "PUT", .url = server->url("/"), .content_path = path});
            ASSERT_TRUE(e);
            EXPECT_TRUE(contains(e->what(), grows ? "the file grew while it was being sent"
                                                  : "the file is shorter than when the request "
                                                    "was prepared"))
                << e->what();
            EXPECT_TRUE(contains(e->what(), "big.bin")) << e->what();
        }
    }
}

// sendfile() cannot be told MSG_NOSIGNAL: when the peer is gone it returns EPIPE and raises
// SIGPIPE, whose default ends the process. A server that closes in the middle of a file
// upload (over a Unix socket the next send sees EPIPE at once) must fail the request, not
// end the test program.
TEST(Upload, APeerGoneDuringASendfileUploadFailsTheRequestWithoutSigpipe) {
    TempDir dir;
    const auto path = make_file(dir, "big.bin", 16 << 20); // far more than the socket holds
    AbstractUnixServer server("nector-upload-test", [](auto& s, const std::string&) {
        s.close(); // gone, the body unread
    });
    Options o;
    o.unix_socket = server.socket_option();
    o.retry.max_retries = 0;
    const auto e = fetch_error<TransportError>(
        o, HttpMessage{.method = "PUT", .url = "http://api.test/up", .content_path = path});
    server.join();
    ASSERT_TRUE(e);
    EXPECT_TRUE(contains(e->what(), "sending the request body")) << e->what();
}

TEST(Upload, MissingFileIsASerializationErrorNamingIt) {
    const auto e = fetch_error<SerializationError>(
        {}, HttpMessage{
                .method = "PUT", .url = "http://127.0.0.1:9/", .content_path = "/no/such/file"});
    ASSERT_TRUE(e);
    EXPECT_TRUE(contains(e->what(), "/no/such/file")) << e->what();
    EXPECT_TRUE(contains(e->what(), "PUT http://127.0.0.1:9/")) << e->what();
}

} // namespace
} // namespace nector::test
