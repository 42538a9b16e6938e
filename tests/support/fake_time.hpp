// A hand-driven clock and fixed random sources for the resilience tests (no sleeps).
#pragma once

#include "nector/http/retry.hpp"

#include <atomic>
#include <chrono>

namespace nector::test {

/// Monotonic and wall time that move only when a test says so. Safe to read from many
/// threads. Must outlive the Clock it hands out.
class FakeClock {
public:
    using SteadyTime = std::chrono::steady_clock::time_point;
    using WallTime = std::chrono::system_clock::time_point;

    SteadyTime now() const { return steady_.load(); }
    WallTime wall() const { return wall_.load(); }
    void advance(http::Duration d) {
        steady_.store(steady_.load() + d);
        wall_.store(wall_.load() + std::chrono::duration_cast<WallTime::duration>(d));
    }
    void set_wall(WallTime t) { wall_.store(t); }

    http::Clock clock() {
        return {[this] { return now(); }, [this] { return wall(); }};
    }

private:
    std::atomic<SteadyTime> steady_{SteadyTime{} + std::chrono::hours{1000}};
    std::atomic<WallTime> wall_{std::chrono::sys_days{std::chrono::year{2026} / 1 / 1}};
};

/// Always `u`.
inline http::Randomness fixed_random(double u) {
    return {[u] { return u; }};
}

} // namespace nector::test
