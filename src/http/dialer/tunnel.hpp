// Tunnels through proxies: an HTTP proxy's CONNECT (RFC 9110 §9.3.6) and SOCKS5 (RFC 1928),
// each on a TCP connection to the proxy, leaving the stream connected to the destination
// (TLS and the protocol choice then go on as on a direct connection). Part of the dialer
// room.
#pragma once

#include "http/options/proxy.hpp"
#include "http/wire/streams.hpp"
#include "nector/http/options.hpp"

#include <boost/asio/awaitable.hpp>

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace nector::http::detail {

/// Asks the HTTP proxy at the other end of `stream` for a tunnel to host:port (a name or an
/// address without brackets) and reads its answer, no byte beyond it, within `timeout`.
/// Throws ProxyError (proxy_failed) naming the proxy, the destination and the status for an
/// answer other than 2xx; a protocol_error for one that is not HTTP or longer than
/// `max_head` bytes; a ConnectionError or timeout naming the proxy if the exchange fails.
boost::asio::awaitable<void> http_tunnel(PlainStream& stream, const ProxyUrl& proxy,
                                         std::string_view host, std::uint16_t port,
                                         Duration timeout, std::size_t max_head,
                                         std::string_view context);

/// SOCKS5 with no authentication: asks the proxy for a connection to host:port, `host`
/// being an address (socks5://, resolved by the caller) or a name (socks5h://, resolved by
/// the proxy), within `timeout`. Throws ProxyError naming the proxy, the destination and
/// the SOCKS reply for a refusal; protocol_error for an answer that is not SOCKS5.
boost::asio::awaitable<void> socks5_tunnel(PlainStream& stream, const ProxyUrl& proxy,
                                           std::string_view host, std::uint16_t port,
                                           Duration timeout, std::string_view context);

} // namespace nector::http::detail
