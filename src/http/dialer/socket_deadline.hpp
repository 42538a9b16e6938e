// A deadline on one set-up step of a connection (the TCP connect, a proxy tunnel's exchange,
// the TLS handshake): past it the socket is closed, which ends the pending operation, and
// timed() reports that operation's error as beast::error::timeout. Part of the dialer room;
// the connections' own reads and writes keep their deadlines in the wire.
#pragma once

#include "nector/http/options.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/system/error_code.hpp>

#include <memory>

namespace nector::http::detail {

class SocketDeadline {
public:
    /// Watches `socket` (a TCP or Unix socket, which must outlive this object or be moved
    /// only after it ends) for `timeout` from now (no deadline when it is not positive).
    template <class Socket>
    SocketDeadline(Socket& socket, Duration timeout)
        : SocketDeadline(socket.get_executor(), &socket, &close_socket<Socket>, timeout) {}
    /// Stops watching: the socket is never closed by this deadline afterwards.
    ~SocketDeadline();
    SocketDeadline(const SocketDeadline&) = delete;
    SocketDeadline& operator=(const SocketDeadline&) = delete;

    /// `ec` as the step saw it, or beast::error::timeout whenever the deadline closed the
    /// socket (even under a step that succeeded just before: the socket is closed).
    boost::system::error_code timed(const boost::system::error_code& ec) const noexcept;

private:
    using Close = void (*)(void* socket) noexcept;
    SocketDeadline(const boost::asio::any_io_executor& executor, void* socket, Close close,
                   Duration timeout);
    template <class Socket>
    static void close_socket(void* socket) noexcept {
        boost::system::error_code ignored;
        static_cast<Socket*>(socket)->close(ignored);
    }

    struct State {
        void* socket;
        Close close;
        bool fired = false;
    };
    std::shared_ptr<State> state_;
    boost::asio::steady_timer timer_;
};

} // namespace nector::http::detail
