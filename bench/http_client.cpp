// A small nector client for measurements: N keep-alive GETs of one URL with C requests in
// flight, through the public API (HTTPTransport::request). Prints requests/s and the
// client's CPU time (user + sys) per request, which is the figure compared with wrk.
//
//   nector-bench-http URL [requests=100000] [concurrency=64] [protocol=http1]
//
// protocol: http1; h2c (HTTP/2 by prior knowledge on http://); h2 (HTTP/2 by ALPN on
// https://, certificate not verified). HTTP/2 runs every request on one connection.
#include <nector/nector.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace asio = boost::asio;

namespace {

double cpu_seconds() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    const auto seconds = [](const timeval& t) {
        return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
    };
    return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

} // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: %s URL [requests] [concurrency]\n", argv[0]);
        return 2;
    }
    const std::string url = argv[1];
    const long total = argc > 2 ? std::atol(argv[2]) : 100000;
    const long concurrency = argc > 3 ? std::atol(argv[3]) : 64;
    const std::string protocol = argc > 4 ? argv[4] : "http1";
    if (total <= 0 || concurrency <= 0) {
        std::fprintf(stderr, "requests and concurrency must be positive\n");
        return 2;
    }
    if (protocol != "http1" && protocol != "h2c" && protocol != "h2") {
        std::fprintf(stderr, "protocol must be http1, h2c or h2\n");
        return 2;
    }
    const bool h2 = protocol != "http1";

    asio::io_context io(1);
    const auto connections = static_cast<std::size_t>(h2 ? 1 : concurrency);
    nector::http::HTTPTransport<> transport(
        io.get_executor(),
        {.limits = {.max_connections = connections,
                    .max_connections_per_origin = connections,
                    .max_idle_connections = connections},
         .verify_ssl = protocol != "h2",
         .http2 = protocol == "h2",
         .http2_prior_knowledge = protocol == "h2c",
         .http2_settings = {.max_concurrent_streams = static_cast<std::uint32_t>(concurrency)}});
    long issued = 0;
    long completed = 0;
    long failed = 0;
    long workers_left = concurrency;
    auto finished = std::chrono::steady_clock::now();
    const auto worker = [&]() -> asio::awaitable<void> {
        while (issued < total) {
            ++issued;
            try {
                const auto response = co_await transport.get(url);
                completed += response.status == 200 ? 1 : 0;
            } catch (const std::exception& e) {
                if (failed++ == 0) std::fprintf(stderr, "first error: %s\n", e.what());
            }
        }
        if (--workers_left == 0) {
            finished = std::chrono::steady_clock::now();
            // An open HTTP/2 connection keeps a read pending: close it so that run() returns.
            co_await transport.disconnect();
        }
    };
    asio::co_spawn(io, transport.connect(), asio::detached);
    io.run();
    io.restart();

    const double cpu_before = cpu_seconds();
    const auto start = std::chrono::steady_clock::now();
    for (long i = 0; i < concurrency; ++i) asio::co_spawn(io, worker(), asio::detached);
    io.run();
    const double wall = std::chrono::duration<double>(finished - start).count();
    const double cpu = cpu_seconds() - cpu_before;

    std::printf("requests %ld ok %ld failed %ld concurrency %ld\n", total, completed, failed,
                concurrency);
    std::printf("wall %.3f s, %.0f req/s, client CPU %.2f us/request\n", wall,
                static_cast<double>(total) / wall, cpu * 1e6 / static_cast<double>(total));
    return failed == 0 ? 0 : 1;
}
