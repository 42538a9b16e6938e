// Retries, retry budget, circuit breaker and deadlines against the in-process server.
#include "integration/client.hpp"
#include "support/fake_time.hpp"
#include "support/test_server.hpp"

#include <nector/http/errors.hpp>
#include <nector/http/factory.hpp>

#include <gtest/gtest.h>

namespace nector::test {
namespace asio = boost::asio;
namespace {

using namespace std::chrono_literals;
using http::CircuitBreaker;
using State = CircuitBreaker::State;

std::string status(int code) { return http_response(code, "s" + std::to_string(code)); }

// Fast, deterministic retries: 1 ms, 2 ms, 4 ms … without jitter.
http::RetryPolicy quick(std::size_t retries = 3) {
    return {.max_retries = retries, .backoff_factor = 1ms, .jitter = http::Jitter::none};
}

TEST(Resilience, RetriesUntilSuccess) {
    TestServer server(TestServer::sequence({status(503), status(503), status(200)}));
    std::vector<std::size_t> retried;
    Options o{.base_url = server.url(), .retry = quick()};
    o.hooks.on_retry = [&](const http::RetryEvent& e) { retried.push_back(e.attempt); };
    int requests_seen = 0;
    std::vector<int> responses_seen;
    o.hooks.on_request = [&](const HttpMessage& m) { requests_seen += m.method == "GET" ? 1 : 0; };
    o.hooks.on_response = [&](const Response& r) { responses_seen.push_back(r.status); };
    http::Metrics metrics;
    Response r;
    run([&]() -> asio::awaitable<void> {
        HTTPTransport<> t(o);
        co_await t.connect();
        r = co_await t.get("/");
        metrics = t.metrics();
    }());
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(server.requests().size(), 3u);
    EXPECT_EQ(retried, (std::vector<std::size_t>{1, 2}));
    EXPECT_EQ(metrics.requests, 1u);
    EXPECT_EQ(metrics.attempts, 3u);
    EXPECT_EQ(metrics.retries, 2u);
    EXPECT_EQ(metrics.status_classes[2], 1u);
    std::uint64_t latencies = 0;
    for (auto n : metrics.latency) latencies += n;
    EXPECT_EQ(latencies, 1u);
    EXPECT_EQ(requests_seen, 1);
    EXPECT_EQ(responses_seen, std::vector<int>{200}); // the final response only
}

TEST(Resilience, ExhaustedRetriesSayHowManyAttempts) {
    TestServer server(TestServer::respond(status(502)));
    const auto e = fetch_error<http::HTTPServerError>(server.url(), {.retry = quick(2)});
    ASSERT_TRUE(e);
    EXPECT_EQ(server.requests().size(), 3u);
    EXPECT_TRUE(contains(e->what(), "(3 attempts)")) << e->what();
    EXPECT_EQ(e->response().body, "s502");
}

TEST(Resilience, RetryAfterIsHonoured) {
    TestServer server(
        TestServer::sequence({http_response(503, "", {{"Retry-After", "1"}}), status(200)}));
    // The clock's wait says how long the transport waits: what it was asked is recorded,
    // and the test does not wait the second.
    std::vector<http::Duration> waits;
    http::Clock clock = http::Clock::system();
    clock.wait = [&](http::Duration d) {
        waits.push_back(d);
        return http::Duration::zero();
    };
    EXPECT_EQ(fetch(server.url(), {.retry = quick(), .clock = clock}).status, 200);
    // Retry-After's second, spread upwards by at most a tenth (no one comes back early).
    ASSERT_EQ(waits.size(), 1u);
    EXPECT_GE(waits[0], 1s);
    EXPECT_LE(waits[0], 1100ms);
    EXPECT_EQ(server.requests().size(), 2u);
}

TEST(Resilience, TooLongRetryAfterEndsTheCallAtOnceWithTheValue) {
    TestServer server(TestServer::respond(http_response(503, "", {{"Retry-After", "120"}})));
    const auto e = fetch_error<http::HTTPServerError>(server.url(), {.retry = quick()});
    ASSERT_TRUE(e);
    EXPECT_EQ(server.requests().size(), 1u);
    ASSERT_TRUE(e->retry_after());
    EXPECT_GT(*e->retry_after(), 100s);
    EXPECT_TRUE(contains(e->what(), "Retry-After")) << e->what();
}

TEST(Resilience, PostIsRetriedOnlyWithAnIdempotencyKey) {
    TestServer server(TestServer::respond(status(503)));
    HttpMessage post{.method = "POST", .url = server.url(), .json = 1};
    const auto e = fetch_error<http::HTTPServerError>({.retry = quick()}, post);
    ASSERT_TRUE(e);
    EXPECT_EQ(server.requests().size(), 1u);
    EXPECT_TRUE(contains(e->what(), "(1 attempt)")) << e->what();

    TestServer keyed(TestServer::sequence({status(503), status(200)}));
    HttpMessage with_key{
        .method = "POST", .url = keyed.url(), .headers = {{"Idempotency-Key", "k1"}}, .json = 1};
    EXPECT_EQ(fetch({.retry = quick()}, with_key).status, 200);
    EXPECT_EQ(keyed.requests().size(), 2u);
    EXPECT_EQ(keyed.requests()[1].header("Idempotency-Key"), "k1");
}

TEST(Resilience, ConnectFailuresAreRetriedForEveryMethod) {
    std::uint16_t port = 0;
    {
        TestServer gone(TestServer::respond(status(200)));
        port = gone.port();
    }
    std::size_t retries = 0;
    Options o{.retry = quick(2)};
    o.hooks.on_retry = [&](const http::RetryEvent&) { ++retries; };
    HttpMessage post{
        .method = "POST", .url = "http://127.0.0.1:" + std::to_string(port) + "/", .json = 1};
    const auto e = fetch_error<ConnectionRefusedError>(o, post);
    ASSERT_TRUE(e);
    EXPECT_EQ(retries, 2u);
    EXPECT_TRUE(contains(e->what(), "(3 attempts)")) << e->what();
}

TEST(Resilience, ReadTimeoutsAreRetriedForIdempotentRequestsOnly) {
    TestServer server([](TestConnection& c) -> asio::awaitable<void> {
        while (auto r = co_await c.read_request()) {
            if (c.index() == 0) co_await c.delay(2s); // the first connection stalls
            co_await c.write(status(200));
        }
    });
    EXPECT_EQ(fetch(server.url(), {.timeout = {.read = 100ms}, .retry = quick()}).status, 200);
    TestServer stalls([](TestConnection& c) -> asio::awaitable<void> {
        while (auto r = co_await c.read_request()) co_await c.delay(2s);
    });
    HttpMessage post{.method = "POST", .url = stalls.url(), .json = 1};
    EXPECT_THROW(fetch({.timeout = {.read = 100ms}, .retry = quick()}, post),
                 ConnectionTimeoutError);
    EXPECT_EQ(stalls.requests().size(), 1u);
}

TEST(Resilience, BudgetStopsRetriesDuringAnOutage) {
    TestServer server(TestServer::respond(status(503)));
    http::RetryPolicy policy = quick(10);
    policy.budget_max_tokens = 4; // retries stop once 2 tokens are gone
    http::Metrics metrics;
    run([&]() -> asio::awaitable<void> {
        HTTPTransport<> t({.base_url = server.url(), .retry = policy});
        co_await t.connect();
        try {
            (void)co_await t.get("/");
            ADD_FAILURE() << "expected HTTPServerError";
        } catch (const http::HTTPServerError& e) {
            EXPECT_TRUE(contains(e.what(), "retry suppressed by the retry budget")) << e.what();
        }
        metrics = t.metrics();
    }());
    EXPECT_EQ(server.requests().size(), 2u);
    EXPECT_EQ(metrics.retries_suppressed, 1u);
}

TEST(Resilience, DeadlineCutsBackoffShort) {
    // Attempts at 0, 100, 300 and 700 ms; the next backoff (800 ms) would end past the
    // 1 s deadline, so it is not slept: the call ends with the last status error, not
    // with the deadline's timeout (which would be a ConnectionTimeoutError).
    TestServer server(TestServer::respond(status(503)));
    const auto e = fetch_error<http::HTTPServerError>(
        server.url(),
        {.timeout = {.total = 1s},
         .retry = {.max_retries = 10, .backoff_factor = 100ms, .jitter = http::Jitter::none}});
    ASSERT_TRUE(e);
    EXPECT_TRUE(contains(e->what(), "would end past the total deadline")) << e->what();
    EXPECT_TRUE(contains(e->what(), "(4 attempts)")) << e->what();
    EXPECT_EQ(server.requests().size(), 4u);
}

TEST(Resilience, BreakerOpensRejectsWithoutIoAndAProbeClosesIt) {
    std::atomic<bool> healthy = false;
    TestServer server([&](TestConnection& c) -> asio::awaitable<void> {
        while (auto r = co_await c.read_request()) {
            std::string reply = healthy ? status(200) : status(500);
            co_await c.write(reply);
        }
    });
    FakeClock time;
    std::vector<std::pair<State, State>> transitions;
    Options o{.base_url = server.url(),
              .retry = {.max_retries = 0},
              .circuit_breaker = {.enabled = true, .failure_threshold = 3, .reset_timeout = 30s},
              .clock = time.clock()};
    o.hooks.on_breaker_state = [&](std::string_view, State from, State to) {
        transitions.emplace_back(from, to);
    };
    run([&]() -> asio::awaitable<void> {
        HTTPTransport<> t(o);
        co_await t.connect();
        for (int i = 0; i < 3; ++i) {
            try {
                (void)co_await t.get("/");
            } catch (const http::HTTPServerError&) {
            }
        }
        try {
            (void)co_await t.get("/");
            ADD_FAILURE() << "the open breaker let a call through";
        } catch (const http::CircuitOpenError& e) {
            EXPECT_EQ(e.code(), errc::circuit_open);
            EXPECT_TRUE(contains(e.what(), "next probe allowed in 30 s")) << e.what();
            EXPECT_EQ(e.retry_at(), time.now() + 30s);
        }
        EXPECT_EQ(server.requests().size(), 3u); // the rejection did no I/O
        time.advance(31s);
        healthy = true;
        EXPECT_EQ((co_await t.get("/")).status, 200); // the half-open probe
        EXPECT_EQ((co_await t.get("/")).status, 200);
        const auto m = t.metrics();
        EXPECT_EQ(m.breaker_rejections, 1u);
        EXPECT_EQ(m.breakers.opened, 1u);
        EXPECT_EQ(m.breakers.closed, 1u);
    }());
    EXPECT_EQ(transitions,
              (std::vector<std::pair<State, State>>{{State::closed, State::open},
                                                    {State::open, State::half_open},
                                                    {State::half_open, State::closed}}));
}

TEST(Resilience, AnOpenBreakerEndsRetriesAtOnce) {
    TestServer server(TestServer::respond(status(503)));
    const auto e = fetch_error<http::CircuitOpenError>(
        server.url(),
        {.retry = quick(10), .circuit_breaker = {.enabled = true, .failure_threshold = 2}});
    ASSERT_TRUE(e);
    EXPECT_EQ(server.requests().size(), 2u);
    EXPECT_TRUE(contains(e->what(), "(2 attempts)")) << e->what();
}

TEST(Resilience, ClientErrorsAndCancellationDoNotTripTheBreaker) {
    TestServer server(TestServer::respond(status(404)));
    run([&]() -> asio::awaitable<void> {
        HTTPTransport<> t({.base_url = server.url(),
                           .circuit_breaker = {.enabled = true, .failure_threshold = 1}});
        co_await t.connect();
        for (int i = 0; i < 3; ++i) {
            try {
                (void)co_await t.get("/");
            } catch (const http::HTTPNotFoundError&) {
            }
        }
        EXPECT_EQ(t.metrics().breakers.opened, 0u);
    }());
    EXPECT_EQ(server.requests().size(), 3u);
}

TEST(Resilience, FactoryTransportsShareBreakersAndBudgets) {
    TestServer server(TestServer::respond(status(500)));
    http::HTTPTransportFactory<> factory(
        server.url(), {.retry = {.max_retries = 0},
                       .circuit_breaker = {.enabled = true, .failure_threshold = 2}});
    auto a = factory.create_transport();
    auto b = factory.create_transport();
    run([&]() -> asio::awaitable<void> {
        co_await a.connect();
        co_await b.connect();
        for (int i = 0; i < 2; ++i) {
            try {
                (void)co_await a.get("/");
            } catch (const http::HTTPServerError&) {
            }
        }
        try {
            (void)co_await b.get("/");
            ADD_FAILURE() << "b should see a's open breaker";
        } catch (const http::CircuitOpenError&) {
        }
        co_await a.disconnect(); // before run()'s io_context goes
        co_await b.disconnect();
    }());
    EXPECT_EQ(server.requests().size(), 2u);
    EXPECT_EQ(factory.resilience()->breaker_metrics().opened, 1u);
}

} // namespace
} // namespace nector::test
