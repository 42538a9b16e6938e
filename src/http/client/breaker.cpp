// The breaker layer (breaker.hpp).
#include "http/client/breaker.hpp"

#include "http/errors/bridge.hpp"
#include "nector/http/errors.hpp"
#include "nector/transport/errors.hpp"

#include <algorithm>
#include <cstdio>

namespace nector::http::detail {

namespace {

std::string origin_key(const Origin& o) {
    return (o.tls ? "https://" : "http://") + o.host + ":" + std::to_string(o.port);
}

/// A failure that retrying cannot change: the certificate (untrusted, expired, for another
/// name), a TLS refusal, a URL, header or method nector will not send, a server that does
/// not speak the protocol as nector reads it.
bool cannot_change(const std::error_code& ec) noexcept {
    return ec == errc::tls_certificate_untrusted || ec == errc::tls_certificate_expired ||
           ec == errc::tls_hostname_mismatch || ec == errc::tls_handshake_failed ||
           ec == errc::invalid_url || ec == errc::invalid_header || ec == errc::invalid_method ||
           ec == errc::invalid_configuration || ec == errc::protocol_error;
}

Assessment assess(const Exchanged& x, const Response& response) {
    using Outcome = CircuitBreaker::Outcome;
    Assessment a;
    if (x.responded()) {
        a.outcome = CircuitBreaker::outcome_of_status(response.status);
        a.failure = Failure::status;
        a.failed = a.outcome != Outcome::success;
        return a;
    }
    const std::error_code ec = code_of(x.error);
    a.failed = true;
    if (ec == condition::cancelled) {
        a = Assessment{.outcome = Outcome::cancelled, .cancelled = true};
    } else if (ec == errc::pool_timeout) {
        // Local congestion says nothing about the origin.
        a.outcome = Outcome::cancelled;
        a.failure = Failure::timeout_before_send;
        a.failed = false;
    } else if (ec == errc::stream_refused) {
        // The server did not process the request: as safe to retry as a failed connect.
        a.outcome = Outcome::connection_error;
        a.failure = Failure::connect;
    } else if (cannot_change(ec)) {
        // Certificates, a TLS refusal, a request nector cannot send: the same on every try.
        a.outcome = Outcome::connection_error;
        a.failure = Failure::other;
    } else if (!x.sent) {
        a.outcome = ec == condition::timeout ? Outcome::timeout : Outcome::connection_error;
        a.failure = ec == condition::timeout ? Failure::timeout_before_send : Failure::connect;
    } else if (ec == errc::write_timeout) {
        a.outcome = Outcome::timeout;
        a.failure = Failure::write_timeout;
    } else if (ec == errc::read_timeout) {
        a.outcome = Outcome::timeout;
        a.failure = Failure::read_timeout;
    } else {
        a.outcome = Outcome::connection_error;
        a.failure = Failure::other;
    }
    return a;
}

} // namespace

std::string attempts_note(std::size_t attempts) {
    return attempts == 1 ? std::string(" (1 attempt)")
                         : " (" + std::to_string(attempts) + " attempts)";
}

std::string seconds(Duration d) {
    const double s = std::chrono::duration<double>(d).count();
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%.3g s", s);
    return buffer;
}

const OriginResilience& BreakerLayer::of(const Origin& origin) {
    const auto found = origins_.find(origin);
    if (found != origins_.end()) return found->second;
    std::string key = origin_key(origin);
    auto breaker = registry_.breaker(key);
    auto budget = registry_.budget(key);
    return origins_
        .emplace(origin, OriginResilience{std::move(key), std::move(breaker), std::move(budget)})
        .first->second;
}

CircuitBreaker::Permit BreakerLayer::admit(const OriginResilience& origin, const Prepared& p,
                                           std::size_t attempts) {
    auto ticket = origin.breaker->try_acquire();
    if (const auto* rejection = std::get_if<CircuitBreaker::Rejection>(&ticket)) {
        ++metrics_.breaker_rejections;
        const auto wait = rejection->retry_at - registry_.clock().now();
        throw CircuitOpenError(p.context + ": the circuit breaker of " + origin.key +
                                   " is open; next probe allowed in " +
                                   seconds(std::max(wait, Duration::zero())) +
                                   (attempts ? attempts_note(attempts) : ""),
                               rejection->retry_at);
    }
    return std::get<CircuitBreaker::Permit>(std::move(ticket));
}

Assessment BreakerLayer::record(const OriginResilience& origin, CircuitBreaker::Permit permit,
                                const Exchanged& x, const CallState& call) {
    const Assessment a = assess(x, call.response);
    origin.breaker->record(std::move(permit), a.outcome);
    if (a.failed) {
        origin.budget->on_failure();
    } else if (!a.cancelled) {
        origin.budget->on_success();
    }
    return a;
}

} // namespace nector::http::detail
