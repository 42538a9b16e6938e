#include "nector/http/retry.hpp"

#include "nector/transport/errors.hpp"
#include "support/fake_time.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <limits>
#include <set>
#include <thread>
#include <vector>

namespace nector::http {
namespace {

using namespace std::chrono;
using Action = RetryDecision::Action;
using test::fixed_random;

constexpr double almost_one = 0.999;

RetryPolicy no_jitter() { return RetryPolicy{.jitter = Jitter::none}; }

// ms with a fractional part, for comparing jittered delays.
double in_ms(Duration d) { return duration<double, std::milli>(d).count(); }

// --- backoff_delay -------------------------------------------------------------------

TEST(RetryBackoff, DoublesFromTheFactorAndIsCapped) {
    const auto policy = no_jitter();
    const auto random = fixed_random(0.5);
    const std::vector<Duration> expected{500ms, 1s, 2s, 4s, 8s, 16s, 30s, 30s};
    for (std::size_t retry = 1; retry <= expected.size(); ++retry) {
        EXPECT_EQ(backoff_delay(policy, retry, {}, random), expected[retry - 1]) << retry;
    }
    EXPECT_EQ(backoff_delay(policy, 0, {}, random), 500ms) << "retry 0 counts as the first";
    EXPECT_EQ(backoff_delay(policy, 1000, {}, random), 30s) << "no overflow";
    EXPECT_EQ(backoff_delay(policy, std::numeric_limits<std::size_t>::max(), {}, random), 30s);
}

TEST(RetryBackoff, ZeroFactorOrCapMeansNoWait) {
    const auto random = fixed_random(0.5);
    EXPECT_EQ(backoff_delay({.backoff_factor = 0s, .jitter = Jitter::none}, 5, {}, random), 0s);
    EXPECT_EQ(backoff_delay({.max_backoff = 0s, .jitter = Jitter::none}, 5, {}, random), 0s);
    EXPECT_EQ(backoff_delay({.max_backoff = 0s, .jitter = Jitter::decorrelated}, 5, 3s, random),
              0s);
}

TEST(RetryBackoff, FactorAboveTheCapGivesTheCap) {
    const RetryPolicy policy{.backoff_factor = 10s, .max_backoff = 3s, .jitter = Jitter::none};
    EXPECT_EQ(backoff_delay(policy, 1, {}, fixed_random(0)), 3s);
}

TEST(RetryBackoff, FullJitterIsUniformFromZeroToTheComputedDelay) {
    const RetryPolicy policy{.jitter = Jitter::full};
    EXPECT_EQ(backoff_delay(policy, 3, {}, fixed_random(0)), 0s);
    EXPECT_EQ(backoff_delay(policy, 3, {}, fixed_random(0.5)), 1s);
    EXPECT_DOUBLE_EQ(in_ms(backoff_delay(policy, 3, {}, fixed_random(almost_one))), 1998.0);
    EXPECT_EQ(backoff_delay(policy, 10, {}, fixed_random(almost_one)), 29970ms);
}

TEST(RetryBackoff, EqualJitterKeepsAtLeastHalf) {
    const RetryPolicy policy{.jitter = Jitter::equal};
    EXPECT_EQ(backoff_delay(policy, 3, {}, fixed_random(0)), 1s);
    EXPECT_EQ(backoff_delay(policy, 3, {}, fixed_random(0.5)), 1500ms);
    EXPECT_DOUBLE_EQ(in_ms(backoff_delay(policy, 3, {}, fixed_random(almost_one))), 1999.0);
}

TEST(RetryBackoff, DecorrelatedJitterGrowsFromThePreviousDelay) {
    const RetryPolicy policy{.jitter = Jitter::decorrelated};
    // Before the first retry, previous counts as the factor: [0.5 s, 1.5 s].
    EXPECT_EQ(backoff_delay(policy, 1, {}, fixed_random(0)), 500ms);
    EXPECT_EQ(backoff_delay(policy, 1, {}, fixed_random(0.5)), 1s);
    EXPECT_DOUBLE_EQ(in_ms(backoff_delay(policy, 1, {}, fixed_random(almost_one))), 1499.0);
    // [0.5 s, 3 * 2 s]; the retry number plays no part.
    EXPECT_EQ(backoff_delay(policy, 7, 2s, fixed_random(0)), 500ms);
    EXPECT_EQ(backoff_delay(policy, 7, 2s, fixed_random(0.5)), 3250ms);
    EXPECT_DOUBLE_EQ(in_ms(backoff_delay(policy, 2, 2s, fixed_random(almost_one))), 5994.5);
    // Capped by max_backoff, whatever the previous delay.
    EXPECT_EQ(backoff_delay(policy, 2, 20s, fixed_random(almost_one)), 30s);
    EXPECT_EQ(backoff_delay(policy, 2, Duration::max(), fixed_random(0.5)), 30s);
}

TEST(RetryBackoff, ARandomSourceOutOfRangeIsClamped) {
    const RetryPolicy policy{.jitter = Jitter::full};
    EXPECT_EQ(backoff_delay(policy, 3, {}, fixed_random(1.5)), 2s);
    EXPECT_EQ(backoff_delay(policy, 3, {}, fixed_random(-1)), 0s);
    EXPECT_EQ(backoff_delay(policy, 3, {}, fixed_random(std::nan(""))), 0s);
}

TEST(RetryBackoff, SystemRandomnessIsInTheUnitInterval) {
    const auto random = Randomness::system();
    std::set<double> seen;
    for (int i = 0; i < 1000; ++i) {
        const double u = random.uniform();
        ASSERT_GE(u, 0.0);
        ASSERT_LT(u, 1.0);
        seen.insert(u);
    }
    EXPECT_GT(seen.size(), 990U);
    // One engine per thread: usable concurrently.
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&random] {
            for (int i = 0; i < 1000; ++i) {
                const double u = random.uniform();
                if (u < 0.0 || u >= 1.0) ADD_FAILURE() << u;
            }
        });
    }
    for (auto& t : threads) t.join();
}

