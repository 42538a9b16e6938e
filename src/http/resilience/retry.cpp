#include "nector/http/retry.hpp"

#include "http/message/http_date.hpp"
#include "nector/transport/errors.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <locale>
#include <random>
#include <sstream>

namespace nector::http {

namespace {

using std::chrono::seconds;

[[noreturn]] void bad_policy(const std::string& what) {
    throw ConfigurationError(errc::invalid_configuration, "RetryPolicy: " + what);
}

// A draw from `random`, forced into [0, 1] so that a faulty source cannot push a delay
// out of its range.
double draw(const Randomness& random) {
    const double u = random.uniform();
    if (!(u >= 0.0)) return 0.0; // also NaN
    return std::min(u, 1.0);
}

// `ticks` rounded to a Duration in [0, cap].
Duration clamp_ticks(double ticks, Duration cap) {
    if (!(ticks > 0.0)) return Duration::zero();
    if (ticks >= static_cast<double>(cap.count())) return cap;
    return Duration{static_cast<Duration::rep>(std::llround(ticks))};
}

// min(cap, base * 2^(retry-1)) without overflow.
Duration exponential(Duration base, Duration cap, std::size_t retry) {
    if (base <= Duration::zero() || cap <= Duration::zero()) return Duration::zero();
    Duration d = std::min(base, cap);
    // Ends within 63 doublings: d grows until it reaches cap.
    for (std::size_t n = 1; n < retry && d < cap; ++n) d = d > cap / 2 ? cap : d * 2;
    return d;
}

std::string seconds_text(Duration d) {
    std::ostringstream out;
    out.imbue(std::locale::classic()); // "0.5 s" whatever the global locale
    out << std::chrono::duration<double>(d).count() << " s";
    return out.str();
}

// --- Retry-After ---------------------------------------------------------------------

constexpr Duration::rep max_whole_seconds =
    std::chrono::duration_cast<seconds>(Duration::max()).count();

bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

std::optional<Duration> parse_delay_seconds(std::string_view text) {
    const bool negative = text.front() == '-';
    if (negative) text.remove_prefix(1);
    if (text.empty() || !std::all_of(text.begin(), text.end(), is_digit)) return std::nullopt;
    if (negative) return Duration::zero();
    Duration::rep value = 0;
    for (const char c : text) {
        value = value * 10 + (c - '0');
        if (value > max_whole_seconds) return Duration::max();
    }
    return std::chrono::duration_cast<Duration>(seconds{value});
}

} // namespace

Clock Clock::system() {
    return {[] { return std::chrono::steady_clock::now(); },
            [] { return std::chrono::system_clock::now(); }};
}

Randomness Randomness::system() {
    return {[] {
        thread_local std::mt19937_64 engine{[] {
            std::random_device device;
            return (std::uint64_t{device()} << 32) ^ std::uint64_t{device()};
        }()};
        // The top 53 bits as a double in [0, 1). std::generate_canonical may return 1.0
        // (LWG 2524).
        return static_cast<double>(engine() >> 11) * 0x1.0p-53;
    }};
}

void validate(const RetryPolicy& policy) {
    if (policy.backoff_factor < Duration::zero()) bad_policy("backoff_factor must not be negative");
    if (policy.max_backoff < Duration::zero()) bad_policy("max_backoff must not be negative");
    if (policy.max_retry_after < Duration::zero()) {
        bad_policy("max_retry_after must not be negative");
    }
    for (const int status : policy.retry_status_codes) {
        if (status < 100 || status > 599) {
            bad_policy("retry_status_codes: " + std::to_string(status) + " is not an HTTP status");
        }
    }
    if (!(policy.budget_max_tokens >= 1.0 && policy.budget_max_tokens <= 1e6)) {
        bad_policy("budget_max_tokens must be in [1, 1000000]");
    }
    if (!(policy.budget_token_ratio >= 0.001 &&
          policy.budget_token_ratio <= policy.budget_max_tokens)) {
        bad_policy("budget_token_ratio must be in [0.001, budget_max_tokens]");
    }
}

Duration backoff_delay(const RetryPolicy& policy, std::size_t retry, Duration previous,
                       const Randomness& random) {
    const Duration cap = std::max(policy.max_backoff, Duration::zero());
    const Duration base = std::max(policy.backoff_factor, Duration::zero());
    if (policy.jitter == Jitter::decorrelated) {
        // Doubles: 3 * previous may not fit in a Duration.
        const auto lo = static_cast<double>(base.count());
        const double last =
            previous > Duration::zero() ? static_cast<double>(previous.count()) : lo;
        const double hi = std::max(lo, 3.0 * last);
        return clamp_ticks(lo + (hi - lo) * draw(random), cap);
    }
    const Duration computed = exponential(base, cap, retry);
    const auto c = static_cast<double>(computed.count());
    switch (policy.jitter) {
        case Jitter::none:
            return computed;
        case Jitter::full:
            return clamp_ticks(c * draw(random), cap);
        case Jitter::equal:
            return clamp_ticks(c / 2 + (c / 2) * draw(random), cap);
        case Jitter::decorrelated:
            break;
    }
    return computed;
}

std::optional<Duration> parse_retry_after(std::string_view value,
                                          std::chrono::system_clock::time_point now) {
    const auto first = value.find_first_not_of(" \t");
    if (first == std::string_view::npos) return std::nullopt;
    value = value.substr(first, value.find_last_not_of(" \t") - first + 1);
    if (is_digit(value.front()) || value.front() == '-') return parse_delay_seconds(value);

    const auto date = detail::parse_http_date(value, now);
    if (!date) return std::nullopt;
    // In whole seconds first: a date far ahead does not fit in nanoseconds since 1970.
    const auto now_seconds = std::chrono::floor<seconds>(now);
    const auto ahead = (*date - now_seconds).count();
    if (ahead <= 0) return Duration::zero();
    if (ahead >= max_whole_seconds) return Duration::max();
    return std::chrono::duration_cast<Duration>(seconds{ahead} - (now - now_seconds));
}

bool is_idempotent(std::string_view method) noexcept {
    constexpr std::array<std::string_view, 6> idempotent{"GET",   "HEAD", "OPTIONS",
                                                         "TRACE", "PUT",  "DELETE"};
    return std::find(idempotent.begin(), idempotent.end(), method) != idempotent.end();
}

RetryDecision decide_retry(const RetryPolicy& policy, const FailedAttempt& attempt,
                           const Clock& clock, const Randomness& random) {
    RetryDecision decision;
    const auto give_up = [&](std::string why) {
        decision.action = RetryDecision::Action::give_up;
        decision.reason = std::move(why);
        return decision;
    };
    const bool safe =
        policy.retry_all_methods || attempt.has_idempotency_key || is_idempotent(attempt.method);
    const auto unsafe = [&](const std::string& what) {
        return give_up(what + ": " + std::string(attempt.method) +
                       " is not idempotent and has no Idempotency-Key");
    };

    std::string what;
    switch (attempt.failure) {
        case Failure::connect:
            what = "connect failure";
            if (!policy.retry_connect_errors)
                return give_up(what + ": retry_connect_errors is off");
            break;
        case Failure::timeout_before_send:
            what = "connect or pool timeout";
            if (!policy.retry_timeouts) return give_up(what + ": retry_timeouts is off");
            break;
        case Failure::write_timeout:
        case Failure::read_timeout:
            what = attempt.failure == Failure::write_timeout ? "write timeout" : "read timeout";
            if (!policy.retry_timeouts) return give_up(what + ": retry_timeouts is off");
            if (!safe) return unsafe(what);
            break;
        case Failure::status: {
            what = "status " + std::to_string(attempt.status);
            const auto& codes = policy.retry_status_codes;
            if (std::find(codes.begin(), codes.end(), attempt.status) == codes.end()) {
                return give_up(what + " is not retried");
            }
            if (!safe) return unsafe(what);
            break;
        }
        case Failure::other:
            return give_up("this failure is not retried");
    }

    if (attempt.retries_done >= policy.max_retries) {
        return give_up(what + ": retries exhausted (" + std::to_string(attempt.retries_done) +
                       " of " + std::to_string(policy.max_retries) + ")");
    }
    const std::size_t retry = attempt.retries_done + 1;
    const std::string retry_text = what + ", retry " + std::to_string(retry) + " of " +
                                   std::to_string(policy.max_retries) + " in ";

    if (attempt.failure == Failure::status && policy.respect_retry_after && attempt.retry_after) {
        if (const auto ra = parse_retry_after(*attempt.retry_after, clock.wall())) {
            decision.retry_after = ra;
            if (*ra > policy.max_retry_after) {
                decision.action = RetryDecision::Action::give_up_retry_after_too_long;
                decision.reason = what + ": Retry-After " + seconds_text(*ra) +
                                  " exceeds max_retry_after " +
                                  seconds_text(policy.max_retry_after);
                return decision;
            }
            // Upwards only, so that a crowd told the same Retry-After spreads out but no
            // one comes back early; never past max_retry_after.
            const auto spread = static_cast<double>((*ra / 10).count()) * draw(random);
            decision.delay = *ra + clamp_ticks(spread, policy.max_retry_after - *ra);
            decision.action = RetryDecision::Action::retry;
            decision.reason = retry_text + seconds_text(decision.delay) + " (Retry-After)";
            return decision;
        }
    }
    decision.delay = backoff_delay(policy, retry, attempt.previous_delay, random);
    decision.action = RetryDecision::Action::retry;
    decision.reason = retry_text + seconds_text(decision.delay);
    return decision;
}

namespace {

const RetryPolicy& validated(const RetryPolicy& policy) {
    validate(policy);
    return policy;
}

} // namespace

RetryBudget::RetryBudget(const RetryPolicy& policy)
    : enabled_(validated(policy).budget),
      max_milli_(static_cast<std::int64_t>(std::llround(policy.budget_max_tokens * 1000))),
      ratio_milli_(static_cast<std::int64_t>(std::llround(policy.budget_token_ratio * 1000))),
      milli_(max_milli_) {}

bool RetryBudget::allow_retry() {
    if (!enabled_) return true;
    const std::lock_guard lock(mutex_);
    // gRPC A6: retries are throttled once the count is at or below half the maximum.
    if (2 * milli_ > max_milli_) return true;
    ++suppressed_;
    return false;
}

bool RetryBudget::allow_hedge() {
    if (!enabled_) return true;
    const std::lock_guard lock(mutex_);
    if (2 * milli_ > max_milli_) {
        milli_ = std::max<std::int64_t>(0, milli_ - 1000);
        return true;
    }
    ++suppressed_;
    return false;
}

void RetryBudget::on_failure() {
    if (!enabled_) return;
    const std::lock_guard lock(mutex_);
    milli_ = std::max<std::int64_t>(0, milli_ - 1000);
}

void RetryBudget::on_success() {
    if (!enabled_) return;
    const std::lock_guard lock(mutex_);
    milli_ = std::min(max_milli_, milli_ + ratio_milli_);
}

double RetryBudget::tokens() const {
    const std::lock_guard lock(mutex_);
    return static_cast<double>(milli_) / 1000.0;
}

std::size_t RetryBudget::suppressed() const {
    const std::lock_guard lock(mutex_);
    return suppressed_;
}

} // namespace nector::http
