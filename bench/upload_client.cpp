// A streaming-upload client for measurements: one PUT of FILE's bytes to URL through the
// public API, from the file (HttpMessage::content_path: read while it is sent, never whole
// into memory) or from a producer (HttpMessage::producer with its size: the file's first
// 64 KiB handed out again and again, as a program making its body would). Prints the
// bytes, the wall time, MiB/s, the client's CPU time (user + sys) and its peak RSS, split
// as /proc/self/status gives it: the nector side of bench/upload and bench/stream-upload.
//
//   nector-bench-upload URL FILE [protocol=http1] [source=file]
//
// protocol: http1; http1-tls (HTTP/1.1 on https://, certificate not verified); h2c (HTTP/2
// by prior knowledge on http://); h2 (HTTP/2 by ALPN on https://, not verified).
// source: file or producer.
#include "usage.hpp"

#include <nector/nector.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace asio = boost::asio;

namespace {

constexpr double mib = 1024.0 * 1024.0;

double cpu_seconds() { return nector::bench::usage().cpu_seconds; }
double max_rss_mib() { return nector::bench::usage().max_rss_mib; }
using nector::bench::status_mib;

} // namespace

int main(int argc, char** argv) {
    if (argc < 3 || argc > 5) {
        std::fprintf(stderr, "usage: %s URL FILE [http1|http1-tls|h2c|h2] [file|producer]\n",
                     argv[0]);
        return 2;
    }
    const std::string url = argv[1];
    const std::filesystem::path file = argv[2];
    const std::string protocol = argc > 3 ? argv[3] : "http1";
    const std::string source = argc > 4 ? argv[4] : "file";
    if (protocol != "http1" && protocol != "http1-tls" && protocol != "h2c" && protocol != "h2") {
        std::fprintf(stderr, "protocol must be http1, http1-tls, h2c or h2\n");
        return 2;
    }
    if (source != "file" && source != "producer") {
        std::fprintf(stderr, "source must be file or producer\n");
        return 2;
    }
    const std::uint64_t size = std::filesystem::file_size(file);
    std::string block(std::min<std::uint64_t>(size, 64 * 1024), '\0');
    if (std::FILE* f = std::fopen(file.c_str(), "rb")) {
        const std::size_t got = std::fread(block.data(), 1, block.size(), f);
        std::fclose(f);
        block.resize(got);
    }
    if (block.empty() && size > 0) {
        std::fprintf(stderr, "cannot read %s\n", file.c_str());
        return 2;
    }
    asio::io_context io(1);
    int status = 0;
    std::string failure;
    const double cpu_before = cpu_seconds();
    const auto start = std::chrono::steady_clock::now();
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
            nector::http::Options options;
            options.http2_prior_knowledge = protocol == "h2c";
            options.http2 = protocol == "h2";
            options.verify_ssl = protocol != "h2" && protocol != "http1-tls";
            options.retry.max_retries = 0;
            nector::http::HTTPTransport<> t(options);
            co_await t.connect();
            nector::http::HttpMessage put{.method = "PUT", .url = url};
            if (source == "file") {
                put.content_path = file;
            } else {
                std::uint64_t left = size;
                put.producer.size = size;
                put.producer.next =
                    [&block, left]() mutable -> asio::awaitable<std::optional<std::string>> {
                    if (left == 0) co_return std::nullopt;
                    const auto n =
                        static_cast<std::size_t>(std::min<std::uint64_t>(left, block.size()));
                    left -= n;
                    co_return block.substr(0, n);
                };
            }
            const nector::http::Response r = co_await t.request(std::move(put));
            status = r.status;
            co_await t.disconnect();
        },
        [&](std::exception_ptr e) {
            if (!e) return;
            try {
                std::rethrow_exception(e);
            } catch (const std::exception& error) {
                failure = error.what();
            }
        });
    io.run();
    const double wall =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const double cpu = cpu_seconds() - cpu_before;
    if (!failure.empty()) {
        std::fprintf(stderr, "upload failed: %s\n", failure.c_str());
        return 1;
    }
    const double bytes = static_cast<double>(size);
    std::printf(
        "status %d bytes %.0f wall %.3f s %.1f MiB/s cpu %.1f ms peak_rss %.2f MiB "
        "anon %.2f MiB file %.2f MiB\n",
        status, bytes, wall, bytes / mib / wall, cpu * 1e3, max_rss_mib(), status_mib("RssAnon"),
        status_mib("RssFile"));
    return status >= 200 && status < 300 ? 0 : 1;
}
