// stream_response and content decoding: httpbin (/stream, /drip, /gzip, /brotli, /deflate),
// nginx static files over HTTP/1.1, h2c and h2, the in-process servers for truncated bodies,
// backpressure, early exits and decompression bombs.
#include "integration/client.hpp"
#include "support/arrival.hpp"
#include "support/h2_server.hpp"
#include "support/servers.hpp"
#include "support/test_server.hpp"

#include <nector/http/errors.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>

#include <zlib.h>

#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <future>
#include <sstream>

namespace nector::test {
namespace asio = boost::asio;
namespace {

using namespace std::chrono_literals;
using http::ResponseStream;
using http::Version;

/// gzip of `size` zero bytes, made a MiB at a time (a decompression bomb for large sizes).
std::string gzip_zeros(std::size_t size) {
    z_stream z{};
    deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY);
    const std::string zeros(1 << 20, '\0');
    std::string out;
    char buffer[1 << 16];
    for (std::size_t done = 0; done <= size;) {
        const std::size_t n = std::min(zeros.size(), size - done);
        done += n;
        const bool last = done == size;
        z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(zeros.data()));
        z.avail_in = static_cast<uInt>(n);
        do {
            z.next_out = reinterpret_cast<Bytef*>(buffer);
            z.avail_out = sizeof buffer;
            deflate(&z, last ? Z_FINISH : Z_NO_FLUSH);
            out.append(buffer, sizeof buffer - z.avail_out);
        } while (z.avail_out == 0);
        if (last) break;
    }
    deflateEnd(&z);
    return out;
}

/// Every chunk of `s`, concatenated; the chunk sizes in `sizes` when given.
asio::awaitable<std::string> drain(ResponseStream& s, std::vector<std::size_t>* sizes = nullptr) {
    std::string all;
    while (auto chunk = co_await s.next()) {
        if (sizes) sizes->push_back(chunk->size());
        all += *chunk;
    }
    co_return all;
}

/// The body through read_some() into a buffer of `size` bytes; the sizes of the reads in
/// `sizes`. Checks that each read fits the buffer and that the end is read as 0.
asio::awaitable<std::string> drain_into(ResponseStream& s, std::size_t size,
                                        std::vector<std::size_t>* sizes = nullptr) {
    std::vector<char> buffer(size);
    std::string all;
    for (;;) {
        const std::size_t n = co_await s.read_some(asio::buffer(buffer));
        EXPECT_LE(n, size);
        if (n == 0) break;
        if (sizes) sizes->push_back(n);
        all.append(buffer.data(), n);
    }
    EXPECT_TRUE(s.done());
    EXPECT_EQ(co_await s.read_some(asio::buffer(buffer)), 0u); // the end stays the end
    co_return all;
}

// --- streaming from real servers ------------------------------------------------------------

TEST(Stream, HttpbinStreamArrivesInChunksWithTheHeadFirst) {
    run([]() -> asio::awaitable<void> {
        HTTPTransport<> t({.base_url = httpbin().url()});
        co_await t.connect();
        HttpMessage message{.url = "/stream/20"};

        ResponseStream s = co_await t.stream(std::move(message));
        EXPECT_EQ(s.status(), 200);
        EXPECT_EQ(s.headers().get("Content-Type"), "application/json");
        EXPECT_TRUE(s.response().body.empty());
        EXPECT_FALSE(s.done());
        const std::string body = co_await drain(s);
        EXPECT_TRUE(s.done());
        EXPECT_EQ(std::count(body.begin(), body.end(), '\n'), 20);
    }());
}

TEST(Stream, DripIsReadAsItTrickles) {
    run([]() -> asio::awaitable<void> {
        HTTPTransport<> t({.base_url = httpbin().url()});
        co_await t.connect();
        HttpMessage message{.url = "/drip?duration=0.5&numbytes=5&delay=0"};

        ResponseStream s = co_await t.stream(std::move(message));
        std::vector<std::size_t> sizes;
        const std::string dripped = co_await drain(s, &sizes);
        EXPECT_EQ(dripped, "*****");
        EXPECT_GT(sizes.size(), 1u); // the bytes came in more than one piece
    }());
}

