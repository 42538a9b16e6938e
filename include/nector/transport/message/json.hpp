// JsonMessage: TDS-1's JSON message, headers and a JSON payload.
#pragma once

#include "nector/transport/protocol.hpp"

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <cstddef>
#include <span>
#include <string_view>

namespace nector {

/// A message whose headers are a JSON object and whose payload is any JSON value.
///
/// Wire format (TDS-1): the UTF-8 JSON text `{"headers":{...},"payload":...}`.
/// serialize() then deserialize() gives back an equal message. deserialize() accepts a
/// missing "headers" (empty) or "payload" (null) and ignores other keys, as pynector
/// does; anything else that is not that shape throws DeserializationError saying why.
class JsonMessage {
public:
    static constexpr std::string_view content_type = "application/json";
    /// Deepest nesting deserialize() accepts; deeper input throws DeserializationError.
    static constexpr std::size_t max_depth = 64;

    JsonMessage() = default;
    JsonMessage(boost::json::object headers, boost::json::value payload)
        : headers_(std::move(headers)), payload_(std::move(payload)) {}

    const boost::json::object& headers() const noexcept { return headers_; }
    boost::json::object& headers() noexcept { return headers_; }
    const boost::json::value& payload() const noexcept { return payload_; }
    boost::json::value& payload() noexcept { return payload_; }

    /// The Message protocol's accessors (TDS-1 names).
    const boost::json::object& get_headers() const noexcept { return headers_; }
    const boost::json::value& get_payload() const noexcept { return payload_; }

    /// The wire format. Throws SerializationError when the message holds a number that
    /// JSON cannot represent (NaN or infinity), naming where it is.
    Bytes serialize() const;
    /// Parses the wire format; throws DeserializationError (invalid JSON or UTF-8, too
    /// deep, wrong types) with the reason and, for syntax errors, the byte offset.
    static JsonMessage deserialize(std::span<const std::byte> data);

    friend bool operator==(const JsonMessage&, const JsonMessage&) = default;

private:
    boost::json::object headers_;
    boost::json::value payload_;
};

static_assert(Message<JsonMessage>);

} // namespace nector
