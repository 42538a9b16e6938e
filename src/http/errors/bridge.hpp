// The error bridge: what every room uses to turn a caught exception into an error code and
// to rebuild a nector exception with more said. The bottom room: it includes only the
// public headers.
#pragma once

#include <exception>
#include <string>
#include <system_error>

namespace nector::http::detail {

/// The error code of a nector (or any std::system_error) exception; `fallback` for any
/// other (an empty code unless the caller says what such a failure is). The one place an
/// exception becomes a code. A plain function: jumping out of a catch block inside a
/// coroutine corrupts GCC 12's exception state.
std::error_code code_of(const std::exception_ptr& e, std::error_code fallback = {}) noexcept;

/// `e`'s message without the code's message that std::system_error appends.
std::string bare_message(const std::system_error& e);

} // namespace nector::http::detail
