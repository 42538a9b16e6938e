#include "http/pool/pool.hpp"

#include "nector/transport/errors.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>

namespace nector::http::detail {
namespace asio = boost::asio;

void Lease::release(bool reusable) noexcept {
    if (!pool_ || !connection_) return;
    std::exchange(pool_, nullptr)->give_back(std::move(connection_), reusable);
}

Pool::Pool(asio::any_io_executor executor, const Limits& limits, Duration pool_timeout,
           std::unique_ptr<Dialer> dialer)
    : executor_(std::move(executor)),
      limits_(limits),
      pool_timeout_(pool_timeout),
      dialer_(std::move(dialer)) {}

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
    return std::any_of(shared_.begin(), shared_.end(), [&](const auto& c) {
        return c->origin == origin && c->is_open() && !c->negotiated();
    });
}

std::shared_ptr<Connection> Pool::take_shared(const Origin& origin) {
    for (const auto& c : shared_) {
        if (c->origin == origin && c->available()) return c;
    }
    return nullptr;
}

Pool::Room Pool::room_for(const Origin& origin) {
    if (count(origin) >= limits_.max_connections_per_origin) return Room::none;
    if (open_ < limits_.max_connections) return Room::free;
    // At the global cap: an idle connection to another origin can make room.
    const bool other_idle = std::any_of(idle_.begin(), idle_.end(),
                                        [&](const auto& c) { return !(c->origin == origin); });
    return other_idle ? Room::by_closing_idle : Room::none;
}

bool Pool::can_open(const Origin& origin) {
    const Room room = room_for(origin);
    if (room != Room::by_closing_idle) return room == Room::free;
    const auto victim = std::find_if(idle_.begin(), idle_.end(),
                                     [&](const auto& c) { return !(c->origin == origin); });
    auto c = std::move(*victim);
    idle_.erase(victim);
    c->close();
    forget(c->origin);
    return true;
}

void Pool::expire_idle() noexcept {
    const auto now = std::chrono::steady_clock::now();
    std::erase_if(idle_, [&](const std::shared_ptr<Connection>& c) {
        if (c->is_open() && now - c->idle_since < limits_.idle_timeout) return false;
        c->close();
        forget(c->origin);
        return true;
    });
    // Multiplexed connections go when they closed themselves (GOAWAY, error, failed PING),
    // or when they have carried no stream for the idle timeout.
    std::vector<std::shared_ptr<Connection>> gone;
    std::erase_if(shared_, [&](const std::shared_ptr<Connection>& c) {
        if (c->is_open() && (c->in_flight() > 0 || now - c->idle_since < limits_.idle_timeout)) {
            return false;
        }
        gone.push_back(c);
        return true;
    });
    for (const auto& c : gone) {
        c->close();
        forget(c->origin);
    }
}

