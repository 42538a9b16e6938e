// Every concrete type models its concept; types that miss a part do not.
#include "nector/transport/protocol.hpp"

#include "nector/transport/any_transport.hpp"
#include "nector/transport/message/binary.hpp"
#include "nector/transport/message/json.hpp"
#include "nector/transport/mock.hpp"

#include <gtest/gtest.h>

namespace nector {
namespace {

static_assert(Message<JsonMessage>);
static_assert(Message<BinaryMessage>);
static_assert(Transport<MockTransport<JsonMessage>, JsonMessage>);
static_assert(Transport<MockTransport<BinaryMessage>, BinaryMessage>);
static_assert(!Transport<MockTransport<JsonMessage>, BinaryMessage>);
static_assert(Transport<AnyTransport<JsonMessage>, JsonMessage>);
static_assert(TransportFactory<MockTransportFactory<JsonMessage>>);
static_assert(TransportFactory<MockTransportFactory<BinaryMessage>>);

struct NoContentType {
    Bytes serialize() const { return {}; }
    static NoContentType deserialize(std::span<const std::byte>) { return {}; }
    const Headers& get_headers() const { return h; }
    int get_payload() const { return 0; }
    Headers h;
};
static_assert(!Message<NoContentType>);

struct BadHeaders {
    static constexpr std::string_view content_type = "x";
    Bytes serialize() const { return {}; }
    static BadHeaders deserialize(std::span<const std::byte>) { return {}; }
    int get_headers() const { return 0; }
    int get_payload() const { return 0; }
};
static_assert(!Message<BadHeaders>);

struct SyncTransport { // returns values, not awaitables
    void connect() {}
    void disconnect() {}
    void send(JsonMessage) {}
    std::optional<JsonMessage> receive() { return {}; }
};
static_assert(!Transport<SyncTransport, JsonMessage>);

TEST(Protocol, ByteHelpersRoundTrip) {
    const std::string text("a\0b", 3);
    EXPECT_EQ(as_string_view(to_bytes(text)), text);
    EXPECT_EQ(as_bytes(text).size(), 3u);
}

} // namespace
} // namespace nector
