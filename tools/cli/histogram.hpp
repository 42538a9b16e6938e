// A latency histogram of fixed size: the bench client of bench/compare and `nector bench`
// (tools/cli/bench.cpp) count with the same one, so their figures compare.
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <chrono>
#include <cstddef>
#include <cstdint>

namespace nector::cli {

/// Latencies in nanoseconds, in log-linear buckets laid out as HdrHistogram's (wrk's; it
/// keeps 3 significant digits, these about 0.8 %): values below 128 ns exactly, larger
/// ones by their top 7 significant bits, so within 1/64 (1.6 %), at most 0.8 % from the
/// bucket's middle. Integer arithmetic only, and the same
/// memory for any number of requests, so neither the client's CPU nor its peak RSS grows with the
/// run's length.
class Histogram {
    static constexpr std::size_t bucket_count = 2048;

public:
    /// Values added so far.
    std::uint64_t count() const noexcept { return total_; }
    /// The count of values in bucket `i`, and the value (ns) at its middle; buckets() of them.
    static constexpr std::size_t buckets() noexcept { return bucket_count; }
    std::uint64_t count_at(std::size_t i) const noexcept { return counts_[i]; }
    static std::uint64_t value_at(std::size_t i) noexcept { return middle_of(i); }
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
    std::array<std::uint64_t, bucket_count>
        counts_{}; // 0 ns to 2^37 ns (137 s); more counts as 137 s
    std::uint64_t total_ = 0;
};

} // namespace nector::cli
