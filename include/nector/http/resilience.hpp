// ResilienceRegistry: the per-origin circuit breakers and retry budgets shared by the
// transports of one factory, with the policies, clock and random source they use.
#pragma once

#include "nector/http/circuit_breaker.hpp"
#include "nector/http/retry.hpp"

#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace nector::http {

/// Everything a ResilienceRegistry is made of. An aggregate, like the policies.
struct ResilienceConfig {
    RetryPolicy retry{};
    CircuitBreakerPolicy breaker{};
    /// Time for breakers, and for Retry-After dates. Default: the system clocks.
    Clock clock = Clock::system();
    /// Jitter. Default: a per-thread Mersenne Twister.
    Randomness random = Randomness::system();
    /// Called on every breaker transition with the breaker's origin. Default: none.
    CircuitBreaker::TransitionHook on_transition;
};

/// Maps an origin key (e.g. "https://api.example.com:443"; the caller picks the spelling and
/// must use one spelling per origin) to its CircuitBreaker and RetryBudget, made on first
/// use and kept for the registry's lifetime. Hold it by shared_ptr to share breakers and
/// budgets between transports.
///
/// Thread-safe: all members may be called concurrently.
class ResilienceRegistry {
public:
    /// Throws ConfigurationError if validate() rejects either policy, or if the clock or
    /// random source has an empty member.
    explicit ResilienceRegistry(ResilienceConfig config = {});

    ResilienceRegistry(const ResilienceRegistry&) = delete;
    ResilienceRegistry& operator=(const ResilienceRegistry&) = delete;

    /// The breaker of `origin`: the same object for the same key, for as long as the
    /// registry lives (and beyond, while the returned pointer is held).
    std::shared_ptr<CircuitBreaker> breaker(std::string_view origin);
    /// The retry budget of `origin`, likewise.
    std::shared_ptr<RetryBudget> budget(std::string_view origin);

    const RetryPolicy& retry_policy() const noexcept { return config_.retry; }
    const CircuitBreakerPolicy& breaker_policy() const noexcept { return config_.breaker; }
    const Clock& clock() const noexcept { return config_.clock; }
    const Randomness& random() const noexcept { return config_.random; }

    /// Origins seen so far, sorted.
    std::vector<std::string> origins() const;
    /// Breaker metrics summed over all origins.
    BreakerMetrics breaker_metrics() const;
    /// Retries refused by the budgets of all origins.
    std::size_t retries_suppressed() const;

private:
    struct Entry {
        std::shared_ptr<CircuitBreaker> breaker;
        std::shared_ptr<RetryBudget> budget;
    };

    Entry& entry(std::string_view origin);

    const ResilienceConfig config_;
    mutable std::mutex mutex_;
    std::map<std::string, Entry, std::less<>> entries_;
};

} // namespace nector::http
