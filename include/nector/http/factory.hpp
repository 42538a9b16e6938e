// HTTPTransportFactory<M>: makes configured HTTPTransports (TDS-4 §4), sharing per-origin
// circuit breakers and retry budgets among them.
#pragma once

#include "nector/http/options.hpp"
#include "nector/http/options_json.hpp"
#include "nector/http/resilience.hpp"
#include "nector/http/transport.hpp"
#include "nector/transport/registry.hpp"

#include <boost/describe/class.hpp>
#include <boost/json/value.hpp>

#include <memory>
#include <optional>
#include <string>
#include <utility>

namespace nector::http {

/// Per-transport overrides of a factory's defaults: headers merge onto the defaults
/// (same name: the override wins), every other field that is set replaces the default.
/// Each field is the Options field of the same name. A factory's transports share one
/// circuit breaker and one retry budget per origin, made from the factory's defaults, so
/// an override of circuit_breaker, of retry's budget fields or of hooks.on_breaker_state
/// that differs from the defaults is refused (ConfigurationError), never ignored.
struct Overrides {
    Headers headers;
    std::optional<Timeout> timeout;
    std::optional<Limits> limits;
    std::optional<RetryPolicy> retry;
    std::optional<bool> follow_redirects;
    std::optional<std::size_t> max_redirects;
    std::optional<bool> allow_insecure_redirects;
    std::optional<std::vector<std::string>> sensitive_headers;
    std::optional<std::vector<std::string>> resolve;
    std::optional<std::vector<std::string>> connect_to;
    std::optional<std::string> local_address;
    std::optional<std::string> unix_socket;
    std::optional<Duration> happy_eyeballs_delay;
    std::optional<Duration> dns_cache_ttl;
    std::optional<ProxyOptions> proxy;
    std::optional<Auth> auth;
    std::optional<std::shared_ptr<CookieJar>> cookies;
    std::optional<bool> verify_ssl;
    std::optional<TlsOptions> tls;
    std::optional<bool> http2;
    std::optional<std::size_t> max_response_bytes;
    std::optional<bool> raise_for_status;
    std::optional<std::string> base_url;
    std::optional<bool> http2_prior_knowledge;
    std::optional<Http2Settings> http2_settings;
    std::optional<std::size_t> max_header_bytes;
    std::optional<std::size_t> max_header_count;
    std::optional<bool> decode_content;
    std::optional<std::size_t> max_decoded_bytes;
    std::optional<std::string> user_agent;
    std::optional<CircuitBreakerPolicy> circuit_breaker;
    std::optional<HedgePolicy> hedge;
    std::optional<Hooks> hooks;
};
BOOST_DESCRIBE_STRUCT(Overrides, (),
                      (headers, timeout, limits, retry, follow_redirects, max_redirects,
                       allow_insecure_redirects, sensitive_headers, resolve, connect_to,
                       local_address, unix_socket, happy_eyeballs_delay, dns_cache_ttl, proxy, auth,
                       cookies, verify_ssl, tls, http2, max_response_bytes, raise_for_status,
                       base_url, http2_prior_knowledge, http2_settings, max_header_bytes,
                       max_header_count, decode_content, max_decoded_bytes, user_agent,
                       circuit_breaker, hedge, hooks))

namespace detail {
/// `options` with `overrides` applied, field by field from their one description.
Options with_overrides(Options options, const Overrides& overrides);
} // namespace detail

/// TransportFactory of HTTPTransport<M>. Copies share the breakers and budgets.
template <Message M = HttpMessage>
class HTTPTransportFactory {
public:
    using message_type = M;
    using transport_type = HTTPTransport<M>;

    /// A factory for `base_url` with `defaults` (whose base_url it replaces). Validates the
    /// defaults once (ConfigurationError naming the field).
    explicit HTTPTransportFactory(std::string base_url, Options defaults = {})
        : defaults_(std::move(defaults)) {
        defaults_.base_url = std::move(base_url);
        init();
    }
    /// From a JSON configuration (options_from_json keys, base_url among them).
    explicit HTTPTransportFactory(const boost::json::value& config)
        : defaults_(options_from_json(config)) {
        init();
    }

    /// A transport with the defaults.
    HTTPTransport<M> create_transport() const { return make(defaults_); }
    /// A transport with `overrides` applied to the defaults.
    HTTPTransport<M> create_transport(const Overrides& o) const {
        return make(detail::with_overrides(defaults_, o));
    }
    /// A transport with a JSON object of overrides (options_from_json keys) applied.
    HTTPTransport<M> create_transport(const boost::json::value& config) const {
        return make(options_from_json(config, defaults_));
    }

    const Options& defaults() const noexcept { return defaults_; }
    /// The breakers and retry budgets shared by this factory's transports.
    const std::shared_ptr<ResilienceRegistry>& resilience() const noexcept { return shared_; }

private:
    void init() {
        shared_ = detail::make_resilience(defaults_);
        (void)transport_type(defaults_, shared_); // validates the defaults now
    }
    HTTPTransport<M> make(Options options) const {
        return HTTPTransport<M>(std::move(options), shared_);
    }

    Options defaults_;
    std::shared_ptr<ResilienceRegistry> shared_;
};

static_assert(TransportFactory<HTTPTransportFactory<HttpMessage>>);

/// Registers an HTTPTransportFactory<M> under `name` ("http" by default), so that
/// registry.create_transport<M>(name, config) makes HTTP transports; `config` is then a
/// full configuration (options_from_json keys, base_url among them) applied over the
/// factory's defaults.
template <Message M = HttpMessage>
AnyTransportFactory& register_http_factory(TransportFactoryRegistry& registry,
                                           std::string name = "http", Options defaults = {}) {
    std::string base = defaults.base_url;
    return registry.register_factory(std::move(name),
                                     HTTPTransportFactory<M>(std::move(base), std::move(defaults)));
}

} // namespace nector::http
