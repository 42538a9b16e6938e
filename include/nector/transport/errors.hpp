// The TDS-1 error hierarchy: exceptions over nector's own error codes.
//
// Every failure nector reports has one `nector::errc` code. The code says what went
// wrong; `nector::condition` groups codes coarsely (network, timeout, tls, cancelled,
// client, server) and is also equivalent to the matching system and Asio codes, so
// `ec == nector::condition::timeout` works whatever layer produced `ec`.
//
// The exceptions derive from std::system_error, so `e.code()` is always available.
// `throw_error` is the one place that maps a code to its exception class; the
// completion-token channel (error_code) and the exception channel (co_await) agree
// because both go through it.
#pragma once

#include <exception>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

namespace nector {

/// nector's error codes. Values are stable; new codes are appended.
enum class errc {
    // Connection (condition: network, timeout or tls)
    not_connected = 1,      ///< an operation needs connect() first
    connection_failed,      ///< a connection could not be made or broke
    connection_refused,     ///< the peer refused the connection
    connection_reset,       ///< the peer reset an established connection
    connection_closed,      ///< the peer closed the connection mid-exchange
    name_resolution_failed, ///< DNS lookup failed
    connect_timeout,        ///< connect phase exceeded Timeout::connect
    read_timeout,           ///< no bytes arrived within Timeout::read
    write_timeout,          ///< sending stalled for Timeout::write
    pool_timeout,           ///< no pooled connection became free within Timeout::pool
    total_timeout,          ///< the whole call exceeded Timeout::total
    tls_handshake_failed,   ///< TLS handshake failed for another reason
    tls_certificate_untrusted,
    tls_hostname_mismatch,
    tls_certificate_expired,
    // Message (condition: client)
    serialization_failed,
    deserialization_failed,
    // Caller input and configuration (condition: client)
    invalid_configuration,
    unknown_factory,
    duplicate_factory,
    message_type_mismatch,
    invalid_url,
    invalid_header,
    invalid_method,
    queue_full,
    // Peer misbehaviour (condition: server)
    protocol_error,
    body_too_large,
    // Cancellation (condition: cancelled)
    cancelled,
    // HTTP status and resilience (condition: client or server)
    http_status,            ///< a status >= 400 not covered below (e.g. 3xx as an error)
    http_client_error,      ///< 4xx without a more specific code
    http_unauthorized,      ///< 401
    http_forbidden,         ///< 403
    http_not_found,         ///< 404
    http_request_timeout,   ///< 408
    http_too_many_requests, ///< 429
    http_server_error,      ///< 5xx
    circuit_open,           ///< the circuit breaker rejected the call without I/O
    too_many_redirects,     ///< more redirects than Options::max_redirects
    // HTTP/2 streams
    stream_refused, ///< the server did not process the request (REFUSED_STREAM, GOAWAY)
    stream_reset,   ///< the server reset the stream (RST_STREAM) after taking the request
    // Redirects
    insecure_redirect, ///< a redirect from https to http (Options::allow_insecure_redirects)
    // Proxies (condition: network)
    proxy_failed, ///< a proxy refused the tunnel (a CONNECT status other than 2xx, a SOCKS error)
};

/// Coarse groups of error codes.
enum class condition {
    network = 1, ///< the network or the peer failed (refused, reset, DNS, closed)
    timeout,     ///< a deadline or inactivity timeout passed
    tls,         ///< the TLS layer failed (certificate, host name, handshake)
    cancelled,   ///< the caller cancelled the operation
    client,      ///< the request or its configuration was wrong (or a 4xx answered it)
    server,      ///< the server failed or misbehaved (5xx, malformed response)
};

} // namespace nector

template <>
struct std::is_error_code_enum<nector::errc> : std::true_type {};
template <>
struct std::is_error_condition_enum<nector::condition> : std::true_type {};

