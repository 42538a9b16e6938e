// The breaker layer: each attempt is admitted by its origin's circuit breaker (or refused
// with CircuitOpenError, no I/O) and its outcome is recorded by the breaker and the retry
// budget. Part of the client room.
//
// A guard layer: it acts before and after the layers below and awaits nothing itself, so
// the retry layer above runs it around each attempt without a coroutine frame of its own
// (docs/architecture.md says why the call's layers come in these two shapes).
#pragma once

#include "http/client/exchange.hpp"
#include "http/message/url.hpp"
#include "nector/http/circuit_breaker.hpp"
#include "nector/http/metrics.hpp"
#include "nector/http/resilience.hpp"
#include "nector/http/retry.hpp"

#include <memory>
#include <string>
#include <unordered_map>

namespace nector::http::detail {

/// How one attempt ended, for the breaker, the budget and decide_retry.
struct Assessment {
    CircuitBreaker::Outcome outcome = CircuitBreaker::Outcome::success;
    Failure failure = Failure::other;
    bool failed = false;    ///< a failure for the budget
    bool cancelled = false; ///< the caller cancelled: no verdict on the server
};

/// An origin's breaker and retry budget, from the registry (which keeps them for its
/// lifetime).
struct OriginResilience {
    std::string key; ///< the registry's spelling, "http://host:port"
    std::shared_ptr<CircuitBreaker> breaker;
    std::shared_ptr<RetryBudget> budget;
};

class BreakerLayer {
public:
    BreakerLayer(ResilienceRegistry& registry, Metrics& metrics)
        : registry_(registry), metrics_(metrics) {}

    /// `origin`'s breaker and budget, looked up in the registry once per origin rather than
    /// once per call.
    const OriginResilience& of(const Origin& origin);
    /// Lets an attempt at `p` through, or throws CircuitOpenError saying when the next
    /// probe may go (`attempts` made so far, for the message).
    CircuitBreaker::Permit admit(const OriginResilience& origin, const Prepared& p,
                                 std::size_t attempts);
    /// Assesses the attempt's outcome (`x`, and `call.response` when it responded) and
    /// records it with the breaker and the budget.
    Assessment record(const OriginResilience& origin, CircuitBreaker::Permit permit,
                      const Exchanged& x, const CallState& call);

private:
    struct OriginHash {
        std::size_t operator()(const Origin& o) const noexcept {
            return std::hash<std::string>{}(o.host) ^ (std::size_t{o.port} << 1 | (o.tls ? 1 : 0));
        }
    };
    ResilienceRegistry& registry_;
    Metrics& metrics_;
    std::unordered_map<Origin, OriginResilience, OriginHash> origins_; // nodes stay put
};

/// " (1 attempt)", " (3 attempts)": the count that ends an error message.
std::string attempts_note(std::size_t attempts);
/// A duration in seconds, as messages give it ("0.25 s").
std::string seconds(Duration d);

} // namespace nector::http::detail
