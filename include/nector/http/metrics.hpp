// Metrics: counters of one transport's calls, attempts, retries and outcomes.
#pragma once

#include "nector/http/circuit_breaker.hpp"
#include "nector/http/retry.hpp"

#include <array>
#include <chrono>
#include <cstdint>

namespace nector::http {

/// A snapshot of a transport's counters (HTTPTransport::metrics()).
struct Metrics {
    std::uint64_t requests = 0;           ///< calls of request()/send()
    std::uint64_t attempts = 0;           ///< attempts made (a call makes 1 + its retries)
    std::uint64_t retries = 0;            ///< retries made
    std::uint64_t retries_suppressed = 0; ///< retries the retry budget refused
    std::uint64_t breaker_rejections = 0; ///< calls an open breaker refused
    std::uint64_t connections_opened = 0; ///< connections made (TCP, plus TLS for https)
    std::uint64_t open_connections = 0;   ///< connections open when the snapshot was taken
    /// DNS lookups made (names answered by Options::resolve, a literal address, localhost or
    /// the DNS cache need none).
    std::uint64_t name_lookups = 0;
    /// TLS handshakes completed, and how many of them resumed a session.
    std::uint64_t tls_handshakes = 0;
    std::uint64_t tls_resumed = 0;
    /// Requests sent again, within an attempt, because the server had not processed them:
    /// a stale keep-alive connection, an HTTP/2 REFUSED_STREAM or GOAWAY.
    std::uint64_t replays = 0;
    std::uint64_t hedges = 0;     ///< hedged attempts sent (HedgePolicy)
    std::uint64_t hedge_wins = 0; ///< exchanges a hedged attempt answered first
    /// Transitions of the breakers this transport uses (shared with its factory's
    /// other transports, as the breakers are).
    BreakerMetrics breakers{};
    /// Final responses by status class: [1] 1xx … [5] 5xx; [0] calls that ended without one.
    std::array<std::uint64_t, 6> status_classes{};
    /// Upper bounds of the latency buckets of completed calls; the last is unbounded.
    static constexpr std::array<Duration, 12> latency_bounds{
        std::chrono::milliseconds(1),   std::chrono::milliseconds(2),
        std::chrono::milliseconds(5),   std::chrono::milliseconds(10),
        std::chrono::milliseconds(25),  std::chrono::milliseconds(50),
        std::chrono::milliseconds(100), std::chrono::milliseconds(250),
        std::chrono::milliseconds(500), std::chrono::seconds(1),
        std::chrono::seconds(5),        Duration::max()};
    /// latency[i]: calls whose total time was at most latency_bounds[i] (and more than
    /// the bound before).
    std::array<std::uint64_t, 12> latency{};
};

} // namespace nector::http
