// A streaming-download client for measurements: COUNT sequential GETs of one URL through
// the public streaming API (HTTPTransport::stream, then ResponseStream::read_some into one
// 64 KiB buffer, or ResponseStream::next), each body read piece by piece and discarded, on
// one transport (one keep-alive connection). Prints the bytes, the wall time, the throughput
// in MiB/s, the client's CPU time (user + sys) per 100 MiB and its peak RSS: the nector side
// of bench/stream-download and bench/compare's download section.
//
//   nector-bench-stream URL [count=10] [protocol=http1] [api=read_some|next]
//
// protocol: http1; http1-tls (HTTP/1.1 on https://, certificate not verified); h2c (HTTP/2
// by prior knowledge on http://); h2 (HTTP/2 by ALPN on https://, certificate not
// verified). Each download's byte count must equal its Content-Length (when the response
// has one and no Content-Encoding), or the run fails.
#include "usage.hpp"

#include <nector/nector.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <sys/resource.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace asio = boost::asio;

namespace {

constexpr double mib = 1024.0 * 1024.0;

using nector::bench::status_mib;
using nector::bench::Usage;
using nector::bench::usage;

std::optional<std::uint64_t> parse_length(std::string_view text) {
    std::uint64_t value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
    return value;
}

struct Totals {
    std::uint64_t bytes = 0;
    std::uint64_t chunks = 0;
    std::uint64_t largest_chunk = 0;
    long completed = 0;
    std::string error; ///< the first failure, empty when none
};

} // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr,
                     "usage: %s URL [count=10] [protocol=http1|http1-tls|h2c|h2] "
                     "[api=read_some|next]\n",
                     argv[0]);
        return 2;
    }
    const std::string url = argv[1];
    const long count = argc > 2 ? std::atol(argv[2]) : 10;
    const std::string protocol = argc > 3 ? argv[3] : "http1";
    const std::string api = argc > 4 ? argv[4] : "read_some";
    const bool use_next = api == "next";
    if (!use_next && api != "read_some") {
        std::fprintf(stderr, "api must be read_some or next\n");
        return 2;
    }
    if (count <= 0) {
        std::fprintf(stderr, "count must be positive\n");
        return 2;
    }
    if (protocol != "http1" && protocol != "http1-tls" && protocol != "h2c" && protocol != "h2") {
        std::fprintf(stderr, "protocol must be http1, http1-tls, h2c or h2\n");
        return 2;
    }

    asio::io_context io(1);
    // Set field by field: a designated-initializer temporary trips GCC 12's
    // -Wmaybe-uninitialized on its strings.
    nector::http::Options options;
    options.limits.max_connections = 1;
    options.limits.max_connections_per_origin = 1;
    options.limits.max_idle_connections = 1;
    options.verify_ssl = protocol != "h2" && protocol != "http1-tls";
    options.http2 = protocol == "h2";
    options.http2_prior_knowledge = protocol == "h2c";
    nector::http::HTTPTransport<> transport(io.get_executor(), std::move(options));

    constexpr std::size_t buffer_size = std::size_t{64} * 1024;
    const auto buffer = std::make_unique<char[]>(buffer_size);
    Totals totals;
    auto start = std::chrono::steady_clock::now();
    auto finished = start;
    Usage before{};
    nector::http::Metrics metrics;
    double anon_mib = -1;
    double file_mib = -1;
    const auto run = [&]() -> asio::awaitable<void> {
        co_await transport.connect();
        before = usage();
        start = std::chrono::steady_clock::now();
        try {
            for (long i = 0; i < count; ++i) {
                // A named message: with GCC 12, an HttpMessage{...} temporary in the co_await
                // expression aborts in ~HttpMessage (free(): invalid pointer).
                nector::http::HttpMessage get;
                get.method = "GET";
                get.url = url;
                auto stream = co_await transport.stream(std::move(get));
                if (stream.status() != 200) {
                    totals.error = "download " + std::to_string(i + 1) + ": status " +
                                   std::to_string(stream.status());
                    break;
                }
                std::optional<std::uint64_t> expected;
                if (const auto length = stream.headers().get("Content-Length")) {
                    expected = parse_length(*length);
                    if (!expected) {
                        totals.error = "download " + std::to_string(i + 1) +
                                       ": unparsable Content-Length \"" + std::string(*length) +
                                       "\"";
                        break;
                    }
                }
                // A decoded body is longer than its Content-Length says: compare raw ones only.
                const auto encoding = stream.headers().get("Content-Encoding");
                const bool raw = !encoding || *encoding == "identity";
                std::uint64_t got = 0;
                if (use_next) {
                    while (auto chunk = co_await stream.next()) {
                        got += chunk->size();
                        ++totals.chunks;
                        totals.largest_chunk =
                            std::max<std::uint64_t>(totals.largest_chunk, chunk->size());
                    }
                } else {
                    while (const std::size_t n =
                               co_await stream.read_some(asio::buffer(buffer.get(), buffer_size))) {
                        got += n;
                        ++totals.chunks;
                        totals.largest_chunk = std::max<std::uint64_t>(totals.largest_chunk, n);
                    }
                }
                totals.bytes += got;
                if (expected && raw && got != *expected) {
                    totals.error = "download " + std::to_string(i + 1) + ": got " +
                                   std::to_string(got) + " bytes, Content-Length says " +
                                   std::to_string(*expected);
                    break;
                }
                ++totals.completed;
            }
        } catch (const std::exception& e) {
            totals.error =
                std::string("download ") + std::to_string(totals.completed + 1) + ": " + e.what();
        }
        finished = std::chrono::steady_clock::now();
        metrics = transport.metrics();
        // Private (heap, stacks) versus file-backed (shared libraries) resident memory.
        anon_mib = status_mib("RssAnon");
        file_mib = status_mib("RssFile");
        // An open HTTP/2 connection keeps a read pending: close it so that run() returns.
        co_await transport.disconnect();
    };
    asio::co_spawn(io, run(), [](std::exception_ptr e) {
        if (e) std::rethrow_exception(e);
    });
    io.run();

    const Usage after = usage();
    const double wall = std::chrono::duration<double>(finished - start).count();
    const double cpu = after.cpu_seconds - before.cpu_seconds;
    const double bytes = static_cast<double>(totals.bytes);
    std::printf("downloads %ld of %ld ok, protocol %s, api %s\n", totals.completed, count,
                protocol.c_str(), api.c_str());
    std::printf("bytes %llu (%.1f MiB), chunks %llu (mean %.1f KiB, largest %.1f KiB)\n",
                static_cast<unsigned long long>(totals.bytes), bytes / mib,
                static_cast<unsigned long long>(totals.chunks),
                totals.chunks ? bytes / static_cast<double>(totals.chunks) / 1024.0 : 0.0,
                static_cast<double>(totals.largest_chunk) / 1024.0);
    std::printf("wall %.3f s, %.1f MiB/s\n", wall, wall > 0 ? bytes / mib / wall : 0.0);
    std::printf("client CPU %.3f s, %.2f ms per 100 MiB\n", cpu,
                bytes > 0 ? cpu * 1e3 * 100.0 * mib / bytes : 0.0);
    std::printf(
        "peak RSS %.2f MiB (after the downloads: anonymous %.2f MiB, file-backed %.2f MiB)\n",
        after.max_rss_mib, anon_mib, file_mib);
    // One transport, sequential downloads: expect 1 connection (keep-alive) and no retries.
    std::printf("connections opened %llu, retries %llu\n",
                static_cast<unsigned long long>(metrics.connections_opened),
                static_cast<unsigned long long>(metrics.retries));
    if (!totals.error.empty()) {
        std::fprintf(stderr, "error: %s\n", totals.error.c_str());
        return 1;
    }
    return 0;
}