TEST(RetryBackoff, SystemClockTicks) {
    const auto clock = Clock::system();
    const auto first = clock.now();
    const auto second = clock.now();
    EXPECT_LE(first, second);
    EXPECT_GT(clock.wall(), std::chrono::system_clock::time_point{});
}

// --- parse_retry_after ---------------------------------------------------------------

// 1994-11-06 08:49:00 UTC, 37 s before the RFC's example date.
const system_clock::time_point example_now = sys_days{1994y / November / 6} + 8h + 49min;

std::optional<Duration> parse(std::string_view value, system_clock::time_point now = example_now) {
    return parse_retry_after(value, now);
}

TEST(RetryAfter, DelaySeconds) {
    EXPECT_EQ(parse("120"), Duration{120s});
    EXPECT_EQ(parse("0"), Duration::zero());
    EXPECT_EQ(parse("007"), Duration{7s});
    EXPECT_EQ(parse(" \t 7 \t"), Duration{7s});
}

TEST(RetryAfter, HugeDelaySecondsSaturate) {
    EXPECT_EQ(parse("9223372036"), Duration{9223372036s});
    EXPECT_EQ(parse("9223372037"), Duration::max());
    EXPECT_EQ(parse("99999999999999999999999999999"), Duration::max());
}

TEST(RetryAfter, NegativeSecondsMeanNow) {
    EXPECT_EQ(parse("-5"), Duration::zero());
    EXPECT_EQ(parse("-0"), Duration::zero());
    EXPECT_EQ(parse("-99999999999999999999999"), Duration::zero());
}

TEST(RetryAfter, GarbageIsIgnored) {
    for (std::string_view bad : {"", "   ", "\t", "1.5", "5s", "+5", "- 5", "--5", "5 6", "abc",
                                 "-", "0x10", "1e3", "５"}) {
        EXPECT_EQ(parse(bad), std::nullopt) << "'" << bad << "'";
    }
}

