#include "nector/http/resilience.hpp"

#include "nector/transport/errors.hpp"
#include "support/fake_time.hpp"

#include <gtest/gtest.h>

#include <thread>
#include <tuple>
#include <vector>

namespace nector::http {
namespace {

using namespace std::chrono_literals;
using State = CircuitBreaker::State;
using Outcome = CircuitBreaker::Outcome;
using Permit = CircuitBreaker::Permit;

void fail(CircuitBreaker& b, int times) {
    for (int i = 0; i < times; ++i) {
        auto r = b.try_acquire();
        ASSERT_TRUE(std::holds_alternative<Permit>(r));
        b.record(std::move(std::get<Permit>(r)), Outcome::connection_error);
    }
}

class ResilienceRegistryTest : public ::testing::Test {
protected:
    ResilienceConfig config() {
        return {.breaker = {.enabled = true, .failure_threshold = 2, .reset_timeout = 5s},
                .clock = clock_.clock(),
                .random = test::fixed_random(0.5),
                .on_transition = [this](std::string_view origin, State from, State to) {
                    events_.emplace_back(std::string(origin), from, to);
                }};
    }

    test::FakeClock clock_;
    std::vector<std::tuple<std::string, State, State>> events_;
};

TEST_F(ResilienceRegistryTest, SameOriginSameObjects) {
    ResilienceRegistry registry(config());
    const auto b1 = registry.breaker("https://a.test:443");
    const auto b2 = registry.breaker("https://a.test:443");
    EXPECT_EQ(b1, b2);
    EXPECT_EQ(b1->origin(), "https://a.test:443");
    EXPECT_EQ(registry.budget("https://a.test:443"), registry.budget("https://a.test:443"));
    EXPECT_EQ(registry.origins(), std::vector<std::string>{"https://a.test:443"});
}

TEST_F(ResilienceRegistryTest, OriginsAreIndependent) {
    ResilienceRegistry registry(config());
    const auto a = registry.breaker("https://a.test:443");
    const auto b = registry.breaker("http://b.test:80");
    EXPECT_NE(a, b);
    fail(*a, 2);
    EXPECT_EQ(a->state(), State::open);
    EXPECT_EQ(b->state(), State::closed);

    const auto budget_a = registry.budget("https://a.test:443");
    for (int i = 0; i < 50; ++i) budget_a->on_failure();
    EXPECT_FALSE(budget_a->allow_retry());
    EXPECT_TRUE(registry.budget("http://b.test:80")->allow_retry());
    EXPECT_EQ(registry.retries_suppressed(), 1U);
    EXPECT_EQ(registry.origins(),
              (std::vector<std::string>{"http://b.test:80", "https://a.test:443"}));
}

TEST_F(ResilienceRegistryTest, SharedBetweenHoldersAndPoliciesApplied) {
    // Two transports of one factory hold the same registry.
    auto shared = std::make_shared<ResilienceRegistry>(config());
    auto first = shared;
    auto second = shared;
    fail(*first->breaker("o"), 2);
    auto r = second->breaker("o")->try_acquire();
    ASSERT_TRUE(std::holds_alternative<CircuitBreaker::Rejection>(r));
    EXPECT_EQ(std::get<CircuitBreaker::Rejection>(r).retry_at, clock_.now() + 5s);

    EXPECT_EQ(shared->breaker_policy().failure_threshold, 2U);
    EXPECT_EQ(shared->retry_policy().max_retries, 3U);
    EXPECT_EQ(shared->clock().now(), clock_.now());
    EXPECT_EQ(shared->random().uniform(), 0.5);
}

TEST_F(ResilienceRegistryTest, HookNamesTheOriginAndMetricsAddUp) {
    ResilienceRegistry registry(config());
    fail(*registry.breaker("a"), 2);
    fail(*registry.breaker("b"), 2);
    (void)registry.breaker("b")->try_acquire();
    clock_.advance(5s);
    {
        auto r = registry.breaker("a")->try_acquire();
        ASSERT_TRUE(std::holds_alternative<Permit>(r));
        registry.breaker("a")->record(std::move(std::get<Permit>(r)), Outcome::success);
    }
    EXPECT_EQ(events_, (std::vector<std::tuple<std::string, State, State>>{
                           {"a", State::closed, State::open},
                           {"b", State::closed, State::open},
                           {"a", State::open, State::half_open},
                           {"a", State::half_open, State::closed}}));
    EXPECT_EQ(registry.breaker_metrics(),
              (BreakerMetrics{.opened = 2, .half_opened = 1, .closed = 1, .rejected = 1}));
}

TEST_F(ResilienceRegistryTest, BreakersOutliveTheRegistry) {
    std::shared_ptr<CircuitBreaker> kept;
    {
        ResilienceRegistry registry(config());
        kept = registry.breaker("o");
    }
    fail(*kept, 2);
    EXPECT_EQ(kept->state(), State::open);
}

TEST(ResilienceRegistryValidation, RejectsBadConfigurations) {
    EXPECT_NO_THROW(ResilienceRegistry{});
    EXPECT_THROW(ResilienceRegistry({.retry = {.backoff_factor = -1s}}), ConfigurationError);
    EXPECT_THROW(ResilienceRegistry({.breaker = {.failure_threshold = 0}}), ConfigurationError);
    EXPECT_THROW(ResilienceRegistry({.clock = Clock{}}), ConfigurationError);
    EXPECT_THROW(ResilienceRegistry({.random = Randomness{}}), ConfigurationError);
}

TEST(ResilienceRegistryThreads, ConcurrentLookupsShareOneEntryPerOrigin) {
    test::FakeClock clock;
    ResilienceRegistry registry(
        {.breaker = {.enabled = true, .failure_threshold = 1000}, .clock = clock.clock()});
    std::vector<std::thread> threads;
    std::vector<std::vector<CircuitBreaker*>> seen(4);
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&registry, &seen, t] {
            for (int i = 0; i < 300; ++i) {
                const std::string origin = "o" + std::to_string(i % 3);
                auto breaker = registry.breaker(origin);
                seen[static_cast<std::size_t>(t)].push_back(breaker.get());
                auto r = breaker->try_acquire();
                if (auto* p = std::get_if<Permit>(&r))
                    breaker->record(std::move(*p), Outcome::success);
                auto budget = registry.budget(origin);
                budget->on_failure();
                budget->on_success();
                (void)registry.breaker_metrics();
                (void)registry.retries_suppressed();
            }
        });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(registry.origins().size(), 3U);
    for (const auto& s : seen) {
        for (std::size_t i = 0; i < s.size(); ++i) {
            EXPECT_EQ(s[i], registry.breaker("o" + std::to_string(i % 3)).get());
        }
    }
}

} // namespace
} // namespace nector::http
