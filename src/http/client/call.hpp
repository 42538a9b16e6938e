// The retry layer, and the call's one coroutine frame above the attempt: the request
// prepared, then attempts, each admitted and recorded by the breaker layer and carried
// through the redirect and attempt layers, retried per the retry policy within the retry
// budget (docs/resilience.md), with the call's metrics and hooks. Part of the client room.
#pragma once

#include "http/client/auth.hpp"
#include "http/client/breaker.hpp"
#include "http/client/exchange.hpp"
#include "http/client/intercept.hpp"
#include "http/client/prepare.hpp"
#include "http/client/redirects.hpp"
#include "nector/http/message.hpp"
#include "nector/http/metrics.hpp"
#include "nector/http/options.hpp"
#include "nector/http/resilience.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <memory>
#include <optional>

namespace nector::http::detail {

/// Throws not_connected, naming `message`'s request, unless `connected`.
void check_connected(bool connected, const HttpMessage& message);

class RetryLayer {
public:
    RetryLayer(BreakerLayer& breaker, RedirectLayer& redirects, AuthLayer& auth,
               InterceptLayer& attempt, const Preparer& prepare, const Options& options,
               ResilienceRegistry& resilience, Metrics& metrics,
               boost::asio::any_io_executor executor, const bool& connected)
        : breaker_(breaker),
          redirects_(redirects),
          auth_(auth),
          attempt_(attempt),
          prepare_(prepare),
          options_(options),
          resilience_(resilience),
          metrics_(metrics),
          executor_(std::move(executor)),
          connected_(connected) {}

    /// One call of `message`: Result is Response (the body read whole) or Streamed (a
    /// final response's body left on its connection). `owner` (the engine) is held by a
    /// streamed body. `outer` is the state a deadline layer reads (else the call keeps its
    /// own); a retry that would end past `deadline` is not made. The message is released
    /// once prepared.
    template <class Result>
    boost::asio::awaitable<Result> operator()(
        std::unique_ptr<HttpMessage> message, std::shared_ptr<const void> owner, CallState* outer,
        std::optional<std::chrono::steady_clock::time_point> deadline);

    /// Throws not_connected unless the transport is connected.
    void check_connected(const HttpMessage& message) const;

private:
    void record_call(std::chrono::steady_clock::time_point started, int status) noexcept;
    /// After a failed attempt (a transport error, or a status >= 400): the delay before the
    /// next one (counted as a retry, on_retry called); nullopt when the call ends with this
    /// response as its result (raise_for_status off); otherwise throws what ends the call
    /// (the attempt's error, or HTTPStatusError), with the attempts noted.
    std::optional<Duration> after_failure(
        const Prepared& p, const OriginResilience& origin, const Assessment& a, const Exchanged& x,
        const CallState& state, std::size_t retries, Duration previous, bool idempotency_key,
        std::optional<std::chrono::steady_clock::time_point> deadline);
    /// The wait before a retry (Options::clock's, when it has one).
    boost::asio::awaitable<void> back_off(Duration delay);

    BreakerLayer& breaker_;
    RedirectLayer& redirects_;
    AuthLayer& auth_;
    InterceptLayer& attempt_; ///< the intercept layer, or through it the attempt layer
    const Preparer& prepare_;
    const Options& options_;
    ResilienceRegistry& resilience_;
    Metrics& metrics_;
    boost::asio::any_io_executor executor_;
    const bool& connected_;
};

} // namespace nector::http::detail
