// Memory with many requests in flight: K concurrent GETs of one URL through the public
// API (HTTPTransport::get), each on its own HTTP/1.1 connection (pool limits = K), against
// a server that holds every answer until all K requests have arrived (bench/slow_server.py,
// ?hold=K). When the first response comes back, all K were in flight at once: the client
// then samples its resident set (VmRSS), and at the end reports its peak (VmHWM). The
// nector side of bench/inflight-memory.
//
//   nector-bench-inflight URL K
//
// Prints one JSON line: {"in_flight":K,"rss_kib":…,"hwm_kib":…,"open_connections":…,
// "connections_opened":…,"errors":…,"seconds":…}. Exits 1 if any request failed.
#include "usage.hpp"

#include <nector/nector.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include <sys/resource.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

double status_kib(std::string_view name) { return nector::bench::status_mib(name) * 1024.0; }

} // namespace

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: %s URL K\n", argv[0]);
        return 2;
    }
    const std::string url = argv[1];
    const long k = std::atol(argv[2]);
    if (k <= 0) {
        std::fprintf(stderr, "K must be positive\n");
        return 2;
    }
    // One socket per request in flight.
    rlimit files{};
    if (getrlimit(RLIMIT_NOFILE, &files) == 0) {
        files.rlim_cur = files.rlim_max;
        setrlimit(RLIMIT_NOFILE, &files);
    }
    if (files.rlim_cur < static_cast<rlim_t>(k) + 16) {
        std::fprintf(stderr, "RLIMIT_NOFILE %ju is too low for %ld connections\n",
                     static_cast<std::uintmax_t>(files.rlim_cur), k);
        return 2;
    }

    asio::io_context io(1);
    const auto connections = static_cast<std::size_t>(k);
    // Assigned field by field: GCC 12 sees a false -Wmaybe-uninitialized in
    // Options::tls when the designated initializers end before it.
    nector::http::Options options;
    options.timeout = nector::http::Timeout::all(120s);
    options.limits = {.max_connections = connections,
                      .max_connections_per_origin = connections,
                      .max_idle_connections = connections};
    // Exactly K requests: a failure is reported, never hidden by a retry.
    options.retry.max_retries = 0;
    nector::http::HTTPTransport<> transport(io.get_executor(), std::move(options));

    double rss_kib = -1;
    std::uint64_t open_at_sample = 0;
    long errors = 0;
    long left = k;
    const auto start = std::chrono::steady_clock::now();
    const auto one = [&]() -> asio::awaitable<void> {
        try {
            const auto response = co_await transport.get(url);
            if (response.status != 200 && errors++ == 0) {
                std::fprintf(stderr, "first error: status %d\n", response.status);
            }
        } catch (const std::exception& e) {
            if (errors++ == 0) std::fprintf(stderr, "first error: %s\n", e.what());
        }
        if (rss_kib < 0) {
            // The first answer: the server sent none before all K requests had arrived.
            rss_kib = status_kib("VmRSS");
            open_at_sample = transport.metrics().open_connections;
        }
        if (--left == 0) co_await transport.disconnect();
    };
    const auto start_all = [&]() -> asio::awaitable<void> {
        co_await transport.connect();
        for (long i = 0; i < k; ++i) asio::co_spawn(io, one(), asio::detached);
    };
    asio::co_spawn(io, start_all(), asio::detached);
    io.run();
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const auto metrics = transport.metrics();

    std::printf(
        "{\"in_flight\":%ld,\"rss_kib\":%.0f,\"hwm_kib\":%.0f,\"open_connections\":%ju,"
        "\"connections_opened\":%ju,\"errors\":%ld,\"seconds\":%.3f}\n",
        k, rss_kib, status_kib("VmHWM"), static_cast<std::uintmax_t>(open_at_sample),
        static_cast<std::uintmax_t>(metrics.connections_opened), errors, seconds);
    return errors == 0 ? 0 : 1;
}
