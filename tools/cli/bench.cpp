// `nector bench URL -c 64 -n 100000 [-z 10s] [--http2]`: load from the command line, as oha
// and hey print it (docs/cli.md). One thread, one HTTPTransport, `-c` coroutines each
// making requests one after another: the loop of bench/compare's nector client, counted with
// the same histogram.
#include "cli.hpp"
#include "histogram.hpp"

#include <fmt/core.h>
#include <CLI/CLI.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <unistd.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>

namespace nector::cli {
namespace {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

struct BenchFlags {
    std::string url;
    std::size_t connections = 50;
    std::size_t requests = 200;
    std::string duration; // "10s", "500ms", "2m"; empty: -n requests
    std::string method = "GET";
    std::vector<std::string> headers;
    std::string body;
    bool http2 = false;
    bool http2_prior_knowledge = false;
    bool insecure = false;
    std::string cacert;
    double timeout = 10;
};

// "10s", "1.5s", "250ms", "2m", "1h" (a bare number is seconds).
std::chrono::nanoseconds parse_duration(const std::string& text) {
    std::size_t used = 0;
    double value = 0;
    try {
        value = std::stod(text, &used);
    } catch (const std::exception&) {
        used = 0;
    }
    const std::string unit = text.substr(used);
    double seconds = -1;
    if (used > 0 && (unit.empty() || unit == "s"))
        seconds = value;
    else if (used > 0 && unit == "ms")
        seconds = value / 1000;
    else if (used > 0 && unit == "m")
        seconds = value * 60;
    else if (used > 0 && unit == "h")
        seconds = value * 3600;
    if (!(seconds > 0) || seconds > 1e6) {
        throw UsageError(fmt::format("-z \"{}\": give a duration such as 10s, 500ms or 2m", text));
    }
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
        std::chrono::duration<double>(seconds));
}

std::string ms(double ns) { return fmt::format("{:.3f} ms", ns / 1e6); }

struct Tally {
    Histogram latency;
    std::map<int, std::uint64_t> statuses;
    std::map<std::string, std::uint64_t> errors;
    std::uint64_t done = 0;
    std::uint64_t issued = 0;
    std::uint64_t sum_ns = 0;
    std::uint64_t min_ns = UINT64_MAX;
    std::uint64_t max_ns = 0;
};

void report(const Tally& t, double seconds, const BenchFlags& flags) {
    const double mean = t.done == 0 ? 0 : double(t.sum_ns) / double(t.done);
    std::uint64_t failed = 0;
    for (const auto& [name, n] : t.errors) failed += n;
    fmt::print("Summary:\n");
    fmt::print("  Requests:     {} ({} connections{})\n", t.done, flags.connections,
               flags.http2 || flags.http2_prior_knowledge ? ", HTTP/2 streams" : "");
    fmt::print("  Errors:       {}\n", failed);
    fmt::print("  Total:        {:.4f} s\n", seconds);
    fmt::print("  Requests/s:   {:.1f}\n", seconds > 0 ? double(t.done) / seconds : 0.0);
    if (t.done == 0) return;
    fmt::print("  Fastest:      {}\n", ms(double(t.min_ns)));
    fmt::print("  Slowest:      {}\n", ms(double(t.max_ns)));
    fmt::print("  Average:      {}\n", ms(mean));

    // Ten bins of equal width from the fastest to the slowest, as oha and hey draw them.
    constexpr int bins = 10;
    std::array<std::uint64_t, bins> counts{};
    const double low = double(t.min_ns);
    const double width = std::max(1.0, (double(t.max_ns) - low) / bins);
    for (std::size_t i = 0; i < Histogram::buckets(); ++i) {
        const auto n = t.latency.count_at(i);
        if (n == 0) continue;
        const double v = std::clamp(double(Histogram::value_at(i)), low, double(t.max_ns));
        counts[static_cast<std::size_t>(std::min(bins - 1, static_cast<int>((v - low) / width)))] +=
            n;
    }
    const auto most = *std::max_element(counts.begin(), counts.end());
    fmt::print("\nLatency histogram:\n");
    for (int b = 0; b < bins; ++b) {
        const auto n = counts[static_cast<std::size_t>(b)];
        const auto bar = most == 0 ? 0 : static_cast<std::size_t>(40.0 * double(n) / double(most));
        fmt::print("  {:>12} [{:>8}] |{}\n", ms(low + width * (b + 1)), n, std::string(bar, '#'));
    }
    fmt::print("\nLatency percentiles:\n");
    for (const auto& [name, q] :
         {std::pair{"p50", 0.50}, {"p90", 0.90}, {"p99", 0.99}, {"p99.9", 0.999}}) {
        fmt::print("  {:<6} {}\n", name, ms(t.latency.quantile_us(q) * 1000.0));
    }
    fmt::print("\nStatus codes:\n");
    for (const auto& [status, n] : t.statuses) fmt::print("  [{}] {} responses\n", status, n);
    if (!t.errors.empty()) {
        fmt::print("\nErrors:\n");
        for (const auto& [name, n] : t.errors) fmt::print("  [{}] {}\n", name, n);
    }
}

Exit run_bench(const BenchFlags& flags) {
    if (flags.connections == 0) throw UsageError("-c: give at least one connection");
    std::optional<std::chrono::nanoseconds> duration;
    if (!flags.duration.empty())
        duration = parse_duration(flags.duration);
    else if (flags.requests == 0)
        throw UsageError("-n: give at least one request");

    http::HttpMessage message;
    message.method = flags.method;
    message.url = expand_url(flags.url, "http");
    message.headers = header_flags(flags.headers);
    if (!flags.body.empty()) message.content = to_bytes(flags.body);

    const bool h2 = flags.http2 || flags.http2_prior_knowledge;
    const std::size_t pool = h2 ? 1 : flags.connections;
    http::Options options;
    options.limits.max_connections = pool;
    options.limits.max_connections_per_origin = pool;
    options.limits.max_idle_connections = pool;
    options.http2 = flags.http2;
    options.http2_prior_knowledge = flags.http2_prior_knowledge;
    options.http2_settings.max_concurrent_streams = static_cast<std::uint32_t>(flags.connections);
    options.verify_ssl = !flags.insecure;
    options.tls.ca_file = flags.cacert;
    options.timeout = http::Timeout::all(
        std::chrono::duration_cast<http::Duration>(std::chrono::duration<double>(flags.timeout)));
    options.retry.max_retries = 0; // a load tool counts failures, it does not hide them
    options.raise_for_status = false;
    options.follow_redirects = false;

    asio::io_context io(1);
    http::HTTPTransport<> transport(io.get_executor(), std::move(options));
    std::exception_ptr connect_error;
    asio::co_spawn(io, transport.connect(), [&](std::exception_ptr e) { connect_error = e; });
    io.run();
    if (connect_error) std::rethrow_exception(connect_error);
    io.restart();

    Tally tally;
    const auto start = Clock::now();
    const auto deadline = duration ? start + *duration : Clock::time_point::max();
    auto finished = start;
    std::size_t running = flags.connections;
    bool done = false;
    const bool terminal = is_terminal(STDERR_FILENO);

    const auto more = [&] {
        return duration ? Clock::now() < deadline : tally.issued < flags.requests;
    };
    const auto worker = [&]() -> asio::awaitable<void> {
        while (more()) {
            ++tally.issued;
            const auto begin = Clock::now();
            try {
                const http::Response r = co_await transport.request(message);
                ++tally.statuses[r.status];
            } catch (const TransportError& e) {
                ++tally.errors[e.code().category() == error_category()
                                   ? std::string(to_string(static_cast<errc>(e.code().value())))
                                   : e.code().message()];
            } catch (const std::exception& e) {
                ++tally.errors[e.what()]; // counted, so that the worker goes on and ends
            }
            const auto ns = static_cast<std::uint64_t>(
                std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - begin).count());
            tally.latency.add(std::chrono::nanoseconds(ns));
            tally.sum_ns += ns;
            tally.min_ns = std::min(tally.min_ns, ns);
            tally.max_ns = std::max(tally.max_ns, ns);
            ++tally.done;
        }
        if (--running == 0) {
            finished = Clock::now();
            done = true;
            co_await transport.disconnect(); // an HTTP/2 connection keeps a read pending
        }
    };
    // The live line: on a terminal, redrawn ten times a second until the workers end.
    const auto progress = [&]() -> asio::awaitable<void> {
        asio::steady_timer timer(co_await asio::this_coro::executor);
        while (!done) {
            timer.expires_after(std::chrono::milliseconds(100));
            co_await timer.async_wait(asio::use_awaitable);
            const double s = std::chrono::duration<double>(Clock::now() - start).count();
            std::uint64_t failed = 0;
            for (const auto& [name, n] : tally.errors) failed += n;
            // Not `?:` between two strings: GCC 12 miscompiles such temporaries in coroutines.
            std::string of;
            if (duration) {
                of = fmt::format("{:.1f} s of {:.1f} s", s,
                                 std::chrono::duration<double>(*duration).count());
            } else {
                of = fmt::format("{} of {}", tally.done, flags.requests);
            }
            fmt::print(stderr, "\r{}  {} done  {:.0f} req/s  {} errors\x1b[K", of, tally.done,
                       s > 0 ? double(tally.done) / s : 0.0, failed);
            std::fflush(stderr);
        }
        fmt::print(stderr, "\r\x1b[K");
    };
    for (std::size_t i = 0; i < flags.connections; ++i)
        asio::co_spawn(io, worker(), asio::detached);
    if (terminal) asio::co_spawn(io, progress(), asio::detached);
    io.run();

