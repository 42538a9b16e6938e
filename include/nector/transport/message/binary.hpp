// BinaryMessage: TDS-1's binary message, string headers and a raw byte payload.
#pragma once

#include "nector/transport/headers.hpp"
#include "nector/transport/protocol.hpp"

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace nector {

/// A message of raw bytes with text headers.
///
/// Wire format, version 1 (docs/binary-framing.md):
///   'N' 'B'  version (0x01)  flags (0x00)
///   varint header_count, then per header: varint name_len, name, varint value_len, value
///   varint payload_len, payload
/// where varint is unsigned LEB128 in its shortest form. Names and values are UTF-8;
/// names are non-empty. Nothing may follow the payload. The encoding is canonical:
/// serialize(deserialize(b)) == b for every b that deserialize accepts.
class BinaryMessage {
public:
    static constexpr std::string_view content_type = "application/octet-stream";
    static constexpr std::uint8_t format_version = 1;

    BinaryMessage() = default;
    BinaryMessage(Headers headers, Bytes payload)
        : headers_(std::move(headers)), payload_(std::move(payload)) {}

    const Headers& headers() const noexcept { return headers_; }
    Headers& headers() noexcept { return headers_; }
    const Bytes& payload() const noexcept { return payload_; }
    Bytes& payload() noexcept { return payload_; }

    /// The Message protocol's accessors (TDS-1 names).
    const Headers& get_headers() const noexcept { return headers_; }
    const Bytes& get_payload() const noexcept { return payload_; }

    /// The wire format. Throws SerializationError for an empty header name or a name or
    /// value that is not valid UTF-8 (the messages deserialize would refuse).
    Bytes serialize() const;
    /// Parses the wire format. Throws DeserializationError for a wrong magic, version or
    /// flags, a truncated field, a length larger than the bytes left, an overlong
    /// varint, invalid UTF-8, or trailing bytes. Allocates at most in proportion to
    /// data.size().
    static BinaryMessage deserialize(std::span<const std::byte> data);

    friend bool operator==(const BinaryMessage&, const BinaryMessage&) = default;

private:
    Headers headers_;
    Bytes payload_;
};

static_assert(Message<BinaryMessage>);

} // namespace nector
