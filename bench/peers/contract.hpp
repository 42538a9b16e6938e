// bench/peers/README.md's contract for the C++ peer clients (beast_client.cpp,
// curl_multi.cpp): arguments, the process's CPU time, nearest-rank percentiles, the JSON line.
#pragma once

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

namespace peer {

using Clock = std::chrono::steady_clock;

/// User + sys CPU seconds of this process so far.
inline double cpu_seconds() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    const auto seconds = [](const timeval& t) {
        return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
    };
    return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

/// Nearest rank: the smallest sample with at least p of the samples at or below it.
inline double percentile(const std::vector<double>& sorted, double p) {
    if (sorted.empty()) return 0;
    const auto rank = static_cast<std::size_t>(std::ceil(p * static_cast<double>(sorted.size())));
    return sorted[std::clamp<std::size_t>(rank, 1, sorted.size()) - 1];
}

struct Args {
    std::string url;
    long total = 0;
    long concurrency = 0;
    std::string protocol;
};

/// Parses `URL REQUESTS CONCURRENCY [PROTOCOL]` into args. Returns 0, else the exit status
/// after saying why on stderr: 2 for bad arguments, 3 for a protocol of the contract that is
/// not in `supported`.
inline int parse_args(int argc, char** argv, std::initializer_list<std::string_view> supported,
                      Args& args) {
    if (argc < 4 || argc > 5) {
        std::fprintf(stderr, "usage: %s URL REQUESTS CONCURRENCY [http1|h2c|h2]\n", argv[0]);
        return 2;
    }
    args.url = argv[1];
    args.protocol = argc > 4 ? argv[4] : "http1";
    const auto known = {std::string_view("http1"), std::string_view("h2c"), std::string_view("h2")};
    if (std::find(known.begin(), known.end(), args.protocol) == known.end()) {
        std::fprintf(stderr, "PROTOCOL must be http1, h2c or h2\n");
        return 2;
    }
    if (std::find(supported.begin(), supported.end(), args.protocol) == supported.end()) {
        std::fprintf(stderr, "unsupported protocol\n");
        return 3;
    }
    const auto count = [](const char* text) {
        char* end = nullptr;
        const long value = std::strtol(text, &end, 10);
        return *end == '\0' && value > 0 ? value : 0;
    };
    args.total = count(argv[2]);
    args.concurrency = count(argv[3]);
    if (args.total == 0 || args.concurrency == 0) {
        std::fprintf(stderr, "REQUESTS and CONCURRENCY must be positive integers\n");
        return 2;
    }
    return 0;
}

/// Prints the one JSON line (sorting latencies_us) and returns the exit status: 0 when no
/// request failed, else 1.
inline int report(const char* client, const Args& args, long ok, long errors, double seconds,
                  double cpu_s, std::vector<double>& latencies_us) {
    std::sort(latencies_us.begin(), latencies_us.end());
    std::printf(
        "{\"client\":\"%s\",\"protocol\":\"%s\",\"requests\":%ld,\"ok\":%ld,\"errors\":%ld,"
        "\"concurrency\":%ld,\"seconds\":%.6f,\"cpu_s\":%.6f,\"p50_us\":%.1f,\"p99_us\":%.1f}\n",
        client, args.protocol.c_str(), args.total, ok, errors, args.concurrency, seconds, cpu_s,
        percentile(latencies_us, 0.50), percentile(latencies_us, 0.99));
    return errors == 0 ? 0 : 1;
}

} // namespace peer
