// JsonMessage::deserialize on arbitrary bytes: either a DeserializationError or a
// message that survives serialize → deserialize unchanged.
#include <nector/transport/errors.hpp>
#include <nector/transport/message/json.hpp>

#include <cstdint>
#include <cstdlib>
#include <span>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::optional<nector::JsonMessage> message;
    try {
        message = nector::JsonMessage::deserialize(std::as_bytes(std::span(data, size)));
    } catch (const nector::DeserializationError&) {
        return 0;
    }
    const nector::Bytes wire = message->serialize();
    if (nector::JsonMessage::deserialize(wire) != *message) std::abort();
    return 0;
}
