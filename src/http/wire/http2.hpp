// HTTP/2 connections: nghttp2's session driven from Asio over a TCP (h2c) or TLS (h2)
// stream. One reader feeds every received byte to the session; one writer sends
// everything the session has queued in batched socket writes; each exchange is a
// stream that waits for its own response.
#pragma once

#include "http/wire/connection.hpp"
#include "http/wire/streams.hpp"

#include <memory>

namespace nector::http::detail {

/// Starts HTTP/2 on a connected stream: queues the connection preface and SETTINGS (sent
/// with the first request) and starts the connection's reader, writer and PING checks.
std::shared_ptr<Connection> make_http2_connection(PlainStream stream, const WireLimits& limits);
std::shared_ptr<Connection> make_http2_connection(TlsStream stream, const WireLimits& limits);

} // namespace nector::http::detail
