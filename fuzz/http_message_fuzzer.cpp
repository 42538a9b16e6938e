// HttpMessage::deserialize on arbitrary bytes: either a DeserializationError or a message
// that survives serialize → deserialize unchanged.
#include <nector/http/message.hpp>
#include <nector/transport/errors.hpp>

#include <cstdint>
#include <cstdlib>
#include <optional>
#include <span>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::optional<nector::http::HttpMessage> message;
    try {
        message = nector::http::HttpMessage::deserialize(std::as_bytes(std::span(data, size)));
    } catch (const nector::DeserializationError&) {
        return 0;
    }
    // serialize() must accept whatever deserialize() produced; an exception here is a bug.
    const nector::Bytes wire = message->serialize();
    const auto again = nector::http::HttpMessage::deserialize(wire);
    if (again != *message || again.serialize() != wire) std::abort();
    return 0;
}
