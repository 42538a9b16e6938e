// A streaming-upload client for measurements: one PUT of FILE to URL through the public API
// with HttpMessage::content_path (the file is read 64 KiB at a time while it is sent, never
// whole into memory). Prints the bytes, the wall time, MiB/s, the client's CPU time
// (user + sys) and its peak RSS, split as /proc/self/status gives it: the nector side of
// bench/stream-upload.
//
//   nector-bench-upload URL FILE [protocol=http1]
//
// protocol: http1; h2c (HTTP/2 by prior knowledge on http://).
#include "usage.hpp"

#include <nector/nector.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <exception>
#include <filesystem>
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
    if (argc < 3) {
        std::fprintf(stderr, "usage: %s URL FILE [http1|h2c]\n", argv[0]);
        return 2;
    }
    const std::string url = argv[1];
    const std::filesystem::path file = argv[2];
    const std::string protocol = argc > 3 ? argv[3] : "http1";
    if (protocol != "http1" && protocol != "h2c") {
        std::fprintf(stderr, "protocol must be http1 or h2c\n");
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
            nector::http::Options options{.http2_prior_knowledge = protocol == "h2c"};
            options.retry.max_retries = 0;
            nector::http::HTTPTransport<> t(options);
            co_await t.connect();
            nector::http::HttpMessage put{.method = "PUT", .url = url, .content_path = file};
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
    const double bytes = static_cast<double>(std::filesystem::file_size(file));
    std::printf(
        "status %d bytes %.0f wall %.3f s %.1f MiB/s cpu %.1f ms peak_rss %.2f MiB "
        "anon %.2f MiB file %.2f MiB\n",
        status, bytes, wall, bytes / mib / wall, cpu * 1e3, max_rss_mib(), status_mib("RssAnon"),
        status_mib("RssFile"));
    return status >= 200 && status < 300 ? 0 : 1;
}
