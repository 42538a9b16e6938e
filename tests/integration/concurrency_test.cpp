// Threads (docs/reliability.md): one transport on a two-thread io_context through a strand
// with many coroutines, over HTTP/1.1 and HTTP/2, buffered and streamed; transports of one
// factory on their own threads sharing breakers and budgets; cancellation racing completion;
// disconnect racing requests in flight. Every call ends in exactly one outcome. CI runs this
// suite under ThreadSanitizer (the tsan preset), where a data race fails it.
#include "integration/client.hpp"
#include "support/h2_server.hpp"
#include "support/test_server.hpp"

#include <nector/http/errors.hpp>
#include <nector/http/factory.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace nector::test {
namespace {

using namespace std::chrono_literals;
using http::ResponseStream;

const std::string ok = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

/// Runs `io` on the calling thread and one more until it runs out of work.
void run_on_two_threads(asio::io_context& io) {
    std::thread second([&] { io.run(); });
    io.run();
    second.join();
}

/// Outcomes of calls, counted from any thread.
struct Tally {
    std::atomic<int> ok{0};
    std::atomic<int> failed{0};
    int total() const { return ok + failed; }
};

/// `rounds` requests, every third one streamed, each counted once in `tally`.
asio::awaitable<void> client(HTTPTransport<>& t, int rounds, Tally& tally) {
    for (int i = 0; i < rounds; ++i) {
        try {
            HttpMessage m{.url = "/" + std::to_string(i)};
            if (i % 3 == 2) {
                ResponseStream s = co_await t.stream(std::move(m));
                std::string body = co_await s.read_all();
                body == "ok" ? ++tally.ok : ++tally.failed;
            } else {
                Response r = co_await t.request(std::move(m));
                r.body == "ok" ? ++tally.ok : ++tally.failed;
            }
        } catch (const TransportError&) {
            ++tally.failed;
        }
    }
}

/// One transport on a strand of a two-thread io_context, 32 coroutines of 6 requests.
void many_coroutines_through_a_strand(Options o) {
    asio::io_context io;
    auto strand = asio::make_strand(io);
    HTTPTransport<> t(strand, std::move(o));
    Tally tally;
    asio::co_spawn(strand, t.connect(), [&](std::exception_ptr e) {
        ASSERT_FALSE(e);
        auto left = std::make_shared<std::atomic<int>>(32);
        for (int i = 0; i < 32; ++i) {
            asio::co_spawn(strand, client(t, 6, tally), [&, left](std::exception_ptr f) {
                EXPECT_FALSE(f);
                if (--*left == 0) asio::co_spawn(strand, t.disconnect(), asio::detached);
            });
        }
    });
    run_on_two_threads(io);
    EXPECT_EQ(tally.ok, 32 * 6);
    EXPECT_EQ(tally.failed, 0);
    EXPECT_EQ(t.metrics().open_connections, 0u);
}

TEST(Concurrency, Http11ThroughAStrandOnTwoThreads) {
    TestServer server(TestServer::respond(ok));
    many_coroutines_through_a_strand({.base_url = server.url(), .limits = {.max_connections = 8}});
    EXPECT_LE(server.connections(), 8u);
}

TEST(Concurrency, Http2ThroughAStrandOnTwoThreads) {
    H2TestServer server([](const H2Request&) { return H2Action::respond(200, "ok"); });
    Options o{.base_url = server.url()};
    o.http2_prior_knowledge = true;
    many_coroutines_through_a_strand(std::move(o));
    EXPECT_EQ(server.connections_accepted(), 1u); // one multiplexed connection
}

TEST(Concurrency, FactoryTransportsOnTheirOwnThreadsShareBreakersAndBudgets) {
    // Every other request fails with 503: the transports on four threads record outcomes in
    // the one breaker and draw retries from the one budget of the origin.
    std::atomic<int> n{0};
    TestServer server([&n](TestConnection& c) -> asio::awaitable<void> {
        for (;;) {
            auto request = co_await c.read_request();
            if (!request) co_return;
            // (Named: GCC 12 mishandles a temporary made by ?: inside a co_await.)
            const std::string reply = n++ % 2 == 0 ? http_response(503, "busy") : ok;
            co_await c.write(reply);
        }
    });
    Options defaults;
    defaults.circuit_breaker.enabled = true;
    defaults.circuit_breaker.failure_threshold = 1000; // recorded, never opened here
    defaults.retry.backoff_factor = 1ms;
    defaults.raise_for_status = false;
    http::HTTPTransportFactory<> factory(server.url(), defaults);
    Tally tally;
    std::vector<std::thread> threads;
    for (int i = 0; i < 4; ++i) {
        threads.emplace_back([&] {
            HTTPTransport<> t = factory.create_transport();
            run([&]() -> asio::awaitable<void> {
                co_await t.connect();
                for (int k = 0; k < 20; ++k) {
                    Response r = co_await t.get("/");
                    r.status == 200 ? ++tally.ok : ++tally.failed;
                }
                co_await t.disconnect();
            }());
        });
    }
    for (auto& th : threads) th.join();
    EXPECT_EQ(tally.total(), 80);
    ASSERT_EQ(factory.resilience()->origins().size(), 1u);
    // The shared breaker saw every attempt of every thread, as successes and failures.
    const auto breaker = factory.resilience()->breaker(factory.resilience()->origins().front());
    EXPECT_EQ(breaker->state(), http::CircuitBreaker::State::closed);
    EXPECT_GE(server.requests().size(), 80u);
}

/// One more request through `t`, then disconnect.
asio::awaitable<void> after(HTTPTransport<>& t, bool& ok_after) {
    Response r = co_await t.get("/");
    ok_after = r.body == "ok";
    co_await t.disconnect();
}

TEST(Concurrency, CancellationRacingCompletionEndsEachCallOnce) {
    // Each call is cancelled from the other thread at about the time its response arrives:
    // it ends once, either way, and the transport goes on serving.
    TestServer server(TestServer::respond(ok));
    asio::io_context io;
    auto strand = asio::make_strand(io);
    HTTPTransport<> t(strand, {.base_url = server.url()});
    std::atomic<std::size_t> completions{0};
    std::atomic<std::size_t> succeeded{0};
    std::atomic<std::size_t> cancelled{0};
    bool after_ok = false;
    constexpr std::size_t calls = 200;
    std::vector<std::unique_ptr<asio::cancellation_signal>> signals;
    for (std::size_t i = 0; i < calls; ++i)
        signals.push_back(std::make_unique<asio::cancellation_signal>());
    asio::co_spawn(strand, t.connect(), [&](std::exception_ptr e) {
        ASSERT_FALSE(e);
        for (std::size_t i = 0; i < calls; ++i) {
            t.async_request({.url = "/"},
                            asio::bind_cancellation_slot(
                                signals[i]->slot(), [&](std::error_code ec, Response r) {
                                    if (!ec && r.body == "ok") ++succeeded;
                                    if (ec == condition::cancelled) ++cancelled;
                                    if (++completions == calls) {
                                        // The transport goes on serving, then closes.
                                        asio::co_spawn(strand, after(t, after_ok), asio::detached);
                                    }
                                }));
            // Emitted on the strand (a signal is not thread-safe), racing the exchange.
            asio::post(strand, [&, i] { signals[i]->emit(asio::cancellation_type::terminal); });
        }
    });
    run_on_two_threads(io);
    EXPECT_EQ(completions, calls);
    EXPECT_EQ(succeeded + cancelled, calls);
    EXPECT_TRUE(after_ok);
    EXPECT_EQ(t.metrics().open_connections, 0u);
}

TEST(Concurrency, DisconnectRacingRequestsInFlightEndsEachOnce) {
    TestServer server([](TestConnection& c) -> asio::awaitable<void> {
        for (;;) {
            auto request = co_await c.read_request();
            if (!request) co_return;
            co_await c.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n");
            co_await c.write("ok");
        }
    });
    asio::io_context io;
    auto strand = asio::make_strand(io);
    HTTPTransport<> t(strand, {.base_url = server.url()});
    Tally tally;
    asio::co_spawn(strand, t.connect(), [&](std::exception_ptr e) {
        ASSERT_FALSE(e);
        for (int i = 0; i < 16; ++i) {
            asio::co_spawn(strand, client(t, 4, tally),
                           [](std::exception_ptr f) { EXPECT_FALSE(f); });
        }
        // Disconnect while the requests are in flight.
        asio::post(strand, [&] { asio::co_spawn(strand, t.disconnect(), asio::detached); });
    });
    run_on_two_threads(io);
    EXPECT_EQ(tally.total(), 16 * 4); // every call ended, once
    EXPECT_GT(tally.failed, 0);       // the disconnect reached calls in flight
    EXPECT_EQ(t.metrics().open_connections, 0u);
}

} // namespace
} // namespace nector::test
