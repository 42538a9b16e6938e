// HTTP-date (RFC 9110 §5.6.7): the three forms a recipient must accept, read leniently.
// Part of the message room (the resilience room reads Retry-After with it).
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

namespace nector::http::detail {

/// The time an HTTP-date names: IMF-fixdate, RFC 850 (its two-digit year read as at most 50
/// years ahead of `now`) or asctime; letters compare case-insensitively. nullopt when
/// `text` is none of them or names no valid date.
std::optional<std::chrono::sys_seconds> parse_http_date(std::string_view text,
                                                        std::chrono::system_clock::time_point now);

} // namespace nector::http::detail
