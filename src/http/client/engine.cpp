// The composition root (engine.hpp).
#include "http/client/engine.hpp"

#include "http/message/url.hpp"
#include "http/options/validate.hpp"
#include "nector/http/resilience.hpp"
#include "nector/http/transport.hpp"
#include "nector/transport/errors.hpp"

#include <string>

namespace nector::http::detail {
namespace asio = boost::asio;

namespace {

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

// Checks the options before any member is made of them.
Options checked(Options o) {
    validate(o);
    http::validate(o.retry);
    http::validate(o.circuit_breaker);
    return o;
}

} // namespace

Engine::Engine(Options o, std::shared_ptr<ResilienceRegistry> shared)
    : options(checked(std::move(o))),
      resilience(std::move(shared)),
      wire_limits_(WireLimits::of(options)),
      prepare_(options) {
    if (!resilience) {
        resilience = make_resilience(options);
    } else {
        check_shared_resilience(options, *resilience);
    }
    // TLS files and PEM in the options are loaded, and so checked, now (after the checks
    // that need no I/O).
    dialer_ = std::make_unique<NetworkDialer>(options, wire_limits_);
}

Engine::~Engine() = default;

Engine::Layers::Layers(Engine& e, const asio::any_io_executor& ex)
    : breaker(*e.resilience, e.metrics),
      attempt(*e.pool_, e.options, e.wire_limits_, e.metrics),
      hedge(attempt, breaker, e.options, e.metrics),
      intercept(hedge, e.options),
      auth(intercept, e.options),
      redirects(intercept, e.options),
      retry(breaker, redirects, auth, intercept, e.prepare_, e.options, *e.resilience, e.metrics,
            ex, e.connected),
      deadline(retry, e.options, ex) {}

void Engine::bind(const asio::any_io_executor& ex) {
    if (executor) return;
    executor = ex;
    pool_ = std::make_unique<Pool>(ex, options.limits, options.timeout.pool, std::move(dialer_));
    layers_ = std::make_unique<Layers>(*this, ex);
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
    m.name_lookups = pool_ ? pool_->name_lookups() : 0;
    m.tls_handshakes = pool_ ? pool_->tls_handshakes() : 0;
    m.tls_resumed = pool_ ? pool_->tls_resumed() : 0;
    return m;
}

template <class Result>
asio::awaitable<Result> Engine::unbound(HttpMessage message) const {
    check_connected(false, message);
    co_return Result{};
}

asio::awaitable<Response> Engine::request(std::shared_ptr<Engine> self, HttpMessage&& message) {
    // Not a coroutine (one frame less per call).
    if (!layers_) return unbound<Response>(std::move(message));
    return layers_->deadline.operator()<Response>(std::move(message), std::move(self));
}

asio::awaitable<Streamed> Engine::stream(std::shared_ptr<Engine> self, HttpMessage&& message) {
    if (!layers_) return unbound<Streamed>(std::move(message));
    return layers_->deadline.operator()<Streamed>(std::move(message), std::move(self));
}

} // namespace nector::http::detail
