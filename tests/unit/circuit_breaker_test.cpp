#include "nector/http/circuit_breaker.hpp"

#include "nector/transport/errors.hpp"
#include "support/fake_time.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <tuple>
#include <vector>

namespace nector::http {
namespace {

using namespace std::chrono_literals;
using State = CircuitBreaker::State;
using Outcome = CircuitBreaker::Outcome;
using Permit = CircuitBreaker::Permit;
using Rejection = CircuitBreaker::Rejection;

CircuitBreakerPolicy policy_of(std::size_t threshold = 3) {
    return {.enabled = true, .failure_threshold = threshold, .reset_timeout = 10s};
}

class CircuitBreakerTest : public ::testing::Test {
protected:
    using Event = std::tuple<std::string, State, State>;

    std::unique_ptr<CircuitBreaker> make(const CircuitBreakerPolicy& policy) {
        return std::make_unique<CircuitBreaker>(
            policy, clock_.clock(), "https://a.test:443",
            [this](std::string_view origin, State from, State to) {
                events_.emplace_back(std::string(origin), from, to);
            });
    }

    static Permit acquire(CircuitBreaker& b) {
        auto r = b.try_acquire();
        if (auto* rejection = std::get_if<Rejection>(&r)) {
            ADD_FAILURE() << "rejected while " << to_string(rejection->state);
            return {};
        }
        return std::move(std::get<Permit>(r));
    }

    static Rejection rejected(CircuitBreaker& b) {
        auto r = b.try_acquire();
        if (std::holds_alternative<Permit>(r)) {
            ADD_FAILURE() << "let through while " << to_string(b.state());
            return {};
        }
        return std::get<Rejection>(r);
    }

    static void call(CircuitBreaker& b, Outcome outcome, int times = 1) {
        for (int i = 0; i < times; ++i) b.record(acquire(b), outcome);
    }

    void open(CircuitBreaker& b) {
        call(b, Outcome::server_error, static_cast<int>(b.policy().failure_threshold));
        ASSERT_EQ(b.state(), State::open);
    }

