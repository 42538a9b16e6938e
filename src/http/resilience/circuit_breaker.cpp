#include "nector/http/circuit_breaker.hpp"

#include "nector/transport/errors.hpp"

#include <optional>
#include <utility>

namespace nector::http {

namespace {

using TimePoint = std::chrono::steady_clock::time_point;

[[noreturn]] void bad_policy(const std::string& what) {
    throw ConfigurationError(errc::invalid_configuration, "CircuitBreakerPolicy: " + what);
}

const CircuitBreakerPolicy& validated(const CircuitBreakerPolicy& policy) {
    validate(policy);
    return policy;
}

// t + d, or the end of time if that overflows (reset_timeout may be huge).
TimePoint saturating_add(TimePoint t, Duration d) {
    const Duration since_epoch = t.time_since_epoch();
    if (since_epoch > Duration::zero() && d > Duration::max() - since_epoch) {
        return TimePoint::max();
    }
    return t + d;
}

} // namespace

void validate(const CircuitBreakerPolicy& policy) {
    if (policy.failure_threshold == 0) bad_policy("failure_threshold must be at least 1");
    if (policy.reset_timeout < Duration::zero()) {
        bad_policy("reset_timeout must not be negative");
    }
    if (policy.half_open_max_calls == 0) bad_policy("half_open_max_calls must be at least 1");
    if (policy.window_size == 0) bad_policy("window_size must be at least 1");
    if (policy.minimum_calls == 0 || policy.minimum_calls > policy.window_size) {
        bad_policy("minimum_calls must be in [1, window_size]");
    }
    if (!(policy.failure_rate_threshold > 0.0 && policy.failure_rate_threshold <= 100.0)) {
        bad_policy("failure_rate_threshold must be in (0, 100]");
    }
}

BreakerMetrics& BreakerMetrics::operator+=(const BreakerMetrics& other) noexcept {
    opened += other.opened;
    half_opened += other.half_opened;
    closed += other.closed;
    reopened += other.reopened;
    rejected += other.rejected;
    return *this;
}

std::string_view to_string(CircuitBreaker::State state) noexcept {
    switch (state) {
        case CircuitBreaker::State::closed:
            return "closed";
        case CircuitBreaker::State::open:
            return "open";
        case CircuitBreaker::State::half_open:
            return "half_open";
    }
    return "unknown";
}

CircuitBreaker::Outcome CircuitBreaker::outcome_of_status(int status) noexcept {
    if (status >= 500 && status <= 599) return Outcome::server_error;
    if (status == 408 || status == 429) return Outcome::overload_status;
    return Outcome::success;
}

CircuitBreaker::Permit::Permit(Permit&& other) noexcept
    : owner_(std::exchange(other.owner_, nullptr)),
      generation_(other.generation_),
      probe_(other.probe_) {}

CircuitBreaker::Permit& CircuitBreaker::Permit::operator=(Permit&& other) noexcept {
    if (this != &other) {
        if (owner_ != nullptr) owner_->complete(generation_, probe_, Outcome::cancelled);
        owner_ = std::exchange(other.owner_, nullptr);
        generation_ = other.generation_;
        probe_ = other.probe_;
    }
    return *this;
}

CircuitBreaker::Permit::~Permit() {
    // A cancelled outcome never causes a transition, so there is no hook to call here.
    if (owner_ != nullptr) owner_->complete(generation_, probe_, Outcome::cancelled);
}

CircuitBreaker::CircuitBreaker(CircuitBreakerPolicy policy, Clock clock, std::string origin,
                               TransitionHook on_transition)
    : policy_(validated(policy)),
      clock_(std::move(clock)),
      origin_(std::move(origin)),
      on_transition_(std::move(on_transition)) {
    if (!clock_.now) {
        throw ConfigurationError(errc::invalid_configuration, "CircuitBreaker: clock.now is empty");
    }
    if (policy_.sliding_window) window_.resize(policy_.window_size);
}

std::variant<CircuitBreaker::Permit, CircuitBreaker::Rejection> CircuitBreaker::try_acquire() {
    if (!policy_.enabled) return Permit{};
    std::optional<Transition> transition;
    std::uint64_t generation = 0;
    bool probe = false;
    {
        const std::lock_guard lock(mutex_);
        if (state_ == State::open) {
            const TimePoint now = clock_.now();
            if (now < open_until_) {
                ++metrics_.rejected;
                return Rejection{State::open, open_until_};
            }
            transition = move_to(State::half_open, now);
        }
        if (state_ == State::half_open) {
            if (probes_in_flight_ >= policy_.half_open_max_calls) {
                ++metrics_.rejected;
                return Rejection{State::half_open, clock_.now()};
            }
            ++probes_in_flight_;
            probe = true;
        }
        generation = generation_;
    }
    // Made outside the lock: a Permit's destructor takes it. If the hook throws, the
    // permit releases its probe slot as it unwinds.
    Permit permit(this, generation, probe);
    // Outside the lock, so that the hook may call back into the breaker.
    if (transition && on_transition_) on_transition_(origin_, transition->from, transition->to);
    return permit;
}

void CircuitBreaker::record(Permit permit, Outcome outcome) {
    CircuitBreaker* owner = std::exchange(permit.owner_, nullptr);
    if (owner == nullptr) return;
    const auto transition = owner->complete(permit.generation_, permit.probe_, outcome);
    if (transition && owner->on_transition_) {
        owner->on_transition_(owner->origin_, transition->from, transition->to);
    }
}

CircuitBreaker::State CircuitBreaker::state() const {
    const std::lock_guard lock(mutex_);
    return state_;
}

BreakerMetrics CircuitBreaker::metrics() const {
    const std::lock_guard lock(mutex_);
    return metrics_;
}

std::optional<CircuitBreaker::Transition> CircuitBreaker::complete(std::uint64_t generation,
                                                                   bool probe, Outcome outcome) {
    const std::lock_guard lock(mutex_);
    // Calls let through before the last transition say nothing about the present state;
    // their probe slots were already reset by it.
    if (generation != generation_) return std::nullopt;
    if (outcome == Outcome::cancelled) {
        if (probe) --probes_in_flight_;
        return std::nullopt;
    }
    const bool failure = is_failure(outcome);
    switch (state_) {
        case State::closed:
            if (count_in_closed(failure)) return move_to(State::open, clock_.now());
            return std::nullopt;
        case State::half_open:
            // Every permit of a half-open generation is a probe.
            if (failure) return move_to(State::open, clock_.now());
            return move_to(State::closed, TimePoint{});
        case State::open:
            // No permit is issued in an open generation.
            return std::nullopt;
    }
    return std::nullopt;
}

bool CircuitBreaker::is_failure(Outcome outcome) const noexcept {
    switch (outcome) {
        case Outcome::connection_error:
            return policy_.count_connection_errors;
        case Outcome::timeout:
            return policy_.count_timeouts;
        case Outcome::server_error:
            return policy_.count_server_errors;
        case Outcome::overload_status:
            return policy_.count_overload_statuses;
        case Outcome::success:
        case Outcome::cancelled:
            return false;
    }
    return false;
}

CircuitBreaker::Transition CircuitBreaker::move_to(State to, TimePoint now) {
    const Transition transition{state_, to};
    state_ = to;
    ++generation_;
    consecutive_failures_ = 0;
    probes_in_flight_ = 0;
    window_next_ = 0;
    window_count_ = 0;
    window_failures_ = 0;
    switch (to) {
        case State::open:
            open_until_ = saturating_add(now, policy_.reset_timeout);
            ++(transition.from == State::half_open ? metrics_.reopened : metrics_.opened);
            break;
        case State::half_open:
            ++metrics_.half_opened;
            break;
        case State::closed:
            ++metrics_.closed;
            break;
    }
    return transition;
}

bool CircuitBreaker::count_in_closed(bool failure) {
    consecutive_failures_ = failure ? consecutive_failures_ + 1 : 0;
    if (consecutive_failures_ >= policy_.failure_threshold) return true;
    if (!policy_.sliding_window) return false;

    if (window_count_ == window_.size()) {
        if (window_[window_next_] != 0) --window_failures_;
    } else {
        ++window_count_;
    }
    window_[window_next_] = failure ? 1 : 0;
    if (failure) ++window_failures_;
    window_next_ = (window_next_ + 1) % window_.size();
    return window_count_ >= policy_.minimum_calls &&
           100.0 * static_cast<double>(window_failures_) / static_cast<double>(window_count_) >=
               policy_.failure_rate_threshold;
}

} // namespace nector::http
