// HTTP/1.1 connections: Beast's serializer and parser over a TCP or TLS stream.
#pragma once

#include "http/connection.hpp"
#include "nector/transport/errors.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <chrono>
#include <string>

namespace nector::http::detail {

/// The error code and message of a failed read or write (phase "sending the request" or
/// "reading the response").
[[noreturn]] void throw_io_error(const boost::system::error_code& ec, std::string_view context,
                                 std::string_view phase, errc timeout_code);

template <class Stream>
class Http1Connection final : public Connection {
public:
    template <class... Args>
    explicit Http1Connection(Args&&... args) : stream_(std::forward<Args>(args)...) {}

    Stream& stream() noexcept { return stream_; }

    boost::asio::awaitable<void> exchange(Exchange& ex) override;

    bool available() const noexcept override { return open_ && !busy_; }
    bool is_open() const noexcept override { return open_; }
    void close() noexcept override {
        if (!open_) return;
        open_ = false;
        boost::beast::get_lowest_layer(stream_).close();
    }
    Version version() const noexcept override { return Version::http_1_1; }

private:
    // Closes the connection if the exchange does not finish (error or cancellation).
    struct Guard {
        Http1Connection* c;
        bool done = false;
        ~Guard() {
            c->busy_ = false;
            if (!done) c->close();
        }
    };

    Stream stream_;
    boost::beast::flat_buffer buffer_;
    bool open_ = true;
    bool busy_ = false;
};

template <class Stream>
boost::asio::awaitable<void> Http1Connection<Stream>::exchange(Exchange& ex) {
    namespace bhttp = boost::beast::http;
    using Clock = std::chrono::steady_clock;
    constexpr auto nothrow = boost::asio::as_tuple(boost::asio::use_awaitable);
    busy_ = true;
    Guard guard{this};
    auto& lowest = boost::beast::get_lowest_layer(stream_);
    const Options& options = *ex.options;

    bhttp::request<bhttp::span_body<const char>> request;
    request.method_string(ex.method);
    request.target(ex.target->target);
    request.version(11);
    if (!ex.headers->contains("Host")) request.set(bhttp::field::host, ex.target->host_header);
    for (const auto& [name, value] : *ex.headers) request.insert(name, value);
    request.body() = {ex.body.data(), ex.body.size()};
    request.prepare_payload();

    const auto sent = Clock::now();
    lowest.expires_after(options.timeout.write);
    auto [write_error, written] = co_await bhttp::async_write(stream_, request, nothrow);
    if (write_error) {
        throw_io_error(write_error, ex.context, "sending the request", errc::write_timeout);
    }

    const bool head = ex.method == "HEAD";
    for (;;) {
        bhttp::response_parser<bhttp::string_body> parser;
        parser.body_limit(options.max_response_bytes);
        parser.header_limit(64 * 1024);
        if (head) parser.skip(true);
        while (!parser.is_done()) {
            lowest.expires_after(options.timeout.read);
            auto [read_error, n] =
                co_await bhttp::async_read_some(stream_, buffer_, parser, nothrow);
            if (!ex.response_started && (parser.got_some() || buffer_.size() > 0)) {
                ex.response_started = true;
                ex.response.timings.first_byte = Clock::now() - sent;
            }
            if (read_error) {
                throw_io_error(read_error, ex.context, "reading the response", errc::read_timeout);
            }
        }
        auto& message = parser.get();
        const int status = static_cast<int>(message.result_int());
        if (status >= 100 && status < 200 && status != 101) continue; // interim response
        ex.response.status = status;
        ex.response.reason = std::string(message.reason());
        ex.response.version = message.version() == 10 ? Version::http_1_0 : Version::http_1_1;
        ex.response.headers.reserve(
            static_cast<std::size_t>(std::distance(message.begin(), message.end())));
        for (const auto& field : message) {
            ex.response.headers.add(std::string(field.name_string()), std::string(field.value()));
        }
        ex.response.body = std::move(message.body());
        ex.keep_alive = message.keep_alive() && !message.need_eof() && status != 101;
        break;
    }
    lowest.expires_never();
    guard.done = ex.keep_alive; // otherwise the guard closes the connection
}

} // namespace nector::http::detail
