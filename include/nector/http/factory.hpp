// HTTPTransportFactory<M>: makes configured HTTPTransports (TDS-4 §4), sharing per-origin
// circuit breakers and retry budgets among them.
#pragma once

#include "nector/http/options.hpp"
#include "nector/http/options_json.hpp"
#include "nector/http/resilience.hpp"
#include "nector/http/transport.hpp"
#include "nector/transport/registry.hpp"

#include <boost/json/value.hpp>

#include <memory>
#include <optional>
#include <string>
#include <utility>

namespace nector::http {

/// Per-transport overrides of a factory's defaults: headers merge onto the defaults
/// (same name: the override wins), every other field that is set replaces the default.
struct Overrides {
    Headers headers;
    std::optional<Timeout> timeout;
    std::optional<Limits> limits;
    std::optional<RetryPolicy> retry;
    std::optional<bool> follow_redirects;
    std::optional<std::size_t> max_redirects;
    std::optional<bool> verify_ssl;
    std::optional<TlsOptions> tls;
    std::optional<bool> http2;
    std::optional<std::size_t> max_response_bytes;
    std::optional<bool> raise_for_status;
};

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
    explicit HTTPTransportFactory(const json::value& config)
        : defaults_(options_from_json(config)) {
        init();
    }

    /// A transport with the defaults.
    HTTPTransport<M> create_transport() const { return make(defaults_); }
    /// A transport with `overrides` applied to the defaults.
    HTTPTransport<M> create_transport(const Overrides& o) const {
        Options options = defaults_;
        for (const auto& [name, value] : o.headers) options.headers.set(name, value);
        if (o.timeout) options.timeout = *o.timeout;
        if (o.limits) options.limits = *o.limits;
        if (o.retry) options.retry = *o.retry;
        if (o.follow_redirects) options.follow_redirects = *o.follow_redirects;
        if (o.max_redirects) options.max_redirects = *o.max_redirects;
        if (o.verify_ssl) options.verify_ssl = *o.verify_ssl;
        if (o.tls) options.tls = *o.tls;
        if (o.http2) options.http2 = *o.http2;
        if (o.max_response_bytes) options.max_response_bytes = *o.max_response_bytes;
        if (o.raise_for_status) options.raise_for_status = *o.raise_for_status;
        return make(std::move(options));
    }
    /// A transport with a JSON object of overrides (options_from_json keys) applied.
    HTTPTransport<M> create_transport(const json::value& config) const {
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
