// HTTP/1.1 connections: our request head writer and response reader (response_reader.cpp)
// over a TCP or TLS stream, one exchange at a time, with the connection's read and write
// deadlines.
// Over 500 lines on purpose: one class template, Http1Connection (exchange, streamed body,
// uploads, the deadline timer), whose members share the connection's buffer and timer
// state; its instances for both streams are at the end.
#include "http/wire/http1.hpp"

#include "http/errors/bridge.hpp"
#include "http/errors/fail_point.hpp"
#include "http/wire/connection.hpp"
#include "http/wire/response_reader.hpp"
#include "http/wire/sendfile.hpp"
#include "http/wire/streams.hpp"
#include "http/wire/tls_batch.hpp"
#include "nector/transport/errors.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <openssl/bio.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <tuple>
#include <type_traits>

#include <poll.h>
#include <sys/socket.h>

namespace nector::http::detail {

/// The error code and message of a failed read or write (phase "sending the request" or
/// "reading the response").
[[noreturn]] void throw_io_error(const boost::system::error_code& ec, std::string_view context,
                                 std::string_view phase, errc timeout_code);

/// No byte and no end of stream waiting on the socket `fd` (a poll that does not wait).
bool socket_quiet(int fd) noexcept;

/// A buffered body's announced length is reserved at once up to this size; above it (only
/// a raised max_response_bytes allows that) the string grows as bytes arrive rather than
/// ask for that much address space before any of it has come.
inline constexpr std::size_t max_body_reserve = std::size_t{64} << 20;

/// The reader's limits for a response to `ex` (`buffered`: the body is kept whole, under
/// max_response_bytes).
inline ReaderLimits reader_limits(const WireLimits& limits, bool buffered) noexcept {
    return {.max_header_bytes = limits.max_header_bytes,
            .max_header_count = limits.max_header_count,
            .max_body =
                buffered ? std::optional<std::uint64_t>(limits.max_response_bytes) : std::nullopt};
}

/// Appends an HTTP/1.1 request head to `out`: request line, Host (unless a Host header is
/// given), the headers (already validated), Content-Length when `content_length` is set,
/// and the blank line. Through a proxy (`forward`), the target in absolute form and the
/// proxy's credentials (unless the headers hold a Proxy-Authorization).
void write_head(std::string& out, std::string_view method, const Target& target,
                const Headers& headers, std::optional<std::uint64_t> content_length, bool chunked,
                const ProxyForward* forward = nullptr);

/// Beast's rule for a request's Content-Length: set for a non-empty body, and for an empty
/// one on the methods that expect a body (POST, PUT, OPTIONS).
bool needs_content_length(std::string_view method, std::size_t body_size) noexcept;

template <class Stream>
class Http1Connection final : public Connection,
                              public std::enable_shared_from_this<Http1Connection<Stream>> {
public:
    template <class... Args>
    explicit Http1Connection(Args&&... args) : stream_(std::forward<Args>(args)...) {}

    Stream& stream() noexcept { return stream_; }
    /// Requests go to an HTTP proxy (plain streams only).
    void forward_to_proxy(ProxyForward forward) { forward_ = std::move(forward); }

    boost::asio::awaitable<void> exchange(Exchange& ex) override;

    bool available() const noexcept override { return open_ && !busy_; }
    /// Nothing arrived while the connection was idle: no byte in its buffers, nothing
    /// readable on its socket (bytes after a response, or the server's close). Whatever
    /// arrived would be read as the next response, so the connection must not be reused.
    bool quiet() noexcept override {
        if (!open_ || buffer_.size() != 0) return false;
        if constexpr (std::is_same_v<Stream, TlsStream>) {
            // TLS: decrypted or undecrypted records held by OpenSSL.
            SSL* ssl = stream_.native_handle();
            if (SSL_has_pending(ssl) == 1 || BIO_ctrl_pending(SSL_get_rbio(ssl)) > 0) return false;
        }
        return socket_quiet(boost::beast::get_lowest_layer(stream_).native_handle());
    }
    bool is_open() const noexcept override { return open_; }
    void close() noexcept override {
        if (!open_) return;
        open_ = false;
        boost::system::error_code ignored;
        boost::beast::get_lowest_layer(stream_).close(ignored);
        stop_watching();
    }
    Version version() const noexcept override { return Version::http_1_1; }

private:
    class Body;

    // Closes the connection if the exchange does not finish (error or cancellation), unless
    // a streamed body took the connection over.
    struct Guard {
        Http1Connection* c;
        bool done = false;
        bool handed_over = false;
        ~Guard() {
            if (handed_over) return;
            c->idle();
            if (!done) c->close();
        }
    };

    /// Feeds the buffered bytes to `reader`: true once the response is complete (at `eof`,
    /// the end of the connection, it must be), false when it needs more bytes.
    bool parse_buffered(Exchange& ex, ResponseReader& reader,
                        std::chrono::steady_clock::time_point sent, bool eof);
    /// What is left of a Content-Length body once the connection's buffer holds none of it:
    /// then it is read from the socket straight into its destination, past the reader.
    /// Nothing for a chunked or end-delimited body, or while the buffer holds bytes.
    std::optional<std::uint64_t> directly_readable(const ResponseReader& reader) const {
        if (buffer_.size() != 0) return {};
        return reader.length_remaining();
    }
    /// Reads the `remaining` bytes of a Content-Length body into the response, past the
    /// parser (whose buffer is empty).
    boost::asio::awaitable<void> read_rest_of_body(Exchange& ex, std::uint64_t remaining);
    /// Sends the head, then the upload piece by piece (Content-Length when its size is
    /// known, else chunked).
    boost::asio::awaitable<void> send_upload(Exchange& ex);
    /// Over plain TCP, sends a whole file of the upload with sendfile() (the kernel moves
    /// the bytes: no read into memory, no copy); false, having sent nothing, over TLS or
    /// when the kernel cannot splice from the file (the caller then reads it).
    boost::asio::awaitable<bool> send_file(Exchange& ex, UploadReader::FileRegion file,
                                           UploadReader& reader);
    /// Writes one piece of the upload (its chunk head, data and tail) within `timeout`; over
    /// TLS, when the batch suits it, as records made at once (tls_batch.hpp).
    boost::asio::awaitable<boost::system::error_code> write_piece(
        std::span<const boost::asio::const_buffer> buffers, Duration timeout, TlsBatch& batch);
    /// A streamed exchange after its request went out: reads the head, then leaves the
    /// body to a Body.
    boost::asio::awaitable<void> stream_head(Exchange& ex, Guard& guard,
                                             std::chrono::steady_clock::time_point sent);

    using Clock = std::chrono::steady_clock;
    /// Timeout::read and Timeout::write: a deadline set before each read or write and cleared
    /// when it completes, watched by one timer per connection that is set again only when it
    /// fires before the deadline (or must fire sooner), so a read or write costs no timer
    /// work. Past the deadline the connection is closed and the pending operation fails with
    /// timed(ec) == beast::error::timeout.
    void deadline_in(Duration d) {
        if (d <= Duration::zero()) {
            deadline_ = Clock::time_point::max();
            return;
        }
        deadline_ = Clock::now() + d;
        if (!watching_ || deadline_ < watched_until_) watch();
    }
    void no_deadline() noexcept { deadline_ = Clock::time_point::max(); }
    /// Between exchanges no timer may stay armed: a pending wait would keep the event loop
    /// (io_context::run()) busy until it fired. But the next exchange on a kept-alive
    /// connection usually starts at once, so at the end of one the timer is left armed and
    /// a posted check stops it only if the connection is still idle then: arming and
    /// cancelling a timer per exchange costs more than the post (and, when it is the only
    /// timer, a system call).
    void stop_watching_when_idle() noexcept {
        if (!watching_ || idle_check_posted_) return;
        try {
            boost::asio::post(stream_.get_executor(), [weak = this->weak_from_this()] {
                const auto self = weak.lock();
                if (!self) return;
                self->idle_check_posted_ = false;
                if (!self->busy_) self->stop_watching();
            });
            idle_check_posted_ = true;
        } catch (...) { // no memory for the check: stop now
            stop_watching();
        }
    }
    void stop_watching() noexcept {
        if (!watching_) return;
        ++watch_id_;
        watching_ = false;
        try {
            timer_->cancel();
        } catch (...) { // cancel() reports failure only by exception; nothing waits on it now
        }
    }
    /// The exchange is over (the connection is free again or about to close).
    void idle() noexcept {
        busy_ = false;
        no_deadline();
        stop_watching_when_idle();
    }
    void watch() {
        if (!timer_) timer_.emplace(stream_.get_executor());
        // The state changes only once the wait is set: if setting it throws, the next
        // deadline_in() tries again (a wait this cancels still runs its handler, with the
        // current id, and looks at the deadline itself).
        const auto id = watch_id_ + 1;
        timer_->expires_at(deadline_); // a pending wait ends, and its handler sees a stale id
        fail_point_timer(*timer_);
        timer_->async_wait([weak = this->weak_from_this(), id](const boost::system::error_code&) {
            const auto self = weak.lock();
            if (!self || id != self->watch_id_) return;
            self->watching_ = false;
            if (!self->open_ || self->deadline_ == Clock::time_point::max()) return;
            if (Clock::now() < self->deadline_) {
                self->watch(); // the deadline moved on since
                return;
            }
            self->timed_out_ = true;
            self->close();
        });
        watch_id_ = id;
        watching_ = true;
        watched_until_ = deadline_;
    }
    /// A read that does not go through the event loop: over plain TCP, when bytes are
    /// already waiting, a non-blocking recv() takes them at once (no readiness wait, no
    /// completion handler, no poll of the reactor); a bulk download then costs one system
    /// call a read instead of two. At most `immediate_reads` in a row, so that the loop's
    /// other work (other connections, timers, cancellation) still runs between them.
    /// nullopt: nothing was read (no byte waiting, TLS, or the turn is up) and the caller
    /// reads asynchronously; otherwise the bytes read, with `ec` set at the end of the stream
    /// or on a socket error.
    std::optional<std::size_t> read_now(boost::asio::mutable_buffer into,
                                        boost::system::error_code& ec) noexcept {
        if constexpr (!std::is_same_v<Stream, PlainStream>) {
            return std::nullopt;
        } else {
            if (immediate_reads_ >= max_immediate_reads || into.size() == 0) {
                immediate_reads_ = 0;
                return std::nullopt;
            }
            const int fd = stream_.native_handle();
            const ssize_t n = ::recv(fd, into.data(), into.size(), MSG_DONTWAIT);
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
                immediate_reads_ = 0;
                return std::nullopt;
            }
            ++immediate_reads_;
            std::size_t got = n > 0 ? static_cast<std::size_t>(n) : 0;
            ec = n == 0  ? boost::system::error_code(boost::asio::error::eof)
                 : n < 0 ? boost::system::error_code(errno, boost::system::system_category())
                         : boost::system::error_code();
            fail_point(ec, got);
            return got;
        }
    }
    /// One read into `into`: read_now(), else an asynchronous read with the read deadline
    /// `timeout` (a timeout shows as timed(ec)).
    boost::asio::awaitable<std::tuple<boost::system::error_code, std::size_t>> read_socket(
        boost::asio::mutable_buffer into, Duration timeout) {
        boost::system::error_code ec;
        if (const auto now = read_now(into, ec)) co_return std::tuple(ec, *now);
        deadline_in(timeout);
        auto [error, n] = co_await stream_.async_read_some(
            into, boost::asio::as_tuple(boost::asio::use_awaitable));
        fail_point(error, n);
        no_deadline();
        co_return std::tuple(error, n);
    }
    boost::system::error_code timed(const boost::system::error_code& ec) const noexcept {
        return ec && timed_out_ ? boost::system::error_code(boost::beast::error::timeout) : ec;
    }
    /// A read error in a body read past the parser: the end of the connection (or of TLS)
    /// there cuts the body short.
    boost::system::error_code body_error(const boost::system::error_code& ec) const noexcept {
        const bool cut =
            ec == boost::asio::error::eof || ec == boost::asio::ssl::error::stream_truncated;
        return cut ? boost::system::error_code(boost::beast::http::error::partial_message)
                   : timed(ec);
    }