TEST(Stream, StaticFilesOverHttp11H2cAndH2) {
    const std::string expected = read_file(nginx().docroot() / "1m.bin");
    for (const bool h2c : {false, true}) {
        run([&]() -> asio::awaitable<void> {
            Options o;
            o.http2_prior_knowledge = h2c;
            HTTPTransport<> t(o);
            co_await t.connect();
            HttpMessage file{.url = h2c ? nginx().h2c_url("/1m.bin") : nginx().url("/1m.bin")};
            ResponseStream s = co_await t.stream(std::move(file));
            EXPECT_EQ(s.response().version, h2c ? Version::http_2 : Version::http_1_1);
            std::vector<std::size_t> sizes;
            const std::string body = co_await drain(s, &sizes);
            EXPECT_TRUE(body == expected);
            for (std::size_t n : sizes) EXPECT_LE(n, 64u * 1024);
            // After the end the connection went back to the pool: the next request reuses it.
            const std::string next =
                h2c ? nginx().h2c_url("/hello.txt") : nginx().url("/hello.txt");
            (void)co_await t.get(next);
            EXPECT_EQ(t.metrics().connections_opened, 1u);
        }());
    }
    run([&]() -> asio::awaitable<void> {
        Options o;
        o.http2 = true;
        o.tls.ca_file = certificates().ca_cert.string();
        HTTPTransport<> t(o);
        co_await t.connect();
        HttpMessage message{.url = nginx().h2_url("/1m.bin")};

        ResponseStream s = co_await t.stream(std::move(message));
        EXPECT_EQ(s.response().version, Version::http_2);
        const std::string body = co_await s.read_all();
        EXPECT_TRUE(body == expected);
    }());
}

TEST(Stream, ReadSomeFillsTheCallersBufferOverHttp11H2cAndH2) {
    const std::string expected = read_file(nginx().docroot() / "1m.bin");
    enum class Way { http1, h2c, h2 };
    for (const Way way : {Way::http1, Way::h2c, Way::h2}) {
        run([&]() -> asio::awaitable<void> {
            Options o;
            o.http2_prior_knowledge = way == Way::h2c;
            o.http2 = way == Way::h2;
            o.tls.ca_file = certificates().ca_cert.string();
            HTTPTransport<> t(o);
            co_await t.connect();
            const auto url = [&](std::string_view path) {
                return way == Way::http1 ? nginx().url(path)
                       : way == Way::h2c ? nginx().h2c_url(path)
                                         : nginx().h2_url(path);
            };
            // A buffer larger than a read, then one smaller than most (a read never
            // overflows it, and what does not fit waits for the next read).
            for (const std::size_t size : {std::size_t{256} * 1024, std::size_t{1000}}) {
                HttpMessage file{.url = url("/1m.bin")};
                ResponseStream s = co_await t.stream(std::move(file));
                std::vector<std::size_t> sizes;
                const std::string body = co_await drain_into(s, size, &sizes);
                EXPECT_TRUE(body == expected) << body.size();
                EXPECT_GT(sizes.size(), 1u);
            }
            // After the end the connection went back to the pool: the next request reuses it.
            (void)co_await t.get(url("/hello.txt"));
            EXPECT_EQ(t.metrics().connections_opened, 1u);
        }());
    }
}

TEST(Stream, ReadSomeCopiesChunkedAndDecodedBodies) {
    TestServer server([](TestConnection& c) -> asio::awaitable<void> {
        if (!co_await c.read_request()) co_return;
        co_await c.write(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
            "a\r\n0123456789\r\n");
        co_await c.write("10\r\nabcdefghijklmnop\r\n0\r\n\r\n");
    });
    run([&]() -> asio::awaitable<void> {
        HTTPTransport<> t;
        co_await t.connect();
        HttpMessage chunked{.url = server.url("/")};
        ResponseStream s = co_await t.stream(std::move(chunked));
        EXPECT_EQ(co_await drain_into(s, 7), "0123456789abcdefghijklmnop");

        HttpMessage gzipped{.url = httpbin().url("/gzip")};
        ResponseStream g = co_await t.stream(std::move(gzipped));
        EXPECT_EQ(g.headers().get("Content-Encoding"), "gzip");
        const std::string body = co_await drain_into(g, 100);
        EXPECT_TRUE(boost::json::parse(body).at("gzipped").as_bool()) << body;
    }());
}

