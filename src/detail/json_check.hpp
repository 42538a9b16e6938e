// Checks on JSON values before they are written as JSON text.
#pragma once

#include <boost/json/kind.hpp>
#include <boost/json/value.hpp>

#include <string>
#include <string_view>

namespace nector::detail {

/// "null", "a boolean", "a number", "a string", "an array" or "an object", for messages.
std::string_view kind_name(boost::json::kind k) noexcept;

/// True when `v` holds a NaN or an infinity, which JSON cannot spell; then `path` has
/// the location appended (".key", "[3]"), else `path` is unchanged.
bool find_non_finite(const boost::json::value& v, std::string& path);

/// True when a string or key in `v` is not valid UTF-8, which JSON text must be; then
/// `path` has the location appended as find_non_finite does, else `path` is unchanged.
bool find_non_utf8(const boost::json::value& v, std::string& path);

} // namespace nector::detail