    Stream stream_;
    std::optional<boost::asio::steady_timer> timer_;
    Clock::time_point deadline_ = Clock::time_point::max();
    Clock::time_point watched_until_{};
    std::uint64_t watch_id_ = 0;
    bool watching_ = false;
    bool idle_check_posted_ = false;
    bool timed_out_ = false;
    static constexpr std::size_t max_read_size = std::size_t{64} * 1024;
    static constexpr unsigned max_immediate_reads = 16;
    /// send_file(): bytes sent without a turn of the event loop in between.
    static constexpr std::uint64_t max_sendfile_turn = std::uint64_t{16} << 20;
    unsigned immediate_reads_ = 0; // read_now()'s turn
    boost::beast::flat_buffer buffer_;
    std::size_t read_size_ = 512; // the next buffered read's size (a small head fits the first)
    std::string out_;             // the request head, kept for the connection's life
    std::optional<ProxyForward> forward_; // to an HTTP proxy: absolute-form targets
    Duration read_timeout_{};
    bool open_ = true;
    bool busy_ = false;
};

/// The body of a streamed HTTP/1.1 response: read from the socket only when asked for
/// (so a slow consumer holds the server back through TCP flow control).
template <class Stream>
class Http1Connection<Stream>::Body final : public BodyReader {
public:
    Body(std::shared_ptr<Http1Connection> c, std::string context, ResponseReader reader)
        : c_(std::move(c)), context_(std::move(context)), reader_(reader) {
        reader_.rebind(trailer_, context_);
    }
    Body(const Body&) = delete;
    Body& operator=(const Body&) = delete;
    ~Body() override {
        if (done_) return;
        c_->idle();
        c_->close();
    }

