// Interceptors (Options::hooks.interceptors) against the in-process HTTP/1.1 server: the
// HMAC signing of examples/signed_requests.cpp checked by the server, order, changed requests and
// responses, a retry of one's own, errors and streams. The mock handler (Options::hooks.mock): the
// resilience layers, send/receive, streams, decoding and uploads with no network at all.
#include "integration/client.hpp"
#include "signing.hpp" // examples/: the example's interceptor, tested here over a socket
#include "support/test_server.hpp"

#include <nector/http/errors.hpp>
#include <nector/http/interceptor.hpp>
#include <nector/http/transport.hpp>

#include <zlib.h>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

namespace nector::test {
namespace asio = boost::asio;
namespace {

using namespace std::chrono_literals;
using http::InterceptedRequest;
using http::Interceptor;
using http::Next;

const std::string key = "interceptor-test-key";

TEST(Interceptors, SignEveryExchangeWithAnHmacTheServerChecks) {
    std::string base;
    TestServer server([&](TestConnection& c) -> asio::awaitable<void> {
        while (auto r = co_await c.read_request()) {
            const std::string expected =
                signing::signature(key, r->method, base + r->target, r->body);
            std::string reply;
            if (r->header("X-Signature") != expected) {
                reply = http_response(401, "bad signature");
            } else if (r->target == "/old") {
                reply = http_response(302, "", {{"Location", "/new"}});
            } else {
                reply = http_response(200, "signed " + r->method + " " + r->target);
            }
            co_await c.write(reply);
        }
    });
    base = server.url("");
    base.pop_back(); // "http://127.0.0.1:PORT"
    Options o{.base_url = server.url()};
    o.hooks.interceptors.push_back(signing::signer(key));
    const boost::json::value item = {{"n", 1}}; // (built outside: GCC 12's coroutines)
    run([&]() -> asio::awaitable<void> {
        HTTPTransport<> t(o);
        co_await t.connect();
        Response posted = co_await t.post("/items", item);
        EXPECT_EQ(posted.body, std::string_view("signed POST /items"));
        // Each redirect hop is an exchange of its own, signed for its own URL.
        Response moved = co_await t.get("/old");
        EXPECT_EQ(moved.body, std::string_view("signed GET /new"));
        EXPECT_EQ(moved.history.size(), 1u);
    }());
    EXPECT_EQ(server.requests().size(), 3u);
    // Without the interceptor the server refuses: the check is real.
    Options plain{.base_url = server.url()};
    plain.raise_for_status = false;
    EXPECT_EQ(fetch(plain, {.url = "/items"}).status, 401);
}

TEST(Interceptors, RunInOrderAndMayChangeTheRequestAndTheResponse) {
    TestServer server([](TestConnection& c) -> asio::awaitable<void> {
        while (auto r = co_await c.read_request()) {
            co_await c.write(http_response(200, r->method + " " + r->target + " " +
                                                    r->header("X-Trace").value_or("") + " " +
                                                    r->body));
        }
    });
    Options o{.base_url = server.url()};
    std::vector<std::string> seen;
    const auto tracer = [&seen](std::string name) -> Interceptor {
        return [&seen, name](InterceptedRequest request, Next next) -> asio::awaitable<Response> {
            seen.push_back(name + " sees " + request.method + " " + request.url);
            const std::string trace(request.headers.get("X-Trace").value_or(""));
            request.headers.set("X-Trace", trace.empty() ? name : trace + "," + name);
            Response response = co_await next(std::move(request));
            response.headers.add("X-Seen-By", name);
            co_return response;
        };
    };
    o.hooks.interceptors.push_back(tracer("outer"));
    o.hooks.interceptors.push_back(tracer("inner"));
    // The innermost rewrites the request: method, URL and body.
    o.hooks.interceptors.push_back(
        [&](InterceptedRequest request, Next next) -> asio::awaitable<Response> {
            request.method = "PUT";
            request.url = server.url("/rewritten");
            request.body = "new body";
            Response response = co_await next(std::move(request));
            co_return response;
        });
    const Response r = fetch(o, {.url = "/original"});
    EXPECT_EQ(r.body, "PUT /rewritten outer,inner new body");
    const std::vector<std::string> expected_seen{"outer sees GET " + server.url("/original"),
                                                 "inner sees GET " + server.url("/original")};
    EXPECT_EQ(seen, expected_seen);
    const auto seen_by = r.headers.get_all("X-Seen-By");
    ASSERT_EQ(seen_by.size(), 2u);
    EXPECT_EQ(seen_by[0], "inner");
    EXPECT_EQ(seen_by[1], "outer");

    // A header the wire refuses is refused when an interceptor sets it, as it would be
    // when a request did.
    Options bad{.base_url = server.url()};
    bad.hooks.interceptors.push_back(
        [](InterceptedRequest request, Next next) -> asio::awaitable<Response> {
            request.headers.set("X-Injected", "a\r\nEvil: 1");
            Response response = co_await next(std::move(request));
            co_return response;
        });
    bad.retry.max_retries = 0;
    EXPECT_THROW(fetch(bad, {.url = "/"}), TransportSpecificError);
    EXPECT_EQ(server.requests().size(), 1u);
}

TEST(Interceptors, ARetryOfOnesOwnAndErrorsAsTheWiresOwn) {
    std::atomic<int> calls{0};
    TestServer server([&](TestConnection& c) -> asio::awaitable<void> {
        while (auto r = co_await c.read_request()) {
            const std::string reply =
                ++calls == 1 ? http_response(503, "busy") : http_response(200, "ok");
            co_await c.write(reply);
        }
    });
    Options o{.base_url = server.url()};
    o.retry.max_retries = 0; // only the interceptor retries
    o.hooks.interceptors.push_back(
        [](InterceptedRequest request, Next next) -> asio::awaitable<Response> {
            InterceptedRequest again = request;
            Response first = co_await next(std::move(request));
            if (first.status != 503) co_return first;
            Response second = co_await next(std::move(again));
            co_return second;
        });
    EXPECT_EQ(fetch(o, {.url = "/"}).body, "ok");
    EXPECT_EQ(calls.load(), 2);

    // An interceptor's nector error is the exchange's error: typed, and retried by policy.
    Options failing{.base_url = server.url()};
    failing.retry.max_retries = 2;
    failing.retry.backoff_factor = 1ms;
    int thrown = 0;
    failing.hooks.interceptors.push_back(
        [&thrown](InterceptedRequest, Next) -> asio::awaitable<Response> {
            ++thrown;
            throw_error(errc::connect_timeout, "the interceptor's own timeout");
            co_return Response{};
        });
    EXPECT_THROW(fetch(failing, {.url = "/"}), ConnectionTimeoutError);
    EXPECT_EQ(thrown, 3);
    EXPECT_EQ(calls.load(), 2); // nothing reached the server
}

TEST(Interceptors, SeeTheJarsCookiesAndACancelledCallIsNoFailure) {
    TestServer server([](TestConnection& c) -> asio::awaitable<void> {
        while (auto r = co_await c.read_request()) {
            if (r->target == "/hang") {
                co_await c.delay(30s);
                continue;
            }
            const std::string reply = http_response(200, r->header("Cookie").value_or("none"));
            co_await c.write(reply);
        }
    });
    Options o{.base_url = server.url()};
    o.cookies = std::make_shared<http::CookieJar>();
    ASSERT_TRUE(o.cookies->store(server.url("/"), "session=abc"));
    o.circuit_breaker.enabled = true;
    o.circuit_breaker.failure_threshold = 1;
    std::vector<std::string> cookies_seen;
    o.hooks.interceptors.push_back(
        [&cookies_seen](InterceptedRequest request, Next next) -> asio::awaitable<Response> {
            cookies_seen.emplace_back(request.headers.get("Cookie").value_or("none"));
            Response response = co_await next(std::move(request));
            co_return response;
        });
    asio::io_context io;
    HTTPTransport<> t(io.get_executor(), o);
    asio::cancellation_signal signal;
    std::optional<std::error_code> cancelled;
    std::optional<std::string> after;
    t.async_connect([&](std::error_code) {
        t.async_request(
            {.url = "/hang"},
            asio::bind_cancellation_slot(signal.slot(), [&](std::error_code ec, Response) {
                cancelled = ec;
                // The breaker (threshold 1) is closed:
                // a cancellation is no failure.
                t.async_request({.url = "/after"}, [&](std::error_code e2, Response r) {
                    after = e2 ? e2.message() : r.body;
                });
            }));
    });
    std::thread canceller([&] {
        server.wait_for_requests(1, 10s);
        asio::post(io, [&] { signal.emit(asio::cancellation_type::terminal); });
    });
    io.run();
    canceller.join();
    ASSERT_TRUE(cancelled);
    EXPECT_EQ(*cancelled, condition::cancelled) << cancelled->message();
    EXPECT_EQ(after, "session=abc");
    const std::vector<std::string> expected{"session=abc", "session=abc"};
    EXPECT_EQ(cookies_seen, expected); // the jar's Cookie, seen by the interceptor
    const auto requests = server.requests();
    ASSERT_EQ(requests.size(), 2u);
    int cookie_fields = 0;
    for (const auto& [name, value] : requests[1].headers) cookie_fields += name == "Cookie";
    EXPECT_EQ(cookie_fields, 1); // sent once, not added again below the interceptor
}

TEST(Interceptors, StreamsPassThrough) {
    TestServer server([](TestConnection& c) -> asio::awaitable<void> {
        if (!co_await c.read_request()) co_return;
        co_await c.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n");
        co_await c.write("3\r\ndef\r\n0\r\n\r\n");
    });
    Options o{.base_url = server.url()};
    std::vector<int> statuses;
    o.hooks.interceptors.push_back(
        [&statuses](InterceptedRequest request, Next next) -> asio::awaitable<Response> {
            Response head = co_await next(std::move(request));
            statuses.push_back(head.status);
            EXPECT_TRUE(head.body.empty()); // the body streams
            co_return head;
        });
    run([&]() -> asio::awaitable<void> {
        HTTPTransport<> t(o);
        co_await t.connect();
        HttpMessage message{.url = "/"};
        http::ResponseStream s = co_await t.stream(std::move(message));
        const std::string body = co_await s.read_all();
        EXPECT_EQ(body, std::string_view("abcdef"));
    }());
    const std::vector<int> expected{200};
    EXPECT_EQ(statuses, expected);
}

// ---- the mock handler ----

// A URL no resolver knows (RFC 6761): any attempt at the network would fail.
const std::string nowhere = "http://service.invalid";

TEST(MockHandler, AnswersWithoutTheNetworkThroughTheResilienceLayers) {
    std::vector<std::string> seen;
    int calls = 0;
    Options o{.base_url = nowhere};
    o.retry.backoff_factor = 1ms;
    o.headers.set("X-Default", "d");
    o.hooks.mock = [&](const HttpMessage& request) {
        seen.push_back(request.method + " " + request.url + " " +
                       std::string(request.headers.get("X-Default").value_or("?")) + " " +
                       (request.content ? std::string(as_string_view(*request.content)) : "-"));
        if (++calls < 3) return Response{.status = 503, .body = "busy"};
        return Response{.status = 200, .body = "served"};
    };
    HTTPTransport<> t(o);
    const boost::json::value payload = {{"k", "v"}};
    run([&]() -> asio::awaitable<void> {
        co_await t.connect();
        Response r = co_await t.put("/api", payload); // idempotent: a 503 is retried
        EXPECT_EQ(r.body, std::string_view("served"));
        EXPECT_EQ(r.url, std::string_view("http://service.invalid/api"));
        EXPECT_EQ(r.method, std::string_view("PUT"));
    }());
    ASSERT_EQ(seen.size(), 3u);
    EXPECT_EQ(seen[0], R"(PUT http://service.invalid/api d {"k":"v"})");
    EXPECT_EQ(t.metrics().retries, 2u);
    EXPECT_EQ(t.metrics().connections_opened, 0u);
}

TEST(MockHandler, ErrorsTheBreakerAndRedirects) {
    int calls = 0;
    Options o{.base_url = nowhere};
    o.retry.max_retries = 0;
    o.circuit_breaker.enabled = true;
    o.circuit_breaker.failure_threshold = 2;
    o.hooks.mock = [&](const HttpMessage& request) -> Response {
        ++calls;
        if (request.url.ends_with("/old")) {
            return Response{.status = 301, .headers = {{"Location", "/new"}}};
        }
        if (request.url.ends_with("/new")) return Response{.status = 200, .body = "moved"};
        if (request.url.ends_with("/missing")) return Response{.status = 404, .body = "gone"};
        throw_error(errc::connection_refused, "the mock refuses " + request.url);
    };
    HTTPTransport<> t(o);
    run([&]() -> asio::awaitable<void> {
        co_await t.connect();
        Response moved = co_await t.get("/old");
        EXPECT_EQ(moved.body, std::string_view("moved"));
        EXPECT_EQ(moved.history.size(), 1u);
        try {
            (void)co_await t.get("/missing");
            ADD_FAILURE() << "a mocked 404 did not throw";
        } catch (const http::HTTPNotFoundError& e) {
            EXPECT_EQ(e.response().body, std::string_view("gone"));
        }
        for (int i = 0; i < 2; ++i) {
            try {
                (void)co_await t.get("/down");
                ADD_FAILURE() << "the mock's refusal did not throw";
            } catch (const ConnectionRefusedError&) {
            }
        }
        try {
            (void)co_await t.get("/down");
            ADD_FAILURE() << "the breaker did not open";
        } catch (const http::CircuitOpenError&) {
        }
    }());
    EXPECT_EQ(calls, 5); // the breaker's refusal called no mock
}

std::string gzipped(std::string_view text) {
    z_stream z{};
    deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
    std::string out(text.size() + 64, '\0');
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
    z.avail_in = static_cast<uInt>(text.size());
    z.next_out = reinterpret_cast<Bytef*>(out.data());
    z.avail_out = static_cast<uInt>(out.size());
    deflate(&z, Z_FINISH);
    out.resize(z.total_out);
    deflateEnd(&z);
    return out;
}

TEST(MockHandler, SendReceiveStreamsDecodingAndUploads) {
    const auto file = std::filesystem::temp_directory_path() /
                      ("nector-mock-upload-" + std::to_string(::getpid()) + ".txt");
    std::ofstream(file) << "from a file";
    Options o{.base_url = nowhere};
    o.hooks.mock = [](const HttpMessage& request) {
        const std::string body =
            request.content ? std::string(as_string_view(*request.content)) : "";
        if (request.url.ends_with("/gz")) {
            return Response{.status = 200,
                            .headers = {{"Content-Encoding", "gzip"}},
                            .body = gzipped("inflated " + body)};
        }
        return Response{.status = 200, .body = "echo " + body};
    };
    run([&]() -> asio::awaitable<void> {
        HTTPTransport<> t(o);
        co_await t.connect();
        HttpMessage upload{.method = "PUT", .url = "/gz", .content_path = file};
        Response r = co_await t.request(std::move(upload));
        EXPECT_EQ(r.body, std::string_view("inflated from a file"));
        HttpMessage queue{.method = "POST", .url = "/q", .content = to_bytes("queued")};
        co_await t.send(std::move(queue));
        std::optional<Response> queued = co_await t.receive_response();
        NECTOR_CO_ASSERT(queued.has_value());
        EXPECT_EQ(queued->body, std::string_view("echo queued"));
        HttpMessage streamed_message{.url = "/s"};
        http::ResponseStream s = co_await t.stream(std::move(streamed_message));
        const std::string streamed = co_await s.read_all();
        EXPECT_EQ(streamed, std::string_view("echo "));
    }());
    std::filesystem::remove(file);
}

} // namespace
} // namespace nector::test
