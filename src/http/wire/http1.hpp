// HTTP/1.1 connections: one exchange at a time over a TCP (http) or TLS (https) stream,
// our request head writer and Beast's response parser (src/http/wire/http1.cpp).
#pragma once

#include "http/wire/connection.hpp"
#include "http/wire/streams.hpp"

#include <memory>

namespace nector::http::detail {

/// HTTP/1.1 on a connected stream (a TLS one has finished its handshake).
std::shared_ptr<Connection> make_http1_connection(PlainStream stream);
std::shared_ptr<Connection> make_http1_connection(TlsStream stream);

} // namespace nector::http::detail