    boost::asio::awaitable<bool> read(std::string& out, std::size_t max) override {
        auto& buffer = c_->buffer_;
        // At least a byte a call (a zero would never progress), at most 1 MiB.
        max = std::clamp<std::size_t>(max, 1, std::size_t{1} << 20);
        while (!done_) {
            const std::size_t old = out.size();
            if (buffer.size() == 0) {
                if (const auto remaining = reader_.length_remaining()) {
                    // The rest of a Content-Length body goes from the socket straight into
                    // `out`: no copy through the buffer.
                    const std::size_t want = direct_window(max, *remaining);
                    out.resize(old + want);
                    std::size_t n = 0;
                    try {
                        n = co_await read_direct(boost::asio::buffer(out.data() + old, want));
                    } catch (...) {
                        out.resize(old);
                        throw;
                    }
                    out.resize(old + n);
                    if (n > 0) co_return true;
                    continue;
                }
            } else {
                const auto bytes = buffer.data();
                const std::size_t used =
                    reader_.put(static_cast<const char*>(bytes.data()), bytes.size(), out, max);
                buffer.consume(used);
                if (reader_.done()) finish();
                if (out.size() > old) co_return true;
                if (used > 0) continue;
            }
            if (done_) break;
            const auto [ec, n] = co_await c_->read_socket(
                buffer.prepare(std::clamp<std::size_t>(max, 1024, max_read_size)),
                c_->read_timeout_);
            buffer.commit(n);
            if (ec == boost::asio::error::eof && n == 0) {
                reader_.put_eof(); // ends a body delimited by the close, or throws
                finish();
            } else if (ec && n == 0) {
                throw_io_error(c_->timed(ec), context_, "reading the response body",
                               errc::read_timeout);
            }
        }
        co_return false;
    }
    /// A Content-Length body with nothing buffered goes from the socket straight into `into`;
    /// anything else (a chunked body, bytes already in the connection's buffer) through read().
    boost::asio::awaitable<std::size_t> read_into(boost::asio::mutable_buffer into) override {
        const auto remaining = reader_.length_remaining();
        if (done_ || c_->buffer_.size() != 0 || !remaining || into.size() == 0) {
            co_return co_await BodyReader::read_into(into);
        }
        co_return co_await read_direct(
            boost::asio::buffer(into.data(), direct_window(into.size(), *remaining)));
    }
    bool keep_alive() const noexcept override { return keep_alive_; }
    Headers trailers() const override { return trailer_.trailers; }

private:
    /// What one read straight from the socket takes of a Content-Length body's `remaining`
    /// bytes into `room` bytes: at most 1 MiB, as read() does through the buffer.
    static std::size_t direct_window(std::size_t room, std::uint64_t remaining) noexcept {
        return static_cast<std::size_t>(
            std::min<std::uint64_t>(std::min(room, std::size_t{1} << 20), remaining));
    }
    /// Reads the next bytes of a Content-Length body, nothing of it buffered, from the socket
    /// straight into `part` (no larger than the rest of the body); finishes the body at its
    /// end. 0 only when `part` is empty.
    boost::asio::awaitable<std::size_t> read_direct(boost::asio::mutable_buffer part) {
        if (part.size() == 0) co_return 0;
        for (;;) {
            const auto [ec, n] = co_await c_->read_socket(part, c_->read_timeout_);
            reader_.skipped(n);
            if (reader_.done()) {
                finish();
            } else if (ec) {
                throw_io_error(c_->body_error(ec), context_, "reading the response body",
                               errc::read_timeout);
            }
            if (n > 0 || done_) co_return n;
        }
    }

