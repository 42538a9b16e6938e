// Uses the installed nector: a mock transport from the registry, a round trip, an error.
#include <nector/nector.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <cstdio>
#include <exception>

namespace asio = boost::asio;

int main() {
    nector::TransportFactoryRegistry registry;
    registry.register_factory("echo", nector::MockTransportFactory<nector::JsonMessage>(
                                          [](const nector::JsonMessage& m) { return m; }));
    asio::io_context io;
    int status = 1;
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
            auto t = registry.create_transport<nector::JsonMessage>("echo");
            co_await t.connect();
            nector::JsonMessage ping({{"id", 1}}, "ping");
            co_await t.send(std::move(ping));
            auto reply = co_await t.receive();
            if (reply && reply->payload() == "ping") status = 0;
            try {
                (void)registry.create_transport<nector::JsonMessage>("missing");
                status = 1;
            } catch (const nector::ConfigurationError&) {
            }
        },
        [](std::exception_ptr e) {
            if (e) std::rethrow_exception(e);
        });
    io.run();
    std::printf("nector %s consumer: %s\n", nector::version, status == 0 ? "ok" : "FAILED");
    return status;
}
