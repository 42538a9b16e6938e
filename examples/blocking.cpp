// The blocking client from a plain main(): no coroutines, no io_context of one's own.
#include "local_api.hpp"

#include <nector/nector.hpp>

#include <cstdio>
#include <exception>

using namespace nector::http;

int main() {
    try {
        const auto api = example::local_api();
        BlockingClient client({.base_url = api->url("")});

        const Response hello = client.get("/hello");
        std::printf("GET /hello -> %d %s\n", hello.status, hello.body.c_str());
        example::expect(hello.status == 200, "200 from /hello");

        const Response echoed = client.post("/echo", {{"from", "main"}});
        std::printf("POST /echo -> %s\n", echoed.body.c_str());

        try {
            (void)client.get("/missing");
            example::expect(false, "a 404 throws");
        } catch (const HTTPNotFoundError& e) {
            std::printf("GET /missing -> %s\n", e.what());
        }

        BlockingStream body = client.stream(HttpMessage{.url = "/bytes/200000"});
        std::size_t bytes = 0;
        while (auto chunk = body.next()) bytes += chunk->size();
        std::printf("streamed %zu bytes\n", bytes);
        example::expect(bytes == 200000, "every byte streamed");
        std::printf("example finished\n");
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "blocking: %s\n", e.what());
        return 1;
    }
}
