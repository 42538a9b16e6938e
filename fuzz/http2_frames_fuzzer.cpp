// nector's HTTP/2 connection (src/http/wire/http2.cpp: nghttp2 driven from Asio) reading
// arbitrary server bytes: the real connection over a socketpair (the kernel's in-memory
// stream), one request or two in flight, the first buffered or streamed. The server sends its
// SETTINGS, waits for the requests, then sends the input.
//
// Input: byte 0 (bit 0: a second request beside the first; bit 1: the first is streamed;
// bit 2: no SETTINGS frame is put before the bytes), then what the server sends, after which
// it ends its side of the connection.
//
// Checked on every input: every exchange ends (a response or a typed nector error, never
// another exception); a response keeps to the header and body caps; the connection's loops
// all end once it is closed (the io_context runs out of work: nothing leaks or hangs).
#include "http/message/url.hpp"
#include "http/wire/http2.hpp"

#include <nector/transport/errors.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

namespace {

namespace asio = boost::asio;
using namespace nector::http;
using namespace nector::http::detail;
using tcp = asio::ip::tcp;
using nector::Headers;

constexpr auto nothrow = asio::as_tuple(asio::use_awaitable);

/// FUZZ_VERBOSE set: each call's outcome on stderr (to check the seeds reach responses).
const bool verbose = std::getenv("FUZZ_VERBOSE") != nullptr;

WireLimits limits() {
    WireLimits l;
    l.timeout = Timeout::all(std::chrono::seconds(2));
    l.max_response_bytes = std::size_t{1} << 20;
    l.max_header_bytes = 16 * 1024;
    l.max_header_count = 64;
    return l;
}

struct Call {
    Response response;
    Exchange ex;
    bool started = false;
    bool ended = false;

    Call(const Target& target, const Headers& headers, const WireLimits& l, bool stream)
        : ex{.method = "GET",
             .target = &target,
             .headers = &headers,
             .limits = &l,
             .context = "GET http://fuzz.test/",
             .response = response,
             .stream = stream} {}
};

/// One exchange; the last to end closes the connection.
asio::awaitable<void> run_call(std::shared_ptr<Connection> connection, Call& call,
                               const WireLimits& l, int& running) {
    try {
        co_await connection->exchange(call.ex);
        std::string body;
        if (call.ex.body_reader) {
            for (;;) {
                const bool more = co_await call.ex.body_reader->read(body, 16 * 1024);
                if (!more) break;
                if (body.size() > l.max_response_bytes + 16 * 1024) std::abort();
            }
        }
        const Response& r = call.response;
        if (r.headers.size() > l.max_header_count) std::abort();
        if (!call.ex.stream && r.body.size() > l.max_response_bytes) std::abort();
        if (verbose)
            std::fprintf(stderr, "status %d, %zu body bytes\n", r.status,
                         body.size() + r.body.size());
    } catch (const nector::TransportError& e) {
        // a typed refusal: what a hostile server should come to
        if (verbose) std::fprintf(stderr, "%s\n", e.what());
    }
    call.ended = true;
    if (--running == 0) connection->close();
}

/// Reads what the client sends until `count` HEADERS frames have come (or the client ends).
asio::awaitable<void> await_requests(tcp::socket& server, int count) {
    std::string in;
    std::size_t at = 24; // the client's connection preface
    std::array<char, 4096> buffer{};
    while (count > 0) {
        while (in.size() >= at + 9) {
            const auto length = (std::size_t{static_cast<std::uint8_t>(in[at])} << 16) |
                                (std::size_t{static_cast<std::uint8_t>(in[at + 1])} << 8) |
                                static_cast<std::uint8_t>(in[at + 2]);
            if (in[at + 3] == 1) --count; // HEADERS
            at += 9 + length;
        }
        if (count <= 0) break;
        auto [ec, n] = co_await server.async_read_some(asio::buffer(buffer), nothrow);
        if (ec) co_return;
        in.append(buffer.data(), n);
    }
}

/// The server: sends `settings`, waits for `requests` requests, sends `bytes`, ends its side,
/// then reads until the client closes.
asio::awaitable<void> serve(tcp::socket& server, std::string settings, int requests,
                            std::string bytes) {
    boost::system::error_code ignored;
    if (!settings.empty()) {
        auto [ec, n] = co_await asio::async_write(server, asio::buffer(settings), nothrow);
        (void)n;
        if (ec) co_return;
        co_await await_requests(server, requests);
    }
    auto [wec, written] = co_await asio::async_write(server, asio::buffer(bytes), nothrow);
    (void)written;
    if (!wec) server.shutdown(tcp::socket::shutdown_send, ignored);
    std::array<char, 16 * 1024> sink{};
    for (;;) {
        auto [ec, n] = co_await server.async_read_some(asio::buffer(sink), nothrow);
        (void)n;
        if (ec) break;
    }
    server.close(ignored);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    const bool two = (data[0] & 1) != 0;
    const bool stream = (data[0] & 2) != 0;
    std::string settings =
        (data[0] & 4) != 0 ? std::string() : std::string("\0\0\0\4\0\0\0\0\0", 9);
    std::string bytes(reinterpret_cast<const char*>(data + 1), size - 1);

    int fds[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) std::abort();
    asio::io_context io;
    tcp::socket client(io);
    tcp::socket server(io);
    client.assign(tcp::v4(), fds[0]);
    server.assign(tcp::v4(), fds[1]);

    const WireLimits l = limits();
    const Target target = make_target("", "http://fuzz.test/");
    const Headers headers;
    auto connection = make_http2_connection(std::move(client), l);
    Call first(target, headers, l, stream);
    Call second(target, headers, l, false);
    asio::co_spawn(io, serve(server, std::move(settings), two ? 2 : 1, std::move(bytes)),
                   asio::detached);
    // Once the calls end, the connection is closed, and every loop of it must end with it.
    int running = 1; // calls under way; the second counts once it starts
    asio::co_spawn(io, run_call(connection, first, l, running), asio::detached);
    if (two) {
        // Once the server's SETTINGS are in, the connection takes a second stream.
        connection->on_capacity = [&, c = std::weak_ptr<Connection>(connection)] {
            auto shared = c.lock();
            if (!shared || second.started) return;
            second.started = true;
            ++running;
            asio::co_spawn(io, run_call(shared, second, l, running), asio::detached);
        };
    }
    connection.reset(); // the calls hold it
    io.run();
    if (!first.ended || (second.started && !second.ended)) std::abort();
    return 0;
}
