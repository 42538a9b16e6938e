#include "http/dialer/tunnel.hpp"

#include "http/dialer/socket_deadline.hpp"
#include "http/errors/bridge.hpp"
#include "http/errors/fail_point.hpp"
#include "http/message/body.hpp"
#include "nector/transport/errors.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>

#include <array>
#include <string>
#include <vector>

namespace nector::http::detail {
namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;

namespace {

constexpr auto nothrow = asio::as_tuple(asio::use_awaitable);

std::string host_port(std::string_view host, std::uint16_t port) {
    // Appended, not `"[" + std::string(host)`: see reason_note() in message/body.cpp.
    std::string out;
    if (host.find(':') != std::string_view::npos) {
        out.append("[").append(host).append("]");
    } else {
        out.append(host);
    }
    return out.append(":").append(std::to_string(port));
}

// A failed read or write of the handshake with the proxy.
[[noreturn]] void io_failed(const boost::system::error_code& ec, const std::string& what) {
    switch (const errc code = errc_of_io(ec, errc::connect_timeout)) {
        case errc::connect_timeout:
            throw_error(code, what + ": no answer within the connect timeout");
        case errc::connection_closed:
            throw_error(code, what + ": the proxy closed the connection");
        default:
            throw_error(code, what + ": " + ec.message());
    }
}

// Reads an HTTP response head from `socket`, up to its blank line and not a byte further:
// what follows belongs to the tunnel (an h2c server may speak first). Bytes are looked at
// with MSG_PEEK and only the head's are taken.
asio::awaitable<std::string> read_head(tcp::socket& socket, asio::steady_timer& deadline,
                                       std::size_t max_head, const std::string& what) {
    using namespace asio::experimental::awaitable_operators;
    std::string head;
    std::array<char, 4096> buffer{};
    for (;;) {
        auto ready = co_await (socket.async_wait(tcp::socket::wait_read, nothrow) ||
                               deadline.async_wait(nothrow));
        if (ready.index() == 1) io_failed(beast::error::timeout, what);
        boost::system::error_code ec = std::get<0>(std::get<0>(ready));
        fail_point(ec);
        if (ec) io_failed(ec, what);
        const std::size_t room = std::min(buffer.size(), max_head + 1 - head.size());
        const std::size_t peeked =
            socket.receive(asio::buffer(buffer.data(), room), tcp::socket::message_peek, ec);
        if (ec == asio::error::would_block || ec == asio::error::try_again) continue;
        if (ec) io_failed(ec, what);
        if (peeked == 0) io_failed(asio::error::eof, what);
        // Where the head ends, the blank line possibly begun in the bytes taken before.
        const std::size_t kept = std::min<std::size_t>(head.size(), 3);
        const std::string window =
            head.substr(head.size() - kept) + std::string(buffer.data(), peeked);
        const auto end = window.find("\r\n\r\n");
        const std::size_t take = end == std::string::npos ? peeked : end + 4 - kept;
        const std::size_t taken = socket.receive(asio::buffer(buffer.data(), take), 0, ec);
        if (ec) io_failed(ec, what);
        head.append(buffer.data(), taken);
        if (end != std::string::npos && taken == take) co_return head;
        if (head.size() > max_head) {
            throw_error(errc::protocol_error,
                        what + ": the proxy's answer has no end within max_header_bytes (" +
                            std::to_string(max_head) + ")");
        }
    }
}

asio::awaitable<void> write_all(PlainStream& stream, const std::vector<std::uint8_t>& bytes,
                                Duration timeout, const std::string& what) {
    const SocketDeadline deadline(stream, timeout);
    auto [ec, n] = co_await asio::async_write(stream, asio::buffer(bytes), nothrow);
    fail_point(ec);
    if (const auto error = deadline.timed(ec)) io_failed(error, what);
}

asio::awaitable<std::vector<std::uint8_t>> read_exactly(PlainStream& stream, std::size_t size,
                                                        Duration timeout, const std::string& what) {
    std::vector<std::uint8_t> bytes(size);
    const SocketDeadline deadline(stream, timeout);
    auto [ec, n] = co_await asio::async_read(stream, asio::buffer(bytes), nothrow);
    fail_point(ec);
    if (const auto error = deadline.timed(ec)) io_failed(error, what);
    co_return bytes;
}

} // namespace

asio::awaitable<void> http_tunnel(PlainStream& stream, const ProxyUrl& proxy, std::string_view host,
                                  std::uint16_t port, Duration timeout, std::size_t max_head,
                                  std::string_view context) {
    const std::string destination = host_port(host, port);
    const std::string what =
        std::string(context) + ": CONNECT " + destination + " through proxy " + proxy.display;
    std::string request = "CONNECT " + destination + " HTTP/1.1\r\nHost: " + destination + "\r\n";
    if (!proxy.authorization.empty()) {
        request += "Proxy-Authorization: " + proxy.authorization + "\r\n";
    }
    request += "\r\n";
    {
        const SocketDeadline deadline(stream, timeout);
        auto [write_error, written] =
            co_await asio::async_write(stream, asio::buffer(request), nothrow);
        fail_point(write_error);
        if (const auto error = deadline.timed(write_error)) io_failed(error, what);
    }

    asio::steady_timer deadline(co_await asio::this_coro::executor, timeout);
    fail_point_timer(deadline);
    const std::string head = co_await read_head(stream, deadline, max_head, what);
    beast::http::response_parser<beast::http::empty_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(std::min<std::size_t>(max_head, 0xffffffffU)));
    parser.skip(true); // a 2xx answer to CONNECT has no body, whatever its fields say
    boost::system::error_code ec;
    parser.put(asio::buffer(head), ec);
    if (ec && ec != beast::http::error::need_more) {
        throw_error(errc::protocol_error, what + ": the answer is not HTTP (" + ec.message() + ")");
    }
    if (!parser.is_header_done()) {
        throw_error(errc::protocol_error, what + ": the answer is not an HTTP response head");
    }
    const auto& response = parser.get();
    const unsigned status = response.result_int();
    if (status >= 200 && status < 300) co_return;
    std::string detail = what + ": the proxy answered " + std::to_string(status);
    if (!response.reason().empty()) detail += " " + printable(response.reason());
    if (status == 407 || status == 401) { // (tinyproxy says 401 to wrong credentials)
        detail += proxy.authorization.empty() ? " (it wants credentials: put them in the proxy URL)"
                                              : " (it refused the proxy URL's credentials)";
    }
    throw_error(errc::proxy_failed, detail);
}

