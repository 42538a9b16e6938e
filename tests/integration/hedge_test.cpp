// Hedged requests (HedgePolicy) against the in-process HTTP/1.1 and HTTP/2 servers: a server
// that holds up the first of two identical requests, the hedge that answers first, the loser
// cancelled (its HTTP/1.1 connection closed, its HTTP/2 stream reset), and what is never
// hedged (a POST, a hedge the retry budget refuses).
#include "integration/client.hpp"
#include "support/h2_server.hpp"
#include "support/test_server.hpp"

#include <nector/http/transport.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <string>

namespace nector::test {
namespace asio = boost::asio;
namespace {

using namespace std::chrono_literals;

Options hedged(std::string base_url) {
    Options o{.base_url = std::move(base_url)};
    o.hedge.enabled = true;
    o.hedge.after = 20ms;
    return o;
}

TEST(Hedging, TheHedgeAnswersForAHeldUpFirstAttemptOverHttp11) {
    std::atomic<int> arrived{0};
    TestServer server([&](TestConnection& c) -> asio::awaitable<void> {
        while (auto r = co_await c.read_request()) {
            const int n = ++arrived;
            if (n == 1) co_await c.delay(30s); // the first is held up
            const std::string reply = http_response(200, "answer " + std::to_string(n));
            co_await c.write(reply);
        }
    });
    HTTPTransport<> t(hedged(server.url()));
    run([&]() -> asio::awaitable<void> {
        co_await t.connect();
        Response r = co_await t.get("/same");
        EXPECT_EQ(r.body, std::string_view("answer 2"));
        const http::Metrics m = t.metrics();
        EXPECT_EQ(m.hedges, 1u);
        EXPECT_EQ(m.hedge_wins, 1u);
        EXPECT_EQ(m.requests, 1u);
        EXPECT_EQ(m.open_connections, 1u); // the held-up one was closed, the winner kept
        co_await t.disconnect();
    }());
    const auto requests = server.requests();
    ASSERT_EQ(requests.size(), 2u);
    EXPECT_EQ(requests[0].target, "/same");
    EXPECT_EQ(requests[1].target, "/same");
    EXPECT_NE(requests[0].connection, requests[1].connection);
}

TEST(Hedging, TheLoserIsResetOverHttp2AndTheHedgeHasItsOwnConnection) {
    std::atomic<int> arrived{0};
    H2TestServer server([&](const H2Request&) {
        H2Action action = H2Action::respond(200, "answer " + std::to_string(++arrived));
        if (arrived.load() == 1) action.delay = 30s;
        return action;
    });
    Options o = hedged(server.url());
    o.http2_prior_knowledge = true;
    run([&]() -> asio::awaitable<void> {
        HTTPTransport<> t(o);
        co_await t.connect();
        Response r = co_await t.get("/same");
        EXPECT_EQ(r.body, std::string_view("answer 2"));
        EXPECT_EQ(t.metrics().hedge_wins, 1u);
        // The loser's stream is reset, not its connection closed: the next call may use it.
        Response again = co_await t.get("/next");
        EXPECT_EQ(again.body, std::string_view("answer 3"));
        co_await t.disconnect();
    }());
    EXPECT_EQ(server.connections_accepted(), 2u);
    const auto resets = server.resets_received();
    ASSERT_EQ(resets.size(), 1u);
    EXPECT_EQ(resets[0].error, H2Error::cancel);
}

TEST(Hedging, APostIsNeverHedged) {
    TestServer server([](TestConnection& c) -> asio::awaitable<void> {
        while (auto r = co_await c.read_request()) {
            co_await c.delay(150ms);
            co_await c.write(http_response(200, "posted"));
        }
    });
    HTTPTransport<> t(hedged(server.url()));
    run([&]() -> asio::awaitable<void> {
        co_await t.connect();
        HttpMessage post{.method = "POST", .url = "/order", .content = to_bytes("once")};
        Response r = co_await t.request(std::move(post));
        EXPECT_EQ(r.body, std::string_view("posted"));
        co_await t.disconnect();
    }());
    EXPECT_EQ(t.metrics().hedges, 0u);
    EXPECT_EQ(server.requests().size(), 1u);
}

TEST(Hedging, HedgesDrawFromTheRetryBudget) {
    // Every answer takes 150 ms, so every call would be hedged; the budget holds one token.
    TestServer server([](TestConnection& c) -> asio::awaitable<void> {
        while (auto r = co_await c.read_request()) {
            co_await c.delay(150ms);
            co_await c.write(http_response(200, "slow"));
        }
    });
    Options o = hedged(server.url());
    o.retry.budget_max_tokens = 1;
    o.retry.budget_token_ratio = 0.01;
    HTTPTransport<> t(o);
    run([&]() -> asio::awaitable<void> {
        co_await t.connect();
        for (int i = 0; i < 3; ++i) {
            Response r = co_await t.get("/slow");
            EXPECT_EQ(r.body, std::string_view("slow"));
        }
        co_await t.disconnect();
    }());
    EXPECT_EQ(t.metrics().hedges, 1u);
    EXPECT_EQ(server.requests().size(), 4u); // three calls, one hedge
}

TEST(Hedging, APercentileOfRecentResponseTimesSetsTheDelay) {
    std::atomic<int> arrived{0};
    TestServer server([&](TestConnection& c) -> asio::awaitable<void> {
        while (auto r = co_await c.read_request()) {
            // The sixth request (the first attempt of the sixth call) is held up.
            if (++arrived == 6) co_await c.delay(30s);
            co_await c.write(http_response(200, "ok"));
        }
    });
    Options o = hedged(server.url());
    o.hedge.after = 60s; // only the percentile can send a hedge in time
    o.hedge.percentile = 90;
    o.hedge.min_samples = 5;
    o.timeout.total = 5s;
    HTTPTransport<> t(o);
    run([&]() -> asio::awaitable<void> {
        co_await t.connect();
        for (int i = 0; i < 6; ++i) {
            Response r = co_await t.get("/p");
            EXPECT_EQ(r.body, std::string_view("ok"));
        }
        co_await t.disconnect();
    }());
    EXPECT_EQ(t.metrics().hedges, 1u);
    EXPECT_EQ(t.metrics().hedge_wins, 1u);
}

TEST(Hedging, BadPoliciesAreRefused) {
    Options o;
    o.hedge.after = 0ms;
    EXPECT_THROW(HTTPTransport<>{o}, ConfigurationError);
    o = Options{};
    o.hedge.percentile = 100;
    EXPECT_THROW(HTTPTransport<>{o}, ConfigurationError);
    o = Options{};
    o.hedge.min_samples = 101; // more than the response times kept
    EXPECT_THROW(HTTPTransport<>{o}, ConfigurationError);
}

} // namespace
} // namespace nector::test
