// Peer client for bench/compare: raw Boost.Beast on Asio coroutines (bench/peers/README.md).
//
//   peer-beast URL REQUESTS CONCURRENCY [http1]
//
// One io_context thread; CONCURRENCY coroutines, each owning one keep-alive connection
// and issuing its GETs one after another. HTTP/1.1 on http:// only: Beast has no HTTP/2,
// so h2c and h2 exit with status 3. Prints one line of JSON on stdout.
#include "contract.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/version.hpp>
#include <boost/url/parse.hpp>

#include <chrono>
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;

namespace {

using peer::Clock;

struct Run {
    std::string host;
    std::string port;
    std::string target;
    long total = 0;
    long concurrency = 0;
    tcp::resolver::results_type endpoints;
    long issued = 0;
    long ok = 0;
    long errors = 0;
    long workers_left = 0;
    std::vector<double> latencies_us;
    Clock::time_point finished;

    void fail(const std::string& what) {
        if (errors++ == 0) std::fprintf(stderr, "first error: %s\n", what.c_str());
    }
};

asio::awaitable<void> worker(Run& run) {
    beast::tcp_stream stream(co_await asio::this_coro::executor);
    http::request<http::empty_body> request{http::verb::get, run.target, 11};
    request.set(http::field::host, run.host);
    request.set(http::field::user_agent, BOOST_BEAST_VERSION_STRING);
    beast::flat_buffer buffer;
    bool connected = false;
    while (run.issued < run.total) {
        ++run.issued;
        const auto issued = Clock::now();
        try {
            if (!connected) {
                co_await stream.async_connect(run.endpoints, asio::use_awaitable);
                connected = true;
            }
            co_await http::async_write(stream, request, asio::use_awaitable);
            http::response<http::string_body> response;
            co_await http::async_read(stream, buffer, response, asio::use_awaitable);
            if (!response.keep_alive()) {
                stream.close();
                connected = false;
            }
            if (response.result() == http::status::ok) {
                ++run.ok;
                run.latencies_us.push_back(
                    std::chrono::duration<double, std::micro>(Clock::now() - issued).count());
            } else {
                run.fail("status " + std::to_string(response.result_int()));
            }
        } catch (const std::exception& e) {
            run.fail(e.what());
            stream.close();
            buffer.clear();
            connected = false;
        }
    }
    if (connected) {
        beast::error_code ignored;
        stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    }
    if (--run.workers_left == 0) run.finished = Clock::now();
}

asio::awaitable<void> start(Run& run) {
    const auto executor = co_await asio::this_coro::executor;
    tcp::resolver resolver(executor);
    try {
        run.endpoints = co_await resolver.async_resolve(run.host, run.port, asio::use_awaitable);
    } catch (const std::exception& e) {
        run.errors = run.total;
        std::fprintf(stderr, "first error: resolve %s: %s\n", run.host.c_str(), e.what());
        run.finished = Clock::now();
        co_return;
    }
    run.workers_left = run.concurrency;
    for (long i = 0; i < run.concurrency; ++i)
        asio::co_spawn(executor, worker(run), asio::detached);
}

} // namespace

int main(int argc, char** argv) {
    peer::Args args;
    if (const int status = peer::parse_args(argc, argv, {"http1"}, args)) return status;
    Run run;
    run.total = args.total;
    run.concurrency = args.concurrency;
    const auto url = boost::urls::parse_uri(args.url);
    if (!url || url->scheme() != "http") {
        std::fprintf(stderr, "URL must be an http:// URL\n");
        return 2;
    }
    run.host = url->host();
    run.port = url->has_port() ? std::string(url->port()) : "80";
    run.target = url->encoded_target().empty() ? "/" : std::string(url->encoded_target());
    run.latencies_us.reserve(static_cast<std::size_t>(run.total));

    asio::io_context io(1);
    const double cpu_before = peer::cpu_seconds();
    const auto began = Clock::now();
    asio::co_spawn(io, start(run), asio::detached);
    io.run();
    const double wall = std::chrono::duration<double>(run.finished - began).count();
    const double cpu = peer::cpu_seconds() - cpu_before;
    return peer::report("beast", args, run.ok, run.errors, wall, cpu, run.latencies_us);
}
