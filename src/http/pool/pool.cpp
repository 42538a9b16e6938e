#include "http/pool/pool.hpp"

#include "http/errors/fail_point.hpp"

#include "nector/transport/errors.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>

namespace nector::http::detail {
namespace asio = boost::asio;

void Lease::release(bool reusable) noexcept {
    if (!pool_ || !entry_) return;
    std::exchange(pool_, nullptr)->give_back(std::move(entry_), reusable);
}

Pool::Pool(asio::any_io_executor executor, const Limits& limits, Duration pool_timeout,
           std::unique_ptr<Dialer> dialer, Now now)
    : executor_(std::move(executor)),
      limits_(limits),
      pool_timeout_(pool_timeout),
      dialer_(std::move(dialer)),
      now_(now) {}

Pool::~Pool() {
    *alive_ = false;
    close_all();
}

Pool::OriginCount& Pool::entry(const Origin& origin) {
    for (auto& c : counts_) {
        if (c.origin == origin) return c;
    }
    counts_.push_back({.origin = origin});
    return counts_.back();
}

bool Pool::wait_for_connect(const Origin& origin) {
    const OriginCount& e = entry(origin);
    if (e.http1 || !dialer_->expects_multiplexed(origin)) return false;
    if (e.connecting > 0) return true;
    // A new HTTP/2 connection whose SETTINGS have not arrived may soon take many streams.
    return std::any_of(shared_.begin(), shared_.end(), [&](const EntryPtr& s) {
        return s->origin == origin && s->connection->is_open() && !s->connection->negotiated();
    });
}

Pool::EntryPtr Pool::take_shared(const Origin& origin) {
    for (const EntryPtr& e : shared_) {
        if (e->origin == origin && e->connection->available()) return e;
    }
    return nullptr;
}

Pool::Room Pool::room_for(const Origin& origin) {
    if (count(origin) >= limits_.max_connections_per_origin) return Room::none;
    if (open_ < limits_.max_connections) return Room::free;
    // At the global cap: an idle connection to another origin can make room.
    const bool other_idle = std::any_of(idle_.begin(), idle_.end(),
                                        [&](const EntryPtr& e) { return !(e->origin == origin); });
    return other_idle ? Room::by_closing_idle : Room::none;
}

bool Pool::can_open(const Origin& origin) {
    const Room room = room_for(origin);
    if (room != Room::by_closing_idle) return room == Room::free;
    const auto victim = std::find_if(idle_.begin(), idle_.end(),
                                     [&](const EntryPtr& e) { return !(e->origin == origin); });
    EntryPtr e = std::move(*victim);
    idle_.erase(victim);
    e->connection->close();
    forget(e->origin);
    return true;
}

void Pool::expire_idle() noexcept {
    const auto now = now_();
    std::erase_if(idle_, [&](const EntryPtr& e) {
        if (e->connection->is_open() && now - e->idle_since < limits_.idle_timeout) return false;
        e->connection->close();
        forget(e->origin);
        return true;
    });
    // Multiplexed connections go when they closed themselves (GOAWAY, error, failed PING),
    // or when they have carried no stream for the idle timeout.
    std::vector<EntryPtr> gone;
    std::erase_if(shared_, [&](const EntryPtr& e) {
        const Connection& c = *e->connection;
        if (c.is_open() && (c.in_flight() > 0 || now - e->idle_since < limits_.idle_timeout)) {
            return false;
        }
        gone.push_back(e);
        return true;
    });
    for (const EntryPtr& e : gone) {
        e->connection->close();
        forget(e->origin);
    }
}

Pool::EntryPtr Pool::take_idle(const Origin& origin) {
    expire_idle();
    for (auto it = idle_.rbegin(); it != idle_.rend();) {
        if (!((*it)->origin == origin) || !(*it)->connection->available()) {
            ++it;
            continue;
        }
        EntryPtr e = std::move(*it);
        it = std::make_reverse_iterator(idle_.erase(std::next(it).base()));
        // Bytes that arrived unasked, or the server's close: never read as a response.
        if (e->connection->quiet()) return e;
        e->connection->close();
        forget(e->origin);
    }
    return nullptr;
}

void Pool::forget(const Origin& origin) noexcept {
    for (auto& c : counts_) {
        if (c.origin == origin && c.open > 0) {
            --c.open;
            break;
        }
    }
    --open_;
    wake_one();
}

void Pool::wake_one() noexcept {
    bool woke_exclusive = false;
    for (auto it = waiters_.begin(); it != waiters_.end();) {
        Waiter* w = *it;
        const Origin& origin = *w->origin;
        const bool shared = std::any_of(shared_.begin(), shared_.end(), [&](const EntryPtr& e) {
            return e->origin == origin && e->connection->available();
        });
        bool go = shared;
        if (!go && !woke_exclusive) {
            const bool has_idle = std::any_of(idle_.begin(), idle_.end(), [&](const EntryPtr& e) {
                return e->origin == origin && e->connection->available();
            });
            go = has_idle || (room_for(origin) != Room::none && !wait_for_connect(origin));
            woke_exclusive = go;
        }
        if (!go) {
            ++it;
            continue;
        }
        w->notified = true;
        w->timer->cancel();
        it = waiters_.erase(it);
    }
}

void Pool::give_back(EntryPtr e, bool reusable) noexcept {
    Connection& c = *e->connection;
    if (c.multiplexed()) {
        // Its other streams go on; it leaves the pool only once it is closed.
        if (c.in_flight() == 0) e->idle_since = now_();
        if (!c.is_open()) {
            const auto it = std::find(shared_.begin(), shared_.end(), e);
            if (it != shared_.end()) {
                shared_.erase(it);
                forget(e->origin);
                return;
            }
        }
        wake_one();
        return;
    }
    // Found by owner (no lock, no reference count traffic); order does not matter.
    const auto leased = std::find_if(leased_.begin(), leased_.end(), [&](const auto& w) {
        return !w.owner_before(e) && !e.owner_before(w);
    });
    if (leased != leased_.end()) {
        *leased = std::move(leased_.back());
        leased_.pop_back();
    }
    if (reusable && c.is_open()) {
        e->idle_since = now_();
        idle_.push_back(std::move(e));
        if (idle_.size() > limits_.max_idle_connections) {
            EntryPtr oldest = std::move(idle_.front());
            idle_.erase(idle_.begin());
            oldest->connection->close();
            forget(oldest->origin);
        }
        wake_one();
        return;
    }
    c.close();
    forget(e->origin);
}

Lease Pool::try_acquire(const Origin& origin, bool own) {
    if (EntryPtr e = take_idle(origin)) {
        leased_.push_back(e);
        return {this, std::move(e)};
    }
    if (own) return {};
    if (EntryPtr e = take_shared(origin)) return {this, std::move(e)};
    return {};
}

namespace {

// The errors of acquire(), built outside its coroutine frame (whose every temporary would
// otherwise take a slot in the frame of each request waiting for a connection).
[[noreturn]] void cancelled(std::string_view context, std::string_view why) {
    throw_error(errc::cancelled, std::string(context) + ": " + std::string(why));
}

[[noreturn]] void pool_timed_out(std::string_view context, std::size_t open, const Limits& limits) {
    throw_error(errc::pool_timeout,
                std::string(context) + ": no connection became free within the pool timeout (" +
                    std::to_string(open) + " open, limits " +
                    std::to_string(limits.max_connections) + " total / " +
                    std::to_string(limits.max_connections_per_origin) + " per origin)");
}

} // namespace

asio::awaitable<Lease> Pool::acquire(const Origin& origin, Timings& timings,
                                     std::string_view context, bool own) {
    const auto deadline = std::chrono::steady_clock::now() + pool_timeout_;
    for (;;) {
        if (Lease lease = try_acquire(origin, own)) co_return lease;
        if ((own || !wait_for_connect(origin)) && can_open(origin)) {
            ++count(origin);
            ++open_;
            ++entry(origin).connecting;
            std::shared_ptr<Connection> c;
            auto alive = alive_;
            const std::uint64_t closings = closings_;
            try {
                c = co_await dialer_->dial(origin, timings, context);
            } catch (...) {
                if (*alive) {
                    --entry(origin).connecting;
                    forget(origin);
                }
                throw;
            }
            if (!*alive) cancelled(context, "transport closed");
            --entry(origin).connecting;
            if (closings != closings_) {
                // disconnect() came while this connection was being opened: it is not kept.
                c->close();
                forget(origin);
                cancelled(context,
                          "the transport was disconnected while the connection was being opened");
            }
            auto e = std::make_shared<PoolEntry>(
                PoolEntry{.connection = std::move(c), .origin = origin, .idle_since = now_()});
            if (e->connection->multiplexed()) {
                e->connection->on_capacity = [this, alive = std::weak_ptr<bool>(alive_)] {
                    if (auto a = alive.lock(); a && *a) wake_one();
                };
                shared_.push_back(e);
                wake_one(); // the requests that waited for this connection share it
                co_return Lease(this, std::move(e));
            }
            if (!entry(origin).http1) {
                entry(origin).http1 = true;
                wake_one(); // waiters expecting HTTP/2 now open their own connections
            }
            leased_.push_back(e);
            co_return Lease(this, std::move(e));
        }
        asio::steady_timer timer(executor_, deadline);
        Waiter waiter{&origin, &timer};
        waiters_.push_back(&waiter);
        auto alive = alive_;
        fail_point_timer(timer);
        auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
        if (!*alive) cancelled(context, "transport closed");
        waiters_.remove(&waiter);
        if (waiter.notified) continue;
        if (!ec) pool_timed_out(context, open_, limits_);
        cancelled(context, "cancelled waiting for a connection");
    }
}

void Pool::close_all() noexcept {
    ++closings_; // connections being opened now are closed when they open
    for (const EntryPtr& e : idle_) {
        e->connection->close();
        forget(e->origin);
    }
    idle_.clear();
    // Closing fails the streams; their exchanges then give the connection back.
    auto shared = std::move(shared_);
    shared_.clear();
    for (const EntryPtr& e : shared) {
        e->connection->close();
        forget(e->origin);
    }
    for (const auto& w : leased_) {
        // Its exchange fails; the lease then forgets it.
        if (EntryPtr e = w.lock()) e->connection->close();
    }
    for (Waiter* w : waiters_) w->timer->cancel();
    waiters_.clear();
}

} // namespace nector::http::detail
