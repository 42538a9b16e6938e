// The retry layer (call.hpp).
#include "http/client/call.hpp"

#include "http/errors/bridge.hpp"
#include "http/errors/fail_point.hpp"
#include "http/message/body.hpp"
#include "http/message/url.hpp"
#include "nector/http/errors.hpp"
#include "nector/http/retry.hpp"
#include "nector/transport/errors.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <string>

namespace nector::http::detail {
namespace asio = boost::asio;
using SteadyClock = std::chrono::steady_clock;

namespace {

// Rethrows `error` as the same class with `note` appended to its message (a plain
// function: GCC 12 coroutines must not leave a catch block by a jump).
[[noreturn]] void rethrow_noted(const std::exception_ptr& error, const std::string& note) {
    try {
        std::rethrow_exception(error);
    } catch (const CircuitOpenError&) {
        throw;
    } catch (const HTTPStatusError& e) {
        std::rethrow_exception(
            make_http_exception(e.code(), bare_message(e) + note, &e.response()));
    } catch (const std::system_error& e) {
        std::rethrow_exception(make_exception(e.code(), bare_message(e) + note));
    }
}

// What a streamed call returns of the final exchange.
Streamed streamed_result(CallState& call, Exchanged&& x) {
    return {std::move(call.response), std::move(x.body)};
}

} // namespace

void check_connected(bool connected, const HttpMessage& message) {
    if (!connected) {
        throw_error(errc::not_connected, message.method + " " + redact(message.url) +
                                             ": transport not connected (call connect() first)");
    }
}

void RetryLayer::check_connected(const HttpMessage& message) const {
    detail::check_connected(connected_, message);
}

void RetryLayer::record_call(SteadyClock::time_point started, int status) noexcept {
    const Duration elapsed = SteadyClock::now() - started;
    std::size_t bucket = 0;
    while (elapsed > Metrics::latency_bounds[bucket]) ++bucket;
    ++metrics_.latency[bucket];
    ++metrics_.status_classes[status >= 100 && status < 600 ? static_cast<std::size_t>(status / 100)
                                                            : 0];
}

template <class Result>
asio::awaitable<Result> RetryLayer::operator()(std::unique_ptr<HttpMessage> message,
                                               std::shared_ptr<const void> owner, CallState* outer,
                                               std::optional<SteadyClock::time_point> deadline) {
    constexpr bool streamed = std::is_same_v<Result, Streamed>;
    if (!outer) check_connected(*message); // (a deadline layer has checked)
    CallState own;
    CallState& state = outer ? *outer : own;
    if (!outer) state.started = SteadyClock::now();
    state.owner = std::move(owner);
    state.stream = streamed;
    ++metrics_.requests;
    if (options_.hooks.on_request) options_.hooks.on_request(*message);
    // Records latency and status class however the call ends.
    struct Recorder {
        RetryLayer* layer;
        CallState* state;
        ~Recorder() { layer->record_call(state->started, state->status); }
    } recorder{this, &state};
    const Prepared p = prepare_(*message);
    message.reset();                      // all the call needs of it is in `p`
    if (outer) state.context = p.context; // for a total timeout's message
    const OriginResilience& origin = breaker_.of(p.target.origin);
    const bool idempotency_key = p.headers().contains("Idempotency-Key");
    Duration previous{};
    for (std::size_t retries = 0;; ++retries) {
        auto permit = breaker_.admit(origin, p, state.attempts);
        ++metrics_.attempts;
        ++state.attempts;
        if (retries > 0) state.response = Response{}; // each attempt starts afresh
        // The auth layer's frame only when it has work (digest auth).
        Exchanged x;
        if (auth_.active()) {
            Exchanged answered = co_await auth_(p, state);
            x = std::move(answered);
        } else {
            Exchanged plain = co_await attempt_(p, state);
            x = std::move(plain);
        }
        // Most responses are final: the redirect layer's frame is made only for a redirect.
        if (x.responded() && !redirects_.is_final(p, state.response)) {
            x = co_await redirects_.follow(p, std::move(x), state);
        }
        const Assessment a = breaker_.record(origin, std::move(permit), x, state);
        const Response* const response = x.responded() ? &state.response : nullptr;
        if (response) state.status = response->status;
        if (response && response->status < 400) {
            if (options_.hooks.on_response) options_.hooks.on_response(*response);
            // (A buffered call's response moves once, into the awaitable's result.)
            if constexpr (streamed) {
                co_return streamed_result(state, std::move(x));
            } else {
                co_return std::move(state.response);
            }
        }
        if (a.cancelled) std::rethrow_exception(x.error);
        // The rest of a failed attempt outside this frame (which every call in flight holds):
        // whether and when to try again, or how the call ends.
        const std::optional<Duration> delay =
            after_failure(p, origin, a, x, state, retries, previous, idempotency_key, deadline);
        if (!delay) { // a status error returned as a response (raise_for_status off)
            if constexpr (streamed) {
                co_return streamed_result(state, std::move(x));
            } else {
                co_return std::move(state.response);
            }
        }
        co_await back_off(*delay);
        previous = *delay;
    }
}

std::optional<Duration> RetryLayer::after_failure(const Prepared& p, const OriginResilience& origin,
                                                  const Assessment& a, const Exchanged& x,
                                                  const CallState& state, std::size_t retries,
                                                  Duration previous, bool idempotency_key,
                                                  std::optional<SteadyClock::time_point> deadline) {
    const Response* const response = x.responded() ? &state.response : nullptr;
    const auto retry_after = response ? response->headers.get("Retry-After") : std::nullopt;
    RetryDecision d = decide_retry(options_.retry,
                                   FailedAttempt{.method = p.method,
                                                 .has_idempotency_key = idempotency_key,
                                                 .failure = a.failure,
                                                 .status = response ? response->status : 0,
                                                 .retry_after = retry_after,
                                                 .retries_done = retries,
                                                 .previous_delay = previous},
                                   resilience_.clock(), resilience_.random());
    std::string why;
    if (d.action == RetryDecision::Action::retry && p.upload && !p.upload->replayable()) {
        d.action = RetryDecision::Action::give_up;
        why = "; a producer body cannot be sent again";
    }
    if (d.action == RetryDecision::Action::retry) {
        if (!origin.budget->allow_retry()) {
            ++metrics_.retries_suppressed;
            d.action = RetryDecision::Action::give_up;
            why = "; retry suppressed by the retry budget of " + origin.key;
        } else if (deadline && SteadyClock::now() + d.delay >= *deadline) {
            d.action = RetryDecision::Action::give_up;
            why = "; a retry in " + seconds(d.delay) + " would end past the total deadline";
        }
    } else if (d.action == RetryDecision::Action::give_up_retry_after_too_long) {
        why = "; " + d.reason;
    }
    if (d.action != RetryDecision::Action::retry) {
        const std::string note = attempts_note(state.attempts) + why;
        if (!response) rethrow_noted(x.error, note);
        if (options_.hooks.on_response) options_.hooks.on_response(*response);
        if (!options_.raise_for_status) return std::nullopt;
        std::rethrow_exception(make_http_exception(status_error_code(response->status),
                                                   p.context + ": HTTP " +
                                                       std::to_string(response->status) +
                                                       reason_note(response->reason) + note,
                                                   response));
    }
    if (options_.hooks.on_retry) {
        options_.hooks.on_retry(RetryEvent{.method = p.method,
                                           .url = p.target.url,
                                           .attempt = state.attempts,
                                           .delay = d.delay,
                                           .reason = d.reason});
    }
    ++metrics_.retries;
    return d.delay;
}

asio::awaitable<void> RetryLayer::back_off(Duration delay) {
    const Clock& clock = resilience_.clock();
    asio::steady_timer timer(executor_, clock.wait ? clock.wait(delay) : delay);
    fail_point_timer(timer);
    co_await timer.async_wait(asio::use_awaitable);
}

template asio::awaitable<Response> RetryLayer::operator()<Response>(
    std::unique_ptr<HttpMessage>, std::shared_ptr<const void>, CallState*,
    std::optional<SteadyClock::time_point>);
template asio::awaitable<Streamed> RetryLayer::operator()<Streamed>(
    std::unique_ptr<HttpMessage>, std::shared_ptr<const void>, CallState*,
    std::optional<SteadyClock::time_point>);

} // namespace nector::http::detail
