#include "nector/http/resilience.hpp"

#include "nector/transport/errors.hpp"

#include <utility>

namespace nector::http {

namespace {

ResilienceConfig&& validated(ResilienceConfig& config) {
    validate(config.retry);
    validate(config.breaker);
    const auto bad = [](const char* what) {
        throw ConfigurationError(errc::invalid_configuration,
                                 std::string("ResilienceRegistry: ") + what + " is empty");
    };
    if (!config.clock.now) bad("clock.now");
    if (!config.clock.wall) bad("clock.wall");
    if (!config.random.uniform) bad("random.uniform");
    return std::move(config);
}

} // namespace

ResilienceRegistry::ResilienceRegistry(ResilienceConfig config) : config_(validated(config)) {}

ResilienceRegistry::Entry& ResilienceRegistry::entry(std::string_view origin) {
    // mutex_ is held by the caller.
    auto it = entries_.find(origin);
    if (it == entries_.end()) {
        Entry e{std::make_shared<CircuitBreaker>(config_.breaker, config_.clock,
                                                 std::string(origin), config_.on_transition),
                std::make_shared<RetryBudget>(config_.retry)};
        it = entries_.emplace(std::string(origin), std::move(e)).first;
    }
    return it->second;
}

std::shared_ptr<CircuitBreaker> ResilienceRegistry::breaker(std::string_view origin) {
    const std::lock_guard lock(mutex_);
    return entry(origin).breaker;
}

std::shared_ptr<RetryBudget> ResilienceRegistry::budget(std::string_view origin) {
    const std::lock_guard lock(mutex_);
    return entry(origin).budget;
}

std::vector<std::string> ResilienceRegistry::origins() const {
    const std::lock_guard lock(mutex_);
    std::vector<std::string> names;
    names.reserve(entries_.size());
    for (const auto& [name, e] : entries_) names.push_back(name);
    return names;
}

BreakerMetrics ResilienceRegistry::breaker_metrics() const {
    const std::lock_guard lock(mutex_);
    BreakerMetrics sum;
    for (const auto& [name, e] : entries_) sum += e.breaker->metrics();
    return sum;
}

std::size_t ResilienceRegistry::retries_suppressed() const {
    const std::lock_guard lock(mutex_);
    std::size_t sum = 0;
    for (const auto& [name, e] : entries_) sum += e.budget->suppressed();
    return sum;
}

} // namespace nector::http