std::shared_ptr<Connection> Pool::take_idle(const Origin& origin) {
    expire_idle();
    for (auto it = idle_.rbegin(); it != idle_.rend();) {
        if (!((*it)->origin == origin) || !(*it)->available()) {
            ++it;
            continue;
        }
        auto c = std::move(*it);
        it = std::make_reverse_iterator(idle_.erase(std::next(it).base()));
        // Bytes that arrived unasked, or the server's close: never read as a response.
        if (c->quiet()) return c;
        c->close();
        forget(c->origin);
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
        const bool shared = std::any_of(shared_.begin(), shared_.end(), [&](const auto& c) {
            return c->origin == origin && c->available();
        });
        bool go = shared;
        if (!go && !woke_exclusive) {
            const bool has_idle = std::any_of(idle_.begin(), idle_.end(), [&](const auto& c) {
                return c->origin == origin && c->available();
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

void Pool::give_back(std::shared_ptr<Connection> c, bool reusable) noexcept {
    if (c->multiplexed()) {
        // Its other streams go on; it leaves the pool only once it is closed.
        if (c->in_flight() == 0) c->idle_since = std::chrono::steady_clock::now();
        if (!c->is_open()) {
            const auto it = std::find(shared_.begin(), shared_.end(), c);
            if (it != shared_.end()) {
                shared_.erase(it);
                forget(c->origin);
                return;
            }
        }
        wake_one();
        return;
    }
    // Found by owner (no lock, no reference count traffic); order does not matter.
    const auto leased = std::find_if(leased_.begin(), leased_.end(), [&](const auto& w) {
        return !w.owner_before(c) && !c.owner_before(w);
    });
    if (leased != leased_.end()) {
        *leased = std::move(leased_.back());
        leased_.pop_back();
    }
    if (reusable && c->is_open()) {
        c->idle_since = std::chrono::steady_clock::now();
        idle_.push_back(std::move(c));
        if (idle_.size() > limits_.max_idle_connections) {
            auto oldest = std::move(idle_.front());
            idle_.erase(idle_.begin());
            oldest->close();
            forget(oldest->origin);
        }
        wake_one();
        return;
    }
    c->close();
    forget(c->origin);
}

Lease Pool::try_acquire(const Origin& origin) {
    if (auto c = take_idle(origin)) {
        leased_.push_back(c);
        return Lease(this, std::move(c));
    }
    if (auto c = take_shared(origin)) return Lease(this, std::move(c));
    return {};
}

asio::awaitable<Lease> Pool::acquire(const Origin& origin, Timings& timings,
                                     std::string_view context) {
    const auto deadline = std::chrono::steady_clock::now() + pool_timeout_;
    for (;;) {
        if (Lease lease = try_acquire(origin)) co_return lease;
        if (!wait_for_connect(origin) && can_open(origin)) {
            ++count(origin);
            ++open_;
            ++entry(origin).connecting;
            std::shared_ptr<Connection> c;
            auto alive = alive_;
            try {
                c = co_await dialer_->dial(origin, timings, context);
            } catch (...) {
                if (*alive) {
                    --entry(origin).connecting;
                    forget(origin);
                }
                throw;
            }
            if (!*alive) throw_error(errc::cancelled, std::string(context) + ": transport closed");
            --entry(origin).connecting;
            c->origin = origin;
            if (c->multiplexed()) {
                c->idle_since = std::chrono::steady_clock::now();
                c->on_capacity = [this, alive = std::weak_ptr<bool>(alive_)] {
                    if (auto a = alive.lock(); a && *a) wake_one();
                };
                shared_.push_back(c);
                wake_one(); // the requests that waited for this connection share it
                co_return Lease(this, std::move(c));
            }
            if (!entry(origin).http1) {
                entry(origin).http1 = true;
                wake_one(); // waiters expecting HTTP/2 now open their own connections
            }
            leased_.push_back(c);
            co_return Lease(this, std::move(c));
        }
        asio::steady_timer timer(executor_, deadline);
        Waiter waiter{&origin, &timer};
        waiters_.push_back(&waiter);
        auto alive = alive_;
        auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
        if (!*alive) throw_error(errc::cancelled, std::string(context) + ": transport closed");
        waiters_.remove(&waiter);
        if (waiter.notified) continue;
        if (!ec) {
            throw_error(errc::pool_timeout,
                        std::string(context) + ": no connection became free within the pool " +
                            "timeout (" + std::to_string(open_) + " open, limits " +
                            std::to_string(limits_.max_connections) + " total / " +
                            std::to_string(limits_.max_connections_per_origin) + " per origin)");
        }
        throw_error(errc::cancelled, std::string(context) + ": cancelled waiting for a connection");
    }
}

void Pool::close_all() noexcept {
    for (auto& c : idle_) {
        c->close();
        forget(c->origin);
    }
    idle_.clear();
    // Closing fails the streams; their exchanges then give the connection back.
    auto shared = std::move(shared_);
    shared_.clear();
    for (auto& c : shared) {
        c->close();
        forget(c->origin);
    }
    for (auto& w : leased_) {
        if (auto c = w.lock()) c->close(); // its exchange fails; the lease then forgets it
    }
    for (Waiter* w : waiters_) w->timer->cancel();
    waiters_.clear();
}

} // namespace nector::http::detail
