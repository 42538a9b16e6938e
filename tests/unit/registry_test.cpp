#include "nector/transport/registry.hpp"

#include "nector/transport/message/binary.hpp"
#include "nector/transport/message/json.hpp"
#include "nector/transport/mock.hpp"
#include "support/run.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

namespace nector {
namespace asio = boost::asio;
namespace json = boost::json;
namespace {

using test::run;

MockTransportFactory<JsonMessage> json_echo() {
    return MockTransportFactory<JsonMessage>([](const JsonMessage& m) { return m; });
}
MockTransportFactory<BinaryMessage> binary_echo() {
    return MockTransportFactory<BinaryMessage>([](const BinaryMessage& m) { return m; });
}

std::string what_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const std::exception& e) {
        return e.what();
    }
    return "";
}

TEST(Registry, FactoriesOfDifferentTypesLiveTogether) {
    TransportFactoryRegistry registry;
    registry.register_factory("json", json_echo());
    registry.register_factory("binary", binary_echo());
    EXPECT_EQ(registry.names(), (std::vector<std::string>{"binary", "json"}));
    EXPECT_TRUE(registry.contains("json"));
    EXPECT_EQ(registry.get("json").message_type(), typeid(JsonMessage));
    EXPECT_NE(registry.get("json").target<MockTransportFactory<JsonMessage>>(), nullptr);
    EXPECT_EQ(registry.get("json").target<MockTransportFactory<BinaryMessage>>(), nullptr);

    auto jt = registry.create_transport<JsonMessage>("json");
    auto bt = registry.create_transport<BinaryMessage>("binary");
    run([&]() -> asio::awaitable<void> {
        co_await jt.connect();
        co_await bt.connect();
        co_await jt.send(JsonMessage({}, "j"));
        co_await bt.send(BinaryMessage({}, to_bytes("b")));
        EXPECT_EQ((co_await jt.receive())->payload(), json::value("j"));
        EXPECT_EQ((co_await bt.receive())->payload(), to_bytes("b"));
        co_await jt.disconnect();
    }());
    ASSERT_NE(jt.target<MockTransport<JsonMessage>>(), nullptr);
    EXPECT_FALSE(jt.target<MockTransport<JsonMessage>>()->is_connected());
    EXPECT_EQ(bt.target<MockTransport<JsonMessage>>(), nullptr);
}

TEST(Registry, UnknownAndDuplicateNamesAreClearErrors) {
    TransportFactoryRegistry registry;
    registry.register_factory("mock", json_echo());
    try {
        registry.register_factory("mock", json_echo());
        FAIL();
    } catch (const ConfigurationError& e) {
        EXPECT_EQ(e.code(), errc::duplicate_factory);
        EXPECT_NE(std::string(e.what()).find("\"mock\""), std::string::npos);
    }
    try {
        (void)registry.get("http");
        FAIL();
    } catch (const ConfigurationError& e) {
        EXPECT_EQ(e.code(), errc::unknown_factory);
        EXPECT_NE(std::string(e.what()).find("get(\"http\"), registered: mock"), std::string::npos)
            << e.what();
    }
    EXPECT_THROW(registry.register_factory("", json_echo()), ConfigurationError);
    EXPECT_TRUE(registry.unregister_factory("mock"));
    EXPECT_FALSE(registry.unregister_factory("mock"));
    EXPECT_NE(what_of([&] { (void)registry.get("mock"); }).find("registered: none"),
              std::string::npos);
}

TEST(Registry, WrongMessageTypeIsRefusedByName) {
    TransportFactoryRegistry registry;
    registry.register_factory("json", json_echo());
    try {
        (void)registry.create_transport<BinaryMessage>("json");
        FAIL();
    } catch (const ConfigurationError& e) {
        EXPECT_EQ(e.code(), errc::message_type_mismatch);
        const std::string what = e.what();
        EXPECT_NE(what.find("factory \"json\" makes transports of nector::JsonMessage"),
                  std::string::npos)
            << what;
        EXPECT_NE(what.find("create_transport<nector::BinaryMessage>"), std::string::npos);
    }
    EXPECT_THROW((void)registry.get("json").create_transport<BinaryMessage>(), ConfigurationError);
}

TEST(Registry, CreatesFromJsonConfiguration) {
    TransportFactoryRegistry registry;
    registry.register_factory("mock", json_echo());
    auto refusing = registry.create_transport<JsonMessage>(
        "mock", json::parse(R"({"connect_error":"connection_refused"})"));
    EXPECT_THROW(run(refusing.connect()), ConnectionRefusedError);

    auto bounded =
        registry.create_transport<JsonMessage>("mock", json::parse(R"({"max_pending":1})"));
    run(bounded.connect());
    run(bounded.send(JsonMessage()));
    EXPECT_THROW(run(bounded.send(JsonMessage())), TransportSpecificError);

    EXPECT_THROW(
        (void)registry.create_transport<JsonMessage>("mock", json::parse(R"({"bogus":1})")),
        ConfigurationError);
}

TEST(Registry, CopiesOfAnEntryShareTheFactory) {
    int made = 0;
    struct Counting {
        using message_type = JsonMessage;
        using transport_type = MockTransport<JsonMessage>;
        int* made;
        transport_type create_transport() const {
            ++*made;
            return transport_type(nullptr);
        }
        transport_type create_transport(const json::value&) const { return create_transport(); }
    };
    static_assert(TransportFactory<Counting>);
    AnyTransportFactory a{Counting{&made}};
    AnyTransportFactory b = a;
    (void)a.create_transport<JsonMessage>();
    (void)b.create_transport<JsonMessage>(json::parse("{}"));
    EXPECT_EQ(made, 2);
    EXPECT_EQ(a.target<Counting>(), b.target<Counting>());
}

} // namespace
} // namespace nector