    void finish() noexcept {
        done_ = true;
        keep_alive_ = reader_.keep_alive() && c_->buffer_.size() == 0;
        c_->idle();
        if (!keep_alive_) c_->close();
    }

    std::shared_ptr<Http1Connection> c_;
    std::string context_;
    Response trailer_; // where the reader puts the trailer section
    ResponseReader reader_;
    bool done_ = false;
    bool keep_alive_ = false;
};

template <class Stream>
boost::asio::awaitable<void> Http1Connection<Stream>::exchange(Exchange& ex) {
    constexpr auto nothrow = boost::asio::as_tuple(boost::asio::use_awaitable);
    busy_ = true;
    Guard guard{this};
    const WireLimits& limits = *ex.limits;

    const auto sent = Clock::now();
    if (ex.upload) {
        co_await send_upload(ex);
    } else {
        // The head (and a small body) in one buffer, so one write (one TLS record).
        constexpr std::size_t inline_body = std::size_t{16} * 1024;
        const bool length = needs_content_length(ex.method, ex.body.size());
        out_.clear();
        write_head(out_, ex.method, *ex.target, *ex.headers,
                   length ? std::optional<std::uint64_t>(ex.body.size()) : std::nullopt, false,
                   forward_ ? &*forward_ : nullptr);
        const bool separate = ex.body.size() > inline_body;
        if (!separate) out_.append(ex.body);
        const std::array<boost::asio::const_buffer, 2> buffers{
            boost::asio::buffer(out_),
            separate ? boost::asio::buffer(ex.body) : boost::asio::const_buffer()};
        deadline_in(limits.timeout.write);
        auto [write_error, written] = co_await boost::asio::async_write(stream_, buffers, nothrow);
        fail_point(write_error);
        no_deadline();
        if (write_error) {
            throw_io_error(timed(write_error), ex.context, "sending the request",
                           errc::write_timeout);
        }
    }

    if (ex.stream) {
        co_await stream_head(ex, guard, sent);
        co_return;
    }
    ResponseReader reader(ex.response, ex.method == "HEAD", reader_limits(limits, true),
                          ex.context);
    bool eof = false;
    while (!parse_buffered(ex, reader, sent, eof)) {
        if (const std::optional<std::uint64_t> remaining = directly_readable(reader)) {
            // The rest of the body goes from the socket straight into the response
            // (checked against max_response_bytes by the reader already).
            co_await read_rest_of_body(ex, *remaining);
            reader.skipped(*remaining);
            break;
        }
        // The buffer starts small (a connection's buffer is its main memory cost) and
        // grows while reads fill it, up to 64 KiB a read; it keeps its capacity.
        deadline_in(limits.timeout.read);
        auto [read_error, n] =
            co_await stream_.async_read_some(buffer_.prepare(read_size_), nothrow);
        fail_point(read_error, n);
        no_deadline();
        buffer_.commit(n);
        if (n == read_size_ && read_size_ < max_read_size) read_size_ *= 2;
        // (A TLS connection cut without close_notify, stream_truncated, stays an error:
        // it must not end a body delimited by the end of the connection.)
        if (read_error == boost::asio::error::eof) {
            eof = true;
        } else if (read_error) {
            throw_io_error(timed(read_error), ex.context, "reading the response",
                           errc::read_timeout);
        }
    }
    // Bytes past the end of the response (a longer body than announced, or a body after a
    // response to HEAD) cannot be explained: the connection is not reused, so they are
    // never read as the next response (curl closes it too).
    ex.keep_alive = reader.keep_alive() && buffer_.size() == 0;
    guard.done = ex.keep_alive; // otherwise the guard closes the connection
}

