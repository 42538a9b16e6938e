// UTF-8 validation (RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF).
#pragma once

#include <cstddef>
#include <string_view>

namespace nector::detail {

inline constexpr std::size_t utf8_valid = static_cast<std::size_t>(-1);

/// The offset of the first byte that does not start a valid UTF-8 sequence, or
/// utf8_valid when all of `text` is valid.
std::size_t find_invalid_utf8(std::string_view text) noexcept;

} // namespace nector::detail