    test::FakeClock clock_;
    std::vector<Event> events_;
};

TEST_F(CircuitBreakerTest, OpensAfterTheThresholdOfConsecutiveFailures) {
    auto b = make(policy_of(3));
    EXPECT_EQ(b->state(), State::closed);
    call(*b, Outcome::connection_error, 2);
    call(*b, Outcome::success);
    call(*b, Outcome::timeout, 2);
    EXPECT_EQ(b->state(), State::closed) << "a success resets the count";
    call(*b, Outcome::server_error);
    EXPECT_EQ(b->state(), State::open);
    EXPECT_EQ(b->metrics(), (BreakerMetrics{.opened = 1}));
    EXPECT_EQ(events_, (std::vector<Event>{{"https://a.test:443", State::closed, State::open}}));
}

TEST_F(CircuitBreakerTest, OpenRejectsAtOnceAndSaysWhenToComeBack) {
    auto b = make(policy_of());
    const auto opened_at = clock_.now();
    open(*b);
    auto r = rejected(*b);
    EXPECT_EQ(r.state, State::open);
    EXPECT_EQ(r.retry_at, opened_at + 10s);
    clock_.advance(9999ms);
    EXPECT_EQ(rejected(*b).retry_at, opened_at + 10s);
    EXPECT_EQ(b->state(), State::open);
    EXPECT_EQ(b->metrics().rejected, 2U);
}

TEST_F(CircuitBreakerTest, HalfOpenAfterTheResetTimeoutLetsOneProbeThrough) {
    auto b = make(policy_of());
    open(*b);
    clock_.advance(10s);
    EXPECT_EQ(b->state(), State::open) << "no timers: the next call turns it half-open";
    auto probe = acquire(*b);
    EXPECT_TRUE(probe.probe());
    EXPECT_EQ(b->state(), State::half_open);

    const auto second = rejected(*b);
    EXPECT_EQ(second.state, State::half_open);
    EXPECT_EQ(second.retry_at, clock_.now());
    EXPECT_EQ(b->metrics(), (BreakerMetrics{.opened = 1, .half_opened = 1, .rejected = 1}));
}

TEST_F(CircuitBreakerTest, ProbeSuccessCloses) {
    auto b = make(policy_of());
    open(*b);
    clock_.advance(10s);
    b->record(acquire(*b), Outcome::success);
    EXPECT_EQ(b->state(), State::closed);
    auto normal = acquire(*b);
    EXPECT_FALSE(normal.probe());
    // Counting starts afresh.
    call(*b, Outcome::server_error, 2);
    EXPECT_EQ(b->state(), State::closed);
    EXPECT_EQ(b->metrics(), (BreakerMetrics{.opened = 1, .half_opened = 1, .closed = 1}));
}

TEST_F(CircuitBreakerTest, ProbeFailureReopensForAnotherResetTimeout) {
    auto b = make(policy_of());
    open(*b);
    clock_.advance(15s);
    b->record(acquire(*b), Outcome::timeout);
    EXPECT_EQ(b->state(), State::open);
    EXPECT_EQ(rejected(*b).retry_at, clock_.now() + 10s);
    clock_.advance(10s);
    EXPECT_TRUE(acquire(*b).probe());
    EXPECT_EQ(b->metrics().reopened, 1U);
    EXPECT_EQ(b->metrics().half_opened, 2U);
}

TEST_F(CircuitBreakerTest, CancelledProbeFreesItsSlot) {
    auto b = make(policy_of());
    open(*b);
    clock_.advance(10s);
    b->record(acquire(*b), Outcome::cancelled);
    EXPECT_EQ(b->state(), State::half_open);
    auto next = acquire(*b);
    EXPECT_TRUE(next.probe());
}

TEST_F(CircuitBreakerTest, DroppedProbeFreesItsSlot) {
    auto b = make(policy_of());
    open(*b);
    clock_.advance(10s);
    {
        auto forgotten = acquire(*b);
        (void)rejected(*b);
    }
    auto next = acquire(*b);
    EXPECT_TRUE(next.probe());
    // Moving a permit moves the slot; assigning over a live permit releases it.
    Permit moved = std::move(next);
    (void)rejected(*b);
    moved = Permit{};
    EXPECT_TRUE(acquire(*b).probe());
    EXPECT_EQ(b->state(), State::half_open);
}

TEST_F(CircuitBreakerTest, SeveralProbesWhenConfigured) {
    auto policy = policy_of();
    policy.half_open_max_calls = 2;
    auto b = make(policy);
    open(*b);
    clock_.advance(10s);
    auto p1 = acquire(*b);
    auto p2 = acquire(*b);
    EXPECT_TRUE(p1.probe());
    EXPECT_TRUE(p2.probe());
    EXPECT_EQ(rejected(*b).state, State::half_open);
    b->record(std::move(p1), Outcome::success);
    EXPECT_EQ(b->state(), State::closed);
    // The other probe ended after the transition: it is stale and does not reopen.
    b->record(std::move(p2), Outcome::server_error);
    EXPECT_EQ(b->state(), State::closed);
}

TEST_F(CircuitBreakerTest, OutcomesFromBeforeATransitionAreIgnored) {
    auto b = make(policy_of(2));
    auto slow1 = acquire(*b);
    auto slow2 = acquire(*b);
    open(*b);
    b->record(std::move(slow1), Outcome::success);
    EXPECT_EQ(b->state(), State::open);
    clock_.advance(10s);
    b->record(acquire(*b), Outcome::success);
    ASSERT_EQ(b->state(), State::closed);
    call(*b, Outcome::server_error);
    // Would make two consecutive failures if it counted.
    b->record(std::move(slow2), Outcome::server_error);
    EXPECT_EQ(b->state(), State::closed);
}

TEST_F(CircuitBreakerTest, ZeroResetTimeoutProbesOnTheNextCall) {
    auto b = make({.enabled = true, .failure_threshold = 1, .reset_timeout = 0s});
    call(*b, Outcome::server_error);
    EXPECT_EQ(b->state(), State::open);
    EXPECT_TRUE(acquire(*b).probe());
}

TEST_F(CircuitBreakerTest, HugeResetTimeoutDoesNotOverflow) {
    auto b = make({.enabled = true, .failure_threshold = 1, .reset_timeout = Duration::max()});
    call(*b, Outcome::server_error);
    EXPECT_EQ(rejected(*b).retry_at, std::chrono::steady_clock::time_point::max());
}

TEST_F(CircuitBreakerTest, ClientErrorsAreSuccessesAndCancellationCountsForNothing) {
    auto b = make(policy_of(3));
    call(*b, Outcome::server_error, 2);
    call(*b, CircuitBreaker::outcome_of_status(404));
    call(*b, Outcome::server_error, 2);
    EXPECT_EQ(b->state(), State::closed) << "404 reset the count";
    call(*b, Outcome::cancelled);
    EXPECT_EQ(b->state(), State::closed);
    call(*b, Outcome::server_error);
    EXPECT_EQ(b->state(), State::open) << "cancellation did not reset the count";
}

TEST_F(CircuitBreakerTest, OverloadStatusesCountByDefault) {
    auto b = make(policy_of(3));
    call(*b, CircuitBreaker::outcome_of_status(429), 2);
    call(*b, CircuitBreaker::outcome_of_status(408));
    EXPECT_EQ(b->state(), State::open);
}

TEST_F(CircuitBreakerTest, EachKindOfFailureCanBeSwitchedOff) {
    struct Case {
        CircuitBreakerPolicy policy;
        Outcome outcome;
    };
    auto base = policy_of(2);
    std::vector<Case> cases;
    auto p = base;
    p.count_connection_errors = false;
    cases.push_back({p, Outcome::connection_error});
    p = base;
    p.count_timeouts = false;
    cases.push_back({p, Outcome::timeout});
    p = base;
    p.count_server_errors = false;
    cases.push_back({p, Outcome::server_error});
    p = base;
    p.count_overload_statuses = false;
    cases.push_back({p, Outcome::overload_status});
    for (const auto& c : cases) {
        auto b = make(c.policy);
        const Outcome counted =
            c.outcome == Outcome::server_error ? Outcome::timeout : Outcome::server_error;
        call(*b, counted);
        call(*b, c.outcome, 5);
        call(*b, counted);
        // Not a failure means a success: it reset the consecutive count.
        EXPECT_EQ(b->state(), State::closed) << static_cast<int>(c.outcome);
        call(*b, counted);
        EXPECT_EQ(b->state(), State::open) << static_cast<int>(c.outcome);
    }
}

TEST(CircuitBreakerOutcome, OfStatus) {
    for (const int s : {500, 502, 503, 504, 599}) {
        EXPECT_EQ(CircuitBreaker::outcome_of_status(s), Outcome::server_error) << s;
    }
    for (const int s : {408, 429}) {
        EXPECT_EQ(CircuitBreaker::outcome_of_status(s), Outcome::overload_status) << s;
    }
    for (const int s : {200, 204, 301, 400, 401, 404, 409, 499}) {
        EXPECT_EQ(CircuitBreaker::outcome_of_status(s), Outcome::success) << s;
    }
}

TEST_F(CircuitBreakerTest, SlidingWindowOpensOnTheFailureRate) {
    auto b = make({.enabled = true,
                   .failure_threshold = 100,
                   .sliding_window = true,
                   .window_size = 10,
                   .minimum_calls = 5,
                   .failure_rate_threshold = 50});
    for (int i = 0; i < 2; ++i) {
        call(*b, Outcome::success);
        call(*b, Outcome::server_error);
    }
    EXPECT_EQ(b->state(), State::closed) << "50% of 4 calls, below minimum_calls";
    call(*b, Outcome::success);
    EXPECT_EQ(b->state(), State::closed) << "40% of 5";
    call(*b, Outcome::timeout);
    EXPECT_EQ(b->state(), State::open) << "50% of 6";
    EXPECT_EQ(b->metrics().opened, 1U);
}

TEST_F(CircuitBreakerTest, SlidingWindowWaitsForMinimumCalls) {
    auto b = make({.enabled = true,
                   .failure_threshold = 100,
                   .sliding_window = true,
                   .window_size = 10,
                   .minimum_calls = 5,
                   .failure_rate_threshold = 100});
    call(*b, Outcome::connection_error, 4);
    EXPECT_EQ(b->state(), State::closed);
    call(*b, Outcome::connection_error);
    EXPECT_EQ(b->state(), State::open);
}

TEST_F(CircuitBreakerTest, SlidingWindowForgetsOldCalls) {
    auto b = make({.enabled = true,
                   .failure_threshold = 100,
                   .sliding_window = true,
                   .window_size = 4,
                   .minimum_calls = 4,
                   .failure_rate_threshold = 50});
    call(*b, Outcome::server_error);
    call(*b, Outcome::success, 6);
    call(*b, Outcome::server_error);
    EXPECT_EQ(b->state(), State::closed) << "25% of the last 4";
    call(*b, Outcome::server_error);
    EXPECT_EQ(b->state(), State::open) << "50% of the last 4 (3 of 9 overall)";
}

TEST_F(CircuitBreakerTest, ConsecutiveRuleStillAppliesWithTheWindow) {
    auto b = make({.enabled = true,
                   .failure_threshold = 3,
                   .sliding_window = true,
                   .window_size = 100,
                   .minimum_calls = 50,
                   .failure_rate_threshold = 90});
    call(*b, Outcome::server_error, 3);
    EXPECT_EQ(b->state(), State::open);
}

TEST_F(CircuitBreakerTest, SlidingWindowStartsAfreshAfterClosing) {
    auto b = make({.enabled = true,
                   .failure_threshold = 100,
                   .reset_timeout = 1s,
                   .sliding_window = true,
                   .window_size = 4,
                   .minimum_calls = 2,
                   .failure_rate_threshold = 100});
    call(*b, Outcome::server_error, 2);
    ASSERT_EQ(b->state(), State::open);
    clock_.advance(1s);
    call(*b, Outcome::success);
    ASSERT_EQ(b->state(), State::closed);
    call(*b, Outcome::server_error);
    EXPECT_EQ(b->state(), State::closed) << "one call is below minimum_calls";
}

TEST_F(CircuitBreakerTest, HookSeesEveryTransition) {
    auto b = make(policy_of(1));
    call(*b, Outcome::server_error);
    clock_.advance(10s);
    call(*b, Outcome::server_error);
    clock_.advance(10s);
    call(*b, Outcome::success);
    const std::string o = "https://a.test:443";
    EXPECT_EQ(events_, (std::vector<Event>{{o, State::closed, State::open},
                                           {o, State::open, State::half_open},
                                           {o, State::half_open, State::open},
                                           {o, State::open, State::half_open},
                                           {o, State::half_open, State::closed}}));
    EXPECT_EQ(b->metrics(),
              (BreakerMetrics{.opened = 1, .half_opened = 2, .closed = 1, .reopened = 1}));
}

TEST_F(CircuitBreakerTest, HookMayCallBackIntoTheBreaker) {
    std::vector<State> seen;
    CircuitBreaker* self = nullptr;
    CircuitBreaker b(policy_of(1), clock_.clock(), "o", [&](std::string_view, State, State) {
        seen.push_back(self->state());
        (void)self->metrics();
    });
    self = &b;
    call(b, Outcome::server_error);
    clock_.advance(10s);
    call(b, Outcome::success);
    EXPECT_EQ(seen, (std::vector<State>{State::open, State::half_open, State::closed}));
}

TEST_F(CircuitBreakerTest, ThrowingHookDoesNotLeakTheProbeSlot) {
    bool throw_now = false;
    CircuitBreaker b(policy_of(1), clock_.clock(), "o", [&](std::string_view, State, State to) {
        if (throw_now && to == State::half_open) throw std::runtime_error("hook");
    });
    call(b, Outcome::server_error);
    clock_.advance(10s);
    throw_now = true;
    EXPECT_THROW((void)b.try_acquire(), std::runtime_error);
    EXPECT_EQ(b.state(), State::half_open);
    throw_now = false;
    EXPECT_TRUE(acquire(b).probe());
}

TEST_F(CircuitBreakerTest, DisabledBreakerLetsEverythingThrough) {
    auto b = make({.enabled = false, .failure_threshold = 1});
    call(*b, Outcome::server_error, 100);
    EXPECT_EQ(b->state(), State::closed);
    EXPECT_EQ(b->metrics(), BreakerMetrics{});
    EXPECT_TRUE(events_.empty());
}

TEST_F(CircuitBreakerTest, EmptyPermitsAreIgnored) {
    auto b = make(policy_of(1));
    b->record(Permit{}, Outcome::server_error);
    EXPECT_EQ(b->state(), State::closed);
}

TEST(CircuitBreakerValidation, RejectsBadPolicies) {
    const auto bad = [](CircuitBreakerPolicy p, std::string_view field) {
        try {
            CircuitBreaker b(p);
            ADD_FAILURE() << "accepted a bad " << field;
        } catch (const ConfigurationError& e) {
            EXPECT_EQ(e.code(), errc::invalid_configuration);
            EXPECT_NE(std::string(e.what()).find(field), std::string::npos) << e.what();
        }
    };
    bad({.failure_threshold = 0}, "failure_threshold");
    bad({.reset_timeout = -1s}, "reset_timeout");
    bad({.half_open_max_calls = 0}, "half_open_max_calls");
    bad({.window_size = 0}, "window_size");
    bad({.window_size = 5, .minimum_calls = 6}, "minimum_calls");
    bad({.minimum_calls = 0}, "minimum_calls");
    bad({.failure_rate_threshold = 0}, "failure_rate_threshold");
    bad({.failure_rate_threshold = 100.5}, "failure_rate_threshold");
    EXPECT_NO_THROW(validate(CircuitBreakerPolicy{}));
    EXPECT_THROW(CircuitBreaker(CircuitBreakerPolicy{}, Clock{}), ConfigurationError);
}

TEST(CircuitBreakerState, Names) {
    EXPECT_EQ(to_string(State::closed), "closed");
    EXPECT_EQ(to_string(State::open), "open");
    EXPECT_EQ(to_string(State::half_open), "half_open");
}

TEST(CircuitBreakerThreads, HammeringOneBreakerKeepsItConsistent) {
    test::FakeClock clock;
    std::atomic<std::uint64_t> hooked{0};
    CircuitBreaker b({.enabled = true,
                      .failure_threshold = 3,
                      .reset_timeout = 0s,
                      .half_open_max_calls = 2,
                      .sliding_window = true,
                      .window_size = 8,
                      .minimum_calls = 4},
                     clock.clock(), "o", [&](std::string_view, State, State) { ++hooked; });
    std::atomic<std::uint64_t> rejections{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < 2000; ++i) {
                auto r = b.try_acquire();
                if (auto* p = std::get_if<Permit>(&r)) {
                    const int k = (i + t) % 5;
                    if (k == 4) continue; // dropped: counts as cancelled
                    const Outcome outcome = k == 0   ? Outcome::success
                                            : k == 1 ? Outcome::server_error
                                            : k == 2 ? Outcome::cancelled
                                                     : Outcome::timeout;
                    b.record(std::move(*p), outcome);
                } else {
                    ++rejections;
                }
                if (i % 100 == 0) clock.advance(1ms);
                (void)b.state();
            }
        });
    }
    for (auto& t : threads) t.join();
    const auto m = b.metrics();
    EXPECT_EQ(m.rejected, rejections.load());
    EXPECT_GT(m.opened, 0U);
    EXPECT_EQ(m.opened + m.half_opened + m.closed + m.reopened, hooked.load());
    // Every half-open period ended in closed or open, except perhaps the current one.
    const auto state = b.state();
    EXPECT_EQ(m.half_opened, m.closed + m.reopened + (state == State::half_open ? 1 : 0));
    EXPECT_EQ(m.opened + m.reopened, m.half_opened + (state == State::open ? 1 : 0));
}

} // namespace
} // namespace nector::http