TEST(Stream, RedirectsAreFollowedBeforeStreaming) {
    run([]() -> asio::awaitable<void> {
        HTTPTransport<> t({.base_url = httpbin().url()});
        co_await t.connect();
        HttpMessage message{.url = "/redirect/2"};

        ResponseStream s = co_await t.stream(std::move(message));
        EXPECT_EQ(s.status(), 200);
        EXPECT_EQ(s.response().history.size(), 2u);
        const std::string body = co_await s.read_all();
        EXPECT_TRUE(contains(body, "\"url\""));
    }());
}

TEST(Stream, StatusErrorsThrowAsInSend) {
    run([]() -> asio::awaitable<void> {
        HTTPTransport<> t({.base_url = httpbin().url()});
        co_await t.connect();
        try {
            HttpMessage message{.url = "/status/404"};

            (void)co_await t.stream(std::move(message));
            ADD_FAILURE() << "no error";
        } catch (const http::HTTPNotFoundError& e) {
            EXPECT_EQ(e.response().status, 404);
        }
        HTTPTransport<> lenient({.base_url = httpbin().url(), .raise_for_status = false});
        co_await lenient.connect();
        HttpMessage message{.url = "/status/418"};

        ResponseStream s = co_await lenient.stream(std::move(message));
        EXPECT_EQ(s.status(), 418);
        const std::string body = co_await s.read_all();
        EXPECT_TRUE(contains(body, "teapot"));
    }());
}

TEST(Stream, ComposesWithAsioAsyncRead) {
    run([]() -> asio::awaitable<void> {
        HTTPTransport<> t;
        co_await t.connect();
        HttpMessage message{.url = nginx().url("/1m.bin")};

        ResponseStream s = co_await t.stream(std::move(message));
        std::string body;
        auto [ec, n] = co_await asio::async_read(s, asio::dynamic_buffer(body),
                                                 asio::as_tuple(asio::use_awaitable));
        EXPECT_EQ(ec, asio::error::eof);
        EXPECT_EQ(n, std::size_t{1} << 20);
        EXPECT_TRUE(body == read_file(nginx().docroot() / "1m.bin"));
    }());
}

TEST(Stream, LinesOfHttpbinStream) {
    run([]() -> asio::awaitable<void> {
        HTTPTransport<> t({.base_url = httpbin().url()});
        co_await t.connect();
        HttpMessage message{.url = "/stream/15"};
        ResponseStream s = co_await t.stream(std::move(message));
        auto lines = s.lines();
        std::int64_t expected_id = 0;
        while (auto line = co_await lines.next()) {
            EXPECT_EQ(boost::json::parse(*line).at("id").as_int64(), expected_id) << *line;
            ++expected_id;
        }
        EXPECT_EQ(expected_id, 15);
    }());
}

/// An HTTP/1.1 server that sends `pieces` as chunks of a chunked text/event-stream body,
/// pausing between them.
TestServer event_server(std::vector<std::string> pieces) {
    return TestServer([pieces](TestConnection& c) -> asio::awaitable<void> {
        if (!co_await c.read_request()) co_return;
        co_await c.write(
            "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
            "Transfer-Encoding: chunked\r\n\r\n");
        for (const std::string& piece : pieces) {
            char size[32];
            std::snprintf(size, sizeof size, "%zx\r\n", piece.size());
            const std::string chunk = size + piece + "\r\n";
            co_await c.write(chunk);
            co_await c.delay(10ms);
        }
        co_await c.write("0\r\n\r\n");
    });
}

TEST(Stream, ServerSentEvents) {
    TestServer server = event_server({"data: one\n\n", "event: tick\ndata: two\nda",
                                      "ta: lines\nid: 7\n\n: a comment\n",
                                      "retry: 1500\r\ndata: three\r\n\r\n", "data: unfinished"});
    std::vector<http::ServerSentEvent> events;
    std::string last_id;
    run([&]() -> asio::awaitable<void> {
        HTTPTransport<> t;
        co_await t.connect();
        HttpMessage message{.url = server.url("/events"),
                            .headers = {{"Accept", "text/event-stream"}}};
        ResponseStream s = co_await t.stream(std::move(message));
        auto stream_events = s.events();
        while (auto event = co_await stream_events.next()) events.push_back(std::move(*event));
        last_id = stream_events.last_event_id();
    }());
    ASSERT_EQ(events.size(), 3u);
    EXPECT_EQ(events[0].event, "message");
    EXPECT_EQ(events[0].data, "one");
    EXPECT_EQ(events[1].event, "tick");
    EXPECT_EQ(events[1].data, "two\nlines");
    EXPECT_EQ(events[1].id, "7");
    EXPECT_EQ(events[2].data, "three");
    EXPECT_EQ(events[2].id, "7"); // the last event id persists
    EXPECT_EQ(events[2].retry, std::chrono::milliseconds(1500));
    EXPECT_EQ(last_id, "7");
}

