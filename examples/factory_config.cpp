// A factory and a registry from a JSON configuration: the registry names transport kinds
// ("http" here), and each transport is made from a JSON object of options over the
// factory's defaults; transports of one factory share breakers and retry budgets.
#include "local_api.hpp"

#include <nector/nector.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <cstdio>
#include <exception>

namespace asio = boost::asio;
namespace json = boost::json;
using namespace nector::http;

asio::awaitable<void> use(nector::TransportFactoryRegistry& registry, json::value config) {
    // An AnyTransport<JsonMessage>: the seed's send/receive over HTTP.
    auto t = registry.create_transport<nector::JsonMessage>("http", config);
    co_await t.connect();
    nector::JsonMessage ping({{"id", 1}}, "ping");
    co_await t.send(std::move(ping));
    auto reply = co_await t.receive();
    example::expect(reply && reply->payload() == "ping", "the echo of ping");
    std::printf("sent ping, received %s\n", json::serialize(reply->payload()).c_str());
    co_await t.disconnect();
}

int main() {
    try {
        const auto api = example::local_api();
        // As a service would read it from a file.
        const json::value config = json::parse(R"({
            "base_url": ")" + api->url("/echo") +
                                               R"(",
            "headers": {"X-Service": "billing"},
            "timeout": {"connect": 2, "read": 5},
            "retry": {"max_retries": 2, "backoff_factor": 0.05}
        })");
        // Breakers and retry budgets are per origin and shared by a factory's transports, so
        // they are the factory's: set in its defaults (a transport's config may not differ).
        Options defaults;
        defaults.circuit_breaker = {.enabled = true, .failure_threshold = 5};
        nector::TransportFactoryRegistry registry;
        register_http_factory<nector::JsonMessage>(registry, "http", std::move(defaults));
        std::printf("factories: %s\n", registry.names().at(0).c_str());
        example::run(use(registry, config));

        // A bad key is refused with a ConfigurationError naming it.
        try {
            (void)registry.create_transport<nector::JsonMessage>("http",
                                                                 json::parse(R"({"timeuot": 1})"));
            example::expect(false, "a misspelt key is refused");
        } catch (const nector::ConfigurationError& e) {
            std::printf("refused: %s\n", e.what());
        }
        std::printf("example finished\n");
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "factory_config: %s\n", e.what());
        return 1;
    }
}
