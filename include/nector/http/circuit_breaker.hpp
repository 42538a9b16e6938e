// Circuit breaker for one origin: CircuitBreakerPolicy and CircuitBreaker. Pure logic: no
// I/O and no timers; time comes from an injectable Clock, and the open → half-open
// transition happens at the first try_acquire() after reset_timeout.
#pragma once

#include "nector/http/retry.hpp"

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
#include <variant>
#include <vector>

namespace nector::http {

/// When a circuit breaker opens and how it recovers. An aggregate: fill it with designated
/// initializers; validate() (or the CircuitBreaker constructor) checks it once.
struct CircuitBreakerPolicy {
    /// Use a breaker at all; a disabled breaker lets every call through and counts nothing.
    /// Default false.
    bool enabled = false;
    /// Consecutive failures that open a closed breaker (at least 1). Default 5.
    std::size_t failure_threshold = 5;
    /// How long an open breaker rejects calls before it lets probes through. Default 60 s.
    Duration reset_timeout = std::chrono::seconds{60};
    /// Probe calls let through at once while half-open (at least 1). Default 1.
    std::size_t half_open_max_calls = 1;
    /// Also open on the failure rate of the last window_size calls (resilience4j's
    /// count-based sliding window), in addition to the consecutive rule. Default false.
    bool sliding_window = false;
    /// Calls remembered by the sliding window (at least 1). Default 100.
    std::size_t window_size = 100;
    /// Calls the window must hold before its failure rate counts (1..window_size).
    /// Default 10.
    std::size_t minimum_calls = 10;
    /// Failure rate in percent, (0, 100], at or above which the window opens the breaker.
    /// Default 50.
    double failure_rate_threshold = 50.0;
    /// Outcome::connection_error is a failure. Default true.
    bool count_connection_errors = true;
    /// Outcome::timeout is a failure. Default true.
    bool count_timeouts = true;
    /// Outcome::server_error (5xx) is a failure. Default true.
    bool count_server_errors = true;
    /// Outcome::overload_status (408, 429) is a failure. Default true.
    bool count_overload_statuses = true;

    friend bool operator==(const CircuitBreakerPolicy&, const CircuitBreakerPolicy&) = default;
};
BOOST_DESCRIBE_STRUCT(CircuitBreakerPolicy, (),
                      (enabled, failure_threshold, reset_timeout, half_open_max_calls,
                       sliding_window, window_size, minimum_calls, failure_rate_threshold,
                       count_connection_errors, count_timeouts, count_server_errors,
                       count_overload_statuses))

/// Throws ConfigurationError naming the first bad field (see the field comments for the
/// ranges; reset_timeout must not be negative).
void validate(const CircuitBreakerPolicy& policy);

/// Transitions and rejections of one breaker, or summed over several.
struct BreakerMetrics {
    std::uint64_t opened = 0;      ///< closed → open
    std::uint64_t half_opened = 0; ///< open → half-open
    std::uint64_t closed = 0;      ///< half-open → closed (a probe succeeded)
    std::uint64_t reopened = 0;    ///< half-open → open (a probe failed)
    std::uint64_t rejected = 0;    ///< calls refused by try_acquire()

    BreakerMetrics& operator+=(const BreakerMetrics& other) noexcept;
    friend bool operator==(const BreakerMetrics&, const BreakerMetrics&) = default;
};

/// The circuit breaker of one origin.
///
/// closed: every call is let through; `failure_threshold` consecutive failures, or (with
/// the sliding window) a failure rate at or above the threshold over at least
/// `minimum_calls` recorded calls, open it. open: calls are rejected at once until
/// `reset_timeout` has passed; the next try_acquire() then turns it half-open. half-open: at
/// most `half_open_max_calls` probes at a time; the first probe that succeeds closes it,
/// the first that fails opens it again (and restarts reset_timeout). Each transition starts
/// afresh: counts and window are cleared, and outcomes of calls let through before it are
/// ignored.
///
/// What a failure is: Outcome::connection_error, timeout, server_error and overload_status,
/// each unless its count_* switch is off; every other outcome counts as a success, except
/// Outcome::cancelled, which counts as nothing (it only frees a probe slot).
///
/// Thread-safe: all members may be called concurrently. The transition hook is called
/// after the breaker's lock is released, on the thread whose call caused the transition,
/// so it may call back into the breaker; two transitions racing on different threads may
/// reach the hook in either order. Exceptions from the hook propagate to the caller of
/// try_acquire() or record(), after the transition.
class CircuitBreaker {
public:
    enum class State { closed, open, half_open };

