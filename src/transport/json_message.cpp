#include "nector/transport/message/json.hpp"

#include "detail/json_parse.hpp"
#include "nector/transport/errors.hpp"

#include <boost/json/serialize.hpp>

#include <cmath>
#include <string>

namespace nector {
namespace {

std::string_view kind_name(json::kind k) noexcept {
    switch (k) {
        case json::kind::null:
            return "null";
        case json::kind::bool_:
            return "a boolean";
        case json::kind::int64:
        case json::kind::uint64:
        case json::kind::double_:
            return "a number";
        case json::kind::string:
            return "a string";
        case json::kind::array:
            return "an array";
        case json::kind::object:
            return "an object";
    }
    return "a value";
}

// The path (e.g. payload.items[3]) of the first NaN or infinity in `v`, if any. JSON
// has no spelling for them, so they could not survive a round trip.
bool find_non_finite(const json::value& v, std::string& path) {
    switch (v.kind()) {
        case json::kind::double_:
            return !std::isfinite(v.get_double());
        case json::kind::array: {
            const auto& a = v.get_array();
            for (std::size_t i = 0; i < a.size(); ++i) {
                const std::size_t mark = path.size();
                path += '[' + std::to_string(i) + ']';
                if (find_non_finite(a[i], path)) return true;
                path.resize(mark);
            }
            return false;
        }
        case json::kind::object:
            for (const auto& [key, value] : v.get_object()) {
                const std::size_t mark = path.size();
                path += '.';
                path.append(key.data(), key.size());
                if (find_non_finite(value, path)) return true;
                path.resize(mark);
            }
            return false;
        default:
            return false;
    }
}

[[noreturn]] void fail(const std::string& reason) {
    throw DeserializationError("JsonMessage::deserialize: " + reason);
}

} // namespace

Bytes JsonMessage::serialize() const {
    std::string path = "headers";
    if (find_non_finite(json::value(headers_), path) ||
        (path = "payload", find_non_finite(payload_, path))) {
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
        fail("expected a JSON object at the top level, got " + std::string(kind_name(root.kind())));
    }
    json::object& top = root.get_object();
    // JSON numbers too large for a double parse as infinity, which could not be
    // serialized again; refuse them here so every accepted message round-trips.
    std::string path = "message";
    if (find_non_finite(root, path)) {
        fail(path + " is a number out of the range of a double");
    }
    JsonMessage message;
    if (auto* headers = top.if_contains("headers")) {
        if (!headers->is_object()) {
            fail(R"("headers" must be an object, got )" + std::string(kind_name(headers->kind())));
        }
        message.headers_ = std::move(headers->get_object());
    }
    if (auto* payload = top.if_contains("payload")) {
        message.payload_ = std::move(*payload);
    }
    return message;
}

} // namespace nector
