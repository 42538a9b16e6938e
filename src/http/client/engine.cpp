// The composition root: an engine owns the options, the default headers, the pool (and
// through it the dialer) and the resilience registry, and runs each call through the
// layers in call.cpp, redirects.cpp and attempt.cpp (docs/architecture.md).
#include "http/client/engine.hpp"

#include "http/codec/decode.hpp"
#include "http/errors/bridge.hpp"
#include "http/message/body.hpp"
#include "http/options/validate.hpp"
#include "nector/http/resilience.hpp"
#include "nector/http/transport.hpp"
#include "nector/transport/errors.hpp"

#include <chrono>
#include <string>

namespace nector::http::detail {
namespace asio = boost::asio;
using SteadyClock = std::chrono::steady_clock;

namespace {

std::string origin_key(const Origin& o) {
    return (o.tls ? "https://" : "http://") + o.host + ":" + std::to_string(o.port);
}

// A transport given a registry (a factory's) takes its breakers and budgets from it: options
// that would have made them differently are refused, not silently ignored.
void check_shared_resilience(const Options& o, const ResilienceRegistry& shared) {
    const auto refuse = [](const std::string& field) {
        throw ConfigurationError(
            errc::invalid_configuration,
            "HTTPTransport options: " + field +
                " differs from the factory's: a factory's transports share one circuit "
                "breaker and one retry budget per origin, made from the factory's defaults; "
                "set it on the factory");
    };
    const CircuitBreakerPolicy& a = o.circuit_breaker;
    const CircuitBreakerPolicy& b = shared.breaker_policy();
    if (a.enabled != b.enabled) refuse("circuit_breaker.enabled");
    if (a.enabled && a != b) refuse("circuit_breaker");
    const RetryPolicy& r = o.retry;
    const RetryPolicy& s = shared.retry_policy();
    if (r.budget != s.budget) refuse("retry.budget");
    if (r.budget && (r.budget_max_tokens != s.budget_max_tokens ||
                     r.budget_token_ratio != s.budget_token_ratio)) {
        refuse("retry.budget_max_tokens or retry.budget_token_ratio");
    }
}

} // namespace

Engine::Engine(Options o, std::shared_ptr<ResilienceRegistry> shared)
    : options(std::move(o)), resilience(std::move(shared)) {
    validate(options);
    http::validate(options.retry);
    http::validate(options.circuit_breaker);
    if (!resilience) {
        resilience = make_resilience(options);
    } else {
        check_shared_resilience(options, *resilience);
    }
    // TLS files and PEM in the options are loaded, and so checked, now (see NetworkDialer).
    wire_limits_ = WireLimits::of(options);
    dialer_ = std::make_unique<NetworkDialer>(options, wire_limits_);
    // Every request starts from the transport's headers and the defaults nector adds.
    default_headers_ = options.headers;
    default_headers_.erase("Content-Length");
    default_headers_.erase("Transfer-Encoding");
    if (!options.user_agent.empty() && !default_headers_.contains("User-Agent")) {
        default_headers_.set("User-Agent", options.user_agent);
    }
    if (!default_headers_.contains("Accept")) default_headers_.set("Accept", "*/*");
    if (options.decode_content && !default_headers_.contains("Accept-Encoding")) {
        default_headers_.set("Accept-Encoding", std::string(accept_encoding()));
    }
    try {
        for (const auto& [name, value] : default_headers_) validate_header(name, value);
        defaults_valid_ = true;
    } catch (const TransportError&) {
        defaults_valid_ = false; // each request reports it (a bad user_agent, say)
    }
}

void Engine::bind(asio::any_io_executor ex) {
    if (executor) return;
    executor = ex;
    pool_ = std::make_unique<Pool>(ex, options.limits, options.timeout.pool, std::move(dialer_));
}

void Engine::close() noexcept {
    connected = false;
    completed.clear();
    if (pool_) pool_->close_all();
}

std::shared_ptr<ResilienceRegistry> make_resilience(const Options& o) {
    return std::make_shared<ResilienceRegistry>(
        ResilienceConfig{.retry = o.retry,
                         .breaker = o.circuit_breaker,
                         .clock = o.clock,
                         .random = o.random,
                         .on_transition = o.hooks.on_breaker_state});
}

Metrics Engine::snapshot() const {
    Metrics m = metrics;
    m.breakers = resilience->breaker_metrics();
    m.open_connections = pool_ ? pool_->open_connections() : 0;
    m.connections_opened = pool_ ? pool_->connections_opened() : 0;
    return m;
}

void Engine::record_call(SteadyClock::time_point started, int status) noexcept {
    const Duration elapsed = SteadyClock::now() - started;
    std::size_t bucket = 0;
    while (elapsed > Metrics::latency_bounds[bucket]) ++bucket;
    ++metrics.latency[bucket];
    ++metrics.status_classes[status >= 100 && status < 600 ? static_cast<std::size_t>(status / 100)
                                                           : 0];
}

void Engine::check_connected(const HttpMessage& message) const {
    if (!connected || !executor) {
        throw_error(errc::not_connected, message.method + " " + redact(message.url) +
                                             ": transport not connected (call connect() first)");
    }
}

asio::awaitable<Response> Engine::request(std::shared_ptr<Engine> self, HttpMessage&& message,
                                          std::unique_ptr<PendingBody>* stream) {
    // Not a coroutine (one frame less per call): without a total timeout the call is the
    // request.
    if (options.timeout.total > Duration::zero()) {
        return timed_call(std::move(self), std::move(message), stream);
    }
    return call(std::move(self), std::move(message), stream, nullptr, std::nullopt);
}

const Engine::OriginResilience& Engine::resilience_of(const Origin& origin) {
    const auto found = resilience_of_.find(origin);
    if (found != resilience_of_.end()) return found->second;
    std::string key = origin_key(origin);
    auto breaker = resilience->breaker(key);
    auto budget = resilience->budget(key);
    return resilience_of_
        .emplace(origin, OriginResilience{std::move(key), std::move(breaker), std::move(budget)})
        .first->second;
}

void Engine::finish(Response& response) {
    if (options.hooks.on_response) options.hooks.on_response(response);
}

} // namespace nector::http::detail
