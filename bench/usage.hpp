// Resource figures of the bench clients' own process, for bench/*.cpp.
#pragma once

#include <sys/resource.h>

#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace nector::bench {

struct Usage {
    double cpu_seconds; ///< user + sys
    double max_rss_mib; ///< peak resident set
};

inline Usage usage() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    const auto seconds = [](const timeval& t) {
        return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
    };
    // ru_maxrss is in KiB on Linux.
    return {seconds(u.ru_utime) + seconds(u.ru_stime), static_cast<double>(u.ru_maxrss) / 1024.0};
}

/// A "Name:   123 kB" line of /proc/self/status, in MiB (-1 when absent).
inline double status_mib(std::string_view name) {
    std::FILE* f = std::fopen("/proc/self/status", "r");
    if (!f) return -1;
    char line[256];
    double value = -1;
    while (std::fgets(line, sizeof line, f)) {
        const std::string_view text(line);
        if (text.size() > name.size() && text.substr(0, name.size()) == name &&
            text[name.size()] == ':') {
            value = std::atof(line + name.size() + 1) / 1024.0;
            break;
        }
    }
    std::fclose(f);
    return value;
}

} // namespace nector::bench
