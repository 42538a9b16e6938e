// The deadline layer (deadline.hpp).
#include "http/client/deadline.hpp"

#include "http/client/breaker.hpp"
#include "http/errors/fail_point.hpp"
#include "nector/transport/errors.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <type_traits>
#include <variant>

namespace nector::http::detail {
namespace asio = boost::asio;
using SteadyClock = std::chrono::steady_clock;

namespace {

constexpr auto nothrow = asio::as_tuple(asio::use_awaitable);

} // namespace

template <class Result>
asio::awaitable<Result> DeadlineLayer::timed(std::unique_ptr<HttpMessage> message,
                                             std::shared_ptr<const void> owner) {
    next_.check_connected(*message);
    CallState state;
    state.started = SteadyClock::now();
    // Asio's || waits for the first operation to *succeed*, so the call must not throw
    // inside it: its outcome, value or exception, is carried out as a value.
    using namespace asio::experimental::awaitable_operators;
    const auto deadline = state.started + options_.timeout.total;
    asio::steady_timer timer(executor_, deadline);
    fail_point_timer(timer);
    auto result = co_await (outcome_of(next_.template operator()<Result>(
                                std::move(message), std::move(owner), &state, deadline)) ||
                            timer.async_wait(nothrow));
    if (result.index() == 1) {
        throw_error(errc::total_timeout,
                    state.context + ": the call exceeded the total timeout of " +
                        seconds(options_.timeout.total) + attempts_note(state.attempts));
    }
    Outcome<Result> outcome = std::get<0>(std::move(result));
    if (outcome.error) std::rethrow_exception(outcome.error);
    if constexpr (std::is_same_v<Result, Streamed>) {
        // A streamed body is read after the call returns: the same deadline bounds it.
        if (outcome.result->body) {
            outcome.result->body->deadline = deadline;
            outcome.result->body->total = options_.timeout.total;
        }
    }
    co_return std::move(*outcome.result);
}

template asio::awaitable<Response> DeadlineLayer::timed<Response>(std::unique_ptr<HttpMessage>,
                                                                  std::shared_ptr<const void>);
template asio::awaitable<Streamed> DeadlineLayer::timed<Streamed>(std::unique_ptr<HttpMessage>,
                                                                  std::shared_ptr<const void>);

} // namespace nector::http::detail
