#include "nector/transport/message/json.hpp"

#include "nector/transport/errors.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <cstdlib>
#include <limits>
#include <string>

namespace nector {
namespace json = boost::json;
namespace {

JsonMessage from(std::string_view text) { return JsonMessage::deserialize(as_bytes(text)); }

std::string text_of(const Bytes& b) { return std::string(as_string_view(b)); }

TEST(JsonMessage, SerializesTheTds1Envelope) {
    JsonMessage m({{"X-Id", "7"}, {"retries", 2}}, json::parse(R"({"a":[1,2.5,"s",null,true]})"));
    EXPECT_EQ(text_of(m.serialize()),
              R"({"headers":{"X-Id":"7","retries":2},"payload":{"a":[1,2.5E0,"s",null,true]}})");
    EXPECT_EQ(JsonMessage::content_type, "application/json");
}

TEST(JsonMessage, RoundTripsExactly) {
    const json::value payloads[] = {nullptr,
                                    true,
                                    -1,
                                    std::numeric_limits<std::int64_t>::min(),
                                    std::numeric_limits<std::uint64_t>::max(),
                                    0.1,
                                    -0.0,
                                    1e300,
                                    5e-324,
                                    "",
                                    "ünïcödé \u2028 \"quoted\" \\ \x01",
                                    json::array{},
                                    json::object{},
                                    json::parse(R"({"nested":{"deep":[[[{"x":1}]]]},"k":"v"})")};
    for (const auto& payload : payloads) {
        const JsonMessage m({{"h", "v"}, {"n", 1.5}, {"arr", json::array{1, "2"}}}, payload);
        const JsonMessage back = JsonMessage::deserialize(m.serialize());
        EXPECT_EQ(back, m) << json::serialize(payload);
        EXPECT_EQ(back.serialize(), m.serialize());
    }
}

TEST(JsonMessage, DoublesParseExactly) {
    // Boost.JSON 1.81's own parser reads these one or two ulps off.
    for (const char* text : {"7.500000000000001E301", "5.910000000000001E302",
                             "5.0999999999999995E61", "0.1", "2.2250738585072014E-308"}) {
        const JsonMessage m = from(std::string(R"({"payload":)") + text + "}");
        ASSERT_TRUE(m.payload().is_double()) << text;
        EXPECT_EQ(m.payload().get_double(), std::strtod(text, nullptr)) << text;
        EXPECT_EQ(JsonMessage::deserialize(m.serialize()), m) << text;
    }
}

TEST(JsonMessage, MissingFieldsDefaultAndExtraKeysAreIgnored) {
    const JsonMessage empty = from("{}");
    EXPECT_TRUE(empty.headers().empty());
    EXPECT_TRUE(empty.payload().is_null());
    const JsonMessage extra = from(R"({"payload":3,"other":1})");
    EXPECT_EQ(extra.payload(), 3);
}

TEST(JsonMessage, RefusesNonFiniteNumbersOnSerialize) {
    JsonMessage m({}, json::parse(R"({"a":[1,{"b":0}]})"));
    m.payload().at("a").at(1).at("b") = std::numeric_limits<double>::quiet_NaN();
    try {
        (void)m.serialize();
        FAIL() << "expected SerializationError";
    } catch (const SerializationError& e) {
        EXPECT_EQ(e.code(), errc::serialization_failed);
        EXPECT_NE(std::string(e.what()).find("payload.a[1].b"), std::string::npos) << e.what();
    }
    JsonMessage h({{"x", std::numeric_limits<double>::infinity()}}, nullptr);
    EXPECT_THROW((void)h.serialize(), SerializationError);
}

struct BadInput {
    const char* name;
    std::string bytes;
    const char* reason; // a fragment the error message must contain
};

class JsonMessageBadInput : public ::testing::TestWithParam<BadInput> {};

TEST_P(JsonMessageBadInput, ThrowsDeserializationErrorWithReason) {
    const auto& c = GetParam();
    try {
        (void)from(c.bytes);
        FAIL() << "accepted " << c.name;
    } catch (const DeserializationError& e) {
        EXPECT_EQ(e.code(), errc::deserialization_failed);
        EXPECT_NE(std::string(e.what()).find("JsonMessage::deserialize"), std::string::npos);
        EXPECT_NE(std::string(e.what()).find(c.reason), std::string::npos) << e.what();
    }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, JsonMessageBadInput,
    ::testing::Values(
        BadInput{"empty", "", "invalid JSON at byte 0"},
        BadInput{"truncated", R"({"headers":{"a":)", "invalid JSON"},
        BadInput{"trailing", R"({} {})", "invalid JSON at byte 3"},
        BadInput{"array", "[1,2]", "got an array"}, BadInput{"string", R"("x")", "got a string"},
        BadInput{"headers_array", R"({"headers":[1]})",
                 R"("headers" must be an object, got an array)"},
        BadInput{"headers_null", R"({"headers":null})", "got null"},
        BadInput{"bad_utf8", std::string("{\"payload\":\"\xC3\x28\"}"), "invalid JSON"},
        BadInput{"surrogate_utf8", std::string("{\"payload\":\"\xED\xA0\x80\"}"), "invalid JSON"},
        BadInput{"too_deep", std::string(100, '[') + std::string(100, ']'), "invalid JSON"},
        BadInput{"huge_number", R"({"payload":{"x":[1e400]}})",
                 "message.payload.x[0] is a number out of the range of a double"},
        BadInput{"nul_byte", std::string("{\"payload\":1}\0", 14), "invalid JSON"}),
    [](const auto& p) { return std::string(p.param.name); });

TEST(JsonMessage, DepthLimitIsExactlyMaxDepth) {
    const std::string ok = R"({"payload":)" + std::string(JsonMessage::max_depth - 1, '[') +
                           std::string(JsonMessage::max_depth - 1, ']') + "}";
    EXPECT_NO_THROW((void)from(ok));
    const std::string deep = R"({"payload":)" + std::string(JsonMessage::max_depth, '[') +
                             std::string(JsonMessage::max_depth, ']') + "}";
    EXPECT_THROW((void)from(deep), DeserializationError);
}

} // namespace
} // namespace nector
