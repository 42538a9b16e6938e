// The connection pool: per-origin connections under a global and a per-origin cap,
// keep-alive reuse, idle expiry, and a bounded FIFO wait for a free connection. HTTP/1.1
// connections are lent to one exchange at a time; multiplexed (HTTP/2) ones are shared by
// every exchange they have room for. The pool room owns the connections' bookkeeping and
// the wait for one; it may include dialer/, wire/ and message/, never client/.
#pragma once

#include "http/dialer/dialer.hpp"
#include "http/message/url.hpp"
#include "http/wire/connection.hpp"
#include "nector/http/options.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <list>
#include <memory>
#include <string_view>
#include <vector>

namespace nector::http::detail {

class Pool;

/// The pool's record of one connection: the connection and the pool's bookkeeping of it.
struct PoolEntry {
    std::shared_ptr<Connection> connection;
    Origin origin;
    std::chrono::steady_clock::time_point idle_since{};
    std::size_t exchanges = 0; ///< exchanges completed on it; > 0 means a reused connection
};

/// A connection held for one exchange. Destroyed without release() or finish(), an HTTP/1.1
/// connection is closed (an exchange that did not finish cleanly never goes back to the
/// pool); a multiplexed one stays open unless it closed itself.
class Lease {
public:
    Lease() = default;
    Lease(Pool* pool, std::shared_ptr<PoolEntry> e) : pool_(pool), entry_(std::move(e)) {}
    Lease(Lease&& other) noexcept
        : pool_(std::exchange(other.pool_, nullptr)), entry_(std::move(other.entry_)) {}
    Lease& operator=(Lease&& other) noexcept {
        if (this != &other) {
            release(false);
            pool_ = std::exchange(other.pool_, nullptr);
            entry_ = std::move(other.entry_);
        }
        return *this;
    }
    ~Lease() { release(false); }

    explicit operator bool() const noexcept { return entry_ != nullptr; }
    Connection* operator->() const noexcept { return entry_->connection.get(); }
    Connection& operator*() const noexcept { return *entry_->connection; }
    /// The connection carried an exchange before this one.
    bool reused() const noexcept { return entry_->exchanges > 0; }
    /// The exchange completed: counts it, then release(reusable).
    void finish(bool reusable) noexcept {
        if (entry_) ++entry_->exchanges;
        release(reusable);
    }
    /// Returns the connection to the pool, for reuse when `reusable` and still open.
    void release(bool reusable) noexcept;

private:
    Pool* pool_ = nullptr;
    std::shared_ptr<PoolEntry> entry_;
};

class Pool {
public:
    using Now = std::chrono::steady_clock::time_point (*)();

    /// New connections come from `dialer`. `now` is the clock of idle expiry (tests give
    /// their own); the wait for a free connection uses Asio's steady timers.
    Pool(boost::asio::any_io_executor executor, const Limits& limits, Duration pool_timeout,
         std::unique_ptr<Dialer> dialer, Now now = &std::chrono::steady_clock::now);
    ~Pool();

    /// A connection to `origin` able to take one exchange: an idle one (or a multiplexed
    /// one with room for another stream) if there is one, else a new one if the caps allow,
    /// else the first to free up within the pool timeout (ConnectionTimeoutError
    /// pool_timeout after that).
    /// `own`: not a multiplexed connection another exchange is using (a hedge's: its own
    /// connection), so an idle one or a new one.
    boost::asio::awaitable<Lease> acquire(const Origin& origin, Timings& timings,
                                          std::string_view context, bool own = false);
    /// acquire() without waiting or connecting: an idle connection, or a multiplexed one
    /// with room (unless `own`), else an empty Lease.
    Lease try_acquire(const Origin& origin, bool own = false);
    /// Closes every connection and fails every waiter, and connections being opened when
    /// they open; the pool stays usable.
    void close_all() noexcept;

    std::size_t open_connections() const noexcept { return open_; }
    /// Connections the dialer made (TCP connects, whether TLS then succeeded or not).
    std::size_t connections_opened() const noexcept { return dialer_->connections_opened(); }
    /// DNS lookups the dialer made.
    std::size_t name_lookups() const noexcept { return dialer_->name_lookups(); }
    std::size_t tls_handshakes() const noexcept { return dialer_->tls_handshakes(); }
    std::size_t tls_resumed() const noexcept { return dialer_->tls_resumed(); }
    std::size_t idle_connections() const noexcept { return idle_.size(); }
    std::size_t multiplexed_connections() const noexcept { return shared_.size(); }

private:
    friend class Lease;
    struct OriginCount {
        Origin origin;
        std::size_t open = 0;
        std::size_t connecting = 0;
        bool http1 = false; ///< a connection to it turned out not to be multiplexed
    };
    struct Waiter {
        const Origin* origin;
        boost::asio::steady_timer* timer;
        bool notified = false;
    };

    using EntryPtr = std::shared_ptr<PoolEntry>;
    void give_back(EntryPtr e, bool reusable) noexcept;
    void forget(const Origin& origin) noexcept; // one connection to origin closed
    OriginCount& entry(const Origin& origin);
    std::size_t& count(const Origin& origin) { return entry(origin).open; }
    /// A connection attempt to `origin` is under way whose result the caller should share.
    bool wait_for_connect(const Origin& origin);
    EntryPtr take_shared(const Origin& origin);
    enum class Room { none, free, by_closing_idle };
    /// Whether another connection to `origin` fits under the caps, and how.
    Room room_for(const Origin& origin);
    /// room_for(), closing an idle connection to another origin when that makes the room.
    bool can_open(const Origin& origin);
    EntryPtr take_idle(const Origin& origin);
    void expire_idle() noexcept;
    /// Wakes the waiters that can now go on: every waiter for an origin with a multiplexed
    /// connection that has room, else the first one that an idle connection or room for a
    /// new connection lets go on.
    void wake_one() noexcept;

    boost::asio::any_io_executor executor_;
    Limits limits_;
    Duration pool_timeout_;
    std::unique_ptr<Dialer> dialer_;
    Now now_;
    std::vector<EntryPtr> idle_;                   // most recently used last
    std::vector<EntryPtr> shared_;                 // multiplexed, busy or not
    std::vector<std::weak_ptr<PoolEntry>> leased_; // in use by an exchange
    std::vector<OriginCount> counts_;
    std::list<Waiter*> waiters_;
    std::size_t open_ = 0;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
    std::uint64_t closings_ = 0; ///< close_all() calls, so a dial that spans one is not kept
};

} // namespace nector::http::detail
