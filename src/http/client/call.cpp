// The call: the deadline (Timeout::total) around retries (with the retry budget) around
// the circuit breaker around each attempt, in that order (docs/resilience.md), with the
// call's metrics and hooks.
#include "http/client/engine.hpp"

#include "http/errors/bridge.hpp"
#include "http/message/body.hpp"
#include "nector/http/errors.hpp"
#include "nector/http/resilience.hpp"
#include "nector/http/retry.hpp"
#include "nector/transport/errors.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <cstdio>
#include <string>

namespace nector::http::detail {
namespace asio = boost::asio;
using SteadyClock = std::chrono::steady_clock;

namespace {

constexpr auto nothrow = asio::as_tuple(asio::use_awaitable);

std::string attempts_note(std::size_t attempts) {
    return attempts == 1 ? std::string(" (1 attempt)")
                         : " (" + std::to_string(attempts) + " attempts)";
}

// How one attempt ended, for the breaker, the budget and decide_retry.
struct Assessment {
    CircuitBreaker::Outcome outcome = CircuitBreaker::Outcome::success;
    Failure failure = Failure::other;
    bool failed = false;    // a failure for the budget
    bool cancelled = false; // the caller cancelled: no verdict on the server
};

Assessment assess(const std::exception_ptr& error, const std::optional<Response>& response,
                  bool sent) {
    using Outcome = CircuitBreaker::Outcome;
    Assessment a;
    if (response) {
        a.outcome = CircuitBreaker::outcome_of_status(response->status);
        a.failure = Failure::status;
        a.failed = a.outcome != Outcome::success;
        return a;
    }
    const std::error_code ec = code_of(error);
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
    } else if (!sent) {
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

std::string seconds(Duration d) {
    const double s = std::chrono::duration<double>(d).count();
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%.3g s", s);
    return buffer;
}

} // namespace

asio::awaitable<Response> Engine::timed_call(std::shared_ptr<Engine> self, HttpMessage message,
                                             std::unique_ptr<PendingBody>* stream) {
    check_connected(message);
    CallState state{.started = SteadyClock::now(), .stream = stream};
    // Asio's || waits for the first operation to *succeed*, so the call must not throw
    // inside it: its outcome, value or exception, is carried out as a value.
    using namespace asio::experimental::awaitable_operators;
    const auto deadline = state.started + options.timeout.total;
    asio::steady_timer timer(*executor, deadline);
    // (`self` is copied: this frame uses the engine after the call's frame is gone.)
    auto result = co_await (outcome_of(call(self, std::move(message), stream, &state, deadline)) ||
                            timer.async_wait(nothrow));
    if (result.index() == 1) {
        throw_error(errc::total_timeout,
                    state.context + ": the call exceeded the total timeout of " +
                        seconds(options.timeout.total) + attempts_note(state.attempts));
    }
    Outcome outcome = std::get<0>(std::move(result));
    if (outcome.error) std::rethrow_exception(outcome.error);
    co_return std::move(*outcome.response);
}

asio::awaitable<Engine::Outcome> Engine::outcome_of(asio::awaitable<Response> operation) {
    Outcome outcome;
    try {
        outcome.response = co_await std::move(operation);
    } catch (...) {
        outcome.error = std::current_exception();
    }
    co_return outcome;
}

asio::awaitable<Response> Engine::call(std::shared_ptr<Engine> /*self*/, HttpMessage message,
                                       std::unique_ptr<PendingBody>* stream, CallState* outer,
                                       std::optional<SteadyClock::time_point> deadline) {
    if (!outer) check_connected(message); // (a timed call has checked)
    CallState own;
    CallState& state = outer ? *outer : own;
    if (!outer) state = CallState{.started = SteadyClock::now(), .stream = stream};
    ++metrics.requests;
    if (options.hooks.on_request) options.hooks.on_request(message);
    // Records latency and status class however the call ends.
    struct Recorder {
        Engine* engine;
        CallState* state;
        ~Recorder() { engine->record_call(state->started, state->status); }
    } recorder{this, &state};
    const Prepared p = prepare(message);
    if (outer) state.context = p.context; // for a total timeout's message
    const OriginResilience& origin = resilience_of(p.target.origin);
    const std::string& key = origin.key;
    CircuitBreaker* const breaker = origin.breaker.get();
    RetryBudget* const budget = origin.budget.get();
    const bool idempotency_key = p.headers().contains("Idempotency-Key");
    Duration previous{};
    for (std::size_t retries = 0;; ++retries) {
        auto ticket = breaker->try_acquire();
        if (const auto* rejection = std::get_if<CircuitBreaker::Rejection>(&ticket)) {
            ++metrics.breaker_rejections;
            const auto wait = rejection->retry_at - resilience->clock().now();
            throw CircuitOpenError(p.context + ": the circuit breaker of " + key +
                                       " is open; next probe allowed in " +
                                       seconds(std::max(wait, Duration::zero())) +
                                       (state.attempts ? attempts_note(state.attempts) : ""),
                                   rejection->retry_at);
        }
        auto permit = std::get<CircuitBreaker::Permit>(std::move(ticket));
        ++metrics.attempts;
        ++state.attempts;
        bool sent = false;
        std::optional<Response> response(std::in_place);
        std::exception_ptr error;
        try {
            // Most responses are final: the redirect loop (a coroutine of its own) runs only
            // when there is a redirect to follow.
            co_await exchange(p, sent, state.stream, *response);
            if (!is_final(p, *response)) co_await redirects(p, *response, sent, state.stream);
        } catch (const ConfigurationError&) {
            throw; // the transport's own options (the system CA store unreadable): no retry
        } catch (const TransportError&) {
            error = std::current_exception();
        }
        if (error) response.reset();
        const Assessment a = assess(error, response, sent);
        breaker->record(std::move(permit), a.outcome);
        if (a.failed) {
            budget->on_failure();
        } else if (!a.cancelled) {
            budget->on_success();
        }
        if (response) state.status = response->status;
        if (response && response->status < 400) {
            finish(*response);
            co_return std::move(*response);
        }
        if (a.cancelled) std::rethrow_exception(error);

        const auto retry_after = response ? response->headers.get("Retry-After") : std::nullopt;
        RetryDecision d = decide_retry(options.retry,
                                       FailedAttempt{.method = p.method,
                                                     .has_idempotency_key = idempotency_key,
                                                     .failure = a.failure,
                                                     .status = response ? response->status : 0,
                                                     .retry_after = retry_after,
                                                     .retries_done = retries,
                                                     .previous_delay = previous},
                                       resilience->clock(), resilience->random());
        std::string why;
        if (d.action == RetryDecision::Action::retry && p.upload && !p.upload->replayable()) {
            d.action = RetryDecision::Action::give_up;
            why = "; a producer body cannot be sent again";
        }
        if (d.action == RetryDecision::Action::retry) {
            if (!budget->allow_retry()) {
                ++metrics.retries_suppressed;
                d.action = RetryDecision::Action::give_up;
                why = "; retry suppressed by the retry budget of " + key;
            } else if (deadline && SteadyClock::now() + d.delay >= *deadline) {
                d.action = RetryDecision::Action::give_up;
                why = "; a retry in " + seconds(d.delay) + " would end past the total deadline";
            }
        } else if (d.action == RetryDecision::Action::give_up_retry_after_too_long) {
            why = "; " + d.reason;
        }
        if (d.action != RetryDecision::Action::retry) {
            const std::string note = attempts_note(state.attempts) + why;
            if (!response) rethrow_noted(error, note);
            finish(*response);
            if (!options.raise_for_status) co_return std::move(*response);
            std::rethrow_exception(make_http_exception(status_error_code(response->status),
                                                       p.context + ": HTTP " +
                                                           std::to_string(response->status) + " " +
                                                           printable(response->reason) + note,
                                                       &*response));
        }
        if (options.hooks.on_retry) {
            options.hooks.on_retry(RetryEvent{.method = p.method,
                                              .url = p.target.url,
                                              .attempt = state.attempts,
                                              .delay = d.delay,
                                              .reason = d.reason});
        }
        ++metrics.retries;
        asio::steady_timer backoff(*executor, d.delay);
        co_await backoff.async_wait(asio::use_awaitable);
        previous = d.delay;
    }
}

} // namespace nector::http::detail