TEST(Stream, OverlongLineIsATypedError) {
    TestServer server = event_server({std::string(5000, 'a'), "\n"});
    run([&]() -> asio::awaitable<void> {
        HTTPTransport<> t;
        co_await t.connect();
        HttpMessage message{.url = server.url("/")};
        ResponseStream s = co_await t.stream(std::move(message));
        auto lines = s.lines(1000);
        try {
            (void)co_await lines.next();
            ADD_FAILURE() << "no limit";
        } catch (const TransportSpecificError& e) {
            EXPECT_EQ(e.code(), errc::body_too_large);
            EXPECT_TRUE(contains(e.what(), "1000")) << e.what();
        }
    }());
}

TEST(Stream, ServerSentEventsOverHttp2) {
    H2TestServer server([](const H2Request&) {
        return H2Action::respond(200, "id: 1\ndata: a\n\nid: 2\ndata: b\n\n",
                                 {{"content-type", "text/event-stream"}});
    });
    run([&]() -> asio::awaitable<void> {
        HTTPTransport<> t({.http2_prior_knowledge = true});
        co_await t.connect();
        HttpMessage message{.url = server.url("/")};
        ResponseStream s = co_await t.stream(std::move(message));
        EXPECT_EQ(s.response().version, Version::http_2);
        auto events = s.events();
        std::vector<std::string> data;
        while (auto event = co_await events.next()) data.push_back(event->id + ":" + event->data);
        EXPECT_EQ(data, (std::vector<std::string>{"1:a", "2:b"}));
    }());
}

// --- decoding ------------------------------------------------------------------------------

TEST(Decoding, HttpbinGzipBrotliDeflate) {
    for (const char* coding : {"gzip", "brotli", "deflate"}) {
        const Response r = fetch(httpbin().url(std::string("/") + coding));
        const auto json = r.json();
        const char* flag = std::string_view(coding) == "gzip"     ? "gzipped"
                           : std::string_view(coding) == "brotli" ? "brotli"
                                                                  : "deflated";
        EXPECT_TRUE(json.at(flag).as_bool()) << coding;
        // nector asked for every coding it decodes.
        EXPECT_EQ(json.at("headers").at("Accept-Encoding").as_string(), "gzip, deflate, br, zstd");
    }
}

TEST(Decoding, StreamedBodiesAreDecodedToo) {
    run([]() -> asio::awaitable<void> {
        HTTPTransport<> t({.base_url = httpbin().url()});
        co_await t.connect();
        HttpMessage message{.url = "/gzip"};

        ResponseStream s = co_await t.stream(std::move(message));
        EXPECT_EQ(s.headers().get("Content-Encoding"), "gzip");
        const std::string body = co_await s.read_all();
        EXPECT_TRUE(boost::json::parse(body).at("gzipped").as_bool()) << body;
    }());
}

TEST(Decoding, CanBeTurnedOff) {
    const Response r = fetch(httpbin().url("/gzip"), {.decode_content = false});
    EXPECT_EQ(r.headers.get("Content-Encoding"), "gzip");
    ASSERT_GE(r.body.size(), 2u);
    EXPECT_EQ(static_cast<unsigned char>(r.body[0]), 0x1f); // the gzip magic number
    EXPECT_EQ(static_cast<unsigned char>(r.body[1]), 0x8b);
    TestServer server(TestServer::respond(http_response(200, "x")));
    (void)fetch(server.url(), {.decode_content = false});
    EXPECT_FALSE(server.requests().at(0).header("Accept-Encoding"));
}