TEST(RetryAfter, ImfFixdate) {
    EXPECT_EQ(parse("Sun, 06 Nov 1994 08:49:37 GMT"), Duration{37s});
    EXPECT_EQ(parse("  Sun, 06 Nov 1994 08:49:37 GMT\t"), Duration{37s});
    EXPECT_EQ(parse("Mon, 07 Nov 1994 08:49:00 GMT"), Duration{24h});
    // Sub-second precision of `now` is kept.
    EXPECT_EQ(parse("Sun, 06 Nov 1994 08:49:37 GMT", example_now + 250ms), Duration{36750ms});
    // Lenient about case (RFC 9110 says HTTP-date is case-sensitive).
    EXPECT_EQ(parse("sun, 06 nov 1994 08:49:37 gmt"), Duration{37s});
    // A leap second is the first second of the next minute.
    EXPECT_EQ(parse("Sun, 06 Nov 1994 08:49:60 GMT"), Duration{60s});
}

TEST(RetryAfter, Rfc850DateWithTwoDigitYear) {
    EXPECT_EQ(parse("Sunday, 06-Nov-94 08:49:37 GMT"), Duration{37s});
    // 94 seen from 2026 would be 2094, more than 50 years ahead: it is 1994, in the past.
    const system_clock::time_point in_2026 = sys_days{2026y / January / 1};
    EXPECT_EQ(parse("Sunday, 06-Nov-94 08:49:37 GMT", in_2026), Duration::zero());
    EXPECT_EQ(parse("Thursday, 01-Jan-26 00:00:10 GMT", in_2026), Duration{10s});
    // 76 is exactly 50 years ahead: 2076, not 1976.
    EXPECT_EQ(parse("Wednesday, 01-Jan-76 00:00:00 GMT", in_2026),
              duration_cast<Duration>(sys_days{2076y / January / 1} - in_2026));
    EXPECT_EQ(parse("Thursday, 01-Jan-77 00:00:00 GMT", in_2026), Duration::zero());
    // Near the end of a century the next one is reachable: 10 seen from 2090 is 2110.
    const system_clock::time_point in_2090 = sys_days{2090y / January / 1};
    EXPECT_EQ(parse("Wednesday, 01-Jan-10 00:00:00 GMT", in_2090),
              duration_cast<Duration>(sys_days{2110y / January / 1} - in_2090));
}

TEST(RetryAfter, AsctimeDate) {
    EXPECT_EQ(parse("Sun Nov  6 08:49:37 1994"), Duration{37s});
    EXPECT_EQ(parse("Sun Nov 06 08:49:37 1994"), Duration{37s});
    EXPECT_EQ(parse("Sun Nov 16 08:49:00 1994"), Duration{240h});
    EXPECT_EQ(parse("Sun Nov 6 08:49:37 1994"), std::nullopt);
}

TEST(RetryAfter, PastOrPresentDatesMeanNow) {
    EXPECT_EQ(parse("Sun, 06 Nov 1994 08:49:00 GMT"), Duration::zero());
    EXPECT_EQ(parse("Sun, 06 Nov 1994 08:48:59 GMT"), Duration::zero());
    EXPECT_EQ(parse("Thu, 01 Jan 1970 00:00:00 GMT"), Duration::zero());
    EXPECT_EQ(parse("Sat, 01 Jan 0000 00:00:00 GMT"), Duration::zero());
    // Within the current second but before now.
    EXPECT_EQ(parse("Sun, 06 Nov 1994 08:49:00 GMT", example_now + 500ms), Duration::zero());
}

TEST(RetryAfter, FarFutureDatesSaturate) {
    EXPECT_EQ(parse("Fri, 31 Dec 9999 23:59:59 GMT"), Duration::max());
}

