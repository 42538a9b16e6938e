// The hedge layer (hedge.hpp).
#include "http/client/hedge.hpp"

#include "nector/http/retry.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>

namespace nector::http::detail {
namespace asio = boost::asio;
using SteadyClock = std::chrono::steady_clock;

namespace {

constexpr std::size_t kept_latencies = 100;

// An attempt that failed while the other was still out: it loses rather than ends the race.
struct Lost {
    Exchanged x;
};

std::string origin_key(const Origin& o) {
    return (o.tls ? "https://" : "http://") + o.host + ":" + std::to_string(o.port);
}

} // namespace

bool HedgeLayer::hedgeable(const Prepared& p) noexcept {
    return is_idempotent(p.method) && (!p.upload || p.upload->replayable());
}

Duration HedgeLayer::delay_for(const std::string& origin) const {
    const HedgePolicy& policy = options_.hedge;
    if (policy.percentile <= 0) return policy.after;
    const auto found = latencies_.find(origin);
    if (found == latencies_.end() || found->second.recent.size() < policy.min_samples) {
        return policy.after;
    }
    std::vector<Duration> sorted = found->second.recent;
    const auto rank = static_cast<std::size_t>(
        std::ceil(policy.percentile / 100.0 * static_cast<double>(sorted.size())));
    const std::size_t index = std::min(sorted.size() - 1, rank == 0 ? 0 : rank - 1);
    std::nth_element(sorted.begin(), sorted.begin() + static_cast<std::ptrdiff_t>(index),
                     sorted.end());
    return std::max(sorted[index], Duration{std::chrono::milliseconds{1}});
}

void HedgeLayer::record(const std::string& origin, Duration took) {
    Latencies& l = latencies_[origin];
    if (l.recent.size() < kept_latencies) {
        l.recent.push_back(took);
    } else {
        l.recent[l.next] = took;
        l.next = (l.next + 1) % kept_latencies;
    }
}

asio::awaitable<Exchanged> HedgeLayer::hedge(const Prepared& p, CallState& call, Duration delay,
                                             bool& started) {
    asio::steady_timer timer(co_await asio::this_coro::executor, delay);
    co_await timer.async_wait(asio::use_awaitable); // cancelled: the first attempt won
    const OriginResilience& origin = breaker_.of(p.target.origin);
    if (origin.budget && !origin.budget->allow_hedge()) {
        // No token for a hedge: it never goes out, and the first attempt runs its course.
        timer.expires_at(asio::steady_timer::time_point::max());
        co_await timer.async_wait(asio::use_awaitable);
    }
    started = true;
    ++metrics_.hedges;
    Exchanged x = co_await attempt_(p, call);
    if (!x.responded()) throw Lost{std::move(x)};
    co_return x;
}

asio::awaitable<Exchanged> HedgeLayer::hedged(const Prepared& p, CallState& call) {
    const std::string origin = origin_key(p.target.origin);
    const auto started_at = SteadyClock::now();
    // The hedge's own state: its response is moved into the call's if it wins.
    CallState second;
    second.owner = call.owner;
    second.started = call.started;
    second.attempts = call.attempts;
    second.stream = call.stream;
    second.context = call.context;
    second.hedge = true;
    bool hedge_started = false;

    auto first = [&]() -> asio::awaitable<Exchanged> {
        Exchanged x = co_await attempt_(p, call);
        // Failed while the hedge is out: the hedge may still answer.
        if (!x.responded() && hedge_started) throw Lost{std::move(x)};
        co_return x;
    };
    const auto executor = co_await asio::this_coro::executor;
    auto [order, first_error, first_x, hedge_error, hedge_x] =
        co_await asio::experimental::make_parallel_group(
            asio::co_spawn(executor, first(), asio::deferred),
            asio::co_spawn(executor, hedge(p, second, delay_for(origin), hedge_started),
                           asio::deferred))
            .async_wait(asio::experimental::wait_for_one_success(), asio::use_awaitable);
    (void)order;
    if (!first_error) {
        if (first_x.responded()) record(origin, SteadyClock::now() - started_at);
        co_return std::move(first_x);
    }
    if (!hedge_error) {
        ++metrics_.hedge_wins;
        record(origin, SteadyClock::now() - started_at);
        call.response = std::move(second.response);
        co_return std::move(hedge_x);
    }
    // Both failed: the first attempt's failure is the exchange's.
    try {
        std::rethrow_exception(first_error);
    } catch (Lost& lost) {
        lost.x.sent = lost.x.sent || hedge_started;
        co_return std::move(lost.x);
    }
}

} // namespace nector::http::detail