TEST(Decoding, ADecompressionBombIsStoppedByTheLimits) {
    // 1 GiB of zeros in about a MiB of gzip.
    const std::string bomb = gzip_zeros(std::size_t{1} << 30);
    ASSERT_LT(bomb.size(), 2u << 20);
    TestServer server(
        TestServer::respond(http_response(200, bomb, {{"Content-Encoding", "gzip"}})));
    // Buffered: max_response_bytes bounds the decoded body.
    const auto e = fetch_error<TransportSpecificError>(server.url("/"), {});
    ASSERT_TRUE(e);
    EXPECT_EQ(e->code(), errc::body_too_large);
    // Streamed: max_decoded_bytes does.
    run([&]() -> asio::awaitable<void> {
        HTTPTransport<> t({.max_decoded_bytes = 32u << 20});
        co_await t.connect();
        HttpMessage message{.url = server.url("/")};

        ResponseStream s = co_await t.stream(std::move(message));
        std::size_t decoded = 0;
        try {
            while (auto chunk = co_await s.next()) decoded += chunk->size();
            ADD_FAILURE() << "the bomb went off: " << decoded << " bytes";
        } catch (const TransportSpecificError& error) {
            EXPECT_EQ(error.code(), errc::body_too_large);
            EXPECT_TRUE(contains(error.what(), "gzip")) << error.what();
        }
        EXPECT_LE(decoded, 32u << 20);
    }());
}

TEST(Decoding, CorruptBodyIsATypedError) {
    TestServer server(TestServer::respond(
        http_response(200, "definitely not gzip", {{"Content-Encoding", "gzip"}})));
    const auto e = fetch_error<TransportSpecificError>(server.url("/"), {});
    ASSERT_TRUE(e);
    EXPECT_EQ(e->code(), errc::protocol_error);
    EXPECT_TRUE(contains(e->what(), "GET " + server.url("/"))) << e->what();
    EXPECT_TRUE(contains(e->what(), "gzip")) << e->what();
}

TEST(Limits, HeaderCountAndSize) {
    std::vector<std::pair<std::string, std::string>> many;
    for (int i = 0; i < 300; ++i) many.emplace_back("X-H" + std::to_string(i), "v");
    TestServer server(TestServer::respond(http_response(200, "ok", many)));
    auto e = fetch_error<TransportSpecificError>(server.url("/"), {});
    ASSERT_TRUE(e);
    EXPECT_EQ(e->code(), errc::protocol_error);
    EXPECT_TRUE(contains(e->what(), "max_header_count (256)")) << e->what();
    EXPECT_EQ(fetch(server.url("/"), {.max_header_count = 400}).body, "ok");

    // The head arrives in two pieces, as a slow network would deliver it.
    TestServer big([](TestConnection& c) -> asio::awaitable<void> {
        while (auto request = co_await c.read_request()) {
            const std::string head = http_response(
                200, "ok",
                {{"X-Big1", std::string(40000, 'b')}, {"X-Big2", std::string(40000, 'b')}});
            co_await c.write(std::string_view(head).substr(0, 30000));
            co_await c.delay(20ms);
            co_await c.write(std::string_view(head).substr(30000));
        }
    });
    e = fetch_error<TransportSpecificError>(big.url("/"), {});
    ASSERT_TRUE(e);
    EXPECT_TRUE(contains(e->what(), "max_header_bytes")) << e->what();
    EXPECT_EQ(fetch(big.url("/"), {.max_header_bytes = 128 << 10}).body, "ok");

    H2Fields fields;
    for (int i = 0; i < 300; ++i) fields.emplace_back("x-h" + std::to_string(i), "v");
    H2TestServer h2([&](const H2Request&) { return H2Action::respond(200, "ok", fields); });
    Options o;
    o.http2_prior_knowledge = true;
    o.retry.max_retries = 0;
    e = fetch_error<TransportSpecificError>(h2.url("/"), o);
    ASSERT_TRUE(e);
    EXPECT_TRUE(contains(e->what(), "max_header_count")) << e->what();
}

TEST(Limits, InvalidLimitsAreRefused) {
    EXPECT_THROW(HTTPTransport<> t({.max_header_bytes = 10}), ConfigurationError);
    EXPECT_THROW(HTTPTransport<> t({.max_header_count = 0}), ConfigurationError);
}

// --- faults, early exits, backpressure -----------------------------------------------------