TEST(RetryAfter, MalformedDatesAreIgnored) {
    for (std::string_view bad : {
             "Sun, 31 Feb 1994 08:49:37 GMT",    // no such day
             "Sun, 06 Nov 1994 24:00:00 GMT",    // hour
             "Sun, 06 Nov 1994 08:60:00 GMT",    // minute
             "Sun, 06 Nov 1994 08:49:61 GMT",    // second
             "Sun, 06 Nov 1994 08:49:37 UTC",    // zone
             "Sun, 06 Nov 1994 08:49:37",        // no zone
             "Sun, 6 Nov 1994 08:49:37 GMT",     // one-digit day
             "Sun, 06 Nov 94 08:49:37 GMT",      // two-digit year in IMF-fixdate
             "Sun, 06 Nov 1994 08:49:37 GMT x",  // trailing text
             "Sun,06 Nov 1994 08:49:37 GMT",     // missing space
             "Fun, 06 Nov 1994 08:49:37 GMT",    // day name
             "Sun, 06 Foo 1994 08:49:37 GMT",    // month
             "Sun, 06 Nov 1994 8:49:37 GMT",     // one-digit hour
             "Sunday, 06 Nov 1994 08:49:37 GMT", // long day name in IMF-fixdate
             "Sun, 06-Nov-94 08:49:37 GMT",      // short day name in RFC 850
             "Sunday, 06-Nov-1994 08:49:37 GMT", "Sun Nov  6 08:49:37 94",
             "Sun Nov  6 08:49:37 1994 GMT",     "Sunday",
         }) {
        EXPECT_EQ(parse(bad), std::nullopt) << bad;
    }
}

// --- is_idempotent -------------------------------------------------------------------

TEST(RetryIdempotency, RfcMethods) {
    for (std::string_view m : {"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"}) {
        EXPECT_TRUE(is_idempotent(m)) << m;
    }
    for (std::string_view m : {"POST", "PATCH", "CONNECT", "get", "Put", "", "GETX"}) {
        EXPECT_FALSE(is_idempotent(m)) << m;
    }
}

// --- decide_retry --------------------------------------------------------------------

class RetryDecide : public ::testing::Test {
protected:
    RetryDecision decide(const RetryPolicy& policy, const FailedAttempt& attempt, double u = 0.5) {
        return decide_retry(policy, attempt, clock_.clock(), fixed_random(u));
    }

    test::FakeClock clock_;
};

TEST_F(RetryDecide, RetriesStatusesOfIdempotentRequestsWithBackoff) {
    const auto policy = no_jitter();
    auto d = decide(policy, {.method = "GET", .failure = Failure::status, .status = 503});
    EXPECT_EQ(d.action, Action::retry);
    EXPECT_EQ(d.delay, 500ms);
    EXPECT_EQ(d.retry_after, std::nullopt);
    EXPECT_EQ(d.reason, "status 503, retry 1 of 3 in 0.5 s");

    d = decide(policy,
               {.method = "PUT", .failure = Failure::status, .status = 429, .retries_done = 2});
    EXPECT_EQ(d.action, Action::retry);
    EXPECT_EQ(d.delay, 2s);
    EXPECT_EQ(d.reason, "status 429, retry 3 of 3 in 2 s");
}

TEST_F(RetryDecide, DefaultJitterIsFull) {
    const RetryPolicy policy;
    const auto d = decide(
        policy, {.method = "GET", .failure = Failure::status, .status = 502, .retries_done = 2},
        0.25);
    EXPECT_EQ(d.delay, 500ms);
}

TEST_F(RetryDecide, OnlyListedStatusesAreRetried) {
    const RetryPolicy policy;
    for (const int status : {500, 502, 503, 504, 429}) {
        EXPECT_EQ(
            decide(policy, {.method = "GET", .failure = Failure::status, .status = status}).action,
            Action::retry)
            << status;
    }
    for (const int status : {400, 401, 403, 404, 408, 409, 501, 505, 300}) {
        const auto d =
            decide(policy, {.method = "GET", .failure = Failure::status, .status = status});
        EXPECT_EQ(d.action, Action::give_up) << status;
        EXPECT_EQ(d.reason, "status " + std::to_string(status) + " is not retried");
    }
    const RetryPolicy custom{.retry_status_codes = {409}};
    EXPECT_EQ(decide(custom, {.method = "GET", .failure = Failure::status, .status = 409}).action,
              Action::retry);
    EXPECT_EQ(decide(custom, {.method = "GET", .failure = Failure::status, .status = 503}).action,
              Action::give_up);
}

