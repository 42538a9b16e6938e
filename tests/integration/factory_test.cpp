// HTTPTransportFactory, the "http" registry entry, JSON configuration and response handlers.
#include "integration/client.hpp"
#include "support/test_server.hpp"

#include <nector/http/factory.hpp>
#include <nector/transport/message/json.hpp>
#include <nector/transport/registry.hpp>

#include <boost/json/parse.hpp>

#include <gtest/gtest.h>

namespace nector::test {
namespace asio = boost::asio;
namespace {

using namespace std::chrono_literals;

TEST(Factory, MergesHeadersAndLetsOverridesWin) {
    TestServer server(TestServer::respond(http_response(302, "", {{"Location", "/elsewhere"}})));
    http::HTTPTransportFactory<> factory(server.url("/api"), {.headers = {{"A", "1"}, {"B", "2"}},
                                                              .timeout = http::Timeout::all(7s)});
    auto t = factory.create_transport(
        http::Overrides{.headers = {{"b", "override"}, {"C", "3"}}, .follow_redirects = false});
    EXPECT_EQ(t.options().base_url, server.url("/api"));
    EXPECT_EQ(t.options().timeout.read, 7s); // not overridden: the default stays
    EXPECT_FALSE(t.options().follow_redirects);
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
    EXPECT_TRUE(factory.create_transport().options().follow_redirects);
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
    const auto& o = t.target<http::HTTPTransport<JsonMessage>>()->options();
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

// The factory's transports share one breaker and one retry budget per origin, made from the
// factory's defaults: a transport's own breaker or budget settings could not take effect,
// so they are refused, saying why; every other retry setting takes effect per transport.
std::string factory_error(const http::HTTPTransportFactory<>& factory,
                          const http::Overrides& overrides) {
    try {
        (void)factory.create_transport(overrides);
    } catch (const ConfigurationError& e) {
        return e.what();
    }
    return "";
}

std::string factory_error(const http::HTTPTransportFactory<>& factory, const char* json) {
    try {
        (void)factory.create_transport(boost::json::parse(json));
    } catch (const ConfigurationError& e) {
        return e.what();
    }
    return "";
}

TEST(Factory, BreakerAndBudgetOverridesAreRefusedNotIgnored) {
    http::HTTPTransportFactory<> factory(
        "http://127.0.0.1:1/", {.circuit_breaker = {.enabled = true, .failure_threshold = 3}});
    const std::string budget_off =
        factory_error(factory, http::Overrides{.retry = http::RetryPolicy{.budget = false}});
    EXPECT_TRUE(contains(budget_off, "retry.budget differs from the factory's")) << budget_off;
    EXPECT_TRUE(contains(budget_off, "set it on the factory")) << budget_off;
    const std::string tokens =
        factory_error(factory, http::Overrides{.retry = http::RetryPolicy{.budget_max_tokens = 5}});
    EXPECT_TRUE(contains(tokens, "retry.budget_max_tokens")) << tokens;
    const std::string disabled =
        factory_error(factory, R"({"circuit_breaker": {"enabled": false}})");
    EXPECT_TRUE(contains(disabled, "circuit_breaker.enabled differs")) << disabled;
    const std::string threshold =
        factory_error(factory, R"({"circuit_breaker": {"failure_threshold": 9}})");
    EXPECT_TRUE(contains(threshold, "circuit_breaker differs")) << threshold;
    // The same policy, spelled again, is no difference.
    EXPECT_EQ(factory_error(factory, R"({"circuit_breaker": {"failure_threshold": 3}})"), "");
}

TEST(Factory, RetryOverridesTakeEffectPerTransport) {
    TestServer server(TestServer::sequence({http_response(503, "busy"), http_response(200, "ok")}));
    http::HTTPTransportFactory<> factory(
        server.url(),
        {.retry = {.max_retries = 3, .backoff_factor = 1ms, .jitter = http::Jitter::none}});
    auto no_retries = factory.create_transport(http::Overrides{
        .retry = http::RetryPolicy{.max_retries = 0, .jitter = http::Jitter::none}});
    EXPECT_EQ(no_retries.options().retry.max_retries, 0u);
    run([&]() -> asio::awaitable<void> {
        co_await no_retries.connect();
        try {
            (void)co_await no_retries.get("/");
            ADD_FAILURE() << "a 503 with no retries must be an error";
        } catch (const http::HTTPServerError& e) {
            EXPECT_EQ(e.code(), errc::http_server_error) << e.what();
        }
        co_await no_retries.disconnect();
    }());
    EXPECT_EQ(server.requests().size(), 1u);
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
