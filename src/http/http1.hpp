// HTTP/1.1 connections: Beast's serializer and parser over a TCP or TLS stream.
#pragma once

#include "http/connection.hpp"
#include "nector/transport/errors.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <array>
#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>

namespace nector::http::detail {

/// The error code and message of a failed read or write (phase "sending the request" or
/// "reading the response").
[[noreturn]] void throw_io_error(const boost::system::error_code& ec, std::string_view context,
                                 std::string_view phase, errc timeout_code);

/// check_head() on a head's field count and size in bytes.
void check_head_limits(std::size_t count, std::size_t bytes, const Options& options,
                       std::string_view context);

/// Throws TransportSpecificError (protocol_error) when a response head has more header
/// fields than Options::max_header_count, or is larger than max_header_bytes (the parser's
/// own limit does not see a head that arrives in pieces).
template <class Fields>
void check_head(const Fields& fields, std::string_view reason, const Options& options,
                std::string_view context) {
    std::size_t count = 0;
    std::size_t bytes = 15 + reason.size(); // "HTTP/1.1 200 " and CRLF
    for (const auto& field : fields) {
        ++count;
        bytes += field.name_string().size() + field.value().size() + 4; // ": " and CRLF
    }
    check_head_limits(count, bytes, options, context);
}

template <class Stream>
class Http1Connection final : public Connection,
                              public std::enable_shared_from_this<Http1Connection<Stream>> {
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
    class Body;
    using StreamParser = boost::beast::http::response_parser<boost::beast::http::buffer_body>;

    // Closes the connection if the exchange does not finish (error or cancellation), unless
    // a streamed body took the connection over.
    struct Guard {
        Http1Connection* c;
        bool done = false;
        bool handed_over = false;
        ~Guard() {
            if (handed_over) return;
            c->busy_ = false;
            if (!done) c->close();
        }
    };

    /// Sends the head, then the upload piece by piece (Content-Length when its size is
    /// known, else chunked).
    boost::asio::awaitable<void> send_upload(Exchange& ex);
    /// A streamed exchange after its request went out: reads the head, then leaves the
    /// body to a Body.
    boost::asio::awaitable<void> stream_head(Exchange& ex, Guard& guard,
                                             std::chrono::steady_clock::time_point sent);

    Stream stream_;
    boost::beast::flat_buffer buffer_;
    std::optional<StreamParser> stream_parser_;
    Duration read_timeout_{};
    bool open_ = true;
    bool busy_ = false;
};

/// The body of a streamed HTTP/1.1 response: read from the socket only when asked for
/// (so a slow consumer holds the server back through TCP flow control).
template <class Stream>
class Http1Connection<Stream>::Body final : public BodyReader {
public:
    Body(std::shared_ptr<Http1Connection> c, std::string context)
        : c_(std::move(c)), context_(std::move(context)) {}
    ~Body() override {
        if (done_) return;
        c_->busy_ = false;
        c_->close();
    }

    boost::asio::awaitable<bool> read(std::string& out, std::size_t max) override {
        constexpr auto nothrow = boost::asio::as_tuple(boost::asio::use_awaitable);
        auto& parser = *c_->stream_parser_;
        auto& lowest = boost::beast::get_lowest_layer(c_->stream_);
        // Read up to `max` a time: Beast sizes a read by the buffer's free capacity.
        c_->buffer_.reserve(max);
        while (!done_) {
            const std::size_t old = out.size();
            out.resize(old + max);
            parser.get().body().data = out.data() + old;
            parser.get().body().size = max;
            lowest.expires_after(c_->read_timeout_);
            auto [ec, n] = co_await boost::beast::http::async_read_some(c_->stream_, c_->buffer_,
                                                                        parser, nothrow);
            const std::size_t got = max - parser.get().body().size;
            out.resize(old + got);
            if (ec == boost::beast::http::error::need_buffer) ec = {};
            if (ec) throw_io_error(ec, context_, "reading the response body", errc::read_timeout);
            if (parser.is_done()) {
                done_ = true;
                keep_alive_ = parser.keep_alive() && !parser.need_eof();
                lowest.expires_never();
                c_->busy_ = false;
                if (!keep_alive_) c_->close();
            }
            if (got > 0) co_return true;
        }
        co_return false;
    }
    bool keep_alive() const noexcept override { return keep_alive_; }

private:
    std::shared_ptr<Http1Connection> c_;
    std::string context_;
    bool done_ = false;
    bool keep_alive_ = false;
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

    const auto sent = Clock::now();
    if (ex.upload) {
        co_await send_upload(ex);
    } else {
        bhttp::request<bhttp::span_body<const char>> request;
        request.method_string(ex.method);
        request.target(ex.target->target);
        request.version(11);
        if (!ex.headers->contains("Host")) {
            request.set(bhttp::field::host, ex.target->host_header);
        }
        for (const auto& [name, value] : *ex.headers) request.insert(name, value);
        request.body() = {ex.body.data(), ex.body.size()};
        request.prepare_payload();
        lowest.expires_after(options.timeout.write);
        auto [write_error, written] = co_await bhttp::async_write(stream_, request, nothrow);
        if (write_error) {
            throw_io_error(write_error, ex.context, "sending the request", errc::write_timeout);
        }
    }

