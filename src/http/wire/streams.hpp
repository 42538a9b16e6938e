// The byte streams a connection runs over: a plain TCP socket, and TLS over one (Beast's
// ssl_stream). The connections keep their own read and write deadlines (no timers of the
// stream's).
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

namespace nector::http::detail {

using PlainStream = boost::asio::ip::tcp::socket;
using TlsStream = boost::beast::ssl_stream<PlainStream>;

} // namespace nector::http::detail