    report(tally, std::chrono::duration<double>(finished - start).count(), flags);
    return tally.errors.empty() ? Exit::ok : Exit::error;
}

} // namespace

int bench_main(int argc, char** argv) {
    BenchFlags f;
    CLI::App app{"nector bench: load an HTTP server and report latency, as oha and hey do",
                 "nector bench"};
    app.add_option("url", f.url, "the URL to request")->required();
    app.add_option("-c,--connections", f.connections,
                   "requests in flight: connections over HTTP/1.1, streams over HTTP/2 "
                   "(default 50)");
    app.add_option("-n,--requests", f.requests, "requests to make (default 200)");
    app.add_option("-z,--duration", f.duration, "run this long instead (10s, 500ms, 2m)");
    app.add_option("-m,--method", f.method, "the method (default GET)");
    app.add_option("-H,--header", f.headers, "a header \"Name: value\" (repeatable)")
        ->allow_extra_args(false);
    app.add_option("-d,--data", f.body, "a body sent with each request");
    app.add_flag("--http2", f.http2, "HTTP/2 by ALPN over TLS (one connection)");
    app.add_flag("--http2-prior-knowledge", f.http2_prior_knowledge,
                 "h2c without negotiation (one connection)");
    app.add_flag("-k,--insecure", f.insecure, "do not check the server's certificate");
    app.add_option("--cacert", f.cacert, "PEM file of trusted CAs");
    app.add_option("--timeout", f.timeout, "seconds for each phase (default 10)");
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        const int code = app.exit(e);
        return code == 0 ? 0 : static_cast<int>(Exit::bad_input);
    }
    return static_cast<int>(run_bench(f));
}

} // namespace nector::cli
