#include "nector/transport/mock.hpp"

#include "nector/transport/message/binary.hpp"
#include "nector/transport/message/json.hpp"
#include "support/run.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include <limits>

namespace nector {
namespace asio = boost::asio;
namespace json = boost::json;
namespace {

using test::run;

MockTransport<JsonMessage> echo(MockOptions options = {}) {
    return MockTransport<JsonMessage>([](const JsonMessage& m) { return m; }, options);
}

TEST(MockTransport, EchoesInOrderAndRecordsWhatWasSent) {
    auto t = echo();
    // Built outside the coroutine: GCC 12 rejects initializer lists inside coroutines.
    JsonMessage one({{"n", 1}}, "one");
    JsonMessage two({{"n", 2}}, "two");
    run([&]() -> asio::awaitable<void> {
        co_await t.connect();
        co_await t.send(one);
        co_await t.send(two);
        EXPECT_EQ(t.pending(), 2u);
        auto first = co_await t.receive();
        auto second = co_await t.receive();
        auto none = co_await t.receive();
        NECTOR_CO_ASSERT(first && second);
        EXPECT_EQ(first->payload(), json::value("one"));
        EXPECT_EQ(second->headers().at("n"), 2);
        EXPECT_FALSE(none.has_value());
    }());
    ASSERT_EQ(t.sent().size(), 2u);
    EXPECT_EQ(t.sent()[1].payload(), "two");
}

TEST(MockTransport, HandlerDecidesTheReply) {
    MockTransport<BinaryMessage> t([](const BinaryMessage& m) -> std::optional<BinaryMessage> {
        if (m.headers().get("reply") != "yes") return std::nullopt;
        Bytes reversed(m.payload().rbegin(), m.payload().rend());
        return BinaryMessage({{"status", "ok"}}, reversed);
    });
    BinaryMessage no({{"reply", "no"}}, to_bytes("abc"));
    BinaryMessage yes({{"reply", "yes"}}, to_bytes("abc"));
    run([&]() -> asio::awaitable<void> {
        co_await t.connect();
        co_await t.send(no);
        EXPECT_FALSE((co_await t.receive()).has_value());
        co_await t.send(yes);
        auto reply = co_await t.receive();
        NECTOR_CO_ASSERT(reply);
        EXPECT_EQ(reply->payload(), to_bytes("cba"));
        EXPECT_EQ(reply->headers().get("status"), std::string_view("ok"));
    }());
}

TEST(MockTransport, RequiresConnectAndDisconnectDropsReplies) {
    auto t = echo();
    EXPECT_THROW(run(t.send(JsonMessage())), ConnectionError);
    EXPECT_THROW(run(t.receive()), ConnectionError);
    run(t.connect());
    run(t.connect()); // idempotent
    run(t.send(JsonMessage({}, 1)));
    run(t.disconnect());
    run(t.disconnect()); // idempotent
    EXPECT_FALSE(t.is_connected());
    EXPECT_EQ(t.pending(), 0u);
    try {
        run(t.receive());
        FAIL();
    } catch (const ConnectionError& e) {
        EXPECT_EQ(e.code(), errc::not_connected);
        EXPECT_NE(std::string(e.what()).find("MockTransport::receive"), std::string::npos);
    }
}

TEST(MockTransport, HandlerExceptionsPropagate) {
    MockTransport<JsonMessage> t([](const JsonMessage&) -> std::optional<JsonMessage> {
        throw ConnectionTimeoutError(errc::read_timeout, "scripted");
    });
    run(t.connect());
    try {
        run(t.send(JsonMessage()));
        FAIL();
    } catch (const ConnectionTimeoutError& e) {
        EXPECT_EQ(e.code(), errc::read_timeout);
    }
}

TEST(MockTransport, UnserializableMessageFailsAsOnAWire) {
    auto t = echo();
    run(t.connect());
    EXPECT_THROW(run(t.send(JsonMessage({}, std::numeric_limits<double>::infinity()))),
                 SerializationError);
    EXPECT_TRUE(t.sent().empty());
}

TEST(MockTransport, ConnectErrorAndQueueBound) {
    auto refusing = echo({.connect_error = errc::connection_refused});
    EXPECT_THROW(run(refusing.connect()), ConnectionRefusedError);
    EXPECT_FALSE(refusing.is_connected());

    auto bounded = echo({.max_pending = 1});
    run(bounded.connect());
    run(bounded.send(JsonMessage()));
    try {
        run(bounded.send(JsonMessage()));
        FAIL();
    } catch (const TransportSpecificError& e) {
        EXPECT_EQ(e.code(), errc::queue_full);
    }
}

TEST(MockOptions, FromJson) {
    auto o = mock_options_from_json(
        json::parse(R"({"connect_error":"connect_timeout","max_pending":3})"));
    EXPECT_EQ(o.connect_error, errc::connect_timeout);
    EXPECT_EQ(o.max_pending, 3u);
    EXPECT_EQ(mock_options_from_json(nullptr, {.max_pending = 9}).max_pending, 9u);
    EXPECT_FALSE(mock_options_from_json(json::parse(R"({"connect_error":null})"),
                                        {.connect_error = errc::connection_refused})
                     .connect_error);
    for (const char* bad : {R"([])", R"({"connect_error":"nope"})", R"({"connect_error":5})",
                            R"({"max_pending":-1})", R"({"max_pending":1.5})", R"({"typo":1})"}) {
        EXPECT_THROW((void)mock_options_from_json(json::parse(bad)), ConfigurationError) << bad;
    }
    try {
        (void)mock_options_from_json(json::parse(R"({"max_pendng":1})"));
    } catch (const ConfigurationError& e) {
        EXPECT_NE(std::string(e.what()).find("unknown key \"max_pendng\""), std::string::npos);
    }
}

} // namespace
} // namespace nector
