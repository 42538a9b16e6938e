// A deadline on one set-up step of a connection (the TCP connect, a proxy tunnel's exchange,
// the TLS handshake): past it the socket is closed, which ends the pending operation, and
// timed() reports that operation's error as beast::error::timeout. Part of the dialer room;
// the connections' own reads and writes keep their deadlines in the wire.
#pragma once

#include "nector/http/options.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/system/error_code.hpp>

#include <memory>

namespace nector::http::detail {

class SocketDeadline {
public:
    /// Watches `socket` (which must outlive this object or be moved only after it ends)
    /// for `timeout` from now (no deadline when it is not positive).
    SocketDeadline(boost::asio::ip::tcp::socket& socket, Duration timeout);
    /// Stops watching: the socket is never closed by this deadline afterwards.
    ~SocketDeadline();
    SocketDeadline(const SocketDeadline&) = delete;
    SocketDeadline& operator=(const SocketDeadline&) = delete;

    /// `ec` as the step saw it, or beast::error::timeout whenever the deadline closed the
    /// socket (even under a step that succeeded just before: the socket is closed).
    boost::system::error_code timed(const boost::system::error_code& ec) const noexcept;

private:
    struct State {
        boost::asio::ip::tcp::socket* socket;
        bool fired = false;
    };
    std::shared_ptr<State> state_;
    boost::asio::steady_timer timer_;
};

} // namespace nector::http::detail
