#include "nector/http/message.hpp"

#include "nector/transport/errors.hpp"

// Internal: the tests reach src/ by path, as the test target does not see its includes.
#include "detail/base64.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <cstdlib>
#include <limits>
#include <string>
#include <vector>

namespace nector::http {
namespace json = boost::json;
namespace {

HttpMessage from(std::string_view text) { return HttpMessage::deserialize(as_bytes(text)); }

std::string text_of(const Bytes& b) { return std::string(as_string_view(b)); }

Bytes all_byte_values() {
    Bytes b;
    for (int i = 0; i < 256; ++i) b.push_back(static_cast<std::byte>(i));
    return b;
}

// ---- base64 ---------------------------------------------------------------------------------

TEST(Base64, Rfc4648TestVectors) {
    const std::pair<std::string_view, std::string_view> vectors[] = {
        {"", ""},
        {"f", "Zg=="},
        {"fo", "Zm8="},
        {"foo", "Zm9v"},
        {"foob", "Zm9vYg=="},
        {"fooba", "Zm9vYmE="},
        {"foobar", "Zm9vYmFy"},
    };
    for (const auto& [plain, encoded] : vectors) {
        EXPECT_EQ(nector::detail::base64_encode(as_bytes(plain)), encoded) << plain;
        const auto decoded = nector::detail::base64_decode(encoded);
        ASSERT_TRUE(decoded.has_value()) << encoded;
        EXPECT_EQ(as_string_view(*decoded), plain);
    }
}

TEST(Base64, EveryByteAndLengthRoundTrips) {
    const Bytes all = all_byte_values();
    for (std::size_t length = 0; length <= all.size(); ++length) {
        for (std::size_t start : {std::size_t{0}, std::size_t{1}, std::size_t{2}}) {
            if (start + length > all.size()) continue;
            const std::span<const std::byte> input(all.data() + start, length);
            const std::string encoded = nector::detail::base64_encode(input);
            EXPECT_EQ(encoded.size(), (length + 2) / 3 * 4);
            const auto decoded = nector::detail::base64_decode(encoded);
            ASSERT_TRUE(decoded.has_value()) << encoded;
            EXPECT_TRUE(std::equal(decoded->begin(), decoded->end(), input.begin(), input.end()))
                << encoded;
        }
    }
    EXPECT_EQ(nector::detail::base64_encode(to_bytes("\xFB\xFF\xBF")), "+/+/");
}

TEST(Base64, DecodeAllocatesOnlyTheOutput) {
    const auto decoded = nector::detail::base64_decode("Zm9vYmE=");
    ASSERT_TRUE(decoded.has_value());
    EXPECT_EQ(decoded->size(), 5u);
    EXPECT_EQ(decoded->capacity(), 5u);
}

class Base64BadInput : public ::testing::TestWithParam<std::pair<const char*, std::string>> {};

TEST_P(Base64BadInput, IsRefused) {
    EXPECT_FALSE(nector::detail::base64_decode(GetParam().second).has_value());
}

INSTANTIATE_TEST_SUITE_P(Base64, Base64BadInput,
                         ::testing::Values(std::pair{"short_pad", std::string("Zg=")},
                                           std::pair{"unpadded", std::string("Zg")},
                                           std::pair{"one_char", std::string("Z")},
                                           std::pair{"three_pads", std::string("Z===")},
                                           std::pair{"all_pads", std::string("====")},
                                           std::pair{"pad_inside", std::string("Zg==Zg==")},
                                           std::pair{"pad_in_quad", std::string("Zm=8")},
                                           std::pair{"leading_pad", std::string("=Zm8")},
                                           std::pair{"noncanonical_two_pads", std::string("Zh==")},
                                           std::pair{"noncanonical_one_pad", std::string("Zm9=")},
                                           std::pair{"url_safe_minus", std::string("Z-8=")},
                                           std::pair{"url_safe_underscore", std::string("Zm_v")},
                                           std::pair{"space", std::string("Zm 8")},
                                           std::pair{"newline", std::string("Zm9v\nYmFy")},
                                           std::pair{"trailing_newline", std::string("Zm8=\n")},
                                           std::pair{"nul", std::string("Zm8\0", 4)},
                                           std::pair{"non_ascii", std::string("\xC3\xA9Zm")}),
                         [](const auto& p) { return std::string(p.param.first); });

// ---- the envelope ---------------------------------------------------------------------------

TEST(HttpMessage, SerializesTheEnvelope) {
    const HttpMessage m{.method = "POST",
                        .url = "/post?x=1",
                        .headers = {{"X-Id", "7"}, {"Accept", "*/*"}},
                        .params = {{"a", "1"}, {"b", "two"}},
                        .json = json::parse(R"({"k":[1,2.5,"s",null,true]})")};
    EXPECT_EQ(text_of(m.serialize()),
              R"({"headers":{"X-Id":"7","Accept":"*/*"},"payload":{"method":"POST",)"
              R"("url":"/post?x=1","params":{"a":"1","b":"two"},)"
              R"("json":{"k":[1,2.5E0,"s",null,true]}}})");
    EXPECT_EQ(HttpMessage::content_type, "application/json");
}

TEST(HttpMessage, DefaultMessageWritesOnlyMethodAndUrl) {
    EXPECT_EQ(text_of(HttpMessage{}.serialize()),
              R"({"headers":{},"payload":{"method":"GET","url":""}})");
}

TEST(HttpMessage, RepeatedNamesAreWrittenAsPairs) {
    const HttpMessage m{.url = "/",
                        .headers = {{"Set-Cookie", "a=1"}, {"Set-Cookie", "b=2"}},
                        .params = {{"a", "1"}, {"b", "x"}, {"a", "2"}},
                        .form = {{"A", "1"}, {"a", "2"}}};
    EXPECT_EQ(text_of(m.serialize()),
              R"({"headers":[["Set-Cookie","a=1"],["Set-Cookie","b=2"]],)"
              R"("payload":{"method":"GET","url":"/","params":[["a","1"],["b","x"],["a","2"]],)"
              R"("data":{"A":"1","a":"2"}}})");
}

TEST(HttpMessage, BytesAreBase64) {
    HttpMessage m{.method = "PUT", .content = to_bytes(std::string("\0\xFF\x01", 3))};
    m.files.push_back(File{.field = "f", .filename = "a.bin", .content = to_bytes("hi")});
    m.files.push_back(
        File{.field = "g", .filename = "", .content_type = "text/plain", .path = "/tmp/x y.txt"});
    EXPECT_EQ(text_of(m.serialize()),
              R"({"headers":{},"payload":{"method":"PUT","url":"","files":[)"
              R"({"field":"f","filename":"a.bin","content_type":"application/octet-stream",)"
              R"("content_base64":"aGk="},)"
              R"({"field":"g","filename":"","content_type":"text/plain","path":"/tmp/x y.txt"}],)"
              R"("content_base64":"AP8B"}})");
}

TEST(HttpMessage, GetPayloadIsTheEnvelopesPayload) {
    const HttpMessage m{.method = "DELETE",
                        .url = "/x",
                        .params = {{"q", "1"}},
                        .json = nullptr,
                        .form = {{"f", "v"}},
                        .content = Bytes{}};
    const json::value envelope = json::parse(text_of(m.serialize()));
    EXPECT_EQ(json::value(m.get_payload()), envelope.at("payload"));
    EXPECT_EQ(&m.get_headers(), &m.headers);
}

// Every combination of a few values of each field survives serialize → deserialize.
TEST(HttpMessage, EveryCombinationRoundTrips) {
    const std::vector<Headers> headers = {
        {}, {{"X-Id", "7"}}, {{"A", "1"}, {"a", "2"}}, {{"Set-Cookie", "1"}, {"Set-Cookie", "2"}}};
    const std::vector<Fields> fields = {
        {}, {{"q", "ünïcödé \u2028 \"\\ \x01"}, {"", ""}}, {{"a", "1"}, {"b", "2"}, {"a", "3"}}};
    const std::vector<std::optional<json::value>> jsons = {
        std::nullopt, json::value(nullptr), json::value(0.1),
        json::parse(R"({"nested":{"deep":[[[{"x":-1}]]]},"k":"v","n":18446744073709551615})")};
    std::vector<std::vector<File>> files = {{}};
    files.push_back({File{.field = "f", .filename = "a.txt", .content = to_bytes("text")}});
    files.push_back({File{.field = "", .filename = "", .content_type = ""},
                     File{.field = "p", .filename = "p.bin", .path = "/tmp/p.bin"},
                     File{.field = "both", .content = all_byte_values(), .path = "rel/x"}});
    const std::vector<std::optional<Bytes>> contents = {std::nullopt, Bytes{}, all_byte_values()};
    int count = 0;
    for (const auto& h : headers) {
        for (const auto& p : fields) {
            for (const auto& j : jsons) {
                for (const auto& form : fields) {
                    for (const auto& f : files) {
                        for (const auto& c : contents) {
                            const HttpMessage m{.method = count % 2 ? "POST" : "M-SEARCH",
                                                .url = "http://h/p?q#f",
                                                .headers = h,
                                                .params = p,
                                                .json = j,
                                                .form = form,
                                                .files = f,
                                                .content = c};
                            const Bytes wire = m.serialize();
                            const HttpMessage back = HttpMessage::deserialize(wire);
                            ASSERT_EQ(back, m) << text_of(wire);
                            ASSERT_EQ(back.serialize(), wire);
                            ++count;
                        }
                    }
                }
            }
        }
    }
    EXPECT_EQ(count, 4 * 3 * 4 * 3 * 3 * 3);
}

TEST(HttpMessage, DoublesRoundTripExactly) {
    for (const char* text : {"7.500000000000001E301", "5.0999999999999995E61", "0.1",
                             "2.2250738585072014E-308", "5e-324", "-0.0"}) {
        const HttpMessage m = from(std::string(R"({"payload":{"json":)") + text + "}}");
        ASSERT_TRUE(m.json && m.json->is_double()) << text;
        EXPECT_EQ(m.json->get_double(), std::strtod(text, nullptr)) << text;
        EXPECT_EQ(HttpMessage::deserialize(m.serialize()), m) << text;
    }
}

TEST(HttpMessage, MissingFieldsTakeTheirDefaults) {
    EXPECT_EQ(from("{}"), HttpMessage{});
    EXPECT_EQ(from(R"({"headers":{},"payload":{}})"), HttpMessage{});
    EXPECT_EQ(from(R"({"payload":{"url":"/x"}})").method, "GET");
    EXPECT_EQ(from(R"({"payload":{"method":"PUT"}})").url, "");
    const HttpMessage file = from(R"({"payload":{"files":[{}]}})");
    ASSERT_EQ(file.files.size(), 1u);
    EXPECT_EQ(file.files[0], File{});
}

TEST(HttpMessage, JsonNullIsABody) {
    const HttpMessage m = from(R"({"payload":{"json":null}})");
    ASSERT_TRUE(m.json.has_value());
    EXPECT_TRUE(m.json->is_null());
    EXPECT_FALSE(from(R"({"payload":{}})").json.has_value());
}

TEST(HttpMessage, UnknownKeysAreIgnored) {
    const HttpMessage m =
        from(R"({"v":2,"headers":{"a":"b"},"payload":{"method":"POST","extra":[1],)"
             R"("files":[{"field":"f","size":3,"content_base64":"AAE="}]},"trailer":{}})");
    EXPECT_EQ(m, (HttpMessage{.method = "POST",
                              .headers = {{"a", "b"}},
                              .files = {File{.field = "f",
                                             .content = to_bytes(std::string("\0\x01", 2))}}}));
}

TEST(HttpMessage, AcceptsObjectsAndPairArrays) {
    const HttpMessage objects =
        from(R"({"headers":{"A":"1","B":"2"},"payload":{"params":{"p":"1"},"data":{"d":"x"}}})");
    const HttpMessage arrays = from(
        R"({"headers":[["A","1"],["B","2"]],"payload":{"params":[["p","1"]],"data":[["d","x"]]}})");
    EXPECT_EQ(objects, arrays);
    EXPECT_EQ(objects.headers, (Headers{{"A", "1"}, {"B", "2"}}));
    EXPECT_EQ(objects.params, (Fields{{"p", "1"}}));
    EXPECT_EQ(objects.form, (Fields{{"d", "x"}}));
    EXPECT_EQ(from(R"({"headers":[],"payload":{"params":{},"data":[]}})"), HttpMessage{});
}

TEST(HttpMessage, HeaderScalarsBecomeTheirJsonText) {
    const HttpMessage m =
        from(R"({"headers":{"i":7,"neg":-3,"u":18446744073709551615,"d":2.5,"e":1e300,)"
             R"("t":true,"f":false,"s":"x"}})");
    EXPECT_EQ(m.headers, (Headers{{"i", "7"},
                                  {"neg", "-3"},
                                  {"u", "18446744073709551615"},
                                  {"d", "2.5"},
                                  {"e", "1e+300"},
                                  {"t", "true"},
                                  {"f", "false"},
                                  {"s", "x"}}));
    // Stringified, they round-trip as strings from then on.
    EXPECT_EQ(HttpMessage::deserialize(m.serialize()), m);
}

TEST(HttpMessage, PynectorTextContentIsAccepted) {
    const HttpMessage m = from(R"({"payload":{"content":"héllo"}})");
    EXPECT_EQ(m.content, to_bytes("héllo"));
    EXPECT_EQ(text_of(m.serialize()),
              R"({"headers":{},"payload":{"method":"GET","url":"","content_base64":"aMOpbGxv"}})");
}

TEST(HttpMessage, DepthLimitIsExactlyMaxDepth) {
    const auto nested = [](std::size_t depth) {
        // The top-level object and "payload" are two levels.
        return R"({"payload":{"json":)" + std::string(depth - 2, '[') +
               std::string(depth - 2, ']') + "}}";
    };
    EXPECT_NO_THROW((void)from(nested(HttpMessage::max_depth)));
    EXPECT_THROW((void)from(nested(HttpMessage::max_depth + 1)), DeserializationError);
}

// ---- serialize refuses what JSON cannot hold ------------------------------------------------

struct BadMessage {
    const char* name;
    HttpMessage message;
    const char* reason; // a fragment the error message must contain
};

class HttpMessageUnserializable : public ::testing::TestWithParam<BadMessage> {};

TEST_P(HttpMessageUnserializable, ThrowsSerializationErrorNamingTheField) {
    const auto& c = GetParam();
    try {
        (void)c.message.serialize();
        FAIL() << "serialized " << c.name;
    } catch (const SerializationError& e) {
        EXPECT_EQ(e.code(), errc::serialization_failed);
        EXPECT_NE(std::string(e.what()).find("HttpMessage::serialize: "), std::string::npos);
        EXPECT_NE(std::string(e.what()).find(c.reason), std::string::npos) << e.what();
    }
}

HttpMessage with_json(json::value v) { return HttpMessage{.json = std::move(v)}; }

INSTANTIATE_TEST_SUITE_P(
    HttpMessage, HttpMessageUnserializable,
    ::testing::Values(
        BadMessage{"nan", with_json(json::array{1, std::numeric_limits<double>::quiet_NaN()}),
                   "payload.json[1] is NaN or infinite"},
        BadMessage{"infinity",
                   with_json(json::object{
                       {"a", json::object{{"b", std::numeric_limits<double>::infinity()}}}}),
                   "payload.json.a.b is NaN or infinite"},
        BadMessage{"json_string_utf8", with_json(json::array{"ok", "\xC3\x28"}),
                   "payload.json[1] is not valid UTF-8"},
        BadMessage{"json_key_utf8", with_json(json::object{{"\xFF", 1}}),
                   "payload.json.\\xFF is not valid UTF-8"},
        BadMessage{"method_utf8", HttpMessage{.method = "G\x80T"},
                   "payload.method is not valid UTF-8 (byte 1)"},
        BadMessage{"url_utf8", HttpMessage{.url = "/caf\xE9"},
                   "payload.url is not valid UTF-8 (byte 4)"},
        BadMessage{"header_value_utf8", HttpMessage{.headers = {{"a", "b"}, {"X", "\xED\xA0\x80"}}},
                   "headers[1] value is not valid UTF-8"},
        BadMessage{"param_name_utf8", HttpMessage{.params = {{"\xC0\xAF", "v"}}},
                   "payload.params[0] name is not valid UTF-8"},
        BadMessage{"form_value_utf8", HttpMessage{.form = {{"n", "\xF5"}}},
                   "payload.data[0] value is not valid UTF-8"},
        BadMessage{"file_field_utf8", HttpMessage{.files = {File{.field = "\xFE"}}},
                   "payload.files[0].field is not valid UTF-8"},
        BadMessage{"file_filename_utf8", HttpMessage{.files = {File{}, File{.filename = "\x80"}}},
                   "payload.files[1].filename is not valid UTF-8"},
        BadMessage{"file_content_type_utf8", HttpMessage{.files = {File{.content_type = "\xFF"}}},
                   "payload.files[0].content_type is not valid UTF-8"},
        BadMessage{"file_path_utf8", HttpMessage{.files = {File{.path = "/tmp/\xFF"}}},
                   "payload.files[0].path is not valid UTF-8"}),
    [](const auto& p) { return std::string(p.param.name); });

// ---- deserialize refuses what is not an envelope --------------------------------------------

struct BadInput {
    const char* name;
    std::string bytes;
    const char* reason; // a fragment the error message must contain
};

class HttpMessageBadInput : public ::testing::TestWithParam<BadInput> {};

TEST_P(HttpMessageBadInput, ThrowsDeserializationErrorWithReason) {
    const auto& c = GetParam();
    try {
        (void)from(c.bytes);
        FAIL() << "accepted " << c.name;
    } catch (const DeserializationError& e) {
        EXPECT_EQ(e.code(), errc::deserialization_failed);
        EXPECT_NE(std::string(e.what()).find("HttpMessage::deserialize: "), std::string::npos);
        EXPECT_NE(std::string(e.what()).find(c.reason), std::string::npos) << e.what();
    }
}

INSTANTIATE_TEST_SUITE_P(
    HttpMessage, HttpMessageBadInput,
    ::testing::Values(
        BadInput{"empty", "", "invalid JSON at byte 0 of 0"},
        BadInput{"truncated", R"({"payload":{"url":)", "invalid JSON"},
        BadInput{"trailing", R"({} [])", "invalid JSON at byte 3 of 5"},
        BadInput{"bad_utf8", std::string("{\"payload\":{\"url\":\"\xC3\x28\"}}"), "invalid JSON"},
        BadInput{"lone_surrogate", R"({"payload":{"url":"\ud800"}})", "invalid JSON"},
        BadInput{"nul_byte", std::string("{}\0", 3), "invalid JSON"},
        BadInput{"top_array", "[]", "expected a JSON object at the top level, got an array"},
        BadInput{"top_string", R"("GET")", "got a string"},
        BadInput{"huge_number", R"({"payload":{"json":{"x":[1e400]}}})",
                 "message.payload.json.x[0] is a number out of the range of a double"},
        BadInput{"huge_header", R"({"headers":{"h":-1e999}})",
                 "message.headers.h is a number out of the range of a double"},
        BadInput{"headers_string", R"({"headers":"a: b"})",
                 "headers must be an object or an array of [name, value] pairs, got a string"},
        BadInput{"headers_null", R"({"headers":null})", "got null"},
        BadInput{"header_null", R"({"headers":{"a":"1","X-Null":null}})",
                 "headers.X-Null must be a string, number or boolean, got null"},
        BadInput{"header_object", R"({"headers":{"a":{}}})",
                 "headers.a must be a string, number or boolean, got an object"},
        BadInput{"header_array_value", R"({"headers":{"a":["1"]}})", "got an array"},
        BadInput{"header_key_escaped", "{\"headers\":{\"a\\r\\nb\":null}}",
                 "headers.a\\r\\nb must be"},
        BadInput{"header_pair_short", R"({"headers":[["a","1"],["b"]]})",
                 "headers[1] must be a [name, value] pair of strings"},
        BadInput{"header_pair_long", R"({"headers":[["a","1","2"]]})",
                 "headers[0] must be a [name, value] pair of strings"},
        BadInput{"header_pair_number", R"({"headers":[["a",1]]})",
                 "headers[0] must be a [name, value] pair of strings"},
        BadInput{"header_pair_not_array", R"({"headers":[{"a":"1"}]})",
                 "headers[0] must be a [name, value] pair of strings"},
        BadInput{"payload_array", R"({"payload":[]})", "payload must be an object, got an array"},
        BadInput{"payload_null", R"({"payload":null})", "payload must be an object, got null"},
        BadInput{"method_number", R"({"payload":{"method":1}})",
                 "payload.method must be a string, got a number"},
        BadInput{"method_null", R"({"payload":{"method":null}})",
                 "payload.method must be a string, got null"},
        BadInput{"url_bool", R"({"payload":{"url":true}})",
                 "payload.url must be a string, got a boolean"},
        BadInput{"params_string", R"({"payload":{"params":"a=1"}})",
                 "payload.params must be an object or an array of [name, value] pairs, got a "
                 "string"},
        BadInput{"params_pair", R"({"payload":{"params":[["a","1"],["b","2"],["c",3]]}})",
                 "payload.params[2] must be a [name, value] pair of strings"},
        BadInput{"params_number_value", R"({"payload":{"params":{"a":1}}})",
                 "payload.params.a must be a string, got a number"},
        BadInput{"data_bool_value", R"({"payload":{"data":{"a":"x","b":false}}})",
                 "payload.data.b must be a string, got a boolean"},
        BadInput{"data_pair", R"({"payload":{"data":[[]]}})",
                 "payload.data[0] must be a [name, value] pair of strings"},
        BadInput{"files_object", R"({"payload":{"files":{"f":"x"}}})",
                 "payload.files must be an array of objects, got an object"},
        BadInput{"file_string", R"({"payload":{"files":[{},"x"]}})",
                 "payload.files[1] must be an object, got a string"},
        BadInput{"file_field_number", R"({"payload":{"files":[{"field":1}]}})",
                 "payload.files[0].field must be a string, got a number"},
        BadInput{"file_filename_null", R"({"payload":{"files":[{"filename":null}]}})",
                 "payload.files[0].filename must be a string, got null"},
        BadInput{"file_content_type", R"({"payload":{"files":[{"content_type":[]}]}})",
                 "payload.files[0].content_type must be a string, got an array"},
        BadInput{"file_path", R"({"payload":{"files":[{"path":{}}]}})",
                 "payload.files[0].path must be a string, got an object"},
        BadInput{"file_base64_type", R"({"payload":{"files":[{"content_base64":5}]}})",
                 "payload.files[0].content_base64 must be a string, got a number"},
        BadInput{"file_base64", R"({"payload":{"files":[{"content_base64":"Zg="}]}})",
                 "payload.files[0].content_base64 is not valid base64"},
        BadInput{"content_base64_type", R"({"payload":{"content_base64":null}})",
                 "payload.content_base64 must be a string, got null"},
        BadInput{"content_base64", R"({"payload":{"content_base64":"Zh=="}})",
                 "payload.content_base64 is not valid base64"},
        BadInput{"content_type", R"({"payload":{"content":[1]}})",
                 "payload.content must be a string, got an array"},
        BadInput{"both_contents", R"({"payload":{"content":"a","content_base64":"YQ=="}})",
                 "payload has both content_base64 and content"},
        BadInput{"too_deep",
                 R"({"payload":{"json":)" + std::string(100, '[') + std::string(100, ']') + "}}",
                 "invalid JSON"}),
    [](const auto& p) { return std::string(p.param.name); });

} // namespace
} // namespace nector::http
