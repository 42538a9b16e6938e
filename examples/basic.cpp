// Basic GET and POST with HTTPTransport, on an io_context of one's own.
#include "local_api.hpp"

#include <nector/nector.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/serialize.hpp>

#include <cstdio>
#include <exception>

namespace asio = boost::asio;
namespace json = boost::json;
using namespace nector::http;

asio::awaitable<void> basic(std::string base_url) {
    HTTPTransport<> t({.base_url = std::move(base_url)});
    co_await t.connect();

    Response hello = co_await t.get("/hello");
    std::printf("GET /hello -> %d %s\n", hello.status, json::serialize(hello.json()).c_str());
    example::expect(hello.json().at("message") == "hello", "the greeting");

    // GCC 12: bodies are named, then moved into the call (docs/notes.md).
    const json::value order = {{"item", "tea"}, {"count", 2}};
    json::value body = order;
    Response echoed = co_await t.post("/echo", std::move(body));
    std::printf("POST /echo -> %d %s (%s)\n", echoed.status, echoed.body.c_str(),
                std::string(echoed.headers.get("Content-Type").value_or("")).c_str());
    example::expect(echoed.json() == order, "the echo");

    co_await t.disconnect();
}

int main() {
    try {
        const auto api = example::local_api();
        asio::io_context io;
        std::exception_ptr failure;
        asio::co_spawn(io, basic(api->url("")), [&](std::exception_ptr e) { failure = e; });
        io.run();
        if (failure) std::rethrow_exception(failure);
        std::printf("example finished\n");
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "basic: %s\n", e.what());
        return 1;
    }
}
