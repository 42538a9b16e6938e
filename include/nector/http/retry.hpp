// Retry rules: RetryPolicy, exponential backoff with jitter, Retry-After, idempotency
// gating, and the per-origin retry budget. Pure logic: no I/O, no timers. Time and
// randomness come from an injectable Clock and Randomness, so every rule is testable
// deterministically.
#pragma once

#include "nector/http/duration.hpp"

#include <boost/describe/class.hpp>
#include <boost/describe/enum.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nector::http {

/// Where the resilience logic reads the time. Calls may come from any thread, so a fake must
/// be safe to call concurrently. ResilienceRegistry requires both members.
struct Clock {
    /// Monotonic time: circuit breaker timeouts and rejection times.
    std::function<std::chrono::steady_clock::time_point()> now;
    /// Calendar time: only to turn a Retry-After HTTP-date into a delay (read by
    /// decide_retry() only then).
    std::function<std::chrono::system_clock::time_point()> wall;
    /// How long a transport really waits for a backoff of `delay` before a retry. Empty
    /// (the default): `delay` itself. A test makes it return zero, and records the delay
    /// it was asked for, to check backoff and Retry-After without waiting.
    std::function<Duration(Duration delay)> wait;

    /// steady_clock::now and system_clock::now.
    static Clock system();
};

/// Where the resilience logic draws random numbers (jitter).
struct Randomness {
    /// A uniform double in [0, 1); values outside are clamped. Called from any thread.
    std::function<double()> uniform;

    /// A std::mt19937_64 per thread, seeded from std::random_device.
    static Randomness system();
};

/// How a backoff delay is randomised (see backoff_delay).
enum class Jitter {
    none,         ///< exactly the computed delay
    full,         ///< uniform in [0, computed]
    equal,        ///< uniform in [computed/2, computed]
    decorrelated, ///< uniform in [backoff_factor, 3 * previous delay], capped (AWS)
};
BOOST_DESCRIBE_ENUM(Jitter, none, full, equal, decorrelated)

/// When and how often a failed call is tried again. An aggregate: fill it with designated
/// initializers; validate() (or the constructor that consumes it) checks it once.
struct RetryPolicy {
    /// Retries after the first attempt; 0 disables retrying. Default 3 (4 attempts at most).
    std::size_t max_retries = 3;
    /// Base of the exponential backoff: retry n (from 1) waits backoff_factor * 2^(n-1)
    /// before jitter. Default 0.5 s (0.5, 1, 2, 4 … s).
    Duration backoff_factor = std::chrono::milliseconds{500};
    /// Cap on one backoff delay, applied before jitter (and to the decorrelated result).
    /// Default 30 s.
    Duration max_backoff = std::chrono::seconds{30};
    /// Randomisation of backoff delays. Default full jitter.
    Jitter jitter = Jitter::full;
    /// Response statuses retried (idempotent requests only, see retry_all_methods).
    /// Default 429, 500, 502, 503, 504.
    std::vector<int> retry_status_codes{429, 500, 502, 503, 504};
    /// Retry when no connection could be made (nothing reached the server), for every
    /// method. Default true.
    bool retry_connect_errors = true;
    /// Retry after a timeout: connect and pool timeouts for every method; write and read
    /// timeouts for idempotent requests only. Default true.
    bool retry_timeouts = true;
    /// Retry statuses and write/read timeouts whatever the method (POST, PATCH, …). The
    /// server may then process a request twice. Default false.
    bool retry_all_methods = false;
    /// On a retried status, wait as the response's Retry-After asks instead of the backoff.
    /// Default true.
    bool respect_retry_after = true;
    /// Longest Retry-After honoured; a longer one ends the call at once
    /// (Action::give_up_retry_after_too_long). Default 60 s.
    Duration max_retry_after = std::chrono::seconds{60};
    /// Limit retries per origin with a token bucket (RetryBudget), so that retries never
    /// multiply load during an outage. Default true.
    bool budget = true;
    /// Tokens in a full bucket; retries stop while tokens <= half of it. Default 100.
    double budget_max_tokens = 100;
    /// Tokens a successful attempt gives back (a failed attempt takes 1). Default 0.1.
    double budget_token_ratio = 0.1;
};
// The fields, described once for JSON loading and factory overrides (options_json.cpp).
BOOST_DESCRIBE_STRUCT(RetryPolicy, (),
                      (max_retries, backoff_factor, max_backoff, jitter, retry_status_codes,
                       retry_connect_errors, retry_timeouts, retry_all_methods, respect_retry_after,
                       max_retry_after, budget, budget_max_tokens, budget_token_ratio))

/// Throws ConfigurationError naming the first bad field: a negative duration, a status
/// outside 100..599, budget_max_tokens not in [1, 1e6], budget_token_ratio not in
/// [0.001, budget_max_tokens].
void validate(const RetryPolicy& policy);

/// The delay before retry `retry` (1 for the first retry; 0 counts as 1):
/// computed = min(max_backoff, backoff_factor * 2^(retry-1)), then jittered by
/// policy.jitter. Decorrelated jitter ignores `computed`: it is
/// min(max_backoff, uniform[backoff_factor, 3 * previous]), where `previous` is the delay
/// before the last retry (zero before the first retry counts as backoff_factor).
/// Never negative, never above max_backoff. Thread-safe if `random` is.
Duration backoff_delay(const RetryPolicy& policy, std::size_t retry, Duration previous,
                       const Randomness& random);

