#include "http/dialer/happy_eyeballs.hpp"

#include "http/errors/fail_point.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/error.hpp>

#include <chrono>
#include <memory>

namespace nector::http::detail {
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

constexpr auto nothrow = asio::as_tuple(asio::use_awaitable);

// The state the racing attempts share with the race.
struct Race {
    explicit Race(const asio::any_io_executor& ex) : wake(ex) {}
    std::vector<std::unique_ptr<tcp::socket>> sockets; // one per attempt started
    std::optional<std::size_t> winner;
    std::size_t running = 0;
    bool settled = false; ///< an attempt ended since the race last waited
    boost::system::error_code last;
    asio::steady_timer wake; ///< the stagger; cancelled when an attempt ends
};

asio::awaitable<void> attempt(std::shared_ptr<Race> race, std::size_t index, tcp::endpoint endpoint,
                              Duration timeout) {
    using namespace asio::experimental::awaitable_operators;
    tcp::socket& socket = *race->sockets[index];
    asio::steady_timer timer(co_await asio::this_coro::executor, timeout);
    fail_point_timer(timer);
    auto result = co_await (socket.async_connect(endpoint, nothrow) || timer.async_wait(nothrow));
    boost::system::error_code ec =
        result.index() == 0 ? std::get<0>(std::get<0>(result)) : boost::beast::error::timeout;
    fail_point(ec);
    --race->running;
    if (!ec && !race->winner) {
        race->winner = index;
    } else {
        if (ec) race->last = ec;
        boost::system::error_code ignored;
        socket.close(ignored); // failed, or lost to another
    }
    race->settled = true;
    race->wake.cancel();
}

} // namespace

std::vector<tcp::endpoint> interleave(const std::vector<tcp::endpoint>& endpoints) {
    if (endpoints.empty()) return {};
    const bool first_v6 = endpoints.front().address().is_v6();
    std::vector<tcp::endpoint> first, second, out;
    for (const auto& e : endpoints) (e.address().is_v6() == first_v6 ? first : second).push_back(e);
    for (std::size_t i = 0; i < first.size() || i < second.size(); ++i) {
        if (i < first.size()) out.push_back(first[i]);
        if (i < second.size()) out.push_back(second[i]);
    }
    return out;
}

asio::awaitable<RaceResult> race_connect(
    const std::vector<tcp::endpoint>& endpoints, Duration stagger, Duration timeout,
    const std::function<void(tcp::socket&, const tcp::endpoint&)>& open) {
    auto ex = co_await asio::this_coro::executor;
    auto race = std::make_shared<Race>(ex);
    // However the race ends (a winner, all failed, cancellation, an exception from `open`),
    // the sockets of the attempts still running are closed, which ends them.
    struct Closer {
        Race& race;
        ~Closer() {
            for (std::size_t i = 0; i < race.sockets.size(); ++i) {
                if (race.winner == i) continue;
                boost::system::error_code ignored;
                race.sockets[i]->close(ignored);
            }
        }
    } closer{*race};
    std::size_t next = 0;
    for (;;) {
        if (race->winner) break;
        if (next < endpoints.size()) {
            race->sockets.push_back(std::make_unique<tcp::socket>(ex));
            open(*race->sockets.back(), endpoints[next]);
            ++race->running;
            asio::co_spawn(ex, attempt(race, next, endpoints[next], timeout), asio::detached);
            ++next;
        }
        if (race->running == 0 && next == endpoints.size()) break; // every attempt failed
        // The next attempt after the stagger, unless one ends first.
        race->settled = false;
        race->wake.expires_after(next < endpoints.size() ? stagger : timeout + timeout);
        auto [ec] = co_await race->wake.async_wait(nothrow);
        const auto cancelled = (co_await asio::this_coro::cancellation_state).cancelled();
        if ((ec == asio::error::operation_aborted && !race->settled) ||
            cancelled != asio::cancellation_type::none) {
            RaceResult aborted;
            aborted.error = asio::error::operation_aborted;
            co_return aborted;
        }
        // The stagger is over, or an attempt failed: the next attempt starts now.
    }
    RaceResult result;
    if (race->winner) {
        result.socket.emplace(std::move(*race->sockets[*race->winner]));
    } else {
        result.error = race->last;
    }
    co_return result;
}

} // namespace nector::http::detail
