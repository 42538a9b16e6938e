// Requests through an HTTP proxy: http:// URLs go to the proxy in absolute form (https://
// ones through a CONNECT tunnel). The local API answers as a forward proxy would, saying
// what it was asked for.
#include "local_api.hpp"

#include <nector/nector.hpp>

#include <cstdio>
#include <exception>

using namespace nector::http;

int main() {
    try {
        const auto proxy = example::local_api();
        Options options;
        options.proxy.all = proxy->url(""); // or "http://user:pass@proxy:3128", "socks5h://…"
        options.proxy.trust_env = false;    // ignore HTTP_PROXY and friends for this example
        BlockingClient client(std::move(options));

        const Response r = client.get("http://service.example/orders?open=1");
        std::printf("the proxy answered: %s\n", r.body.c_str());
        example::expect(r.body == "proxied GET http://service.example/orders?open=1",
                        "the request went to the proxy in absolute form");
        const auto seen = proxy->requests().at(0);
        std::printf("it saw: %s %s (Host: %s)\n", seen.method.c_str(), seen.target.c_str(),
                    seen.header("Host").value_or("").c_str());
        std::printf("example finished\n");
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "proxy: %s\n", e.what());
        return 1;
    }
}