asio::awaitable<void> socks5_tunnel(PlainStream& stream, const ProxyUrl& proxy,
                                    std::string_view host, std::uint16_t port, Duration timeout,
                                    std::string_view context) {
    const std::string destination = host_port(host, port);
    const std::string what = std::string(context) + ": SOCKS5 connect to " + destination +
                             " through proxy " + proxy.display;
    const auto not_socks = [&](const std::string& why) {
        throw_error(errc::protocol_error, what + ": the answer is not SOCKS5 (" + why + ")");
    };

    // Greeting: version 5, one method, "no authentication" (RFC 1928 §3).
    std::vector<std::uint8_t> greeting{5, 1, 0};
    co_await write_all(stream, greeting, timeout, what);
    const std::vector<std::uint8_t> choice = co_await read_exactly(stream, 2, timeout, what);
    if (choice[0] != 5) not_socks("version " + std::to_string(choice[0]));
    if (choice[1] == 0xFF) {
        throw_error(errc::proxy_failed,
                    what + ": the proxy accepts none of the methods offered (no authentication)");
    }
    if (choice[1] != 0) not_socks("it chose method " + std::to_string(choice[1]) + ", not offered");

    // The request: CONNECT to an IPv4 or IPv6 address, or to a name (§4).
    std::vector<std::uint8_t> request{5, 1, 0};
    boost::system::error_code parse_error;
    const auto address = asio::ip::make_address(std::string(host), parse_error);
    if (!parse_error && address.is_v4()) {
        request.push_back(1);
        for (const auto b : address.to_v4().to_bytes()) request.push_back(b);
    } else if (!parse_error) {
        request.push_back(4);
        for (const auto b : address.to_v6().to_bytes()) request.push_back(b);
    } else {
        if (host.size() > 255) {
            throw_error(errc::invalid_url,
                        what + ": the host name is longer than SOCKS5's 255 bytes");
        }
        request.push_back(3);
        request.push_back(static_cast<std::uint8_t>(host.size()));
        request.insert(request.end(), host.begin(), host.end());
    }
    request.push_back(static_cast<std::uint8_t>(port >> 8));
    request.push_back(static_cast<std::uint8_t>(port & 0xFF));
    co_await write_all(stream, request, timeout, what);

    // The reply (§6): version, reply code, reserved, then the bound address, read whole.
    const std::vector<std::uint8_t> reply = co_await read_exactly(stream, 4, timeout, what);
    if (reply[0] != 5) not_socks("version " + std::to_string(reply[0]));
    if (reply[1] != 0) {
        static constexpr std::array<std::string_view, 9> replies{
            "succeeded",
            "general SOCKS server failure",
            "connection not allowed by ruleset",
            "network unreachable",
            "host unreachable",
            "connection refused",
            "TTL expired",
            "command not supported",
            "address type not supported"};
        const std::string reason = reply[1] < replies.size() ? std::string(replies[reply[1]])
                                                             : "reply " + std::to_string(reply[1]);
        throw_error(errc::proxy_failed, what + ": the proxy answered " + std::to_string(reply[1]) +
                                            " (" + reason + ")");
    }
    std::size_t rest = 0;
    if (reply[3] == 1) {
        rest = 4 + 2;
    } else if (reply[3] == 4) {
        rest = 16 + 2;
    } else if (reply[3] == 3) {
        const std::vector<std::uint8_t> length = co_await read_exactly(stream, 1, timeout, what);
        rest = std::size_t{length[0]} + 2;
    } else {
        not_socks("address type " + std::to_string(reply[3]));
    }
    const std::vector<std::uint8_t> bound = co_await read_exactly(stream, rest, timeout, what);
    (void)bound;
}

} // namespace nector::http::detail
