// MockTransport in a GoogleTest test of one's own code: `PriceClient` takes any Transport of
// JsonMessages, so a test hands it a MockTransport whose handler plays the service, and the
// production code hands it an HTTPTransport<JsonMessage> (or what a registry makes).
#include <nector/nector.hpp>

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <exception>
#include <optional>
#include <string>

namespace asio = boost::asio;
namespace json = boost::json;

// --- the code under test ---------------------------------------------------------------------

template <nector::Transport<nector::JsonMessage> T>
class PriceClient {
public:
    explicit PriceClient(T& transport) : transport_(transport) {}

    /// The price of `sku` in cents; throws std::runtime_error when the service has none.
    asio::awaitable<long> price(std::string sku) {
        json::object headers{{"op", "price"}};
        json::object payload{{"sku", std::move(sku)}};
        nector::JsonMessage ask(std::move(headers), std::move(payload));
        co_await transport_.send(std::move(ask));
        auto reply = co_await transport_.receive();
        if (!reply || !reply->payload().is_object() ||
            !reply->payload().as_object().contains("cents")) {
            throw std::runtime_error("no price");
        }
        co_return reply->payload().at("cents").template to_number<long>();
    }

private:
    T& transport_;
};

// --- the tests ---------------------------------------------------------------------------------

template <class T>
T run(asio::awaitable<T> task) {
    asio::io_context io;
    std::optional<T> result;
    std::exception_ptr failure;
    asio::co_spawn(io, std::move(task), [&](std::exception_ptr e, T value) {
        failure = e;
        if (!e) result = std::move(value);
    });
    io.run();
    if (failure) std::rethrow_exception(failure);
    return std::move(*result);
}

// The service, played by a function: what it is asked, and what it answers.
std::optional<nector::JsonMessage> price_service(const nector::JsonMessage& request) {
    const auto& sku = request.payload().at("sku").as_string();
    if (sku == "tea") return nector::JsonMessage({}, {{"cents", 350}});
    return nector::JsonMessage({}, {{"error", "unknown sku"}});
}

TEST(PriceClient, ReadsThePriceTheServiceAnswers) {
    nector::MockTransport<nector::JsonMessage> transport(price_service);
    PriceClient client(transport);
    EXPECT_EQ(run([&]() -> asio::awaitable<long> {
                  co_await transport.connect();
                  co_return co_await client.price("tea");
              }()),
              350);
}

TEST(PriceClient, ThrowsWhenTheServiceHasNoPrice) {
    nector::MockTransport<nector::JsonMessage> transport(price_service);
    PriceClient client(transport);
    EXPECT_THROW(run([&]() -> asio::awaitable<long> {
                     co_await transport.connect();
                     co_return co_await client.price("coffee");
                 }()),
                 std::runtime_error);
}

TEST(PriceClient, ATransportErrorReachesTheCaller) {
    // The handler throws what the network would: the client sees the typed error.
    nector::MockTransport<nector::JsonMessage> transport(
        [](const nector::JsonMessage&) -> std::optional<nector::JsonMessage> {
            throw nector::ConnectionTimeoutError(nector::errc::read_timeout, "reading the price");
        });
    PriceClient client(transport);
    EXPECT_THROW(run([&]() -> asio::awaitable<long> {
                     co_await transport.connect();
                     co_return co_await client.price("tea");
                 }()),
                 nector::ConnectionTimeoutError);
}
