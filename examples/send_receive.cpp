// Concurrent requests with the seed's protocol: send() POSTs each JsonMessage as its
// serialized bytes and queues the exchange; receive() hands the replies back in completion
// order, deserialized as the transport's message type (here the endpoint echoes them).
#include "local_api.hpp"

#include <nector/nector.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/serialize.hpp>

#include <cstdio>
#include <exception>
#include <string>

namespace asio = boost::asio;
using namespace nector::http;

asio::awaitable<void> concurrent(std::string endpoint) {
    HTTPTransport<nector::JsonMessage> t({.base_url = std::move(endpoint)});
    co_await t.connect();
    const auto ex = co_await asio::this_coro::executor;

    // Five sends in flight at once; a timer that never fires on its own is the "all sent"
    // event, cancelled by the last one to finish.
    asio::steady_timer all_sent(ex, asio::steady_timer::time_point::max());
    int pending = 5;
    for (int i = 0; i < 5; ++i) {
        boost::json::object headers{{"id", i}};
        const boost::json::value payload(boost::json::string("request " + std::to_string(i)));
        nector::JsonMessage m(std::move(headers), payload);
        asio::co_spawn(ex, t.send(std::move(m)), [&](std::exception_ptr e) {
            if (e) std::printf("a send failed\n");
            if (--pending == 0) all_sent.cancel();
        });
    }
    co_await all_sent.async_wait(asio::as_tuple(asio::use_awaitable));

    int received = 0;
    for (;;) {
        auto reply = co_await t.receive(); // nullopt once nothing is queued
        if (!reply) break;
        ++received;
        std::printf("  received id %s: %s\n",
                    boost::json::serialize(reply->headers().at("id")).c_str(),
                    boost::json::serialize(reply->payload()).c_str());
    }
    example::expect(received == 5, "five replies");
    co_await t.disconnect();
}

int main() {
    try {
        const auto api = example::local_api();
        example::run(concurrent(api->url("/echo")));
        std::printf("example finished\n");
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "send_receive: %s\n", e.what());
        return 1;
    }
}