TEST_F(RetryDecide, StopsAfterMaxRetries) {
    const RetryPolicy policy;
    const FailedAttempt third{
        .method = "GET", .failure = Failure::status, .status = 503, .retries_done = 3};
    const auto d = decide(policy, third);
    EXPECT_EQ(d.action, Action::give_up);
    EXPECT_EQ(d.reason, "status 503: retries exhausted (3 of 3)");

    const RetryPolicy never{.max_retries = 0};
    EXPECT_EQ(decide(never, {.method = "GET", .failure = Failure::connect}).action,
              Action::give_up);
    const RetryPolicy more{.max_retries = 5};
    EXPECT_EQ(decide(more, third).action, Action::retry);
}

TEST_F(RetryDecide, PostIsNotRetriedAfterTheServerMayHaveSeenIt) {
    const RetryPolicy policy;
    auto d = decide(policy, {.method = "POST", .failure = Failure::status, .status = 503});
    EXPECT_EQ(d.action, Action::give_up);
    EXPECT_EQ(d.reason, "status 503: POST is not idempotent and has no Idempotency-Key");
    d = decide(policy, {.method = "POST", .failure = Failure::read_timeout});
    EXPECT_EQ(d.action, Action::give_up);
    EXPECT_EQ(d.reason, "read timeout: POST is not idempotent and has no Idempotency-Key");
    EXPECT_EQ(decide(policy, {.method = "PATCH", .failure = Failure::write_timeout}).action,
              Action::give_up);
    EXPECT_EQ(decide(policy, {.method = "get", .failure = Failure::read_timeout}).action,
              Action::give_up);
}

TEST_F(RetryDecide, PostIsRetriedWithAnIdempotencyKey) {
    const RetryPolicy policy;
    for (const auto failure : {Failure::status, Failure::read_timeout, Failure::write_timeout}) {
        EXPECT_EQ(
            decide(
                policy,
                {.method = "POST", .has_idempotency_key = true, .failure = failure, .status = 503})
                .action,
            Action::retry);
    }
}

TEST_F(RetryDecide, PostIsRetriedWhenNothingReachedTheServer) {
    const RetryPolicy policy;
    EXPECT_EQ(decide(policy, {.method = "POST", .failure = Failure::connect}).action,
              Action::retry);
    EXPECT_EQ(decide(policy, {.method = "POST", .failure = Failure::timeout_before_send}).action,
              Action::retry);
}

TEST_F(RetryDecide, RetryAllMethodsLiftsTheIdempotencyRule) {
    const RetryPolicy policy{.retry_all_methods = true};
    EXPECT_EQ(decide(policy, {.method = "POST", .failure = Failure::status, .status = 503}).action,
              Action::retry);
    EXPECT_EQ(decide(policy, {.method = "PATCH", .failure = Failure::read_timeout}).action,
              Action::retry);
}

TEST_F(RetryDecide, SwitchesForConnectErrorsAndTimeouts) {
    const RetryPolicy no_connect{.retry_connect_errors = false};
    auto d = decide(no_connect, {.method = "GET", .failure = Failure::connect});
    EXPECT_EQ(d.action, Action::give_up);
    EXPECT_EQ(d.reason, "connect failure: retry_connect_errors is off");
    EXPECT_EQ(decide(no_connect, {.method = "GET", .failure = Failure::read_timeout}).action,
              Action::retry);

    const RetryPolicy no_timeouts{.retry_timeouts = false};
    for (const auto failure :
         {Failure::timeout_before_send, Failure::write_timeout, Failure::read_timeout}) {
        EXPECT_EQ(decide(no_timeouts, {.method = "GET", .failure = failure}).action,
                  Action::give_up);
    }
    EXPECT_EQ(decide(no_timeouts, {.method = "GET", .failure = Failure::connect}).action,
              Action::retry);
}