template <class Stream>
bool Http1Connection<Stream>::parse_buffered(Exchange& ex, ResponseReader& reader,
                                             std::chrono::steady_clock::time_point sent, bool eof) {
    if (buffer_.size() > 0 && !ex.response_started) {
        ex.response_started = true;
        ex.response.timings.first_byte = std::chrono::steady_clock::now() - sent;
    }
    while (buffer_.size() > 0 && !reader.done()) {
        const auto bytes = buffer_.data();
        const std::size_t used =
            reader.put(static_cast<const char*>(bytes.data()), bytes.size(), ex.response.body,
                       std::numeric_limits<std::size_t>::max());
        buffer_.consume(used);
        if (used == 0) break;
    }
    if (reader.done()) return true;
    if (!eof) return false;
    // A body delimited by the end ends here; otherwise it was cut short (or, with nothing
    // received, the server closed a kept-alive connection).
    reader.put_eof();
    return true;
}

template <class Stream>
boost::asio::awaitable<void> Http1Connection<Stream>::read_rest_of_body(Exchange& ex,
                                                                        std::uint64_t remaining) {
    std::string& body = ex.response.body;
    const std::size_t start = body.size();
    const auto size = static_cast<std::size_t>(remaining);
    std::size_t got = 0;
    // The announced length is reserved at once (address space only: no page of it is
    // touched, though strict overcommit counts it), so the string never moves while it
    // fills; its size grows with what has arrived (at most twice it, and 64 KiB at first),
    // so a server that announces a large body and sends little makes the client touch
    // little memory. Growing the allocation instead (64 KiB, 128 KiB, ... 1 MiB, each
    // copied and freed) made glibc hand the freed pages back and fault them in again: a
    // 1 MiB response at one in flight cost 1-4 ms of CPU instead of 0.3. (The parser
    // reserved it already if body bytes came with the head.)
    if (start + size <= max_body_reserve) body.reserve(start + size);
    while (got < size) {
        const std::size_t window =
            std::min(size - got, std::max<std::size_t>(std::size_t{64} * 1024, got));
        body.resize(std::max(body.size(), start + got + window));
        const auto [read_error, n] = co_await read_socket(
            boost::asio::buffer(body.data() + start + got, window), ex.limits->timeout.read);
        got += n;
        if (read_error && got < size) {
            body.resize(start + got);
            throw_io_error(body_error(read_error), ex.context, "reading the response",
                           errc::read_timeout);
        }
    }
    body.resize(start + size);
}

