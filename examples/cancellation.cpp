// Cancellation with a timer: a request to a slow endpoint races a 200 ms timer; the timer
// wins, the request is cancelled (its connection closed, since a half-read response cannot
// be reused) and the transport carries on with the next call.
#include "local_api.hpp"

#include <nector/nector.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <cstdio>
#include <exception>

namespace asio = boost::asio;
using namespace nector::http;
using namespace std::chrono_literals;

asio::awaitable<void> race(std::string base_url) {
    using namespace asio::experimental::awaitable_operators;
    HTTPTransport<> t({.base_url = std::move(base_url)});
    co_await t.connect();

    asio::steady_timer timer(co_await asio::this_coro::executor, 200ms);
    const auto started = std::chrono::steady_clock::now();
    // Whichever finishes first wins; the other is cancelled through its cancellation slot.
    auto winner = co_await (t.get("/slow") || timer.async_wait(asio::use_awaitable));
    const auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - started);
    std::printf("the %s won after %lld ms\n", winner.index() == 0 ? "response" : "timer",
                static_cast<long long>(waited.count()));
    example::expect(winner.index() == 1, "the timer wins");

    Response next = co_await t.get("/hello");
    std::printf("the next call: %d %s\n", next.status, next.body.c_str());

    // A cancellation slot of one's own does the same with a completion token.
    asio::cancellation_signal cancel;
    asio::steady_timer soon(co_await asio::this_coro::executor, 100ms);
    soon.async_wait([&](boost::system::error_code ec) {
        if (!ec) cancel.emit(asio::cancellation_type::terminal); // not once the timer is gone
    });
    HttpMessage slow{.url = "/slow"}; // named: GCC 12 and temporaries in co_await (docs/notes.md)
    auto [ec, response] = co_await t.async_request(
        std::move(slow),
        asio::bind_cancellation_slot(cancel.slot(), asio::as_tuple(asio::use_awaitable)));
    std::printf("with a slot: %s\n", ec.message().c_str());
    example::expect(ec == asio::error::operation_aborted || ec == nector::errc::cancelled,
                    "the request was cancelled");
}

int main() {
    try {
        const auto api = example::local_api();
        example::run(race(api->url("")));
        std::printf("example finished\n");
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "cancellation: %s\n", e.what());
        return 1;
    }
}
