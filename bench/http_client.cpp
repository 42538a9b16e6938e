// nector's client for bench/compare: REQUESTS keep-alive GETs of one URL with CONCURRENCY
// requests in flight, through the public API (HTTPTransport::get), with retries (the default
// policy) and a circuit breaker on, as a service would run it.
//
//   nector-bench-http URL REQUESTS CONCURRENCY [PROTOCOL]
//
// PROTOCOL: http1 (default; CONCURRENCY connections); h2c (HTTP/2 by prior knowledge on
// http://) or h2 (HTTP/2 by ALPN on https://, certificate not verified): one connection
// carrying CONCURRENCY streams. Prints one JSON line (bench/peers/README.md has the
// contract): requests, errors, wall seconds and the client's own CPU seconds over the
// measured phase, p50/p99 latency.
#include "usage.hpp"

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

namespace {

/// Latencies in nanoseconds, in log-linear buckets laid out as HdrHistogram's (wrk's; it
/// keeps 3 significant digits, these about 0.8 %): values below 128 ns exactly, larger
/// ones by their top 7 significant bits, so within 1/64 (1.6 %), at most 0.8 % from the
/// bucket's middle. Integer arithmetic only, and the same
/// memory for any number of requests, so neither the client's CPU nor its peak RSS grows with the
/// run's length.
class Histogram {
public:
    void add(std::chrono::nanoseconds elapsed) {
        const auto ns = static_cast<std::uint64_t>(std::max<std::int64_t>(elapsed.count(), 0));
        ++counts_[std::min(index_of(ns), counts_.size() - 1)];
        ++total_;
    }
    /// The value at quantile `q` (nearest rank), in microseconds, to within 0.8 %.
    double quantile_us(double q) const {
        if (total_ == 0) return 0.0;
        const auto wanted = static_cast<double>(total_) * q;
        auto rank = static_cast<std::uint64_t>(wanted);
        if (static_cast<double>(rank) < wanted || rank == 0) ++rank;
        std::uint64_t seen = 0;
        for (std::size_t i = 0; i < counts_.size(); ++i) {
            seen += counts_[i];
            if (seen >= rank) return static_cast<double>(middle_of(i)) / 1000.0;
        }
        return static_cast<double>(middle_of(counts_.size() - 1)) / 1000.0;
    }

private:
    // Row 0 holds 0-127 ns exactly; row s >= 1 holds [64, 127] << s in 64 buckets of 2^s.
    static constexpr unsigned bits = 7; // significant bits kept
    static constexpr std::size_t half = std::size_t{1} << (bits - 1);
    static std::size_t index_of(std::uint64_t ns) {
        const auto width = static_cast<unsigned>(std::bit_width(ns));
        if (width <= bits) return static_cast<std::size_t>(ns);
        const unsigned shift = width - bits;
        return 2 * half + (shift - 1) * half + static_cast<std::size_t>((ns >> shift) - half);
    }
    static std::uint64_t middle_of(std::size_t i) {
        if (i < 2 * half) return i;
        const std::size_t shift = (i - 2 * half) / half + 1;
        const std::uint64_t low = std::uint64_t{(i - 2 * half) % half + half} << shift;
        return low + (std::uint64_t{1} << shift) / 2;
    }
    std::array<std::uint64_t, 2048> counts_{}; // 0 ns to 2^37 ns (137 s); more counts as 137 s
    std::uint64_t total_ = 0;
};

} // namespace

int main(int argc, char** argv) {
    if (argc < 4) {
        std::fprintf(stderr, "usage: %s URL REQUESTS CONCURRENCY [http1|h2c|h2]\n", argv[0]);
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
    if (protocol != "http1" && protocol != "h2c" && protocol != "h2") {
        std::fprintf(stderr, "PROTOCOL must be http1, h2c or h2\n");
        return 2;
    }
    const bool h2 = protocol != "http1";

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
    nector::http::HTTPTransport<> transport(io.get_executor(), std::move(options));

    Histogram latency;
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