template <class Stream>
boost::asio::awaitable<void> Http1Connection<Stream>::send_upload(Exchange& ex) {
    namespace asio = boost::asio;
    constexpr auto nothrow = asio::as_tuple(asio::use_awaitable);
    const Duration write_timeout = ex.limits->timeout.write;
    const bool chunked = !ex.upload->size;
    out_.clear();
    write_head(out_, ex.method, *ex.target, *ex.headers, ex.upload->size, chunked,
               forward_ ? &*forward_ : nullptr);
    deadline_in(write_timeout);
    auto [head_error, head_bytes] =
        co_await asio::async_write(stream_, asio::buffer(out_), nothrow);
    fail_point(head_error);
    no_deadline();
    if (head_error) {
        throw_io_error(timed(head_error), ex.context, "sending the request", errc::write_timeout);
    }
    UploadReader reader(ex.upload, std::string(ex.context));
    TlsBatch batch; // TLS: the records of each piece
    for (;;) {
        if (!chunked) {
            if (const auto file = reader.next_file()) {
                if (co_await send_file(ex, *file, reader)) {
                    reader.file_sent();
                    continue;
                } // else next() reads it
            }
        }
        std::optional<std::string_view> piece = co_await reader.next();
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
            asio::buffer(frame_head),
            piece ? asio::buffer(piece->data(), piece->size()) : asio::const_buffer(),
            asio::buffer(tail.data(), tail.size())};
        const std::span<const asio::const_buffer> all(buffers);
        boost::system::error_code error = co_await write_piece(all, write_timeout, batch);
        fail_point(error);
        no_deadline();
        if (error)
            throw_io_error(timed(error), ex.context, "sending the request body",
                           errc::write_timeout);
        if (!piece) break; // the last chunk went out
    }
}

template <class Stream>
boost::asio::awaitable<boost::system::error_code> Http1Connection<Stream>::write_piece(
    std::span<const boost::asio::const_buffer> buffers, Duration timeout, TlsBatch& batch) {
    namespace asio = boost::asio;
    constexpr auto nothrow = asio::as_tuple(asio::use_awaitable);
    if constexpr (std::is_same_v<Stream, TlsStream>) {
        if (TlsBatch::suits(stream_.native_handle(), asio::buffer_size(buffers))) {
            boost::system::error_code error;
            const std::string_view records = batch.seal(stream_.native_handle(), buffers, error);
            if (error) co_return error;
            deadline_in(timeout);
            auto [write_error, n] = co_await asio::async_write(
                stream_.next_layer(), asio::buffer(records.data(), records.size()), nothrow);
            co_return write_error;
        }
    }
    deadline_in(timeout);
    auto [write_error, n] = co_await asio::async_write(stream_, buffers, nothrow);
    co_return write_error;
}

