#include "detail/json_check.hpp"

#include "detail/utf8.hpp"

#include <cmath>
#include <cstddef>

namespace nector::detail {
namespace {

namespace json = boost::json;

// Appends to `path` the location of the first value of `v` (itself included) for which
// `bad_value` is true, or of the first member whose key `bad_key` refuses.
template <class ValuePredicate, class KeyPredicate>
bool find_path(const json::value& v, std::string& path, const ValuePredicate& bad_value,
               const KeyPredicate& bad_key) {
    if (bad_value(v)) return true;
    if (const auto* a = v.if_array()) {
        for (std::size_t i = 0; i < a->size(); ++i) {
            const std::size_t mark = path.size();
            path += '[' + std::to_string(i) + ']';
            if (find_path((*a)[i], path, bad_value, bad_key)) return true;
            path.resize(mark);
        }
    } else if (const auto* o = v.if_object()) {
        for (const auto& [key, value] : *o) {
            const std::size_t mark = path.size();
            path += '.';
            path.append(key.data(), key.size());
            if (bad_key(key) || find_path(value, path, bad_value, bad_key)) return true;
            path.resize(mark);
        }
    }
    return false;
}

bool valid_utf8(json::string_view s) noexcept {
    return find_invalid_utf8(std::string_view(s.data(), s.size())) == utf8_valid;
}

} // namespace

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

bool find_non_finite(const json::value& v, std::string& path) {
    return find_path(
        v, path,
        [](const json::value& e) { return e.is_double() && !std::isfinite(e.get_double()); },
        [](json::string_view) { return false; });
}

bool find_non_utf8(const json::value& v, std::string& path) {
    return find_path(
        v, path, [](const json::value& e) { return e.is_string() && !valid_utf8(e.get_string()); },
        [](json::string_view key) { return !valid_utf8(key); });
}

} // namespace nector::detail