    /// How a call let through ended, as the caller classifies it.
    enum class Outcome {
        success,          ///< a response that is not a failure (2xx, 3xx, most 4xx)
        connection_error, ///< no connection, or it broke (refused, reset, TLS, protocol)
        timeout,          ///< a connect, read or write timeout
        server_error,     ///< a 5xx status
        overload_status,  ///< 408 or 429: the server says it is overloaded
        cancelled,        ///< the caller cancelled: says nothing about the server
    };

    /// The outcome of a call that got `status`: server_error for 5xx, overload_status for
    /// 408 and 429, success otherwise.
    static Outcome outcome_of_status(int status) noexcept;

    using TransitionHook = std::function<void(std::string_view origin, State from, State to)>;

    /// The right to make one call. Move-only; hand it back with record(). A permit
    /// destroyed without record() counts as Outcome::cancelled, so a probe slot is never
    /// leaked. It must not outlive the breaker that issued it.
    class Permit {
    public:
        Permit() = default;
        Permit(Permit&& other) noexcept;
        Permit& operator=(Permit&& other) noexcept;
        Permit(const Permit&) = delete;
        Permit& operator=(const Permit&) = delete;
        ~Permit();

        /// A half-open probe: its outcome decides whether the breaker closes.
        bool probe() const noexcept { return probe_; }

    private:
        friend class CircuitBreaker;
        Permit(CircuitBreaker* owner, std::uint64_t generation, bool probe) noexcept
            : owner_(owner), generation_(generation), probe_(probe) {}

        CircuitBreaker* owner_ = nullptr; // null: disabled breaker, recorded or moved from
        std::uint64_t generation_ = 0;
        bool probe_ = false;
    };

    /// A call refused without I/O.
    struct Rejection {
        /// open, or half_open with every probe slot taken.
        State state = State::open;
        /// When a call may next be let through: the end of reset_timeout when open; now
        /// when half-open (a slot frees when a probe ends).
        std::chrono::steady_clock::time_point retry_at;
    };

    /// Throws ConfigurationError if validate(policy) does. `origin` only names the breaker
    /// in the hook. `clock.now` must be set (`wall` is not used).
    explicit CircuitBreaker(CircuitBreakerPolicy policy, Clock clock = Clock::system(),
                            std::string origin = {}, TransitionHook on_transition = {});

    CircuitBreaker(const CircuitBreaker&) = delete;
    CircuitBreaker& operator=(const CircuitBreaker&) = delete;

    /// A permit to make one call, or a rejection (counted in metrics().rejected). May turn
    /// an open breaker half-open. A disabled breaker always gives a permit.
    std::variant<Permit, Rejection> try_acquire();

    /// Records how the call of `permit` ended and consumes the permit. A default-constructed
    /// or moved-from permit is ignored.
    void record(Permit permit, Outcome outcome);

    /// The current state. An open breaker stays open here until a try_acquire() after
    /// reset_timeout turns it half-open.
    State state() const;
    /// Transition and rejection counts so far.
    BreakerMetrics metrics() const;

    const std::string& origin() const noexcept { return origin_; }
    const CircuitBreakerPolicy& policy() const noexcept { return policy_; }

private:
    struct Transition {
        State from;
        State to;
    };

    // The end of a permit's call; the transition it caused, if any.
    std::optional<Transition> complete(std::uint64_t generation, bool probe, Outcome outcome);
    bool is_failure(Outcome outcome) const noexcept;
    // The helpers below need mutex_ held.
    Transition move_to(State to, std::chrono::steady_clock::time_point now);
    // Counts an outcome while closed; whether the breaker must open.
    bool count_in_closed(bool failure);

    const CircuitBreakerPolicy policy_;
    const Clock clock_;
    const std::string origin_;
    const TransitionHook on_transition_;

    mutable std::mutex mutex_;
    State state_ = State::closed;
    // Bumped by every transition; permits of an older generation are stale.
    std::uint64_t generation_ = 0;
    std::chrono::steady_clock::time_point open_until_{};
    std::size_t consecutive_failures_ = 0;
    std::size_t probes_in_flight_ = 0;
    // Sliding window: a ring of the last window_size outcomes (1 = failure).
    std::vector<unsigned char> window_;
    std::size_t window_next_ = 0;
    std::size_t window_count_ = 0;
    std::size_t window_failures_ = 0;
    BreakerMetrics metrics_;
};

/// "closed", "open" or "half_open".
std::string_view to_string(CircuitBreaker::State state) noexcept;

} // namespace nector::http
