#include "nector/transport/message/json.hpp"

#include "detail/json_check.hpp"
#include "detail/json_parse.hpp"
#include "nector/transport/errors.hpp"

#include <boost/json/serialize.hpp>

#include <string>

namespace nector {
namespace json = boost::json;
namespace {

[[noreturn]] void fail(const std::string& reason) {
    throw DeserializationError("JsonMessage::deserialize: " + reason);
}

} // namespace

Bytes JsonMessage::serialize() const {
    std::string path = "headers";
    if (detail::find_non_finite(json::value(headers_), path) ||
        (path = "payload", detail::find_non_finite(payload_, path))) {
        throw SerializationError("JsonMessage::serialize: " + path +
                                 " is NaN or infinite, which JSON cannot represent");
    }
    std::string text;
    text.reserve(32);
    text += R"({"headers":)";
    text += json::serialize(headers_);
    text += R"(,"payload":)";
    text += json::serialize(payload_);
    text += '}';
    return to_bytes(text);
}

JsonMessage JsonMessage::deserialize(std::span<const std::byte> data) {
    const std::string_view text = as_string_view(data);
    auto [root, ec, used] = detail::parse_json(text, max_depth);
    if (ec) {
        fail("invalid JSON at byte " + std::to_string(used) + " of " + std::to_string(text.size()) +
             ": " + ec.message());
    }
    if (!root.is_object()) {
        fail("expected a JSON object at the top level, got " +
             std::string(detail::kind_name(root.kind())));
    }
    json::object& top = root.get_object();
    // JSON numbers too large for a double parse as infinity, which could not be
    // serialized again; refuse them here so every accepted message round-trips.
    std::string path = "message";
    if (detail::find_non_finite(root, path)) {
        fail(path + " is a number out of the range of a double");
    }
    JsonMessage message;
    if (auto* headers = top.if_contains("headers")) {
        if (!headers->is_object()) {
            fail(R"("headers" must be an object, got )" +
                 std::string(detail::kind_name(headers->kind())));
        }
        message.headers_ = std::move(headers->get_object());
    }
    if (auto* payload = top.if_contains("payload")) {
        message.payload_ = std::move(*payload);
    }
    return message;
}

} // namespace nector