/// Reads `s` to its end, which must be a ConnectionError for a body cut short after `part`.
asio::awaitable<void> expect_cut_short(ResponseStream& s, std::string part,
                                       bool into_buffer = false) {
    std::string got;
    try {
        if (into_buffer) {
            char buffer[4];
            while (const std::size_t n = co_await s.read_some(asio::buffer(buffer))) {
                got.append(buffer, n);
            }
        } else {
            while (auto chunk = co_await s.next()) got += *chunk;
        }
        ADD_FAILURE() << "a short body passed for a whole one";
    } catch (const ConnectionError& e) {
        EXPECT_EQ(e.code(), errc::connection_closed);
        EXPECT_TRUE(contains(e.what(), "before the end of the body")) << e.what();
    }
    EXPECT_EQ(got, part);
}

TEST(Stream, TruncatedBodyIsAnErrorNotAShortBody) {
    TestServer server([](TestConnection& c) -> asio::awaitable<void> {
        if (!co_await c.read_request()) co_return;
        co_await c.write("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten..");
        c.close();
    });
    for (const bool into_buffer : {false, true}) {
        run([&]() -> asio::awaitable<void> {
            HTTPTransport<> t;
            co_await t.connect();
            HttpMessage message{.url = server.url("/")};

            ResponseStream s = co_await t.stream(std::move(message));
            co_await expect_cut_short(s, "only ten..", into_buffer);
        }());
    }
}

TEST(Stream, TruncatedBodyReadStraightIntoABufferIsAnError) {
    // The head alone first, so that the whole body is read past the parser, from the socket
    // straight into the caller's buffer.
    std::atomic<Arrival*> head_read{nullptr};
    TestServer server([&](TestConnection& c) -> asio::awaitable<void> {
        if (!co_await c.read_request()) co_return;
        Arrival client_has_head(co_await asio::this_coro::executor);
        head_read = &client_has_head;
        co_await c.write("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n");
        co_await client_has_head.wait();
        co_await c.write("only ten..");
        c.close();
    });
    run([&]() -> asio::awaitable<void> {
        HTTPTransport<> t;
        co_await t.connect();
        HttpMessage message{.url = server.url("/")};
        // The server goes on however this ends (a failure here must not leave it waiting);
        // signalled once, while the server still waits on it.
        struct Go {
            std::atomic<Arrival*>& arrival;
            ~Go() {
                if (Arrival* a = arrival.exchange(nullptr)) a->signal();
            }
        } go{head_read};
        ResponseStream s = co_await t.stream(std::move(message));
        head_read.exchange(nullptr)->signal();
        co_await expect_cut_short(s, "only ten..", true);
    }());
}

TEST(Stream, BodyReadInPiecesLeavesTheConnectionReusable) {
    // The head comes with the body's first bytes; the rest arrives in later writes and is
    // read past the parser, to the exact Content-Length, so the next response on the same
    // connection starts where it should.
    TestServer server([](TestConnection& c) -> asio::awaitable<void> {
        if (!co_await c.read_request()) co_return;
        co_await c.write("HTTP/1.1 200 OK\r\nContent-Length: 26\r\n\r\nabc");
        co_await c.write("defghijklm");
        co_await c.write("nopqrstuvwxyz");
        if (!co_await c.read_request()) co_return;
        co_await c.write("HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecond");
    });
    run([&]() -> asio::awaitable<void> {
        HTTPTransport<> t;
        co_await t.connect();
        HttpMessage message{.url = server.url("/")};

        ResponseStream s = co_await t.stream(std::move(message));
        std::string got;
        while (auto chunk = co_await s.next()) got += *chunk;
        EXPECT_EQ(got, "abcdefghijklmnopqrstuvwxyz");
        const http::Response second = co_await t.get(server.url("/"));
        EXPECT_EQ(second.body, "second");
    }());
    EXPECT_EQ(server.connections(), 1U);
}

TEST(Stream, TlsCutMidBodyIsAnError) {
    const auto& certs = certificates();
    TestServer server(
        [](TestConnection& c) -> asio::awaitable<void> {
            if (!co_await c.read_request()) co_return;
            co_await c.write("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nfirst");
            co_await c.write(" and second");
            c.cut(); // no close_notify
        },
        TlsFiles{.certificate_chain = certs.server_cert, .private_key = certs.server_key});
    run([&]() -> asio::awaitable<void> {
        Options o;
        o.tls.ca_file = certs.ca_cert.string();
        o.retry.max_retries = 0;
        HTTPTransport<> tls(o);
        co_await tls.connect();
        HttpMessage message{.url = server.url("/")};

        ResponseStream s = co_await tls.stream(std::move(message));
        co_await expect_cut_short(s, "first and second");
    }());
}