TEST_F(RetryDecide, OtherFailuresAreNeverRetried) {
    const RetryPolicy policy{.retry_all_methods = true};
    EXPECT_EQ(decide(policy, {.method = "GET", .failure = Failure::other}).action, Action::give_up);
}

TEST_F(RetryDecide, PassesThePreviousDelayToDecorrelatedJitter) {
    const RetryPolicy policy{.jitter = Jitter::decorrelated};
    const auto d = decide(
        policy,
        {.method = "GET", .failure = Failure::connect, .retries_done = 1, .previous_delay = 2s});
    EXPECT_EQ(d.delay, 3250ms);
}

TEST_F(RetryDecide, RetryAfterSecondsReplacesTheBackoffAndIsJitteredUpOnly) {
    const auto policy = no_jitter();
    const FailedAttempt attempt{
        .method = "GET", .failure = Failure::status, .status = 503, .retry_after = "3"};
    auto d = decide(policy, attempt, 0);
    EXPECT_EQ(d.action, Action::retry);
    EXPECT_EQ(d.retry_after, Duration{3s});
    EXPECT_EQ(d.delay, 3s);
    EXPECT_EQ(d.reason, "status 503, retry 1 of 3 in 3 s (Retry-After)");
    EXPECT_EQ(decide(policy, attempt, 0.5).delay, 3150ms);
    EXPECT_DOUBLE_EQ(in_ms(decide(policy, attempt, almost_one).delay), 3299.7);
}

TEST_F(RetryDecide, RetryAfterDate) {
    clock_.set_wall(example_now);
    const FailedAttempt attempt{.method = "GET",
                                .failure = Failure::status,
                                .status = 429,
                                .retry_after = "Sun, 06 Nov 1994 08:49:37 GMT"};
    const auto d = decide(RetryPolicy{}, attempt, 0);
    EXPECT_EQ(d.action, Action::retry);
    EXPECT_EQ(d.retry_after, Duration{37s});
    EXPECT_EQ(d.delay, 37s);

    const FailedAttempt past{.method = "GET",
                             .failure = Failure::status,
                             .status = 503,
                             .retry_after = "Sunday, 06-Nov-94 08:00:00 GMT"};
    EXPECT_EQ(decide(RetryPolicy{}, past, almost_one).delay, 0s);
}

TEST_F(RetryDecide, RetryAfterIsCappedByMaxRetryAfter) {
    const RetryPolicy policy;
    auto d = decide(
        policy, {.method = "GET", .failure = Failure::status, .status = 503, .retry_after = "120"});
    EXPECT_EQ(d.action, Action::give_up_retry_after_too_long);
    EXPECT_EQ(d.retry_after, Duration{120s});
    EXPECT_EQ(d.delay, 0s);
    EXPECT_EQ(d.reason, "status 503: Retry-After 120 s exceeds max_retry_after 60 s");

    // At the cap it is honoured, and the jitter never goes past it.
    d = decide(policy,
               {.method = "GET", .failure = Failure::status, .status = 503, .retry_after = "60"},
               almost_one);
    EXPECT_EQ(d.action, Action::retry);
    EXPECT_EQ(d.delay, 60s);
    d = decide(policy,
               {.method = "GET", .failure = Failure::status, .status = 503, .retry_after = "58"},
               almost_one);
    EXPECT_EQ(d.delay, 60s);

    const RetryPolicy patient{.max_retry_after = 5min};
    EXPECT_EQ(
        decide(patient,
               {.method = "GET", .failure = Failure::status, .status = 503, .retry_after = "120"},
               0)
            .delay,
        120s);
}

