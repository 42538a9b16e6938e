// A small HTTP API on a loopback port, so that each example runs as it is, with no network:
// nector::testing's TestServer (installed with nector; docs/testing.md) and one handler.
//
//   GET  /hello          {"message":"hello"}
//   POST /echo           the request's body back, with its Content-Type
//   GET  /flaky          503 for the first two requests, then 200 (per server)
//   GET  /slow           an answer after 5 s (cancellation)
//   GET  /bytes/N        N bytes (Content-Length), sent in 64 KiB writes
//   a request in absolute form (a proxy's)  "proxied GET http://…" as a forward proxy would
#pragma once

#include <nector/testing/test_server.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <atomic>
#include <charconv>
#include <chrono>
#include <exception>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>

namespace example {

using nector::testing::http_response;
using nector::testing::TestConnection;
using nector::testing::TestServer;

inline boost::asio::awaitable<void> serve(TestConnection& c, std::atomic<int>& flaky_calls) {
    for (;;) {
        auto request = co_await c.read_request();
        if (!request) co_return;
        const std::string& target = request->target;
        std::string response;
        if (target.starts_with("http://") || target.starts_with("https://")) {
            response = http_response(200, "proxied " + request->method + " " + target,
                                     {{"Content-Type", "text/plain"}});
        } else if (target == "/hello") {
            response = http_response(200, R"({"message":"hello"})",
                                     {{"Content-Type", "application/json"}});
        } else if (target == "/echo" || target == "/echo/") {
            response = http_response(
                200, request->body,
                {{"Content-Type", request->header("Content-Type").value_or("text/plain")}});
        } else if (target == "/flaky") {
            // if/else, not `?:` between two strings: GCC 12 and coroutines (docs/notes.md).
            const int n = ++flaky_calls;
            if (n <= 2) {
                response = http_response(503, "try again", {{"Retry-After", "0"}});
            } else {
                response =
                    http_response(200, "recovered after " + std::to_string(n - 1) + " failures");
            }
        } else if (target == "/slow") {
            co_await c.delay(std::chrono::seconds(5));
            response = http_response(200, "slow");
        } else if (target.starts_with("/bytes/")) {
            std::size_t size = 0;
            std::from_chars(target.data() + 7, target.data() + target.size(), size);
            const std::string head =
                "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                "Content-Length: " +
                std::to_string(size) + "\r\n\r\n";
            co_await c.write(head);
            const std::string piece(64 * 1024, 'x');
            for (std::size_t sent = 0; sent < size; sent += piece.size()) {
                co_await c.write(std::string_view(piece).substr(0, size - sent));
            }
            continue;
        } else {
            response = http_response(404, "no such path");
        }
        co_await c.write(response);
    }
}

/// Runs `task` on an io_context of its own until it ends, rethrowing what it throws (the
/// loop basic.cpp spells out).
inline void run(boost::asio::awaitable<void> task) {
    boost::asio::io_context io;
    std::exception_ptr failure;
    boost::asio::co_spawn(io, std::move(task), [&](std::exception_ptr e) { failure = e; });
    io.run();
    if (failure) std::rethrow_exception(failure);
}

/// Reports a failed expectation: the example exits with status 1.
inline void expect(bool ok, const char* what) {
    if (!ok) throw std::runtime_error(std::string("expectation failed: ") + what);
}

/// The API, listening when this returns; stops when destroyed.
inline std::unique_ptr<TestServer> local_api() {
    auto flaky_calls = std::make_shared<std::atomic<int>>(0);
    return std::make_unique<TestServer>(
        [flaky_calls](TestConnection& c) { return serve(c, *flaky_calls); });
}

} // namespace example