TEST(Stream, SlowBodyHitsTheReadTimeout) {
    TestServer server([](TestConnection& c) -> asio::awaitable<void> {
        if (!co_await c.read_request()) co_return;
        co_await c.write("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nstart");
        co_await c.delay(10s);
    });
    run([&]() -> asio::awaitable<void> {
        HTTPTransport<> t({.timeout = {.read = 200ms}});
        co_await t.connect();
        HttpMessage message{.url = server.url("/")};

        ResponseStream s = co_await t.stream(std::move(message));
        const std::optional<std::string> first = co_await s.next();
        EXPECT_EQ(first, std::optional<std::string>("start"));
        try {
            (void)co_await s.next();
            ADD_FAILURE() << "no timeout";
        } catch (const ConnectionTimeoutError& e) {
            EXPECT_EQ(e.code(), errc::read_timeout);
        }
    }());
}

TEST(Stream, TheTotalTimeoutBoundsAStreamedBody) {
    // A body that drips a byte every 20 ms: never idle for the read timeout, never done
    // within the total one.
    TestServer server([](TestConnection& c) -> asio::awaitable<void> {
        auto request = co_await c.read_request();
        if (!request) co_return;
        co_await c.write("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n");
        for (int i = 0; i < 1000; ++i) {
            co_await c.delay(20ms);
            co_await c.write("x");
        }
    });
    run([&]() -> asio::awaitable<void> {
        HTTPTransport<> t({.timeout = {.read = 10s, .total = 400ms}});
        co_await t.connect();
        const auto start = std::chrono::steady_clock::now();
        HttpMessage message{.url = server.url("/")};
        ResponseStream s = co_await t.stream(std::move(message));
        std::size_t got = 0;
        try {
            for (;;) {
                // Every other read straight into a buffer (the deadline bounds both ways).
                if (got % 2 == 1) {
                    char buffer[16];
                    const std::size_t n = co_await s.read_some(asio::buffer(buffer));
                    if (n == 0) break;
                    got += n;
                    continue;
                }
                auto chunk = co_await s.next();
                if (!chunk) break;
                got += chunk->size();
            }
            ADD_FAILURE() << "the whole body arrived within the total timeout";
        } catch (const ConnectionTimeoutError& e) {
            EXPECT_EQ(e.code(), errc::total_timeout);
            EXPECT_TRUE(contains(e.what(),
                                 "reading the response body: the call exceeded the "
                                 "total timeout of 0.4 s"))
                << e.what();
        }
        const auto took = std::chrono::steady_clock::now() - start;
        EXPECT_GT(got, 0u);
        EXPECT_LT(got, 1000u);
        EXPECT_LT(took, 5s); // the total timeout, not the 20 s the body would take
    }());
}

TEST(Stream, LeavingEarlyClosesTheHttp11Connection) {
    run([]() -> asio::awaitable<void> {
        HTTPTransport<> t;
        co_await t.connect();
        {
            HttpMessage message{.url = nginx().url("/1m.bin")};

            ResponseStream s = co_await t.stream(std::move(message));
            const std::optional<std::string> first = co_await s.next();
            EXPECT_TRUE(first);
        } // abandoned after one chunk
        EXPECT_EQ((co_await t.get(nginx().url("/hello.txt"))).body, "hello\n");
        EXPECT_EQ(t.metrics().connections_opened, 2u); // the abandoned one was not reused
    }());
}

TEST(Stream, LeavingEarlyResetsTheHttp2StreamAndKeepsTheConnection) {
    H2TestServer server([](const H2Request& r) {
        return H2Action::respond(200, std::string(r.path == "/big" ? 1u << 20 : 5u, 'x'));
    });
    run([&]() -> asio::awaitable<void> {
        Options o;
        o.http2_prior_knowledge = true;
        o.http2_settings.stream_window = 65535;
        HTTPTransport<> t(o);
        co_await t.connect();
        {
            HttpMessage message{.url = server.url("/big")};

            ResponseStream s = co_await t.stream(std::move(message));
            const std::optional<std::string> first = co_await s.next();
            EXPECT_TRUE(first);
        }
        EXPECT_EQ((co_await t.get(server.url("/small"))).body, "xxxxx");
    }());
    EXPECT_EQ(server.connections_accepted(), 1u);
    ASSERT_EQ(server.resets_received().size(), 1u);
    EXPECT_EQ(server.resets_received()[0].error, H2Error::cancel);
}

