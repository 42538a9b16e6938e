#include "nector/transport/message/binary.hpp"

#include "nector/transport/errors.hpp"

#include <gtest/gtest.h>

#include <string>

namespace nector {
namespace {

Bytes raw(std::initializer_list<int> values) {
    Bytes out;
    for (int v : values) out.push_back(static_cast<std::byte>(v));
    return out;
}

Bytes operator+(Bytes a, const Bytes& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

const Bytes preamble = raw({'N', 'B', 1, 0});

TEST(BinaryMessage, EncodesTheDocumentedFraming) {
    const BinaryMessage m({{"k", "v"}}, to_bytes("hi"));
    EXPECT_EQ(m.serialize(), preamble + raw({1, 1, 'k', 1, 'v', 2, 'h', 'i'}));
    EXPECT_EQ(BinaryMessage().serialize(), preamble + raw({0, 0}));
    EXPECT_EQ(BinaryMessage::content_type, "application/octet-stream");
}

TEST(BinaryMessage, LongLengthsUseMultiByteVarints) {
    const BinaryMessage m({}, Bytes(300, std::byte{0xAB}));
    const Bytes wire = m.serialize();
    ASSERT_EQ(wire.size(), 4u + 1u + 2u + 300u);
    EXPECT_EQ(wire[5], std::byte{0xAC}); // 300 = 0b10'0101100 → AC 02
    EXPECT_EQ(wire[6], std::byte{0x02});
    EXPECT_EQ(BinaryMessage::deserialize(wire), m);
}

TEST(BinaryMessage, RoundTripsExactly) {
    Bytes all;
    for (int i = 0; i < 256; ++i) all.push_back(static_cast<std::byte>(i));
    const BinaryMessage messages[] = {
        {},
        {{{"Content-Type", "text/plain"}, {"X", ""}, {"x", "dup"}, {"ü", "\u2603"}}, all},
        {{}, Bytes(100000, std::byte{0})},
    };
    for (const auto& m : messages) {
        const Bytes wire = m.serialize();
        const BinaryMessage back = BinaryMessage::deserialize(wire);
        EXPECT_EQ(back, m);
        EXPECT_EQ(back.serialize(), wire);
    }
}

TEST(BinaryMessage, SerializeRefusesWhatDeserializeWouldRefuse) {
    EXPECT_THROW((void)BinaryMessage({{"", "v"}}, {}).serialize(), SerializationError);
    EXPECT_THROW((void)BinaryMessage({{"\xFF", "v"}}, {}).serialize(), SerializationError);
    try {
        (void)BinaryMessage({{"Name", "bad\xC0\xAF"}}, {}).serialize();
        FAIL();
    } catch (const SerializationError& e) {
        EXPECT_NE(std::string(e.what()).find("value of header \"Name\""), std::string::npos);
    }
}

struct BadInput {
    const char* name;
    Bytes bytes;
    const char* reason;
};

class BinaryMessageBadInput : public ::testing::TestWithParam<BadInput> {};

TEST_P(BinaryMessageBadInput, ThrowsDeserializationErrorWithReason) {
    const auto& c = GetParam();
    try {
        (void)BinaryMessage::deserialize(c.bytes);
        FAIL() << "accepted " << c.name;
    } catch (const DeserializationError& e) {
        EXPECT_EQ(e.code(), errc::deserialization_failed);
        EXPECT_NE(std::string(e.what()).find(c.reason), std::string::npos) << e.what();
    }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, BinaryMessageBadInput,
    ::testing::Values(
        BadInput{"empty", {}, "truncated before the magic"},
        BadInput{"wrong_magic", raw({'N', 'X', 1, 0, 0, 0}), "magic"},
        BadInput{"json_text", to_bytes("{\"headers\":{}}"), "magic"},
        BadInput{"future_version", raw({'N', 'B', 2, 0, 0, 0}), "unsupported format version 2"},
        BadInput{"flags", raw({'N', 'B', 1, 4, 0, 0}), "flags must be zero"},
        BadInput{"no_count", preamble, "truncated before the header count"},
        BadInput{"no_payload_length", preamble + raw({0}), "truncated before the payload length"},
        BadInput{"absurd_count", preamble + raw({0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 0}), "cannot fit"},
        BadInput{"absurd_payload",
                 preamble + raw({0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F}),
                 "only 0 bytes remain"},
        BadInput{"overflow",
                 preamble + raw({0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F}),
                 "overflows 64 bits"},
        BadInput{"overlong_varint", preamble + raw({0x80, 0x00, 0}), "not in shortest form"},
        BadInput{"short_payload", preamble + raw({0, 5, 'a', 'b'}), "payload length is 5"},
        BadInput{"short_name", preamble + raw({1, 9, 'a', 1, 'v', 0}), "header name length is 9"},
        BadInput{"empty_name", preamble + raw({1, 0, 1, 'v', 0}), "empty header name"},
        BadInput{"bad_utf8_name", preamble + raw({1, 1, 0x80, 0, 0}), "header name is not valid"},
        BadInput{"bad_utf8_value", preamble + raw({1, 1, 'k', 2, 0xED, 0xA0, 0}),
                 "header value is not valid UTF-8"},
        BadInput{"trailing", preamble + raw({0, 0, 'x'}), "1 unexpected bytes"}),
    [](const auto& p) { return std::string(p.param.name); });

TEST(BinaryMessage, EveryTruncationIsRejected) {
    const Bytes wire = BinaryMessage({{"a", "b"}, {"cc", "dd"}}, to_bytes("payload")).serialize();
    for (std::size_t n = 0; n < wire.size(); ++n) {
        EXPECT_THROW((void)BinaryMessage::deserialize(std::span(wire).first(n)),
                     DeserializationError)
            << n;
    }
}

} // namespace
} // namespace nector
