// The engine behind HTTPTransport, the composition root of a transport: it owns the
// options, the resilience registry, the pool (which owns the dialer) and the metrics, and
// stacks the layers of a call once it is bound to an executor:
//
//   deadline → retry → breaker → redirects → attempt   (docs/architecture.md)
//
// The client room may include every room below it.
#pragma once

#include "http/client/attempt.hpp"
#include "http/client/breaker.hpp"
#include "http/client/call.hpp"
#include "http/client/deadline.hpp"
#include "http/client/exchange.hpp"
#include "http/client/intercept.hpp"
#include "http/client/prepare.hpp"
#include "http/client/redirects.hpp"
#include "http/dialer/dialer.hpp"
#include "http/pool/pool.hpp"
#include "nector/http/message.hpp"
#include "nector/http/metrics.hpp"
#include "nector/http/options.hpp"
#include "nector/http/resilience.hpp"
#include "nector/http/response.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <deque>
#include <memory>
#include <optional>

namespace nector::http::detail {

class Engine : public std::enable_shared_from_this<Engine> {
public:
    /// Validates `options` and builds the TLS context; ConfigurationError on a bad field.
    /// `resilience` holds the breakers and budgets (shared by a factory's transports); null
    /// makes the engine its own.
    Engine(Options options, std::shared_ptr<ResilienceRegistry> resilience);
    /// Not copied or moved: the layers refer to the engine's options, limits and metrics.
    Engine(const Engine&) = delete;
    Engine& operator=(const Engine&) = delete;
    ~Engine();

    /// Makes the pool and stacks the layers on `executor` (once; later calls do nothing).
    void bind(const boost::asio::any_io_executor& executor);
    /// One call, its body read whole. `self` (this engine) is held by the call.
    boost::asio::awaitable<Response> request(std::shared_ptr<Engine> self, HttpMessage&& message);
    /// One call whose final response's body is left on its connection (responses to be
    /// retried, redirected or mapped to a status error are still read whole).
    boost::asio::awaitable<Streamed> stream(std::shared_ptr<Engine> self, HttpMessage&& message);
    void close() noexcept;

    Options options;
    std::optional<boost::asio::any_io_executor> executor;
    bool connected = false;
    std::deque<Response> completed;
    std::shared_ptr<ResilienceRegistry> resilience;
    Metrics metrics;

    Metrics snapshot() const;

private:
    /// The layers of a call, bottom to top, each holding the one below (the breaker, a guard
    /// the retry and hedge layers consult, first).
    struct Layers {
        Layers(Engine& e, const boost::asio::any_io_executor& executor);
        BreakerLayer breaker;
        AttemptLayer attempt;
        HedgeLayer hedge;
        InterceptLayer intercept;
        AuthLayer auth;
        RedirectLayer redirects;
        RetryLayer retry;
        DeadlineLayer deadline;
    };
    /// A call made before connect(): it fails with not_connected when awaited.
    template <class Result>
    boost::asio::awaitable<Result> unbound(HttpMessage message) const;

    WireLimits wire_limits_; ///< the options as the wire sees them
    Preparer prepare_;
    /// Made with the engine (so that TLS files are checked at once), handed to the pool
    /// when the engine is bound to an executor.
    std::unique_ptr<NetworkDialer> dialer_;
    std::unique_ptr<Pool> pool_;
    std::unique_ptr<Layers> layers_;
};

} // namespace nector::http::detail
