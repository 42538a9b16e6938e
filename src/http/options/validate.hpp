// Checks of a transport's options as a whole, made once by the constructor that takes them.
// The options room holds what concerns Options alone (JSON loading, validation); it may
// include message/ (URL and header checks) and the public headers, nothing above.
#pragma once

#include "nector/http/options.hpp"

namespace nector::http::detail {

/// Throws ConfigurationError (invalid_configuration) naming the first field that cannot be
/// used: a base_url that does not parse, timeouts that are not positive, caps of zero,
/// header limits out of range, HTTP/2 windows out of range, an invalid default header.
void validate(const Options& options);

} // namespace nector::http::detail