namespace nector {

const std::error_category& error_category() noexcept;
const std::error_category& condition_category() noexcept;

inline std::error_code make_error_code(errc e) noexcept {
    return {static_cast<int>(e), error_category()};
}
inline std::error_condition make_error_condition(condition c) noexcept {
    return {static_cast<int>(c), condition_category()};
}

/// The enumerator's name, e.g. "connection_refused"; "unknown" for a value outside errc.
std::string_view to_string(errc e) noexcept;
/// The enumerator's name, e.g. "timeout".
std::string_view to_string(condition c) noexcept;
/// Inverse of to_string(errc): the code named `name`, or nullopt.
std::optional<errc> errc_from_string(std::string_view name) noexcept;

/// Base of every exception nector throws.
class TransportError : public std::system_error {
public:
    /// `what` says what was attempted; the code's message is appended by std::system_error.
    TransportError(std::error_code ec, const std::string& what) : std::system_error(ec, what) {}
};

/// The connection could not be made or broke.
class ConnectionError : public TransportError {
public:
    using TransportError::TransportError;
    explicit ConnectionError(const std::string& what)
        : TransportError(errc::connection_failed, what) {}
};

/// A timeout passed; the code names the phase (connect, read, write, pool, total).
class ConnectionTimeoutError : public ConnectionError {
public:
    using ConnectionError::ConnectionError;
    explicit ConnectionTimeoutError(const std::string& what)
        : ConnectionError(errc::connect_timeout, what) {}
};

/// The peer refused the connection.
class ConnectionRefusedError : public ConnectionError {
public:
    using ConnectionError::ConnectionError;
    explicit ConnectionRefusedError(const std::string& what)
        : ConnectionError(errc::connection_refused, what) {}
};

/// TLS failed; the code says why (untrusted, host-name mismatch, expired, handshake).
class TLSError : public ConnectionError {
public:
    using ConnectionError::ConnectionError;
    explicit TLSError(const std::string& what)
        : ConnectionError(errc::tls_handshake_failed, what) {}
};

/// A proxy would not carry the connection: it answered CONNECT with a status other than
/// 2xx (407 when its credentials are missing or wrong), or its SOCKS reply was a failure.
/// The message names the proxy (without credentials), the destination and the answer.
/// Failing to reach the proxy at all is a ConnectionError naming the proxy.
class ProxyError : public ConnectionError {
public:
    using ConnectionError::ConnectionError;
    explicit ProxyError(const std::string& what) : ConnectionError(errc::proxy_failed, what) {}
};

/// A message could not be converted to or from bytes.
class MessageError : public TransportError {
public:
    using TransportError::TransportError;
};

class SerializationError : public MessageError {
public:
    using MessageError::MessageError;
    explicit SerializationError(const std::string& what)
        : MessageError(errc::serialization_failed, what) {}
};

class DeserializationError : public MessageError {
public:
    using MessageError::MessageError;
    explicit DeserializationError(const std::string& what)
        : MessageError(errc::deserialization_failed, what) {}
};

/// Errors particular to one transport (HTTP errors derive from it).
class TransportSpecificError : public TransportError {
public:
    using TransportError::TransportError;
    explicit TransportSpecificError(const std::string& what)
        : TransportError(errc::protocol_error, what) {}
};

/// Invalid options or registry use: unknown or duplicate factory names, bad values.
class ConfigurationError : public TransportError {
public:
    using TransportError::TransportError;
    explicit ConfigurationError(const std::string& what)
        : TransportError(errc::invalid_configuration, what) {}
};

/// The exception class for `ec`, as an exception_ptr. nector codes map by code; other
/// categories (system, Asio) map through their condition: refused, timeout, tls,
/// network → the connection classes; anything else → TransportError. HTTP status codes
/// without a response map to TransportSpecificError (the HTTP layer adds the response).
std::exception_ptr make_exception(std::error_code ec, const std::string& what);

/// Throws make_exception(ec, what).
[[noreturn]] void throw_error(std::error_code ec, const std::string& what);

} // namespace nector
