// The hedge layer (HedgePolicy): between the intercept and attempt layers. An idempotent
// request whose attempt has had no response after a delay (fixed, or a percentile of the
// origin's recent response times) gets a second attempt on another connection, paid for
// with a token of the origin's retry budget; the first response wins and the other attempt
// is cancelled (HTTP/1.1: its connection closed; HTTP/2: its stream reset). Part of the
// client room.
//
// A frame only when hedging is on and the request may be hedged: otherwise operator() hands
// the attempt layer's coroutine straight up.
#pragma once

#include "http/client/attempt.hpp"
#include "http/client/breaker.hpp"
#include "http/client/exchange.hpp"
#include "nector/http/metrics.hpp"
#include "nector/http/options.hpp"

#include <boost/asio/awaitable.hpp>

#include <string>
#include <unordered_map>
#include <vector>

namespace nector::http::detail {

class HedgeLayer {
public:
    HedgeLayer(AttemptLayer& attempt, BreakerLayer& breaker, const Options& options,
               Metrics& metrics)
        : attempt_(attempt), breaker_(breaker), options_(options), metrics_(metrics) {}

    /// One exchange of `p`, hedged when the policy says so.
    boost::asio::awaitable<Exchanged> operator()(const Prepared& p, CallState& call) {
        if (!options_.hedge.enabled || !hedgeable(p)) return attempt_(p, call);
        return hedged(p, call);
    }

    /// How long `origin`'s attempts wait before their hedge goes out.
    Duration delay_for(const std::string& origin) const;

private:
    static bool hedgeable(const Prepared& p) noexcept;
    boost::asio::awaitable<Exchanged> hedged(const Prepared& p, CallState& call);
    /// The hedge: after `delay`, if the budget allows, the attempt on `call`.
    boost::asio::awaitable<Exchanged> hedge(const Prepared& p, CallState& call, Duration delay,
                                            bool& started);
    void record(const std::string& origin, Duration took);

    struct Latencies {
        std::vector<Duration> recent; ///< a ring of the last 100
        std::size_t next = 0;
    };

    AttemptLayer& attempt_;
    BreakerLayer& breaker_;
    const Options& options_;
    Metrics& metrics_;
    std::unordered_map<std::string, Latencies> latencies_; ///< by origin
};

} // namespace nector::http::detail