template <class Stream>
boost::asio::awaitable<bool> Http1Connection<Stream>::send_file(Exchange& ex,
                                                                UploadReader::FileRegion file,
                                                                UploadReader& reader) {
    if constexpr (!std::is_same_v<Stream, PlainStream>) {
        co_return false;
    } else {
        namespace asio = boost::asio;
        auto& socket = stream_;
        boost::system::error_code ec;
        socket.native_non_blocking(true, ec); // sendfile() must not block the loop
        if (ec) co_return false;
        off_t offset = 0;
        const auto size = static_cast<off_t>(file.size);
        std::uint64_t this_turn = 0;
        while (offset < size) {
            if (!open_) { // closed meanwhile (its deadline): as a write on a closed socket
                throw_io_error(timed(asio::error::operation_aborted), ex.context,
                               "sending the request body", errc::write_timeout);
            }
            if (this_turn >= max_sendfile_turn) {
                // Let the loop's other work run (other connections, timers, cancellation)
                // between large stretches a fast receiver would otherwise allow in one go.
                this_turn = 0;
                co_await asio::post(stream_.get_executor(), asio::use_awaitable);
                continue;
            }
            // At most 1 GiB a call: sendfile() moves at most 0x7ffff000 bytes anyway.
            const auto want =
                static_cast<std::size_t>(std::min<off_t>(size - offset, off_t{1} << 30));
            const off_t before = offset;
            const ssize_t n = sendfile_quietly(socket.native_handle(), file.fd, &offset, want);
            if (n > 0) {
                this_turn += static_cast<std::uint64_t>(offset - before);
                continue;
            }
            if (n == 0) reader.file_shorter();
            const int error = errno;
            if (error == EINTR) continue;
            if ((error == EINVAL || error == ENOSYS) && offset == 0) {
                co_return false; // a file the kernel cannot splice from: read it instead
            }
            if (error == EIO) reader.file_unreadable(error);
            if (error != EAGAIN && error != EWOULDBLOCK) {
                throw_io_error(boost::system::error_code(error, boost::system::system_category()),
                               ex.context, "sending the request body", errc::write_timeout);
            }
            this_turn = 0;
            deadline_in(ex.limits->timeout.write);
            auto [wait_error] = co_await socket.async_wait(asio::socket_base::wait_write,
                                                           asio::as_tuple(asio::use_awaitable));
            fail_point(wait_error);
            no_deadline();
            if (wait_error) {
                throw_io_error(timed(wait_error), ex.context, "sending the request body",
                               errc::write_timeout);
            }
        }
        co_return true;
    }
}

template <class Stream>
boost::asio::awaitable<void> Http1Connection<Stream>::stream_head(
    Exchange& ex, Guard& guard, std::chrono::steady_clock::time_point sent) {
    constexpr auto nothrow = boost::asio::as_tuple(boost::asio::use_awaitable);
    read_timeout_ = ex.limits->timeout.read;
    ResponseReader reader(ex.response, ex.method == "HEAD", reader_limits(*ex.limits, false),
                          ex.context);
    std::string none; // no body byte is read with the head
    while (!reader.head_done()) {
        if (buffer_.size() > 0) {
            if (!ex.response_started) {
                ex.response_started = true;
                ex.response.timings.first_byte = std::chrono::steady_clock::now() - sent;
            }
            const auto bytes = buffer_.data();
            const std::size_t used =
                reader.put(static_cast<const char*>(bytes.data()), bytes.size(), none, 0);
            buffer_.consume(used);
            if (used > 0) continue; // the head, or an interim response
        }
        deadline_in(read_timeout_);
        auto [ec, n] = co_await stream_.async_read_some(buffer_.prepare(read_size_), nothrow);
        fail_point(ec, n);
        no_deadline();
        buffer_.commit(n);
        if (n == read_size_ && read_size_ < max_read_size) read_size_ *= 2;
        if (ec == boost::asio::error::eof && n == 0) {
            reader.put_eof(); // throws: the head is not complete
        } else if (ec && n == 0) {
            throw_io_error(timed(ec), ex.context, "reading the response", errc::read_timeout);
        }
    }
    if (reader.done()) { // no body (HEAD, 204, 304, Content-Length: 0)
        ex.keep_alive = reader.keep_alive() && buffer_.size() == 0; // (see exchange())
        guard.done = ex.keep_alive;
        co_return;
    }
    ex.body_reader =
        std::make_unique<Body>(this->shared_from_this(), std::string(ex.context), reader);
    guard.handed_over = true; // busy until the body ends or is abandoned
}

