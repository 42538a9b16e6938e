// The transport layer end to end with the in-memory MockTransport (no network).
//
// A registry holds two factories of different message types; transports are created
// from JSON configuration, exchange messages, and fail with typed errors.
#include <nector/nector.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <cstdio>
#include <exception>
#include <string>

namespace asio = boost::asio;
namespace json = boost::json;
using nector::BinaryMessage;
using nector::JsonMessage;

// An in-memory "calculator service": {"op":"add","args":[...]} → {"result":sum}.
std::optional<JsonMessage> calculator(const JsonMessage& request) {
    const auto& payload = request.payload().as_object();
    if (payload.at("op") != "add") {
        return JsonMessage({{"status", 400}}, {{"error", "unknown op"}});
    }
    double sum = 0;
    for (const auto& arg : payload.at("args").as_array()) sum += arg.to_number<double>();
    return JsonMessage({{"status", 200}, {"request-id", request.headers().at("request-id")}},
                       {{"result", sum}});
}

template <class E>
void show_error(const char* attempt, const E& e) {
    std::printf("  %-34s -> %s [%s / %s]\n", attempt, e.what(),
                std::string(nector::to_string(static_cast<nector::errc>(e.code().value()))).c_str(),
                e.code().default_error_condition().message().c_str());
}

asio::awaitable<void> run(nector::TransportFactoryRegistry& registry) {
    std::printf("registered factories:");
    for (const auto& name : registry.names()) std::printf(" %s", name.c_str());
    std::printf("\n\n1. JSON messages through a transport made from configuration\n");
    auto calc =
        registry.create_transport<JsonMessage>("calculator", json::parse(R"({"max_pending": 16})"));
    co_await calc.connect();
    for (int i = 1; i <= 3; ++i) {
        JsonMessage request({{"request-id", i}},
                            {{"op", "add"}, {"args", json::array{i, i * 10, 0.5}}});
        std::printf("  send    %s\n",
                    std::string(nector::as_string_view(request.serialize())).c_str());
        co_await calc.send(std::move(request));
    }
    while (auto reply = co_await calc.receive()) {
        std::printf("  receive %s\n", json::serialize(reply->payload()).c_str());
    }
    co_await calc.disconnect();

    std::printf("\n2. Binary messages (framing: docs/binary-framing.md)\n");
    auto rev = registry.create_transport<BinaryMessage>("reverse");
    co_await rev.connect();
    BinaryMessage word({{"Content-Type", "text/plain"}}, nector::to_bytes("nector"));
    co_await rev.send(std::move(word));
    auto reversed = co_await rev.receive();
    std::printf("  \"nector\" reversed: \"%s\" (%zu bytes on the wire)\n",
                std::string(nector::as_string_view(reversed->payload())).c_str(),
                reversed->serialize().size());

    std::printf("\n3. Errors are typed and say what was attempted\n");
    try {
        auto refused = registry.create_transport<JsonMessage>(
            "calculator", json::parse(R"({"connect_error": "connection_refused"})"));
        co_await refused.connect();
    } catch (const nector::ConnectionRefusedError& e) {
        show_error("connect (scripted refusal)", e);
    }
    try {
        co_await calc.send(JsonMessage());
    } catch (const nector::ConnectionError& e) {
        show_error("send after disconnect", e);
    }
    try {
        (void)JsonMessage::deserialize(nector::as_bytes(R"({"headers": [1, 2]})"));
    } catch (const nector::DeserializationError& e) {
        show_error("deserialize bad JSON envelope", e);
    }
    try {
        (void)BinaryMessage::deserialize(nector::as_bytes(std::string_view("NB\x01\x00\x7f", 5)));
    } catch (const nector::DeserializationError& e) {
        show_error("deserialize truncated binary", e);
    }
    try {
        (void)registry.create_transport<JsonMessage>("http");
    } catch (const nector::ConfigurationError& e) {
        show_error("create_transport(\"http\")", e);
    }
}

int main() {
    nector::TransportFactoryRegistry registry;
    registry.register_factory("calculator", nector::MockTransportFactory<JsonMessage>(calculator));
    registry.register_factory(
        "reverse", nector::MockTransportFactory<BinaryMessage>([](const BinaryMessage& m) {
            nector::Bytes r(m.payload().rbegin(), m.payload().rend());
            return BinaryMessage(m.headers(), std::move(r));
        }));
    std::printf("nector %s demo: the transport layer with the in-memory transport\n\n",
                nector::version);
    asio::io_context io;
    bool failed = false;
    asio::co_spawn(io, run(registry), [&](std::exception_ptr e) {
        if (!e) return;
        failed = true;
        try {
            std::rethrow_exception(e);
        } catch (const std::exception& ex) {
            std::fprintf(stderr, "demo failed: %s\n", ex.what());
        }
    });
    io.run();
    std::printf("\n%s\n", failed ? "demo FAILED" : "demo finished");
    return failed ? 1 : 0;
}
