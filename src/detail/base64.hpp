// Base64 (RFC 4648 §4: the standard alphabet, with padding).
#pragma once

#include "nector/transport/protocol.hpp"

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace nector::detail {

/// `data` in base64, padded to a multiple of four characters.
std::string base64_encode(std::span<const std::byte> data);

/// The bytes `text` encodes, or nullopt unless `text` is canonical base64: only the
/// standard alphabet, a length that is a multiple of four, "=" padding only at the end
/// (at most two), and zero bits after the last byte (so each byte string has exactly
/// one accepted spelling). No whitespace is accepted. Allocates only the result.
std::optional<Bytes> base64_decode(std::string_view text);

} // namespace nector::detail
