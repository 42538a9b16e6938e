// nector's client for bench/compare: REQUESTS keep-alive GETs of one URL with CONCURRENCY
// requests in flight, through the public API (HTTPTransport::get), with retries (the default
// policy) and a circuit breaker on, as a service would run it.
//
//   nector-bench-http URL REQUESTS CONCURRENCY [PROTOCOL]
//
// PROTOCOL: http1 (default; CONCURRENCY connections); h2c (HTTP/2 by prior knowledge on
// http://) or h2 (HTTP/2 by ALPN on https://, certificate not verified): one connection
// carrying CONCURRENCY streams; http1-close: HTTP/1.1 with "Connection: close" on every
// request, so each one goes on a new connection (connection churn, beside wrk with the same
// header). Prints one JSON line (bench/peers/README.md has the
// contract): requests, errors, wall seconds and the client's own CPU seconds over the
// measured phase, p50/p99 latency.
#include "usage.hpp"

#include "histogram.hpp" // tools/cli: the same histogram as `nector bench`

#include <nector/nector.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include <algorithm>
#include <array>
#include <bit>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

int main(int argc, char** argv) {
    if (argc < 4) {
        std::fprintf(stderr, "usage: %s URL REQUESTS CONCURRENCY [http1|http1-close|h2c|h2]\n",
                     argv[0]);
        return 2;
    }
    const std::string url = argv[1];
    const long total = std::atol(argv[2]);
    const long concurrency = std::atol(argv[3]);
    const std::string protocol = argc > 4 ? argv[4] : "http1";
    if (total <= 0 || concurrency <= 0) {
        std::fprintf(stderr, "REQUESTS and CONCURRENCY must be positive\n");
        return 2;
    }
    if (protocol != "http1" && protocol != "http1-close" && protocol != "h2c" && protocol != "h2") {
        std::fprintf(stderr, "PROTOCOL must be http1, http1-close, h2c or h2\n");
        return 2;
    }
    const bool h2 = protocol == "h2c" || protocol == "h2";

    asio::io_context io(1);
    const auto connections = static_cast<std::size_t>(h2 ? 1 : concurrency);
    nector::http::Options options;
    options.limits.max_connections = connections;
    options.limits.max_connections_per_origin = connections;
    options.limits.max_idle_connections = connections;
    options.verify_ssl = protocol != "h2";
    options.http2 = protocol == "h2";
    options.http2_prior_knowledge = protocol == "h2c";
    options.http2_settings.max_concurrent_streams = static_cast<std::uint32_t>(concurrency);
    options.circuit_breaker.enabled = true;
    if (protocol == "http1-close") options.headers.set("Connection", "close");
    nector::http::HTTPTransport<> transport(io.get_executor(), std::move(options));

    nector::cli::Histogram latency;
    long issued = 0;
    long ok = 0;
    long errors = 0;
    long workers_left = concurrency;
    auto finished = Clock::now();
    const auto worker = [&]() -> asio::awaitable<void> {
        while (issued < total) {
            ++issued;
            const auto begin = Clock::now();
            try {
                const auto response = co_await transport.get(url);
                if (response.status == 200) {
                    ++ok;
                } else if (errors++ == 0) {
                    std::fprintf(stderr, "first error: status %d\n", response.status);
                }
            } catch (const std::exception& e) {
                if (errors++ == 0) std::fprintf(stderr, "first error: %s\n", e.what());
            }
            latency.add(Clock::now() - begin);
        }
        if (--workers_left == 0) {
            finished = Clock::now();
            // An open HTTP/2 connection keeps a read pending: close it so that run() returns.
            co_await transport.disconnect();
        }
    };

    asio::co_spawn(io, transport.connect(), asio::detached);
    io.run();
    io.restart();

    const double cpu_before = nector::bench::usage().cpu_seconds;
    const auto start = Clock::now();
    for (long i = 0; i < concurrency; ++i) asio::co_spawn(io, worker(), asio::detached);
    io.run();
    // Peak resident memory up to here, the end of the measured phase: before the transport
    // and the process are torn down (the libraries' finalizers fault in pages of their own).
    const nector::bench::Usage after = nector::bench::usage();
    const double cpu = after.cpu_seconds - cpu_before;
    const double wall = std::chrono::duration<double>(finished - start).count();

    const double p50 = latency.quantile_us(0.50);
    const double p99 = latency.quantile_us(0.99);
    std::printf(
        "{\"client\":\"nector\",\"protocol\":\"%s\",\"requests\":%ld,\"ok\":%ld,"
        "\"errors\":%ld,\"concurrency\":%ld,\"seconds\":%.6f,\"cpu_s\":%.6f,"
        "\"p50_us\":%.1f,\"p99_us\":%.1f,\"peak_rss_kib\":%.0f}\n",
        protocol.c_str(), total, ok, errors, concurrency, wall, cpu, p50, p99,
        after.max_rss_mib * 1024.0);
    return errors == 0 ? 0 : 1;
}
