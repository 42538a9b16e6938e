// nector's demo: an HTTP transport against local servers (scripts/demo starts httpbin and
// nghttpd and passes their URLs). GET, POST JSON, concurrent requests, send/receive,
// errors mapped to their types, and HTTP/2: many concurrent requests on one connection.
#include <nector/nector.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <chrono>
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

namespace asio = boost::asio;
namespace json = boost::json;
using namespace std::chrono_literals;
using nector::http::HttpMessage;
using nector::http::HTTPTransport;
using nector::http::Response;

namespace {

long long ms(nector::http::Duration d) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

template <class E>
void show(const char* what, const E& e) {
    std::printf("  %-28s -> %s\n  %-28s    [%s, condition %s]\n", what, e.what(), "",
                std::string(nector::to_string(static_cast<nector::errc>(e.code().value()))).c_str(),
                e.code().default_error_condition().message().c_str());
}

asio::awaitable<void> demo(std::string base) {
    HTTPTransport<> t({.base_url = base,
                       .headers = {{"X-Demo", "nector"}},
                       .timeout = {.connect = 2s, .read = 5s}});
    co_await t.connect();

    std::printf("1. GET %s/get with repeated query parameters\n", base.c_str());
    HttpMessage get{.url = "/get", .params = {{"lang", "c++"}, {"lang", "python"}}};
    Response r = co_await t.request(std::move(get));
    std::printf("  %d %s over %s in %lld ms; args = %s\n", r.status, r.reason.c_str(),
                std::string(nector::http::to_string(r.version)).c_str(), ms(r.timings.total),
                json::serialize(r.json().at("args")).c_str());

    std::printf("\n2. POST JSON\n");
    r = co_await t.post("/post", json::parse(R"({"user": "ada", "roles": ["admin", "dev"]})"));
    std::printf("  server saw json = %s, Content-Type = %s\n",
                json::serialize(r.json().at("json")).c_str(),
                json::serialize(r.json().at("headers").at("Content-Type")).c_str());

    std::printf("\n3. Ten concurrent requests to /delay/1 (one second each)\n");
    auto ex = co_await asio::this_coro::executor;
    const auto started = std::chrono::steady_clock::now();
    // A timer that never expires on its own serves as the "all done" event.
    asio::steady_timer all_done(ex, asio::steady_timer::time_point::max());
    int pending = 10;
    for (int i = 0; i < 10; ++i) {
        HttpMessage slow{.url = "/delay/1", .params = {{"n", std::to_string(i)}}};
        asio::co_spawn(ex, t.send(std::move(slow)), [&](std::exception_ptr) {
            if (--pending == 0) all_done.cancel();
        });
    }
    co_await all_done.async_wait(asio::as_tuple(asio::use_awaitable));
    std::size_t done = 0;
    while (auto reply = co_await t.receive_response()) {
        if (reply->status == 200) ++done;
    }
    std::printf("  %zu responses received in %lld ms (sequentially it would take 10 s)\n", done,
                ms(std::chrono::steady_clock::now() - started));

    std::printf("\n4. Redirects are followed, with history\n");
    r = co_await t.get("/redirect/3");
    std::printf("  %d at %s after %zu redirects\n", r.status, r.url.c_str(), r.history.size());

    std::printf("\n5. Errors are typed and say what was attempted\n");
    try {
        (void)co_await t.get("/status/404");
    } catch (const nector::http::HTTPNotFoundError& e) {
        show("GET /status/404", e);
    }
    try {
        (void)co_await t.get("/status/503");
    } catch (const nector::http::HTTPServerError& e) {
        show("GET /status/503", e);
    }
    try {
        (void)co_await t.get("http://127.0.0.1:9/");
    } catch (const nector::ConnectionRefusedError& e) {
        show("GET a closed port", e);
    }
    try {
        HTTPTransport<> impatient({.base_url = base, .timeout = {.read = 300ms}});
        co_await impatient.connect();
        (void)co_await impatient.get("/delay/3");
    } catch (const nector::ConnectionTimeoutError& e) {
        show("GET /delay/3, 300 ms read", e);
    }
    try {
        HttpMessage evil{.url = "/get", .headers = {{"X-Evil", "a\r\nInjected: yes"}}};
        (void)co_await t.request(std::move(evil));
    } catch (const nector::TransportSpecificError& e) {
        show("a header with CR LF", e);
    }
    co_await t.disconnect();
}

asio::awaitable<void> demo_http2(std::string base) {
    std::printf("\n6. HTTP/2 (h2c, prior knowledge) against nghttpd at %s\n", base.c_str());
    HTTPTransport<> t({.base_url = base, .http2_prior_knowledge = true});
    co_await t.connect();
    Response r = co_await t.get("/hello.txt");
    std::printf("  GET /hello.txt: %d over %s, body %s", r.status,
                std::string(nector::http::to_string(r.version)).c_str(), r.body.c_str());
    HttpMessage upload{.method = "POST", .url = "/echo", .content = nector::to_bytes("ping")};
    r = co_await t.request(std::move(upload));
    std::printf("  POST /echo: the server echoed \"%s\"\n", r.body.c_str());

    auto ex = co_await asio::this_coro::executor;
    asio::steady_timer all_done(ex, asio::steady_timer::time_point::max());
    int pending = 100;
    int ok = 0;
    int failures = 0;
    for (int i = 0; i < 100; ++i) {
        asio::co_spawn(ex, t.get("/hello.txt"), [&](std::exception_ptr e, Response reply) {
            if (!e && reply.status == 200 && reply.version == nector::http::Version::http_2) ++ok;
            if (e && ++failures == 1) {
                try {
                    std::rethrow_exception(e);
                } catch (const std::exception& error) {
                    std::printf("  first error: %s\n", error.what());
                }
            }
            if (--pending == 0) all_done.cancel();
        });
    }
    co_await all_done.async_wait(asio::as_tuple(asio::use_awaitable));
    std::printf("  100 concurrent GETs: %d answered over HTTP/2, on %llu connection(s) in all\n",
                ok, static_cast<unsigned long long>(t.metrics().connections_opened));
    co_await t.disconnect();
}

} // namespace

int main(int argc, char** argv) {
    if (argc != 2 && argc != 3) {
        std::fprintf(stderr,
                     "usage: %s BASE_URL [H2C_BASE_URL]   (scripts/demo starts the servers and "
                     "passes them)\n",
                     argv[0]);
        return 2;
    }
    std::printf("nector %s demo against %s\n\n", nector::version, argv[1]);
    asio::io_context io;
    bool failed = false;
    const std::string h2_base = argc == 3 ? argv[2] : "";
    const auto both = [&]() -> asio::awaitable<void> {
        co_await demo(argv[1]);
        if (!h2_base.empty()) co_await demo_http2(h2_base);
    };
    asio::co_spawn(io, both(), [&](std::exception_ptr e) {
        if (!e) return;
        failed = true;
        try {
            std::rethrow_exception(e);
        } catch (const std::exception& ex) {
            std::fprintf(stderr, "demo failed: %s\n", ex.what());
        }
    });
    io.run();
    std::printf("\n%s\n", failed ? "demo FAILED" : "demo finished");
    return failed ? 1 : 0;
}
