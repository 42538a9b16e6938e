// The error bridge: what every room uses to turn a caught exception into an error code, an
// I/O error of a socket or TLS stream into nector's errc, and to rebuild a nector exception
// with more said. The bottom room: it includes only the public headers and Boost's error
// codes.
#pragma once

#include "nector/transport/errors.hpp"

#include <boost/system/error_code.hpp>

#include <exception>
#include <string>
#include <system_error>

namespace nector::http::detail {

/// The error code of a nector (or any std::system_error) exception; `fallback` for any
/// other (an empty code unless the caller says what such a failure is). The one place an
/// exception becomes a code. A plain function: jumping out of a catch block inside a
/// coroutine corrupts GCC 12's exception state.
std::error_code code_of(const std::exception_ptr& e, std::error_code fallback = {}) noexcept;

/// What an I/O error of a socket, a Beast stream or a TLS stream stands for, the one place
/// that says it: Beast's expiry → `timeout_code` (connect_timeout, read_timeout or
/// write_timeout, by the phase), operation_aborted → cancelled, the end of the stream (or of
/// TLS without close_notify) → connection_closed, a reset or broken pipe → connection_reset,
/// a refused connect → connection_refused, a TLS alert from the peer → tls_handshake_failed
/// (even after the handshake: TLS 1.3's missing-client-certificate alert), anything else →
/// connection_failed. Protocol
/// errors (Beast's HTTP parser, nghttp2, certificate checks) are the wire's and TLS's own.
errc errc_of_io(const boost::system::error_code& ec, errc timeout_code) noexcept;

/// `e`'s message without the code's message that std::system_error appends.
std::string bare_message(const std::system_error& e);

} // namespace nector::http::detail
