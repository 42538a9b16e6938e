// Uses the installed nector::testing: a TestServer on loopback answered through a
// BlockingClient.
#include <nector/http/blocking.hpp>
#include <nector/testing/test_server.hpp>

#include <cstdio>
#include <exception>

int main() {
    using nector::testing::TestConnection;
    using nector::testing::TestServer;
    try {
        TestServer server([](TestConnection& c) -> boost::asio::awaitable<void> {
            while (auto request = co_await c.read_request()) {
                co_await c.write(nector::testing::http_response(200, "served " + request->target));
            }
        });
        nector::http::BlockingClient client({.base_url = server.url()});
        const auto response = client.get("/installed");
        const bool ok = response.body == "served /installed" && server.requests().size() == 1;
        std::printf("nector::testing consumer: %s\n", ok ? "ok" : "FAILED");
        return ok ? 0 : 1;
    } catch (const std::exception& e) {
        std::printf("nector::testing consumer: FAILED: %s\n", e.what());
        return 1;
    }
}
