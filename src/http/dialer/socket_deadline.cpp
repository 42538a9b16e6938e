#include "http/dialer/socket_deadline.hpp"

#include "http/errors/fail_point.hpp"

#include <boost/beast/core/error.hpp>

namespace nector::http::detail {

SocketDeadline::SocketDeadline(const boost::asio::any_io_executor& executor, void* socket,
                               Close close, Duration timeout)
    : state_(std::make_shared<State>(State{socket, close})), timer_(executor) {
    if (timeout <= Duration::zero()) return;
    timer_.expires_after(timeout);
    fail_point_timer(timer_);
    // The handler may run after this object is gone (a wait that had already expired when
    // it was cancelled): it reaches the socket only through the shared state, cleared then.
    timer_.async_wait([state = state_](const boost::system::error_code& ec) {
        if (ec || !state->socket) return;
        state->fired = true;
        state->close(state->socket);
    });
}

SocketDeadline::~SocketDeadline() {
    state_->socket = nullptr;
    try {
        timer_.cancel();
    } catch (...) { // cancel() reports failure only by exception; the state is cleared anyway
    }
}

boost::system::error_code SocketDeadline::timed(
    const boost::system::error_code& ec) const noexcept {
    // Also when the step itself succeeded: its completion may have been queued just before
    // the deadline closed the socket, which is then of no use.
    return state_->fired ? boost::system::error_code(boost::beast::error::timeout) : ec;
}

} // namespace nector::http::detail
