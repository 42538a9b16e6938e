#include "nector/http/message.hpp"

#include "detail/base64.hpp"
#include "detail/json_check.hpp"
#include "detail/json_parse.hpp"
#include "detail/utf8.hpp"
#include "http/message/body.hpp"
#include "nector/transport/errors.hpp"

#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>

#include <charconv>
#include <string>
#include <unordered_set>

namespace nector::http {
namespace json = boost::json;
namespace {

using http::detail::printable;
using nector::detail::kind_name;

// ---- serialize --------------------------------------------------------------------------

// Name/value pairs as a JSON object, or, when a name repeats (which an object cannot
// hold), as an array of [name, value] pairs.
template <class Pairs>
json::value pairs_to_json(const Pairs& pairs) {
    std::unordered_set<std::string_view> names;
    bool repeats = false;
    for (const auto& [name, value] : pairs) {
        if (!names.insert(name).second) {
            repeats = true;
            break;
        }
    }
    if (repeats) {
        json::array a;
        a.reserve(pairs.size());
        for (const auto& [name, value] : pairs) a.push_back(json::array{name, value});
        return a;
    }
    json::object o;
    o.reserve(pairs.size());
    for (const auto& [name, value] : pairs) o.emplace(name, value);
    return o;
}

json::value files_to_json(const std::vector<File>& files) {
    json::array a;
    a.reserve(files.size());
    for (const File& file : files) {
        json::object o;
        o["field"] = file.field;
        o["filename"] = file.filename;
        o["content_type"] = file.content_type;
        // Both are written when both are set, so that the message round-trips; sending it
        // reads the path.
        if (!file.path.empty()) o["path"] = file.path.string();
        if (file.path.empty() || !file.content.empty()) {
            o["content_base64"] = nector::detail::base64_encode(file.content);
        }
        a.push_back(std::move(o));
    }
    return a;
}

[[noreturn]] void fail_serialize(const std::string& reason) {
    throw SerializationError("HttpMessage::serialize: " + reason);
}

void check_utf8(std::string_view text, const std::string& where) {
    if (const auto bad = nector::detail::find_invalid_utf8(text);
        bad != nector::detail::utf8_valid) {
        fail_serialize(where + " is not valid UTF-8 (byte " + std::to_string(bad) +
                       "), which JSON text must be");
    }
}

template <class Pairs>
void check_pairs_utf8(const Pairs& pairs, const std::string& path) {
    std::size_t i = 0;
    for (const auto& [name, value] : pairs) {
        const std::string where = path + "[" + std::to_string(i++) + "]";
        check_utf8(name, where + " name");
        check_utf8(value, where + " value");
    }
}

// Refuses what JSON text cannot hold, naming where it is.
void check_encodable(const HttpMessage& m) {
    check_utf8(m.method, "payload.method");
    check_utf8(m.url, "payload.url");
    check_pairs_utf8(m.headers, "headers");
    check_pairs_utf8(m.params, "payload.params");
    if (m.json) {
        // Keys in the path are escaped: one of them may be the invalid UTF-8.
        std::string path = "payload.json";
        if (nector::detail::find_non_finite(*m.json, path)) {
            fail_serialize(printable(path) + " is NaN or infinite, which JSON cannot represent");
        }
        if (nector::detail::find_non_utf8(*m.json, path)) {
            fail_serialize(printable(path) + " is not valid UTF-8, which JSON text must be");
        }
    }
    if (m.producer) {
        fail_serialize("payload has a producer body, which cannot be serialized (send it instead)");
    }
    check_utf8(m.content_path.string(), "payload.content_path");
    check_pairs_utf8(m.form, "payload.data");
    for (std::size_t i = 0; i < m.files.size(); ++i) {
        const std::string where = "payload.files[" + std::to_string(i) + "].";
        check_utf8(m.files[i].field, where + "field");
        check_utf8(m.files[i].filename, where + "filename");
        check_utf8(m.files[i].content_type, where + "content_type");
        check_utf8(m.files[i].path.string(), where + "path");
    }
}

// ---- deserialize ------------------------------------------------------------------------

[[noreturn]] void fail(const std::string& reason) {
    throw DeserializationError("HttpMessage::deserialize: " + reason);
}

std::string got(const json::value& v) { return ", got " + std::string(kind_name(v.kind())); }

std::string member_path(const std::string& path, json::string_view key) {
    return path + "." + printable(std::string_view(key.data(), key.size()));
}

std::string to_std(const json::string& s) { return {s.data(), s.size()}; }

// Which values a field list accepts besides strings.
enum class Values {
    strings, ///< strings only
    scalars, ///< also numbers and booleans, written as their JSON text (headers)
};

std::string field_value(const json::value& v, const std::string& path, Values values) {
    if (const auto* s = v.if_string()) return to_std(*s);
    if (values == Values::scalars) {
        switch (v.kind()) {
            case json::kind::bool_:
                return v.get_bool() ? "true" : "false";
            case json::kind::int64:
                return std::to_string(v.get_int64());
            case json::kind::uint64:
                return std::to_string(v.get_uint64());
            case json::kind::double_: {
                // The shortest text that reads back as the same double.
                char text[32];
                const auto end = std::to_chars(std::begin(text), std::end(text), v.get_double());
                return {std::begin(text), end.ptr};
            }
            default:
                fail(path + " must be a string, number or boolean" + got(v));
        }
    }
    fail(path + " must be a string" + got(v));
}

// Name/value pairs from an object or an array of [name, value] pairs, in order.
template <class Add>
void read_pairs(const json::value& v, const std::string& path, Values values, const Add& add) {
    if (const auto* o = v.if_object()) {
        for (const auto& [key, value] : *o) {
            add(std::string(key.data(), key.size()),
                field_value(value, member_path(path, key), values));
        }
    } else if (const auto* a = v.if_array()) {
        for (std::size_t i = 0; i < a->size(); ++i) {
            const auto* pair = (*a)[i].if_array();
            if (pair == nullptr || pair->size() != 2 || !(*pair)[0].is_string() ||
                !(*pair)[1].is_string()) {
                fail(path + "[" + std::to_string(i) + "] must be a [name, value] pair of strings");
            }
            add(to_std((*pair)[0].get_string()), to_std((*pair)[1].get_string()));
        }
    } else {
        fail(path + " must be an object or an array of [name, value] pairs" + got(v));
    }
}

Fields read_fields(const json::value& v, const std::string& path) {
    Fields fields;
    read_pairs(v, path, Values::strings, [&](std::string name, std::string value) {
        fields.emplace_back(std::move(name), std::move(value));
    });
    return fields;
}

// The string member `key` of `o`, or nullptr when there is none.
const json::string* string_member(const json::object& o, std::string_view key,
                                  const std::string& path) {
    const json::value* v = o.if_contains(key);
    if (v == nullptr) return nullptr;
    if (!v->is_string()) fail(path + "." + std::string(key) + " must be a string" + got(*v));
    return &v->get_string();
}

Bytes decode_base64(const json::string& text, const std::string& path) {
    auto bytes = nector::detail::base64_decode(std::string_view(text.data(), text.size()));
    if (!bytes) {
        fail(path + " is not valid base64 (RFC 4648, standard alphabet, padded, canonical)");
    }
    return std::move(*bytes);
}

std::vector<File> read_files(const json::value& v) {
    const std::string path = "payload.files";
    const auto* a = v.if_array();
    if (a == nullptr) fail(path + " must be an array of objects" + got(v));
    std::vector<File> files;
    files.reserve(a->size());
    for (std::size_t i = 0; i < a->size(); ++i) {
        const std::string where = path + "[" + std::to_string(i) + "]";
        const auto* o = (*a)[i].if_object();
        if (o == nullptr) fail(where + " must be an object" + got((*a)[i]));
        File file;
        if (const auto* s = string_member(*o, "field", where)) file.field = to_std(*s);
        if (const auto* s = string_member(*o, "filename", where)) file.filename = to_std(*s);
        if (const auto* s = string_member(*o, "content_type", where))
            file.content_type = to_std(*s);
        if (const auto* s = string_member(*o, "path", where)) file.path = to_std(*s);
        if (const auto* s = string_member(*o, "content_base64", where)) {
            file.content = decode_base64(*s, where + ".content_base64");
        }
        files.push_back(std::move(file));
    }
    return files;
}

void read_payload(json::object& p, HttpMessage& m) {
    const std::string path = "payload";
    if (const auto* s = string_member(p, "method", path)) m.method = to_std(*s);
    if (const auto* s = string_member(p, "url", path)) m.url = to_std(*s);
    if (const auto* v = p.if_contains("params")) m.params = read_fields(*v, "payload.params");
    if (auto* v = p.if_contains("json")) m.json = std::move(*v);
    if (const auto* v = p.if_contains("data")) m.form = read_fields(*v, "payload.data");
    if (const auto* v = p.if_contains("files")) m.files = read_files(*v);
    const auto* base64 = string_member(p, "content_base64", path);
    // pynector writes a text body as "content"; it is taken as its UTF-8 bytes.
    const auto* text = string_member(p, "content", path);
    if (base64 != nullptr && text != nullptr) {
        fail("payload has both content_base64 and content; a message has one raw body");
    }
    if (base64 != nullptr) m.content = decode_base64(*base64, "payload.content_base64");
    if (text != nullptr) m.content = to_bytes(std::string_view(text->data(), text->size()));
    if (const auto* s = string_member(p, "content_path", path)) m.content_path = to_std(*s);
}

} // namespace

json::object HttpMessage::get_payload() const {
    json::object p;
    p["method"] = method;
    p["url"] = url;
    if (!params.empty()) p["params"] = pairs_to_json(params);
    if (json) p["json"] = *json;
    if (!form.empty()) p["data"] = pairs_to_json(form);
    if (!files.empty()) p["files"] = files_to_json(files);
    // An engaged but empty content is written too: it differs from no content.
    if (content) p["content_base64"] = nector::detail::base64_encode(*content);
    if (!content_path.empty()) p["content_path"] = content_path.string();
    return p;
}

Bytes HttpMessage::serialize() const {
    check_encodable(*this);
    json::object envelope;
    envelope["headers"] = pairs_to_json(headers);
    envelope["payload"] = get_payload();
    return to_bytes(json::serialize(envelope));
}

HttpMessage HttpMessage::deserialize(std::span<const std::byte> data) {
    const std::string_view text = as_string_view(data);
    auto [root, ec, used] = nector::detail::parse_json(text, max_depth);
    if (ec) {
        fail("invalid JSON at byte " + std::to_string(used) + " of " + std::to_string(text.size()) +
             ": " + ec.message());
    }
    if (!root.is_object()) fail("expected a JSON object at the top level" + got(root));
    // Numbers too large for a double parse as infinity, which could not be serialized
    // again; refuse them so that every accepted message round-trips.
    if (std::string path = "message"; nector::detail::find_non_finite(root, path)) {
        fail(path + " is a number out of the range of a double");
    }
    json::object& top = root.get_object();
    HttpMessage m;
    if (const auto* h = top.if_contains("headers")) {
        read_pairs(*h, "headers", Values::scalars, [&](std::string name, std::string value) {
            m.headers.add(std::move(name), std::move(value));
        });
    }
    if (auto* p = top.if_contains("payload")) {
        if (!p->is_object()) fail("payload must be an object" + got(*p));
        read_payload(p->get_object(), m);
    }
    return m;
}

} // namespace nector::http
