// bench/connections' nector client: COUNT sequential GETs of URL, each on a new connection
// ("Connection: close": the server closes it after the response), plain or over TLS with
// session resumption on or off. Prints one line: handshakes, resumed handshakes, failures.
//   nector-bench-tls URL CA_FILE COUNT resume(0|1)
#include <nector/http/transport.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

namespace asio = boost::asio;
using namespace nector;

int main(int argc, char** argv) {
    if (argc != 5) {
        std::fprintf(stderr, "usage: %s URL CA_FILE COUNT resume(0|1)\n", argv[0]);
        return 2;
    }
    const std::string url = argv[1];
    http::Options o;
    o.tls.ca_file = argv[2];
    o.tls.session_resumption = std::string(argv[4]) == "1";
    o.proxy.trust_env = false;
    o.retry.max_retries = 0;
    const long count = std::atol(argv[3]);
    long failures = 0;
    http::Metrics metrics;
    asio::io_context io;
    // Named: the coroutine reads its captures through the closure, which must outlive it.
    const auto requests = [&]() -> asio::awaitable<void> {
        http::HTTPTransport<> t(o);
        co_await t.connect();
        for (long i = 0; i < count; ++i) {
            http::HttpMessage m;
            m.url = url;
            m.headers.set("Connection", "close");
            try {
                http::Response r = co_await t.request(std::move(m));
                if (r.status != 200) ++failures;
            } catch (const std::exception& e) {
                if (failures++ == 0) std::fprintf(stderr, "%s\n", e.what());
            }
        }
        metrics = t.metrics();
        co_await t.disconnect();
    };
    asio::co_spawn(io, requests(), asio::detached);
    io.run();
    std::printf("handshakes=%llu resumed=%llu failures=%ld\n",
                static_cast<unsigned long long>(metrics.tls_handshakes),
                static_cast<unsigned long long>(metrics.tls_resumed), failures);
    return failures == 0 ? 0 : 1;
}
