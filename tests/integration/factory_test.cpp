// HTTPTransportFactory, the "http" registry entry, JSON configuration and response handlers.
#include "integration/client.hpp"
#include "support/test_server.hpp"

#include <nector/http/factory.hpp>
#include <nector/transport/message/json.hpp>
#include <nector/transport/registry.hpp>

#include <boost/json/parse.hpp>

#include <gtest/gtest.h>

namespace nector::test {
namespace {

using namespace std::chrono_literals;

TEST(Factory, MergesHeadersAndLetsOverridesWin) {
    TestServer server(TestServer::respond(http_response(302, "", {{"Location", "/elsewhere"}})));
    http::HTTPTransportFactory<> factory(server.url("/api"), {.headers = {{"A", "1"}, {"B", "2"}},
                                                              .timeout = http::Timeout::all(7s)});
    auto t = factory.create_transport(
        http::Overrides{.headers = {{"b", "override"}, {"C", "3"}}, .follow_redirects = false});
    EXPECT_EQ(t.get_options().base_url, server.url("/api"));
    EXPECT_EQ(t.get_options().timeout.read, 7s); // not overridden: the default stays
    EXPECT_FALSE(t.get_options().follow_redirects);
    // The transport outlives run()'s io_context: disconnect inside it, so no socket of a
    // destroyed io_context is left for the destructor.
    const Response r = run([&]() -> asio::awaitable<Response> {
        co_await t.connect();
        Response response = co_await t.get("/x");
        co_await t.disconnect();
        co_return response;
    }());
    EXPECT_EQ(r.status, 302); // not followed
    const auto seen = server.requests().at(0);
    EXPECT_EQ(seen.target, "/api/x");
    EXPECT_EQ(seen.header("A"), "1");
    EXPECT_EQ(seen.header("B"), "override");
    EXPECT_EQ(seen.header("C"), "3");
    EXPECT_TRUE(factory.create_transport().get_options().follow_redirects);
}

TEST(Factory, RegisteredAsHttpAndCreatedFromJson) {
    TestServer server(
        TestServer::respond(http_response(200, R"({"headers":{"k":"v"},"payload":[1,2]})")));
    TransportFactoryRegistry registry;
    http::register_http_factory<JsonMessage>(registry);
    EXPECT_TRUE(registry.contains("http"));
    const auto config = boost::json::parse(R"({"base_url": ")" + server.url("/rpc") +
                                           R"(", "headers": {"X-Token": "t", "X-N": 5},
                                              "timeout": 5, "max_retries": 0})");
    auto t = registry.create_transport<JsonMessage>("http", config);
    ASSERT_NE(t.target<http::HTTPTransport<JsonMessage>>(), nullptr);
    const auto& o = t.target<http::HTTPTransport<JsonMessage>>()->get_options();
    EXPECT_EQ(o.timeout.connect, 5s);
    EXPECT_EQ(o.retry.max_retries, 0u);
    run([&]() -> asio::awaitable<void> {
        co_await t.connect();
        JsonMessage hello({}, "hello");
        co_await t.send(std::move(hello));
        auto reply = co_await t.receive();
        NECTOR_CO_ASSERT(reply.has_value());
        EXPECT_EQ(reply->payload(), boost::json::parse("[1,2]"));
        co_await t.disconnect();
    }());
    const auto seen = server.requests().at(0);
    EXPECT_EQ(seen.target, "/rpc/");
    EXPECT_EQ(seen.header("X-Token"), "t");
    EXPECT_EQ(seen.header("X-N"), "5");
    EXPECT_THROW((void)registry.create_transport<JsonMessage>(
                     "http", boost::json::parse(R"({"timeuot": 1})")),
                 ConfigurationError);
}

TEST(Factory, ConstructibleFromJson) {
    http::HTTPTransportFactory<> factory(boost::json::parse(
        R"({"base_url": "http://127.0.0.1:1/", "retry": {"max_retries": 5, "jitter": "equal"},
            "circuit_breaker": {"failure_threshold": 2}})"));
    EXPECT_EQ(factory.defaults().retry.max_retries, 5u);
    EXPECT_EQ(factory.defaults().retry.jitter, http::Jitter::equal);
    EXPECT_TRUE(factory.defaults().circuit_breaker.enabled);
    EXPECT_EQ(factory.defaults().circuit_breaker.failure_threshold, 2u);
    EXPECT_THROW(http::HTTPTransportFactory<>(boost::json::parse(R"({"base_url": "ftp://x"})")),
                 ConfigurationError);
}

TEST(Factory, ResponseHandlerDecidesWhatReceiveYields) {
    TestServer server([](TestConnection& c) -> asio::awaitable<void> {
        while (auto r = co_await c.read_request()) {
            std::string reply = http_response(200, "body of " + r->target);
            co_await c.write(reply);
        }
    });
    run([&]() -> asio::awaitable<void> {
        HTTPTransport<> t({.base_url = server.url()});
        t.set_response_handler([](const Response& r) -> std::optional<Bytes> {
            if (r.url.ends_with("/skip")) return std::nullopt;
            HttpMessage wrapped{.url = r.url, .content = to_bytes(r.body)};
            return wrapped.serialize();
        });
        co_await t.connect();
        HttpMessage skip{.url = "/skip"};
        HttpMessage keep{.url = "/keep"};
        co_await t.send(std::move(skip));
        co_await t.send(std::move(keep));
        auto message = co_await t.receive();
        NECTOR_CO_ASSERT(message.has_value());
        EXPECT_EQ(message->url, server.url("/keep"));
        EXPECT_EQ(message->content, to_bytes("body of /keep"));
        EXPECT_FALSE((co_await t.receive()).has_value());
    }());
}

} // namespace
} // namespace nector::test
