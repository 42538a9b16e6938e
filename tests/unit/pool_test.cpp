// The connection pool on its own: a dialer of the test's own making hands out connections
// that record what the pool does with them, and the pool's clock is the test's, so idle
// expiry needs no waiting.
#include "http/pool/pool.hpp"

#include "nector/transport/errors.hpp"
#include "support/run.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <optional>
#include <vector>

namespace nector::http::detail {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

// The pool's clock: a time the test moves.
std::chrono::steady_clock::time_point fake_now{};
std::chrono::steady_clock::time_point now() { return fake_now; }

// A connection that never carries an exchange: the pool only lends, checks and closes it.
class FakeConnection final : public Connection {
public:
    explicit FakeConnection(int n) : id(n) {}
    boost::asio::awaitable<void> exchange(Exchange&) override { co_return; }
    bool available() const noexcept override { return open; }
    bool is_open() const noexcept override { return open; }
    bool quiet() noexcept override { return open && !bytes_arrived; }
    void close() noexcept override { open = false; }
    Version version() const noexcept override { return Version::http_1_1; }

    int id;
    bool open = true;
    bool bytes_arrived = false; // something came while it was idle
};

class FakeDialer final : public Dialer {
public:
    boost::asio::awaitable<std::shared_ptr<Connection>> dial(const Origin& origin, Timings&,
                                                             std::string_view context) override {
        if (refuse) {
            throw_error(errc::connection_refused, std::string(context) + ": refused by the test");
        }
        auto c = std::make_shared<FakeConnection>(static_cast<int>(made.size()));
        made.push_back(c);
        origins.push_back(origin);
        co_return c;
    }
    bool expects_multiplexed(const Origin&) const noexcept override { return false; }
    std::size_t connections_opened() const noexcept override { return made.size(); }

    std::vector<std::shared_ptr<FakeConnection>> made;
    std::vector<Origin> origins;
    bool refuse = false;
};

const Origin a{.host = "a.test", .port = 80};
const Origin b{.host = "b.test", .port = 80};

struct PoolTest : ::testing::Test {
    asio::io_context io;
    FakeDialer* dialer = nullptr;
    std::optional<Pool> pool;

    void make(Limits limits = {}) {
        auto d = std::make_unique<FakeDialer>();
        dialer = d.get();
        pool.emplace(io.get_executor(), limits, 1s, std::move(d), &now);
    }
    // acquire(), run to completion on io; rethrows what it throws.
    Lease acquire(const Origin& origin) {
        auto result = asio::co_spawn(io, pool->acquire(origin, timings, "GET http://test/"),
                                     asio::use_future);
        io.restart();
        io.run();
        return result.get();
    }
    Timings timings;
    FakeConnection& fake(const Lease& l) { return static_cast<FakeConnection&>(*l); }
};

TEST_F(PoolTest, ReusesAFinishedConnectionForTheSameOriginOnly) {
    make();
    Lease first = acquire(a);
    EXPECT_FALSE(first.reused());
    first.finish(true);
    Lease again = acquire(a);
    EXPECT_TRUE(again.reused());
    EXPECT_EQ(fake(again).id, 0);
    Lease other = acquire(b);
    EXPECT_EQ(fake(other).id, 1);
    EXPECT_EQ(dialer->origins.at(1), b);
    EXPECT_EQ(pool->open_connections(), 2u);
}

TEST_F(PoolTest, AnUnfinishedExchangeClosesItsConnection) {
    make();
    { Lease l = acquire(a); } // destroyed without finish(): the exchange did not end cleanly
    EXPECT_FALSE(dialer->made.at(0)->open);
    EXPECT_EQ(pool->open_connections(), 0u);
    EXPECT_EQ(fake(acquire(a)).id, 1);
}

TEST_F(PoolTest, AConnectionNotReusableIsClosed) {
    make();
    acquire(a).finish(false);
    EXPECT_FALSE(dialer->made.at(0)->open);
    EXPECT_EQ(pool->idle_connections(), 0u);
}

TEST_F(PoolTest, IdleConnectionsExpireByThePoolsClock) {
    make({.idle_timeout = 5s});
    acquire(a).finish(true);
    fake_now += 4s;
    Lease kept = acquire(a);
    EXPECT_EQ(fake(kept).id, 0); // not yet expired
    kept.finish(true);
    fake_now += 5s; // idle since the finish: now expired
    Lease fresh = acquire(a);
    EXPECT_EQ(fake(fresh).id, 1);
    EXPECT_FALSE(dialer->made.at(0)->open);
    EXPECT_EQ(pool->open_connections(), 1u);
}

TEST_F(PoolTest, AConnectionOnWhichBytesArrivedWhileIdleIsNotReused) {
    make();
    acquire(a).finish(true);
    dialer->made.at(0)->bytes_arrived = true;
    Lease l = acquire(a);
    EXPECT_EQ(fake(l).id, 1);
    EXPECT_FALSE(dialer->made.at(0)->open);
    EXPECT_FALSE(l.reused());
    EXPECT_EQ(pool->open_connections(), 1u);
}

TEST_F(PoolTest, KeepsAtMostMaxIdleConnectionsClosingTheOldest) {
    make({.max_idle_connections = 2});
    Lease l0 = acquire(a);
    Lease l1 = acquire(a);
    Lease l2 = acquire(a);
    l0.finish(true);
    l1.finish(true);
    l2.finish(true);
    EXPECT_EQ(pool->idle_connections(), 2u);
    EXPECT_FALSE(dialer->made.at(0)->open);
    EXPECT_TRUE(dialer->made.at(1)->open);
    EXPECT_TRUE(dialer->made.at(2)->open);
}

TEST_F(PoolTest, AtTheGlobalCapAnIdleConnectionToAnotherOriginMakesRoom) {
    make({.max_connections = 1});
    acquire(a).finish(true);
    Lease l = acquire(b);
    EXPECT_EQ(fake(l).id, 1);
    EXPECT_FALSE(dialer->made.at(0)->open);
    EXPECT_EQ(pool->open_connections(), 1u);
}

TEST_F(PoolTest, AWaiterGetsTheConnectionWhenItIsGivenBack) {
    make({.max_connections_per_origin = 1});
    Lease held = acquire(a);
    std::optional<Lease> waited;
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
            Timings waiter_timings;
            waited.emplace(co_await pool->acquire(a, waiter_timings, "GET http://test/"));
        },
        asio::detached);
    io.restart();
    io.poll(); // the second acquire is now waiting
    EXPECT_FALSE(waited);
    held.finish(true);
    io.run();
    ASSERT_TRUE(waited);
    EXPECT_EQ(fake(*waited).id, 0);
    EXPECT_EQ(dialer->made.size(), 1u);
}

TEST_F(PoolTest, AFailedDialFreesItsPlace) {
    make({.max_connections_per_origin = 1});
    dialer->refuse = true;
    EXPECT_THROW((void)acquire(a), ConnectionRefusedError);
    EXPECT_EQ(pool->open_connections(), 0u);
    dialer->refuse = false;
    EXPECT_EQ(fake(acquire(a)).id, 0);
}

TEST_F(PoolTest, CloseAllClosesIdleAndLeasedConnections) {
    make();
    Lease leased = acquire(a);
    acquire(b).finish(true);
    pool->close_all();
    EXPECT_FALSE(dialer->made.at(0)->open);
    EXPECT_FALSE(dialer->made.at(1)->open);
    leased.finish(true); // given back closed: forgotten
    EXPECT_EQ(pool->open_connections(), 0u);
    EXPECT_EQ(pool->idle_connections(), 0u);
}

} // namespace
} // namespace nector::http::detail