TEST_F(RetryDecide, ExhaustionComesBeforeRetryAfter) {
    const auto d = decide(RetryPolicy{}, {.method = "GET",
                                          .failure = Failure::status,
                                          .status = 503,
                                          .retry_after = "120",
                                          .retries_done = 3});
    EXPECT_EQ(d.action, Action::give_up);
    EXPECT_EQ(d.retry_after, std::nullopt);
}

TEST_F(RetryDecide, UnusableOrDisabledRetryAfterFallsBackToBackoff) {
    const auto policy = no_jitter();
    const FailedAttempt garbage{
        .method = "GET", .failure = Failure::status, .status = 503, .retry_after = "soon"};
    auto d = decide(policy, garbage);
    EXPECT_EQ(d.action, Action::retry);
    EXPECT_EQ(d.delay, 500ms);
    EXPECT_EQ(d.retry_after, std::nullopt);

    auto ignoring = no_jitter();
    ignoring.respect_retry_after = false;
    d = decide(ignoring,
               {.method = "GET", .failure = Failure::status, .status = 503, .retry_after = "120"});
    EXPECT_EQ(d.action, Action::retry);
    EXPECT_EQ(d.delay, 500ms);
    EXPECT_EQ(d.retry_after, std::nullopt);
}

TEST_F(RetryDecide, RetryAfterOnlyCountsForStatuses) {
    const auto d = decide(
        no_jitter(), {.method = "GET", .failure = Failure::read_timeout, .retry_after = "120"});
    EXPECT_EQ(d.action, Action::retry);
    EXPECT_EQ(d.delay, 500ms);
}

TEST_F(RetryDecide, WallClockIsReadOnlyForRetryAfter) {
    const Clock no_wall{[] { return steady_clock::now(); }, nullptr};
    EXPECT_EQ(decide_retry(RetryPolicy{}, {.method = "GET", .failure = Failure::connect}, no_wall,
                           fixed_random(0.5))
                  .action,
              Action::retry);
}

// --- validate ------------------------------------------------------------------------

std::string validation_error(const RetryPolicy& policy) {
    try {
        validate(policy);
    } catch (const ConfigurationError& e) {
        EXPECT_EQ(e.code(), errc::invalid_configuration);
        return e.what();
    }
    return "";
}

TEST(RetryPolicyValidation, NamesTheBadField) {
    EXPECT_EQ(validation_error(RetryPolicy{}), "");
    EXPECT_NE(validation_error({.backoff_factor = -1s}).find("backoff_factor"), std::string::npos);
    EXPECT_NE(validation_error({.max_backoff = -1s}).find("max_backoff"), std::string::npos);
    EXPECT_NE(validation_error({.retry_status_codes = {503, 42}}).find("42"), std::string::npos);
    EXPECT_NE(validation_error({.max_retry_after = -1s}).find("max_retry_after"),
              std::string::npos);
    EXPECT_NE(validation_error({.budget_max_tokens = 0}).find("budget_max_tokens"),
              std::string::npos);
    EXPECT_NE(validation_error({.budget_max_tokens = std::nan("")}).find("budget_max_tokens"),
              std::string::npos);
    EXPECT_NE(validation_error({.budget_token_ratio = 0}).find("budget_token_ratio"),
              std::string::npos);
    EXPECT_THROW(RetryBudget({.budget_token_ratio = -1}), ConfigurationError);
}

// --- RetryBudget ---------------------------------------------------------------------

TEST(BudgetTokens, StartsFullAndAllowsRetries) {
    RetryBudget budget{RetryPolicy{}};
    EXPECT_DOUBLE_EQ(budget.tokens(), 100.0);
    EXPECT_TRUE(budget.allow_retry());
    EXPECT_EQ(budget.suppressed(), 0U);
}

