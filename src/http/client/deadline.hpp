// The deadline layer, the top of a call: with Timeout::total set, the whole call (its
// retries and their backoff included) races a timer, and loses with total_timeout; without
// it, the layer hands the call to the retry layer as it is, adding no coroutine frame.
// Part of the client room.
#pragma once

#include "http/client/call.hpp"
#include "http/client/exchange.hpp"
#include "nector/http/message.hpp"
#include "nector/http/options.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <memory>

namespace nector::http::detail {

class DeadlineLayer {
public:
    DeadlineLayer(RetryLayer& next, const Options& options, boost::asio::any_io_executor executor)
        : next_(next), options_(options), executor_(std::move(executor)) {}

    /// One call (Result: Response or Streamed, as RetryLayer's); `owner` holds the engine.
    /// Not a coroutine: the message is moved once, to the heap, and the frames that run the
    /// call hold a pointer (the message is done with once prepared, and a frame lives as
    /// long as its call: an HttpMessage in it would cost every request in flight its size).
    template <class Result>
    boost::asio::awaitable<Result> operator()(HttpMessage&& message,
                                              std::shared_ptr<const void> owner) {
        auto held = std::make_unique<HttpMessage>(std::move(message));
        if (options_.timeout.total > Duration::zero()) {
            return timed<Result>(std::move(held), std::move(owner));
        }
        return next_.template operator()<Result>(std::move(held), std::move(owner), nullptr,
                                                 std::nullopt);
    }

private:
    template <class Result>
    boost::asio::awaitable<Result> timed(std::unique_ptr<HttpMessage> message,
                                         std::shared_ptr<const void> owner);

    RetryLayer& next_;
    const Options& options_;
    boost::asio::any_io_executor executor_;
};

} // namespace nector::http::detail
