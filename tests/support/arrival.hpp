// An event a server thread signals and a client coroutine waits for: "the request has
// reached the server", instead of a timer that guesses how long that takes.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace nector::test {

/// Lives on the client's executor. signal() may be called from any thread (a server's), at
/// most while the object lives; wait() completes once signal() has run, at once if it has.
class Arrival {
public:
    explicit Arrival(boost::asio::any_io_executor executor)
        : executor_(executor), gate_(executor, boost::asio::steady_timer::time_point::max()) {}

    void signal() {
        boost::asio::post(executor_, [this] {
            arrived_ = true;
            gate_.cancel();
        });
    }

    boost::asio::awaitable<void> wait() {
        while (!arrived_) {
            (void)co_await gate_.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
        }
    }

private:
    boost::asio::any_io_executor executor_;
    boost::asio::steady_timer gate_; // never expires: only signal() ends a wait
    bool arrived_ = false;
};

} // namespace nector::test