TEST(BudgetTokens, RetriesStopAtHalfTheTokens) {
    RetryBudget budget{RetryPolicy{}};
    for (int i = 0; i < 49; ++i) budget.on_failure();
    EXPECT_DOUBLE_EQ(budget.tokens(), 51.0);
    EXPECT_TRUE(budget.allow_retry());
    budget.on_failure();
    EXPECT_DOUBLE_EQ(budget.tokens(), 50.0);
    EXPECT_FALSE(budget.allow_retry()) << "tokens must be above half";
    budget.on_failure();
    EXPECT_FALSE(budget.allow_retry());
    EXPECT_FALSE(budget.allow_retry());
    EXPECT_EQ(budget.suppressed(), 3U);
}

TEST(BudgetTokens, HedgesTakeATokenEachUntilHalfRemain) {
    RetryBudget budget{RetryPolicy{}};
    for (int i = 0; i < 50; ++i) EXPECT_TRUE(budget.allow_hedge()) << i;
    EXPECT_DOUBLE_EQ(budget.tokens(), 50.0);
    EXPECT_FALSE(budget.allow_hedge());
    EXPECT_FALSE(budget.allow_retry()); // hedges and retries share the bucket
    EXPECT_EQ(budget.suppressed(), 2U);
    RetryBudget off{RetryPolicy{.budget = false}};
    for (int i = 0; i < 200; ++i) EXPECT_TRUE(off.allow_hedge());
}

TEST(BudgetTokens, SuccessesRefillByTheRatio) {
    RetryBudget budget{RetryPolicy{}};
    for (int i = 0; i < 51; ++i) budget.on_failure();
    EXPECT_DOUBLE_EQ(budget.tokens(), 49.0);
    for (int i = 0; i < 10; ++i) budget.on_success();
    EXPECT_DOUBLE_EQ(budget.tokens(), 50.0) << "0.1 steps add up exactly";
    EXPECT_FALSE(budget.allow_retry());
    budget.on_success();
    EXPECT_DOUBLE_EQ(budget.tokens(), 50.1);
    EXPECT_TRUE(budget.allow_retry());
    EXPECT_EQ(budget.suppressed(), 1U);
}

TEST(BudgetTokens, StaysWithinZeroAndTheMaximum) {
    RetryBudget budget{RetryPolicy{}};
    for (int i = 0; i < 10; ++i) budget.on_success();
    EXPECT_DOUBLE_EQ(budget.tokens(), 100.0);
    for (int i = 0; i < 500; ++i) budget.on_failure();
    EXPECT_DOUBLE_EQ(budget.tokens(), 0.0);
    budget.on_success();
    EXPECT_DOUBLE_EQ(budget.tokens(), 0.1);
}

TEST(BudgetTokens, CustomSizeAndRatio) {
    RetryBudget budget{RetryPolicy{.budget_max_tokens = 10, .budget_token_ratio = 0.5}};
    for (int i = 0; i < 5; ++i) budget.on_failure();
    EXPECT_FALSE(budget.allow_retry());
    budget.on_success();
    EXPECT_DOUBLE_EQ(budget.tokens(), 5.5);
    EXPECT_TRUE(budget.allow_retry());
}

TEST(BudgetTokens, DisabledBudgetAllowsEverything) {
    RetryBudget budget{RetryPolicy{.budget = false}};
    for (int i = 0; i < 1000; ++i) budget.on_failure();
    EXPECT_TRUE(budget.allow_retry());
    EXPECT_EQ(budget.suppressed(), 0U);
}

TEST(BudgetTokens, ThreadSafetySmoke) {
    RetryBudget budget{RetryPolicy{}};
    for (int i = 0; i < 60; ++i) budget.on_failure();
    // From 40 tokens, 40 failures and 400 successes in any order stay within [0, 80]: no
    // clamping, so the total is exact whatever the interleaving.
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&budget] {
            for (int i = 0; i < 100; ++i) {
                if (i % 10 == 0) budget.on_failure();
                budget.on_success();
                (void)budget.allow_retry();
                (void)budget.tokens();
                (void)budget.suppressed();
            }
        });
    }
    for (auto& t : threads) t.join();
    EXPECT_DOUBLE_EQ(budget.tokens(), 40.0);
}

} // namespace
} // namespace nector::http
