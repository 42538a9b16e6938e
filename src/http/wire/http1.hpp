// HTTP/1.1 connections: one exchange at a time over a TCP (http) or TLS (https) stream,
// our request head writer and Beast's response parser (src/http/wire/http1.cpp).
#pragma once

#include "http/wire/connection.hpp"
#include "http/wire/streams.hpp"

#include <memory>
#include <string>

namespace nector::http::detail {

/// HTTP/1.1 on a connected stream (a TLS one has finished its handshake).
std::shared_ptr<Connection> make_http1_connection(PlainStream stream);
std::shared_ptr<Connection> make_http1_connection(TlsStream stream);

/// A connection to an HTTP proxy carrying http:// requests: each request target is sent in
/// absolute form (RFC 9112 §3.2.2), with the proxy's credentials when it has some.
struct ProxyForward {
    std::string authorization; ///< the Proxy-Authorization value, or empty
};
std::shared_ptr<Connection> make_http1_connection(PlainStream stream, ProxyForward forward);

} // namespace nector::http::detail