/// The delay a Retry-After header value asks for (RFC 9110 §10.2.3), or nullopt when it
/// is not one. Accepts delay-seconds and the three HTTP-date forms (IMF-fixdate,
/// RFC 850 with its two-digit year read as at most 50 years ahead of `now`, asctime),
/// with surrounding spaces or tabs. A date not after `now` and a negative number of
/// seconds give zero; a delay too long for Duration saturates at Duration::max().
std::optional<Duration> parse_retry_after(std::string_view value,
                                          std::chrono::system_clock::time_point now);

/// Whether `method` is idempotent (RFC 9110 §9.2.2): GET, HEAD, OPTIONS, TRACE, PUT,
/// DELETE. Methods are case-sensitive, so "get" is not.
bool is_idempotent(std::string_view method) noexcept;

/// How an attempt failed, as far as retrying is concerned. The distinction that matters
/// is whether the server may have seen the request.
enum class Failure {
    connect,             ///< no connection (DNS, refused, TLS handshake): nothing was sent
    timeout_before_send, ///< connect or pool-wait timeout: nothing was sent
    write_timeout,       ///< sending stalled: the server may have seen part of the request
    read_timeout,        ///< no (complete) response in time: the server may be processing it
    status,              ///< a response arrived with an error status
    other,               ///< anything else (protocol error, reset mid-exchange): never retried
};

/// One failed attempt, as decide_retry() sees it. The string_views must stay valid for
/// the duration of the call only.
struct FailedAttempt {
    /// The request method, e.g. "GET".
    std::string_view method;
    /// The request carries an Idempotency-Key header (makes any method safe to retry).
    bool has_idempotency_key = false;
    Failure failure = Failure::other;
    /// The response status when failure is Failure::status; ignored otherwise.
    int status = 0;
    /// The response's Retry-After value, if it had one.
    std::optional<std::string_view> retry_after;
    /// Retries already made in this call: 0 after the first attempt failed.
    std::size_t retries_done = 0;
    /// The delay waited before the last retry (zero before the first); feeds decorrelated
    /// jitter. Pass back RetryDecision::delay.
    Duration previous_delay = Duration::zero();
};

/// What to do after a failed attempt.
struct RetryDecision {
    enum class Action {
        give_up,                      ///< do not retry; report the attempt's error
        retry,                        ///< wait `delay`, then try again
        give_up_retry_after_too_long, ///< Retry-After exceeds max_retry_after: do not wait
    };
    Action action = Action::give_up;
    /// How long to wait before the retry (Action::retry only, zero otherwise).
    Duration delay = Duration::zero();
    /// The response's Retry-After as parsed, when it was considered (honoured or refused).
    std::optional<Duration> retry_after;
    /// Why, in words, for logs and error messages, e.g. "status 503, retry 2 of 3 in 1.2 s".
    std::string reason;
};

/// The retry decision for one failed attempt, in this order:
/// 1. the failure must be retryable by the policy: Failure::connect if
///    retry_connect_errors, timeout_before_send if retry_timeouts (both for every method);
///    write_timeout and read_timeout if retry_timeouts, and a status in
///    retry_status_codes, only for a safe request: is_idempotent(method),
///    has_idempotency_key or retry_all_methods; never Failure::other;
/// 2. retries_done < max_retries;
/// 3. the delay is backoff_delay(policy, retries_done + 1, previous_delay, random), unless
///    the failure is a status, respect_retry_after is on and Retry-After parses: then the
///    delay is that value jittered upwards only, uniform in [ra, ra + ra/10] but at most
///    max_retry_after; a Retry-After above max_retry_after gives
///    give_up_retry_after_too_long (an unparseable one is ignored).
/// The retry budget is not consulted: the caller asks RetryBudget::allow_retry() when the
/// action is retry. Thread-safe if `clock` and `random` are.
RetryDecision decide_retry(const RetryPolicy& policy, const FailedAttempt& attempt,
                           const Clock& clock, const Randomness& random);

/// gRPC's retry throttling (A6) for one origin: a bucket of budget_max_tokens tokens,
/// initially full. Each failed attempt takes one token (down to 0), each successful attempt
/// gives back budget_token_ratio (up to the maximum); retries are allowed only while more
/// than half the tokens remain. With RetryPolicy::budget off, every retry is allowed.
///
/// Thread-safe: one budget is shared by all calls to an origin.
class RetryBudget {
public:
    /// Uses policy.budget, budget_max_tokens and budget_token_ratio; throws
    /// ConfigurationError if validate(policy) does.
    explicit RetryBudget(const RetryPolicy& policy);

    RetryBudget(const RetryBudget&) = delete;
    RetryBudget& operator=(const RetryBudget&) = delete;

    /// Whether a retry may be made now. A refusal is counted in suppressed().
    bool allow_retry();
    /// Whether a hedged attempt (HedgePolicy) may go out now: as allow_retry(), and when it
    /// may, it takes a token as a failed attempt does, so that hedges stay a bounded share
    /// of the traffic. A refusal is counted in suppressed().
    bool allow_hedge();
    /// An attempt failed in a way the policy would retry (a retryable status, a connect
    /// error, a timeout).
    void on_failure();
    /// An attempt got a response that is not a retryable failure.
    void on_success();

    /// Tokens left, in [0, budget_max_tokens].
    double tokens() const;
    /// Retries refused by allow_retry() so far.
    std::size_t suppressed() const;

private:
    // Thousandths of a token, so that 0.1 steps add up exactly (as gRPC does).
    const bool enabled_;
    const std::int64_t max_milli_;
    const std::int64_t ratio_milli_;
    mutable std::mutex mutex_;
    std::int64_t milli_;
    std::size_t suppressed_ = 0;
};

} // namespace nector::http
