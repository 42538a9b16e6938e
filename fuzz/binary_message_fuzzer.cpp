// BinaryMessage::deserialize on arbitrary bytes: either a DeserializationError or a
// message whose serialize() gives back exactly the input (the framing is canonical).
#include <nector/transport/errors.hpp>
#include <nector/transport/message/binary.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <span>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto input = std::as_bytes(std::span(data, size));
    std::optional<nector::BinaryMessage> message;
    try {
        message = nector::BinaryMessage::deserialize(input);
    } catch (const nector::DeserializationError&) {
        return 0;
    }
    const nector::Bytes wire = message->serialize();
    if (!std::equal(wire.begin(), wire.end(), input.begin(), input.end())) std::abort();
    return 0;
}
