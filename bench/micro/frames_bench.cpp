// What one more coroutine frame costs a call: a Response handed up through `depth` nested
// Asio awaitables, each a frame of its own, as a layer of the call would be. The call's
// layers are shaped by this figure (docs/architecture.md): a layer that only acts before
// and after the layer below (the breaker) runs inside the layer above it, without a frame.
#include "nector/http/response.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <benchmark/benchmark.h>

namespace {

namespace asio = boost::asio;
using nector::http::Response;

asio::awaitable<Response> leaf(int status) {
    Response r;
    r.status = status;
    co_return r;
}

asio::awaitable<Response> layer(int status, int depth) {
    if (depth == 0) co_return co_await leaf(status);
    Response r = co_await layer(status, depth - 1);
    co_return r;
}

// depth 0: the leaf alone, awaited from the loop's coroutine; each step adds one frame.
void awaitable_frames(benchmark::State& state) {
    const int depth = static_cast<int>(state.range(0));
    asio::io_context io;
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
            for (auto _ : state) {
                Response r = co_await layer(200, depth);
                benchmark::DoNotOptimize(r.status);
            }
        },
        asio::detached);
    io.run();
}
BENCHMARK(awaitable_frames)->Arg(0)->Arg(1)->Arg(2)->Arg(3);

} // namespace
