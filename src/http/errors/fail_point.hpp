// Failure injection for tests (Beast's fail_count): a FailCount armed on a thread makes the
// n-th I/O operation nector starts on that thread fail. Socket and TLS operations (connect,
// handshake, reads, writes) and name lookups complete with connection_reset; timers (timeouts,
// deadlines, backoffs, pool waits, PINGs) expire at once. A test loops n upwards from 1 until
// the n-th operation never comes, and checks that each call ended in exactly one outcome with
// nothing leaked (tests/integration/fail_count_test.cpp). Unarmed, each site costs one
// thread-local load.
#pragma once

#include <boost/asio/error.hpp>
#include <boost/system/error_code.hpp>

#include <cstddef>

namespace nector::http::detail {

class FailCount {
public:
    /// Arms this thread: the `n`-th operation from now fails (n >= 1). One at a time.
    explicit FailCount(std::size_t n) noexcept;
    /// Disarms this thread.
    ~FailCount();
    FailCount(const FailCount&) = delete;
    FailCount& operator=(const FailCount&) = delete;

    /// Whether the n-th operation came (and failed).
    bool fired() const noexcept { return fired_; }
    /// Operations counted so far.
    std::size_t counted() const noexcept { return counted_; }

    /// Counts one operation on this thread; true when it is the one to fail.
    static bool count() noexcept;

private:
    std::size_t n_;
    std::size_t counted_ = 0;
    bool fired_ = false;
};

/// After a socket, TLS or lookup operation completed with `ec`: counts it, and when it is the
/// one to fail, replaces `ec` with connection_reset.
inline void fail_point(boost::system::error_code& ec) noexcept {
    if (FailCount::count()) ec = boost::asio::error::connection_reset;
}

/// After a read that completed with `ec` and `n` bytes: as above, and a failed read gave no
/// bytes.
inline void fail_point(boost::system::error_code& ec, std::size_t& n) noexcept {
    if (!FailCount::count()) return;
    ec = boost::asio::error::connection_reset;
    n = 0;
}

/// Before a timer wait: counts it, and when it is the one to fail, makes it expire at once.
template <class Timer>
void fail_point_timer(Timer& timer) {
    if (FailCount::count()) timer.expires_at(Timer::clock_type::now());
}

} // namespace nector::http::detail