TEST(Stream, ASlowReaderHoldsTheHttp11ServerBack) {
    // The server writes 64 MiB a MiB at a time; the client reads one chunk and waits. Only
    // the socket buffers (a few MiB) can fill meanwhile.
    std::atomic<int> written{0};
    std::promise<void> finished; // the handler's last write may complete after the client
    std::future<void> handler_done = finished.get_future(); // has read its bytes
    TestServer server([&](TestConnection& c) -> asio::awaitable<void> {
        if (!co_await c.read_request()) co_return;
        co_await c.write("HTTP/1.1 200 OK\r\nContent-Length: 67108864\r\n\r\n");
        const std::string mib(1 << 20, 'z');
        for (int i = 0; i < 64; ++i) {
            co_await c.write(mib);
            ++written;
        }
        finished.set_value();
    });
    run([&]() -> asio::awaitable<void> {
        HTTPTransport<> t;
        co_await t.connect();
        HttpMessage message{.url = server.url("/")};

        ResponseStream s = co_await t.stream(std::move(message));
        const std::optional<std::string> first = co_await s.next();
        EXPECT_TRUE(first);
        asio::steady_timer pause(co_await asio::this_coro::executor, 300ms);
        co_await pause.async_wait(asio::use_awaitable);
        EXPECT_LT(written.load(), 32) << "the client read ahead of its reader";
        std::size_t total = 0;
        while (auto chunk = co_await s.next()) total += chunk->size();
        EXPECT_GT(total, 60u << 20);
    }());
    ASSERT_EQ(handler_done.wait_for(10s), std::future_status::ready);
    EXPECT_EQ(written.load(), 64);
}

TEST(Stream, ASlowReaderHoldsTheHttp2ServerBack) {
    // With 64 KiB windows, a streamed body that is not read keeps the connection's window
    // closed: nothing is consumed until read. A second request on the same connection then
    // gets no DATA (it times out) until the first body is read.
    H2TestServer server([](const H2Request& r) {
        return H2Action::respond(200, std::string(r.path == "/big" ? 1u << 20 : 5u, 'x'));
    });
    run([&]() -> asio::awaitable<void> {
        Options o;
        o.http2_prior_knowledge = true;
        o.http2_settings.stream_window = 65535;
        o.http2_settings.connection_window = 65535;
        o.retry.max_retries = 0;
        o.timeout.read = 300ms;
        HTTPTransport<> t(o);
        co_await t.connect();
        HttpMessage big{.url = server.url("/big")};
        ResponseStream s = co_await t.stream(std::move(big));
        try {
            (void)co_await t.get(server.url("/small"));
            ADD_FAILURE() << "the unread body did not hold the connection's window";
        } catch (const ConnectionTimeoutError& e) {
            EXPECT_EQ(e.code(), errc::read_timeout);
        }
        std::size_t total = 0;
        while (auto chunk = co_await s.next()) total += chunk->size();
        EXPECT_EQ(total, std::size_t{1} << 20);
        EXPECT_EQ((co_await t.get(server.url("/small"))).body, "xxxxx");
    }());
    EXPECT_EQ(server.connections_accepted(), 1u);
}

TEST(Stream, HeadAndEmptyBodies) {
    run([]() -> asio::awaitable<void> {
        HTTPTransport<> t;
        co_await t.connect();
        HttpMessage message{.method = "HEAD", .url = nginx().url("/1m.bin")};

        ResponseStream head = co_await t.stream(std::move(message));
        EXPECT_EQ(head.headers().get("Content-Length"), "1048576");
        const std::optional<std::string> head_body = co_await head.next();
        EXPECT_FALSE(head_body);
        EXPECT_TRUE(head.done());
        HttpMessage empty{.url = nginx().url("/status/204")};

        ResponseStream none = co_await t.stream(std::move(empty));
        EXPECT_EQ(none.status(), 204);
        const std::optional<std::string> no_body = co_await none.next();
        EXPECT_FALSE(no_body);
    }());
}

} // namespace
} // namespace nector::test