    if (ex.stream) {
        co_await stream_head(ex, guard, sent);
        co_return;
    }
    const bool head = ex.method == "HEAD";
    for (;;) {
        // Read up to 64 KiB a time (Beast sizes a read by the buffer's free capacity, and an
        // empty flat_buffer would read 512 bytes at a time); kept for the connection's life.
        buffer_.reserve(64 * 1024);
        bhttp::response_parser<bhttp::string_body> parser;
        parser.body_limit(options.max_response_bytes);
        parser.header_limit(static_cast<std::uint32_t>(options.max_header_bytes));
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
        const auto fields = static_cast<std::size_t>(std::distance(message.begin(), message.end()));
        check_head(message, message.reason(), options, ex.context);
        ex.response.headers.reserve(fields);
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

template <class Stream>
boost::asio::awaitable<void> Http1Connection<Stream>::send_upload(Exchange& ex) {
    namespace bhttp = boost::beast::http;
    namespace asio = boost::asio;
    constexpr auto nothrow = asio::as_tuple(asio::use_awaitable);
    auto& lowest = boost::beast::get_lowest_layer(stream_);
    const Duration write_timeout = ex.options->timeout.write;
    bhttp::request<bhttp::empty_body> head;
    head.method_string(ex.method);
    head.target(ex.target->target);
    head.version(11);
    if (!ex.headers->contains("Host")) head.set(bhttp::field::host, ex.target->host_header);
    for (const auto& [name, value] : *ex.headers) head.insert(name, value);
    const bool chunked = !ex.upload->size;
    if (chunked) {
        head.chunked(true);
    } else {
        head.content_length(*ex.upload->size);
    }
    bhttp::request_serializer<bhttp::empty_body> serializer(head);
    lowest.expires_after(write_timeout);
    auto [head_error, head_bytes] =
        co_await bhttp::async_write_header(stream_, serializer, nothrow);
    if (head_error) {
        throw_io_error(head_error, ex.context, "sending the request", errc::write_timeout);
    }
    UploadReader reader(ex.upload, std::string(ex.context));
    for (;;) {
        lowest.expires_never(); // the reader (a producer) may take its time
        std::optional<std::string> piece = co_await reader.next();
        if (!piece && !chunked) break;
        if (piece && piece->empty()) continue;
        std::string frame_head;
        if (chunked) {
            char size_line[24];
            const int n = std::snprintf(size_line, sizeof size_line, "%zx\r\n",
                                        piece ? piece->size() : std::size_t{0});
            frame_head.assign(size_line, static_cast<std::size_t>(n));
        }
        const std::string_view tail = chunked ? "\r\n" : "";
        const std::array<asio::const_buffer, 3> buffers{
            asio::buffer(frame_head), piece ? asio::buffer(*piece) : asio::const_buffer(),
            asio::buffer(tail.data(), tail.size())};
        lowest.expires_after(write_timeout);
        auto [error, n] = co_await asio::async_write(stream_, buffers, nothrow);
        if (error)
            throw_io_error(error, ex.context, "sending the request body", errc::write_timeout);
        if (!piece) break; // the last chunk went out
    }
    lowest.expires_never();
}

template <class Stream>
boost::asio::awaitable<void> Http1Connection<Stream>::stream_head(
    Exchange& ex, Guard& guard, std::chrono::steady_clock::time_point sent) {
    namespace bhttp = boost::beast::http;
    constexpr auto nothrow = boost::asio::as_tuple(boost::asio::use_awaitable);
    auto& lowest = boost::beast::get_lowest_layer(stream_);
    read_timeout_ = ex.options->timeout.read;
    for (;;) {
        stream_parser_.emplace();
        stream_parser_->body_limit(boost::none); // a stream has no size limit
        stream_parser_->header_limit(static_cast<std::uint32_t>(ex.options->max_header_bytes));
        if (ex.method == "HEAD") stream_parser_->skip(true);
        lowest.expires_after(read_timeout_);
        auto [ec, n] =
            co_await bhttp::async_read_header(stream_, buffer_, *stream_parser_, nothrow);
        if (!ex.response_started && (stream_parser_->got_some() || buffer_.size() > 0)) {
            ex.response_started = true;
            ex.response.timings.first_byte = std::chrono::steady_clock::now() - sent;
        }
        if (ec) throw_io_error(ec, ex.context, "reading the response", errc::read_timeout);
        const auto& message = stream_parser_->get();
        const int status = static_cast<int>(message.result_int());
        if (status >= 100 && status < 200 && status != 101) continue; // interim response
        ex.response.status = status;
        ex.response.reason = std::string(message.reason());
        ex.response.version = message.version() == 10 ? Version::http_1_0 : Version::http_1_1;
        check_head(message, message.reason(), *ex.options, ex.context);
        for (const auto& field : message) {
            ex.response.headers.add(std::string(field.name_string()), std::string(field.value()));
        }
        break;
    }
    if (stream_parser_->is_done()) { // no body (HEAD, 204, 304, Content-Length: 0)
        ex.keep_alive = stream_parser_->keep_alive() && !stream_parser_->need_eof();
        lowest.expires_never();
        guard.done = ex.keep_alive;
        co_return;
    }
    ex.body_reader = std::make_unique<Body>(this->shared_from_this(), std::string(ex.context));
    guard.handed_over = true; // busy until the body ends or is abandoned
}

} // namespace nector::http::detail