void throw_io_error(const boost::system::error_code& ec, std::string_view context,
                    std::string_view phase, errc timeout_code) {
    namespace asio = boost::asio;
    namespace bhttp = boost::beast::http;
    const std::string where = std::string(context) + ": " + std::string(phase);
    if (ec == boost::beast::error::timeout) {
        throw_error(timeout_code, where + ": no progress within the " +
                                      (timeout_code == errc::read_timeout ? "read" : "write") +
                                      " timeout");
    }
    if (ec == bhttp::error::partial_message) {
        throw_error(errc::connection_closed,
                    where + ": the server closed the connection before the end of the body");
    }
    switch (const errc code = errc_of_io(ec, timeout_code)) {
        case errc::cancelled:
            throw_error(code, where + ": cancelled");
        case errc::connection_closed:
            throw_error(code, where + ": the server closed the connection");
        default:
            throw_error(code, where + ": " + ec.message());
    }
}

bool socket_quiet(int fd) noexcept {
    pollfd p{.fd = fd, .events = POLLIN, .revents = 0};
    return ::poll(&p, 1, 0) == 0;
}

bool needs_content_length(std::string_view method, std::size_t body_size) noexcept {
    return body_size > 0 || method == "POST" || method == "PUT" || method == "OPTIONS";
}

void write_head(std::string& out, std::string_view method, const Target& target,
                const Headers& headers, std::optional<std::uint64_t> content_length, bool chunked,
                const ProxyForward* forward) {
    // Sized first, then copied piece by piece into place: one resize instead of an append
    // (and its capacity check and call) for each of the head's dozen or more pieces.
    using namespace std::string_view_literals;
    constexpr std::string_view crlf = "\r\n"sv;
    const bool host = !headers.contains("Host");
    char digits[24];
    std::string_view length;
    if (!chunked && content_length) {
        const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, *content_length);
        length = std::string_view(digits, static_cast<std::size_t>(end - digits));
    }
    std::size_t size = method.size() + 1 + target.target.size() + " HTTP/1.1\r\n"sv.size();
    if (host) size += "Host: "sv.size() + target.host_header.size() + crlf.size();
    constexpr std::string_view scheme = "http://"sv; // only http:// requests are forwarded
    const bool proxy_credentials =
        forward && !forward->authorization.empty() && !headers.contains("Proxy-Authorization");
    if (forward) size += scheme.size() + target.host_header.size();
    if (proxy_credentials) {
        size += "Proxy-Authorization: "sv.size() + forward->authorization.size() + crlf.size();
    }
    for (const auto& [name, value] : headers) size += name.size() + 2 + value.size() + 2;
    if (chunked) size += "Transfer-Encoding: chunked\r\n"sv.size();
    if (!length.empty()) size += "Content-Length: "sv.size() + length.size() + crlf.size();
    size += crlf.size();
    const std::size_t at = out.size();
    out.resize(at + size);
    char* cursor = out.data() + at;
    const auto put = [&cursor](std::string_view piece) {
        std::memcpy(cursor, piece.data(), piece.size());
        cursor += piece.size();
    };
    put(method);
    put(" "sv);
    if (forward) {
        put(scheme);
        put(target.host_header);
    }
    put(target.target);
    put(" HTTP/1.1\r\n"sv);
    if (host) {
        put("Host: "sv);
        put(target.host_header);
        put(crlf);
    }
    if (proxy_credentials) {
        put("Proxy-Authorization: "sv);
        put(forward->authorization);
        put(crlf);
    }
    for (const auto& [name, value] : headers) {
        put(name);
        put(": "sv);
        put(value);
        put(crlf);
    }
    if (chunked) put("Transfer-Encoding: chunked\r\n"sv);
    if (!length.empty()) {
        put("Content-Length: "sv);
        put(length);
        put(crlf);
    }
    put(crlf);
}

std::shared_ptr<Connection> make_http1_connection(PlainStream stream) {
    return std::make_shared<Http1Connection<PlainStream>>(std::move(stream));
}

std::shared_ptr<Connection> make_http1_connection(PlainStream stream, ProxyForward forward) {
    auto c = std::make_shared<Http1Connection<PlainStream>>(std::move(stream));
    c->forward_to_proxy(std::move(forward));
    return c;
}

std::shared_ptr<Connection> make_http1_connection(TlsStream stream) {
    return std::make_shared<Http1Connection<TlsStream>>(std::move(stream));
}

} // namespace nector::http::detail
