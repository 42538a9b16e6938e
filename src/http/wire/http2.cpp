// HTTP/2 connections: nghttp2's session driven from Asio (src/http/wire/http2.hpp).
// Over 500 lines on purpose: it is one class template, Http2Connection, whose session
// callbacks, reader, batched writer, PING watchdog and per-stream state share one set of
// invariants (which stream may still be replayed, what the windows owe); split across
// files they would be harder to check together. Its instances for both streams are at the
// end.
#include "http/wire/http2.hpp"

#include "http/errors/bridge.hpp"
#include "http/errors/fail_point.hpp"
#include "http/message/body.hpp"
#include "http/wire/http1.hpp"
#include "http/wire/sendfile.hpp"
#include "http/wire/tls_reader.hpp"
#include "http/wire/tls_writer.hpp"
#include "nector/transport/errors.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <boost/beast/http/status.hpp>

#include <nghttp2/nghttp2.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include <unistd.h>

namespace nector::http::detail {
namespace {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
constexpr auto nothrow = asio::as_tuple(asio::use_awaitable);

constexpr std::size_t read_buffer_size = std::size_t{64} * 1024;
constexpr std::size_t write_batch_size = std::size_t{64} * 1024;
// File bytes one write may send (h2c: sendfile, no memory of ours), and the largest DATA
// frame of them asked of nghttp2 (the server's SETTINGS_MAX_FRAME_SIZE and the windows
// bound it further; nghttp2 keeps a frame buffer of the largest size it made, unused for
// these frames but allocated, so not larger). Other DATA frames are nghttp2's 16 KiB.
constexpr std::uint64_t file_batch_size = std::uint64_t{4} << 20;
constexpr std::size_t max_file_frame = std::size_t{256} << 10;
constexpr std::size_t default_data_frame = 16384; // the protocol's first frame size limit
// A streamed body's buffer of received bytes is sized for one read (ResponseStream::next).
constexpr std::size_t pending_reserve = std::size_t{64} * 1024;
/// Interim (1xx) responses skipped on one stream before it is refused, as over HTTP/1.1.
constexpr std::size_t max_interim = 100;
/// Frames that carry nothing for a response (PING, SETTINGS, PRIORITY, empty DATA) taken
/// within one second before the connection is ended as a flood: a server sends a handful;
/// thousands a second only cost CPU (the "empty frames" and control-frame floods).
constexpr std::size_t max_idle_frames_per_second = 1000;

// No exception crosses into nghttp2 (a C library): a callback that throws (no memory, say)
// fails the session instead, and the connection's reader reports it.
template <class F>
auto guarded(F&& f) noexcept -> decltype(f()) {
    try {
        return f();
    } catch (...) {
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    }
}

std::string code_name(std::uint32_t code) { return nghttp2_http2_strerror(code); }

std::string message_of(const std::exception_ptr& e) {
    try {
        std::rethrow_exception(e);
    } catch (const std::exception& error) {
        return std::string("the request body failed: ") + error.what();
    } catch (...) {
        return "the request body failed";
    }
}

// Header fields HTTP/2 forbids (RFC 9113 §8.2.2), and Host, which becomes :authority.
bool connection_specific(std::string_view name) noexcept {
    for (std::string_view banned :
         {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "host"}) {
        if (nector::iequals(name, banned)) return true;
    }
    return false;
}

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out) {
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + ('a' - 'A'));
    }
    return out;
}

nghttp2_nv field(std::string_view name, std::string_view value) noexcept {
    // nghttp2 copies names and values in nghttp2_submit_request.
    return {reinterpret_cast<std::uint8_t*>(const_cast<char*>(name.data())),
            reinterpret_cast<std::uint8_t*>(const_cast<char*>(value.data())), name.size(),
            value.size(), NGHTTP2_NV_FLAG_NONE};
}

/// Walks the frame headers of what the server sends, beside nghttp2, to catch a HEADERS or
/// DATA frame on a stream whose response already ended (its END_STREAM came): a connection
/// error of type STREAM_CLOSED (RFC 9113 §5.1) that nghttp2, which forgets closed streams,
/// lets pass. Remembers the last 64 streams that ended; payloads are skipped, not read.
class EndedStreams {
public:
    static constexpr std::size_t none = static_cast<std::size_t>(-1);

    /// The offset in `data` where a violating frame begins (0 when its header began in an
    /// earlier piece), or `none`.
    std::size_t scan(const std::uint8_t* data, std::size_t size) noexcept {
        std::size_t i = 0;
        while (i < size) {
            if (payload_left_ > 0) {
                const std::size_t skip = std::min(payload_left_, size - i);
                i += skip;
                payload_left_ -= skip;
                continue;
            }
            const std::size_t take = std::min(head_.size() - head_have_, size - i);
            std::copy_n(data + i, take, head_.begin() + static_cast<std::ptrdiff_t>(head_have_));
            head_have_ += take;
            i += take;
            if (head_have_ < head_.size()) break;
            head_have_ = 0;
            payload_left_ = (std::size_t{head_[0]} << 16) | (std::size_t{head_[1]} << 8) | head_[2];
            const std::uint8_t type = head_[3];
            if (type != NGHTTP2_DATA && type != NGHTTP2_HEADERS) continue;
            const std::int32_t id = static_cast<std::int32_t>(
                ((std::uint32_t{head_[5]} & 0x7f) << 24) | (std::uint32_t{head_[6]} << 16) |
                (std::uint32_t{head_[7]} << 8) | head_[8]);
            if (id == 0) continue;
            if (std::find(ended_.begin(), ended_.end(), id) != ended_.end()) {
                type_ = type;
                id_ = id;
                return i >= head_.size() ? i - head_.size() : 0;
            }
            if (head_[4] & NGHTTP2_FLAG_END_STREAM) ended_[next_++ % ended_.size()] = id;
        }
        return none;
    }

    /// What the last scan() that found one found.
    std::string violation() const {
        return std::string(type_ == NGHTTP2_DATA ? "DATA" : "HEADERS") + " on stream " +
               std::to_string(id_) + " after its END_STREAM";
    }

private:
    std::array<std::uint8_t, 9> head_{};
    std::size_t head_have_ = 0;
    std::size_t payload_left_ = 0;
    std::array<std::int32_t, 64> ended_{};
    std::size_t next_ = 0;
    std::uint8_t type_ = 0;
    std::int32_t id_ = 0;
};

// One exchange's stream. Owned by the exchange, or by the Body of a streamed response.
struct StreamState {
    explicit StreamState(const asio::any_io_executor& executor) : timer(executor) {}

    Exchange* ex = nullptr; // until the head is handed over (streamed) or the exchange ends
    std::string_view request_body;
    std::string request_body_copy; // a streamed response may arrive before the upload ends
    bool streaming = false;
    bool head_done = false; // streaming: the final response head arrived
    std::string pending;    // streaming: received, not yet read (its window stays closed)
    std::size_t pending_offset = 0;
    // streaming: the reader's own buffer while it waits with nothing pending
    // (Http2Body::read_into): DATA goes straight there, then to `pending` once it is full.
    asio::mutable_buffer direct{};
    std::size_t direct_filled = 0;
    Headers trailers;    // streaming: trailers after the head was handed over
    std::string context; // streaming: "METHOD URL" for errors after the hand-over
    // An upload sent piece by piece, straight from where the reader holds it: the bytes of
    // its last next() (valid until its next call), or over h2c a whole file, sent from its
    // descriptor (sendfile). nghttp2 frames the piece past `piece_framed` (read_upload),
    // each frame is queued past `piece_queued` (send_upload_data: over TLS its bytes are
    // copied into the output there, over h2c referenced) and written past `piece_written`
    // (write_loop); the reader moves on only once the whole piece is written.
    std::shared_ptr<UploadReader> upload;
    std::string_view piece;
    std::optional<UploadReader::FileRegion> piece_file;
    std::uint64_t piece_size = 0;
    std::uint64_t piece_framed = 0;
    std::uint64_t piece_queued = 0;
    std::uint64_t piece_written = 0;
    bool upload_done = false;
    bool upload_filling = false;
    std::int32_t id = -1;
    asio::steady_timer timer;
    std::size_t body_offset = 0;
    Clock::time_point sent_at{};
    Clock::time_point last_progress{};
    std::size_t header_bytes = 0;
    std::size_t header_count = 0;
    std::size_t interim = 0; // 1xx responses skipped
    enum class Block { unknown, interim, final_response } block = Block::unknown;
    bool request_sent = false;   // our END_STREAM went out
    bool response_ended = false; // the server's END_STREAM arrived
    bool reset_by_peer = false;  // the server sent RST_STREAM
    bool closed = false;         // nghttp2 closed the stream
    bool woken = false;          // the timer was cancelled to wake the exchange
    bool waiting = false;        // in await_news, until `wake_at` (the watchdog's business)
    Clock::time_point wake_at{};
    std::uint32_t close_code = NGHTTP2_NO_ERROR;
    std::error_code error; // a failure decided by the connection (limits, connection loss)
    std::string error_text;

    void wake() noexcept {
        if (woken) return;
        woken = true;
        timer.cancel();
    }
    void fail(std::error_code code, std::string text) noexcept {
        if (error) return;
        error = code;
        error_text = std::move(text);
        wake();
    }
};

template <class Stream>
class Http2Connection final : public Connection,
                              public std::enable_shared_from_this<Http2Connection<Stream>> {
public:
    Http2Connection(Stream stream, const WireLimits& limits);
    ~Http2Connection() override;
    Http2Connection(const Http2Connection&) = delete;
    Http2Connection& operator=(const Http2Connection&) = delete;

    /// Queues the preface and SETTINGS and starts the reader, writer and PING checks.
    void start();

    asio::awaitable<void> exchange(Exchange& ex) override;
    bool available() const noexcept override;
    bool is_open() const noexcept override { return open_; }
    void close() noexcept override {
        shutdown(errc::cancelled, "the HTTP/2 connection was closed by the client");
    }
    Version version() const noexcept override { return Version::http_2; }
    bool multiplexed() const noexcept override { return true; }
    std::size_t in_flight() const noexcept override { return streams_.size(); }
    bool negotiated() const noexcept override { return settings_received_; }

    // For Http2Body.
    /// Stops caring about `st`: unregisters it and resets the stream if it is still open.
    void release_stream(StreamState& st) noexcept;
    /// One wait for news on `st` (a frame, its close, a failure) within its inactivity
    /// timeout. Throws on timeout and on cancellation (the owner of `st` then resets it).
    asio::awaitable<void> await_news(StreamState& st, std::string_view context,
                                     const Timeout& timeout);
    /// `n` bytes of `st`'s body were read: reopen that much window.
    void consumed(StreamState& st, std::size_t n) noexcept {
        if (!open_) return;
        nghttp2_session_consume(session_, st.id, n);
        signal_write();
    }
    /// Throws the error of a stream that ended before its body did.
    [[noreturn]] void fail_stream(StreamState& st) const {
        throw_stream_error(st, st.context, "reading the response body", nullptr);
    }

private:
    // Session callbacks (user_data is the connection).
    /// Feeds the first `n` bytes of in_ to nghttp2; false (the connection shut down) when
    /// the server broke the protocol.
    bool receive(std::size_t n) {
        if (violated_) return true; // the GOAWAY is on its way; the rest is not read
        const std::size_t bad = ended_.scan(in_.data(), n);
        if (bad != EndedStreams::none) {
            // nghttp2 forgets a stream once it closes and would let this frame pass: the
            // responses before it stand, then the connection ends (RFC 9113 §5.1).
            violated_ = true;
            last_error_ = ended_.violation();
            n = bad;
        }
        const auto rv = n == 0 ? 0 : nghttp2_session_mem_recv(session_, in_.data(), n);
        if (rv >= 0 && violated_) {
            nghttp2_session_terminate_session(session_, NGHTTP2_STREAM_CLOSED);
            return true;
        }
        if (rv >= 0) return true;
        if (!settings_received_) {
            // Its first bytes are not HTTP/2 (an HTTP/1.1 reply to the preface, say): the
            // same on every try.
            shutdown(errc::protocol_error,
                     "the server does not speak HTTP/2 (it answered \"" +
                         printable(std::string_view(reinterpret_cast<const char*>(in_.data()),
                                                    std::min<std::size_t>(n, 24))) +
                         "\" instead of its SETTINGS)");
            return false;
        }
        if (flood_ || rv == NGHTTP2_ERR_FLOODED) {
            shutdown(errc::protocol_error,
                     std::string("the server flooded the HTTP/2 connection (") +
                         (flood_ ? "more than " + std::to_string(max_idle_frames_per_second) +
                                       " PING, SETTINGS, PRIORITY or empty DATA frames in a "
                                       "second"
                                 : std::string("more frames to acknowledge than nghttp2 will "
                                               "queue")) +
                         "); nector closed it");
            return false;
        }
        shutdown(errc::protocol_error, std::string("HTTP/2 protocol error from the server: ") +
                                           nghttp2_strerror(static_cast<int>(rv)));
        return false;
    }

    /// Counts a frame that carries nothing; true when there have been too many this second.
    bool flooded() noexcept {
        const auto now = Clock::now();
        if (now - idle_window_start_ >= std::chrono::seconds(1)) {
            idle_window_start_ = now;
            idle_frames_ = 0;
        }
        if (++idle_frames_ > max_idle_frames_per_second) flood_ = true;
        return flood_;
    }

    /// "the server broke the HTTP/2 protocol (DETAIL" — or, before its SETTINGS came,
    /// "the server does not speak HTTP/2 (DETAIL": the caller closes the parenthesis.
    std::string broke_protocol() const {
        return std::string(settings_received_ ? "the server broke the HTTP/2 protocol ("
                                              : "the server does not speak HTTP/2 (") +
               (last_error_.empty() ? std::string("no detail") : last_error_);
    }

    static int on_begin_headers(nghttp2_session*, const nghttp2_frame*, void*) noexcept;
    static int on_header(nghttp2_session*, const nghttp2_frame*, const std::uint8_t*, std::size_t,
                         const std::uint8_t*, std::size_t, std::uint8_t, void*) noexcept;
    static int on_frame_recv(nghttp2_session*, const nghttp2_frame*, void*) noexcept;
    static int on_frame_send(nghttp2_session*, const nghttp2_frame*, void*) noexcept;
    static int on_frame_not_send(nghttp2_session*, const nghttp2_frame*, int, void*) noexcept;
    static int on_data_chunk(nghttp2_session*, std::uint8_t, std::int32_t, const std::uint8_t*,
                             std::size_t, void*) noexcept;
    static int on_stream_close(nghttp2_session*, std::int32_t, std::uint32_t, void*) noexcept;
    static int on_error(nghttp2_session*, int, const char*, std::size_t, void*) noexcept;
    static ssize_t read_upload(nghttp2_session*, std::int32_t, std::uint8_t*, std::size_t,
                               std::uint32_t*, nghttp2_data_source*, void*) noexcept;
    /// Writes an upload's DATA frame that read_upload sized (NGHTTP2_DATA_FLAG_NO_COPY):
    /// its head, then its bytes straight from the stream's upload buffer.
    static int send_upload_data(nghttp2_session*, nghttp2_frame*, const std::uint8_t*, std::size_t,
                                nghttp2_data_source*, void*) noexcept;
    /// Fetches the next upload piece of stream `id`, then lets nghttp2 send it.
    asio::awaitable<void> fill_upload(std::shared_ptr<Http2Connection> self, std::int32_t id,
                                      std::shared_ptr<UploadReader> reader);
    static ssize_t read_body(nghttp2_session*, std::int32_t, std::uint8_t*, std::size_t,
                             std::uint32_t*, nghttp2_data_source*, void*) noexcept;
    /// The largest DATA frame to make: large ones of a file sent with sendfile (fewer frame
    /// heads and system calls), nghttp2's 16 KiB for bytes that are copied.
    static ssize_t data_frame_size(nghttp2_session*, std::uint8_t, std::int32_t, std::int32_t,
                                   std::int32_t, std::uint32_t, void*) noexcept;

    StreamState* stream_of(std::int32_t id) const noexcept {
        return static_cast<StreamState*>(nghttp2_session_get_stream_user_data(session_, id));
    }
    asio::awaitable<void> read_loop(std::shared_ptr<Http2Connection> self);
    /// Ends the connection over a failed read, saying why.
    void read_failed(const boost::system::error_code& ec);
    asio::awaitable<void> write_loop(std::shared_ptr<Http2Connection> self);
    /// h2c: writes out_ with the upload bytes of segments_ between its bytes: those in
    /// memory gathered into the same writes, files' with sendfile.
    asio::awaitable<boost::system::error_code> write_segments();
    /// Writes all of `buffers` (consumed), with `flags` (MSG_MORE: more follows at once).
    asio::awaitable<boost::system::error_code> send_all(std::vector<asio::const_buffer>& buffers,
                                                        int flags);
    /// One file segment with sendfile (read and written where the file cannot be spliced).
    /// False, the connection ended, when the file is shorter than it was or unreadable:
    /// the stream fails with that, and a DATA frame the connection cannot finish is cut.
    asio::awaitable<bool> send_file_segment(std::size_t index, boost::system::error_code& ec);
    void segment_failed(std::size_t index, int error) noexcept;
    asio::awaitable<void> ping_loop(std::shared_ptr<Http2Connection> self);
    void signal_write() noexcept {
        if (writer_waiting_) write_signal_.cancel();
    }
    /// Waiting streams' deadlines are watched by one timer per connection, set again only
    /// when it fires before the earliest deadline (or one must come sooner). A stream waits
    /// on its own timer, which never expires by itself and is only a wake-up signal, so a
    /// wait costs no timer-queue front change (and no timerfd system call).
    void watch(Clock::time_point at);
    void on_watchdog(std::uint64_t id) noexcept;
    /// Ends the connection: closes the socket and fails every stream with `code`.
    void shutdown(errc code, std::string text) noexcept;

    /// The exception for a stream that ended without a complete response.
    [[noreturn]] void throw_stream_error(StreamState& st, std::string_view context,
                                         std::string_view phase, Exchange* ex) const;
    std::size_t stream_limit() const noexcept;

    Stream stream_;
    Http2Settings settings_;
    Duration write_timeout_;
    std::size_t max_header_bytes_;
    std::size_t max_header_count_;
    nghttp2_session* session_ = nullptr;
    std::vector<StreamState*> streams_;
    std::vector<std::uint8_t> in_;
    std::string out_;
    // h2c: the upload bytes of the DATA frames in out_, each after out_'s first `at` bytes:
    // `size` bytes at `data`, or at `offset` in the file `fd`.
    struct Segment {
        std::size_t at = 0;
        std::shared_ptr<UploadReader> reader; // keeps the bytes, or the file open
        int fd = -1;
        const char* data = nullptr;
        std::uint64_t offset = 0;
        std::size_t size = 0;
        std::int32_t stream = 0;
    };
    std::vector<Segment> segments_;
    std::size_t memory_bytes_ = 0; // of segments_ in memory: a batch holds write_batch_size
    std::uint64_t file_bytes_ = 0; // of segments_ in files: at most file_batch_size
    bool batch_full() const noexcept {
        return out_.size() + memory_bytes_ >= write_batch_size || file_bytes_ >= file_batch_size;
    }
    asio::steady_timer write_signal_;
    asio::steady_timer ping_timer_;
    asio::steady_timer watchdog_;
    Clock::time_point watched_until_{};
    std::uint64_t watch_id_ = 0;
    bool watching_ = false;
    bool writer_waiting_ = false;
    bool writing_ = false;
    Clock::time_point write_started_{};
    bool open_ = true;
    bool goaway_ = false;
    std::int32_t goaway_last_stream_ = 0;
    std::uint32_t goaway_code_ = NGHTTP2_NO_ERROR;
    std::string goaway_debug_;
    errc error_code_ = errc::connection_closed;
    std::string error_text_;
    Clock::time_point last_frame_at_ = Clock::now();
    Clock::time_point ping_sent_{};
    bool ping_outstanding_ = false;
    bool settings_received_ = false;
    std::uint32_t sent_goaway_code_ = NGHTTP2_NO_ERROR; // nghttp2 ended the session
    bool sent_goaway_ = false;
    std::string last_error_;     // nghttp2's last complaint about the server's frames
    bool capacity_grew_ = false; // tell the pool after the current mem_recv
    // Frames that carry nothing (flooded()): how many since idle_window_start_.
    Clock::time_point idle_window_start_{};
    std::size_t idle_frames_ = 0;
    bool flood_ = false;
    EndedStreams ended_;    // frames after a stream's END_STREAM (receive())
    bool violated_ = false; // EndedStreams found one: nothing more goes to nghttp2
    TlsReader tls_reader_;  // over TLS: reads several records at a time (start()); never
                            // attached over plain TCP
    TlsWriter tls_writer_;  // over TLS once the reader is attached: a batch's records in
                            // one socket write (write_loop)
};

template <class Stream>
Http2Connection<Stream>::Http2Connection(Stream stream, const WireLimits& limits)
    : stream_(std::move(stream)),
      settings_(limits.http2),
      write_timeout_(limits.timeout.write),
      max_header_bytes_(limits.max_header_bytes),
      max_header_count_(limits.max_header_count),
      in_(read_buffer_size),
      write_signal_(stream_.get_executor()),
      ping_timer_(stream_.get_executor()),
      watchdog_(stream_.get_executor()) {
    nghttp2_session_callbacks* callbacks = nullptr;
    if (nghttp2_session_callbacks_new(&callbacks) != 0) throw std::bad_alloc();
    nghttp2_session_callbacks_set_on_begin_headers_callback(callbacks, on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(callbacks, on_header);
    nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, on_frame_recv);
    nghttp2_session_callbacks_set_on_frame_send_callback(callbacks, on_frame_send);
    nghttp2_session_callbacks_set_on_frame_not_send_callback(callbacks, on_frame_not_send);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks, on_data_chunk);
    nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, on_stream_close);
    nghttp2_session_callbacks_set_error_callback2(callbacks, on_error);
    nghttp2_session_callbacks_set_send_data_callback(callbacks, send_upload_data);
    nghttp2_session_callbacks_set_data_source_read_length_callback(callbacks, data_frame_size);
    nghttp2_option* option = nullptr;
    if (nghttp2_option_new(&option) != 0) {
        nghttp2_session_callbacks_del(callbacks);
        throw std::bad_alloc();
    }
    // Windows reopen as the body is consumed (nghttp2_session_consume), not on receipt.
    nghttp2_option_set_no_auto_window_update(option, 1);
    const int rv = nghttp2_session_client_new2(&session_, callbacks, this, option);
    nghttp2_option_del(option);
    nghttp2_session_callbacks_del(callbacks);
    if (rv != 0) throw std::bad_alloc();
}

template <class Stream>
Http2Connection<Stream>::~Http2Connection() {
    nghttp2_session_del(session_);
}

template <class Stream>
void Http2Connection<Stream>::start() {
    const std::array<nghttp2_settings_entry, 4> entries{{
        {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, settings_.stream_window},
        {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 100},
        {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, static_cast<std::uint32_t>(max_header_bytes_)},
    }};
    if (nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, entries.data(), entries.size()) != 0 ||
        nghttp2_session_set_local_window_size(
            session_, NGHTTP2_FLAG_NONE, 0,
            static_cast<std::int32_t>(std::min<std::uint32_t>(settings_.connection_window,
                                                              NGHTTP2_MAX_WINDOW_SIZE))) != 0) {
        throw_error(errc::invalid_configuration,
                    "HTTP/2: the window sizes in http2_settings are out of range");
    }
    if constexpr (std::is_same_v<Stream, TlsStream>) {
        // No read through Asio's engine has started: the reader takes over here unless
        // bytes that came with the handshake's end wait in Asio's engine (then after the
        // read that takes them), or (no memory for its BIO) Asio's engine keeps reading a
        // record at a time.
        (void)tls_reader_.attach(stream_.native_handle());
    }
    auto self = this->shared_from_this();
    auto ex = stream_.get_executor();
    asio::co_spawn(ex, read_loop(self), asio::detached);
    asio::co_spawn(ex, write_loop(self), asio::detached);
    if (settings_.ping_interval > Duration::zero()) {
        asio::co_spawn(ex, ping_loop(self), asio::detached);
    }
}

template <class Stream>
std::size_t Http2Connection<Stream>::stream_limit() const noexcept {
    const std::uint32_t peer =
        nghttp2_session_get_remote_settings(session_, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS);
    return std::min(settings_.max_concurrent_streams, peer);
}

template <class Stream>
bool Http2Connection<Stream>::available() const noexcept {
    // Until the server's SETTINGS say how many streams it takes, one (RFC 9113 §5.1.2).
    const std::size_t limit = settings_received_ ? stream_limit() : 1;
    return open_ && !goaway_ && streams_.size() < limit &&
           nghttp2_session_check_request_allowed(session_) != 0;
}

template <class Stream>
void Http2Connection<Stream>::shutdown(errc code, std::string text) noexcept {
    if (!open_) return;
    open_ = false;
    error_code_ = code;
    error_text_ = std::move(text);
    boost::system::error_code ignored;
    boost::beast::get_lowest_layer(stream_).close(ignored);
    write_signal_.cancel();
    ping_timer_.cancel();
    ++watch_id_;
    watching_ = false;
    watchdog_.cancel();
    for (StreamState* st : streams_) {
        if (!st->closed) st->fail(code, error_text_);
    }
    if (on_capacity) on_capacity();
}

template <class Stream>
void Http2Connection<Stream>::release_stream(StreamState& st) noexcept {
    std::erase(streams_, &st);
    if (st.id > 0) {
        // Bytes received but never read still hold the connection's window.
        if (st.pending.size() > st.pending_offset && open_) {
            nghttp2_session_consume(session_, st.id, st.pending.size() - st.pending_offset);
            signal_write();
        }
        nghttp2_session_set_stream_user_data(session_, st.id, nullptr);
        if (!st.closed && open_) {
            nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, st.id, NGHTTP2_CANCEL);
            signal_write();
        }
    }
    // A connection the server is winding down closes once its last stream is done.
    if (goaway_ && streams_.empty()) {
        shutdown(errc::connection_closed, "the server ended the HTTP/2 connection (GOAWAY)");
    }
}

template <class Stream>
void Http2Connection<Stream>::throw_stream_error(StreamState& st, std::string_view context,
                                                 std::string_view phase, Exchange* ex) const {
    const std::string where = std::string(context) + ": " + std::string(phase);
    if (st.error) throw_error(st.error, where + ": " + st.error_text);
    if (st.close_code == NGHTTP2_REFUSED_STREAM) {
        if (ex) ex->refused = true;
        std::string why = "the server refused the HTTP/2 stream (REFUSED_STREAM)";
        if (goaway_ && st.id > goaway_last_stream_) {
            why = "the server is closing the HTTP/2 connection (GOAWAY " + code_name(goaway_code_) +
                  (goaway_debug_.empty() ? "" : ": " + printable(goaway_debug_)) +
                  ", last stream " + std::to_string(goaway_last_stream_) +
                  ") and did not process the request";
        }
        throw_error(errc::stream_refused, where + ": " + why);
    }
    if (st.reset_by_peer) {
        throw_error(errc::stream_reset, where +
                                            ": the server reset the HTTP/2 stream (RST_STREAM " +
                                            code_name(st.close_code) + ")");
    }
    if (st.close_code != NGHTTP2_NO_ERROR) {
        throw_error(errc::protocol_error,
                    where + ": malformed HTTP/2 response; the stream was reset (" +
                        code_name(st.close_code) + ")");
    }
    throw_error(errc::protocol_error,
                where + ": the HTTP/2 stream ended without a complete response");
}

template <class Stream>
asio::awaitable<void> Http2Connection<Stream>::await_news(StreamState& st, std::string_view context,
                                                          const Timeout& timeout) {
    // Inactivity limits: write while the request is going out, read after that.
    const auto now = Clock::now();
    const Duration limit = st.request_sent ? timeout.read : timeout.write;
    const auto deadline = st.last_progress + limit;
    if (now >= deadline) {
        if (!st.request_sent && writing_ && now - write_started_ >= write_timeout_) {
            // The socket itself is stuck: no stream on this connection can progress.
            shutdown(errc::write_timeout, "sending stalled for the write timeout");
        }
        const bool reading = st.request_sent;
        if (reading && !settings_received_) {
            // A server that took h2 (by ALPN or prior knowledge) but never sent its SETTINGS
            // does not speak HTTP/2: the same on every try, and no use to anyone waiting.
            const std::string why =
                "the server does not speak HTTP/2 (no SETTINGS within the read timeout)";
            shutdown(errc::protocol_error, why);
            throw_error(errc::protocol_error, std::string(context) + ": " + why);
        }
        throw_error(reading ? errc::read_timeout : errc::write_timeout,
                    std::string(context) + ": " +
                        (reading ? "reading the response: no progress within the read timeout"
                                 : "sending the request: no progress within the write timeout"));
    }
    // Until the request is out, look again within the read timeout too (the send
    // completing does not wake this wait).
    st.wake_at = st.request_sent ? deadline : std::min(deadline, now + timeout.read);
    // (A closed connection has no watchdog: the wait then ends by itself.)
    if (open_) watch(st.wake_at);
    st.timer.expires_at(open_ ? Clock::time_point::max() : st.wake_at);
    st.woken = false;
    st.waiting = true;
    auto [ec] = co_await st.timer.async_wait(nothrow);
    st.waiting = false;
    if (ec == asio::error::operation_aborted && !st.woken && !st.closed && !st.error) {
        throw_error(errc::cancelled, std::string(context) + ": cancelled");
    }
}

template <class Stream>
void Http2Connection<Stream>::watch(Clock::time_point at) {
    if (watching_ && at >= watched_until_) return;
    // The state changes only once the wait is set: if setting it throws, the next wait
    // tries again (a wait this cancels still runs its handler, with the current id, and
    // rescans the streams).
    const auto id = watch_id_ + 1;
    watchdog_.expires_at(at); // a pending wait ends, and its handler sees a stale id
    fail_point_timer(watchdog_);
    watchdog_.async_wait([weak = this->weak_from_this(), id](const boost::system::error_code&) {
        if (const auto self = weak.lock()) self->on_watchdog(id);
    });
    watch_id_ = id;
    watching_ = true;
    watched_until_ = at;
}

template <class Stream>
void Http2Connection<Stream>::on_watchdog(std::uint64_t id) noexcept {
    if (id != watch_id_) return;
    watching_ = false;
    if (!open_) return;
    // Wakes the waits that are due (each looks at its own deadline again) and watches the
    // earliest of the others.
    const auto now = Clock::now();
    auto next = Clock::time_point::max();
    for (StreamState* st : streams_) {
        if (!st->waiting || st->woken) continue;
        if (st->wake_at <= now) {
            st->wake();
        } else {
            next = std::min(next, st->wake_at);
        }
    }
    if (next == Clock::time_point::max()) return;
    try {
        watch(next);
    } catch (...) { // no memory for the wait: wake them all to look again themselves
        for (StreamState* st : streams_) {
            if (st->waiting) st->wake();
        }
    }
}

/// The body of a streamed HTTP/2 response. Bytes wait in the stream's buffer until read;
/// only then is the flow-control window reopened, so a slow reader holds the server back.
template <class Stream>
class Http2Body final : public BodyReader {
public:
    Http2Body(std::shared_ptr<Http2Connection<Stream>> c, std::unique_ptr<StreamState> st,
              Timeout timeout)
        : c_(std::move(c)), st_(std::move(st)), timeout_(timeout) {}
    ~Http2Body() override { c_->release_stream(*st_); }

    asio::awaitable<bool> read(std::string& out, std::size_t max) override {
        if (!co_await arrived()) co_return false;
        StreamState& st = *st_;
        if (st.pending_offset == 0 && st.pending.size() <= max &&
            st.pending.size() * 4 >= st.pending.capacity() && out.empty()) {
            // All that is waiting fits, and fills a good part of its buffer: the buffer
            // itself changes hands, no copy. (Small pieces, as Server-Sent Events, are
            // copied: a chunk does not pin a mostly empty buffer.)
            const std::size_t n = st.pending.size();
            out.swap(st.pending);
            st.pending.clear();
            c_->consumed(st, n);
            co_return true;
        }
        const std::size_t n = std::min(max, st.pending.size() - st.pending_offset);
        out.append(st.pending, st.pending_offset, n);
        taken(n);
        co_return true;
    }
    /// Copies what is pending into `into`; with nothing pending, waits with `into` lent to
    /// the connection, which copies the next DATA straight into it (one copy either way).
    asio::awaitable<std::size_t> read_into(asio::mutable_buffer into) override {
        if (into.size() == 0) co_return 0;
        StreamState& st = *st_;
        if (st.pending_offset == st.pending.size() && !st.closed && !st.error) {
            st.direct = into;
            st.direct_filled = 0;
            struct Lent { // the buffer goes back however the wait ends
                StreamState& st;
                ~Lent() { st.direct = {}; }
            } lent{st};
            st.last_progress = Clock::now();
            while (st.direct_filled == 0 && st.pending_offset == st.pending.size() && !st.closed &&
                   !st.error) {
                co_await c_->await_news(st, st.context, timeout_);
            }
            if (const std::size_t n = st.direct_filled) {
                c_->consumed(st, n);
                co_return n; // (what did not fit waits in `pending`)
            }
        }
        if (!co_await arrived()) co_return 0;
        const std::size_t n = std::min(into.size(), st.pending.size() - st.pending_offset);
        std::memcpy(into.data(), st.pending.data() + st.pending_offset, n);
        taken(n);
        co_return n;
    }
    bool keep_alive() const noexcept override { return true; }
    Headers trailers() const override { return st_->trailers; }

private:
    /// Waits until body bytes wait in the stream's `pending` (true) or the body has ended
    /// (false); throws the error of a stream that ended before its body did.
    asio::awaitable<bool> arrived() {
        StreamState& st = *st_;
        // The read timeout counts from now: while nobody read, the closed window (not the
        // server) held the body back.
        st.last_progress = Clock::now();
        for (;;) {
            if (st.pending_offset < st.pending.size()) co_return true;
            if (st.error || (st.closed && !st.response_ended)) {
                c_->fail_stream(st);
            }
            if (st.closed) co_return false;
            co_await c_->await_news(st, st.context, timeout_);
        }
    }
    /// `n` bytes off the front of `pending` were read: that much window reopens.
    void taken(std::size_t n) noexcept {
        StreamState& st = *st_;
        st.pending_offset += n;
        if (st.pending_offset == st.pending.size()) {
            st.pending.clear();
            st.pending_offset = 0;
        }
        c_->consumed(st, n);
    }

    std::shared_ptr<Http2Connection<Stream>> c_;
    std::unique_ptr<StreamState> st_;
    Timeout timeout_;
};

template <class Stream>
asio::awaitable<void> Http2Connection<Stream>::exchange(Exchange& ex) {
    if (!available()) {
        ex.refused = true; // nothing was sent: another connection may take it
        throw_error(errc::stream_refused,
                    std::string(ex.context) + ": the HTTP/2 connection takes no new streams");
    }
    const WireLimits& limits = *ex.limits;
    auto owned = std::make_unique<StreamState>(stream_.get_executor());
    StreamState& st = *owned;
    st.ex = &ex;
    st.request_body = ex.body;
    st.streaming = ex.stream;

    // Request head: pseudo-headers first, then the fields with lower-case names and
    // without the connection-specific ones (RFC 9113 §8.2, §8.3.1).
    const Target& target = *ex.target;
    const auto host = ex.headers->get("Host");
    std::vector<std::string> names;
    names.reserve(ex.headers->size());
    std::vector<nghttp2_nv> nva;
    nva.reserve(ex.headers->size() + 5);
    nva.push_back(field(":method", ex.method));
    nva.push_back(field(":scheme", target.origin.tls ? "https" : "http"));
    nva.push_back(field(":authority", host ? *host : std::string_view(target.host_header)));
    nva.push_back(field(":path", target.target));
    for (const auto& [name, value] : *ex.headers) {
        if (connection_specific(name)) continue;
        if (nector::iequals(name, "te") && !nector::iequals(value, "trailers")) continue;
        names.push_back(lower(name));
        nva.push_back(field(names.back(), value));
    }
    std::string length;
    nghttp2_data_provider provider{};
    bool has_body = !ex.body.empty();
    if (ex.upload) {
        st.upload = std::make_shared<UploadReader>(ex.upload, std::string(ex.context));
        provider.read_callback = read_upload;
        has_body = true;
        if (ex.upload->size) length = std::to_string(*ex.upload->size);
    } else {
        provider.read_callback = read_body;
        if (has_body || ex.method == "POST" || ex.method == "PUT" || ex.method == "PATCH") {
            length = std::to_string(ex.body.size());
        }
    }
    if (!length.empty()) nva.push_back(field("content-length", length));
    const std::int32_t id = nghttp2_submit_request(session_, nullptr, nva.data(), nva.size(),
                                                   has_body ? &provider : nullptr, &st);
    if (id < 0) {
        ex.refused = true;
        throw_error(errc::stream_refused, std::string(ex.context) +
                                              ": the HTTP/2 connection takes no new streams (" +
                                              nghttp2_strerror(id) + ")");
    }
    st.id = id;
    streams_.push_back(&st);
    struct Guard {
        Http2Connection* c;
        std::unique_ptr<StreamState>* st;
        ~Guard() {
            if (*st) c->release_stream(**st);
        }
    } guard{this, &owned};
    st.sent_at = st.last_progress = Clock::now();
    signal_write();

    while (!st.closed && !st.error && !(st.streaming && st.head_done)) {
        co_await await_news(st, ex.context, limits.timeout);
    }
    const std::string_view phase =
        ex.response_started ? "reading the response" : "sending the request";
    if (st.error || (st.closed && !st.response_ended) || ex.response.status == 0) {
        throw_stream_error(st, ex.context, phase, &ex);
    }
    ex.response.version = Version::http_2;
    ex.keep_alive = true;
    if (st.closed) { // complete: a buffered exchange, or a short streamed one
        ex.response.body.append(st.pending, st.pending_offset);
        consumed(st, st.pending.size() - st.pending_offset);
        st.pending.clear();
        st.pending_offset = 0;
        co_return;
    }
    // Streamed: the body now belongs to a Body; the exchange's memory will be gone.
    st.ex = nullptr;
    st.context = std::string(ex.context);
    if (!st.request_sent) {
        st.request_body_copy = std::string(st.request_body);
        st.request_body = st.request_body_copy;
    }
    ex.body_reader = std::make_unique<Http2Body<Stream>>(this->shared_from_this(), std::move(owned),
                                                         limits.timeout);
}

template <class Stream>
int Http2Connection<Stream>::on_begin_headers(nghttp2_session*, const nghttp2_frame* frame,
                                              void* user) noexcept {
    return guarded([&]() -> int {
        auto* self = static_cast<Http2Connection*>(user);
        if (StreamState* st = self->stream_of(frame->hd.stream_id)) {
            st->block = StreamState::Block::unknown;
            if (st->ex && !st->ex->response_started) {
                st->ex->response_started = true;
                st->ex->response.timings.first_byte = Clock::now() - st->sent_at;
            }
        }
        return 0;
    });
}

template <class Stream>
int Http2Connection<Stream>::on_header(nghttp2_session* session, const nghttp2_frame* frame,
                                       const std::uint8_t* name_data, std::size_t name_size,
                                       const std::uint8_t* value_data, std::size_t value_size,
                                       std::uint8_t, void* user) noexcept {
    return guarded([&]() -> int {
        auto* self = static_cast<Http2Connection*>(user);
        StreamState* st = self->stream_of(frame->hd.stream_id);
        if (!st || frame->hd.type != NGHTTP2_HEADERS) return 0;
        const std::string_view name(reinterpret_cast<const char*>(name_data), name_size);
        const std::string_view value(reinterpret_cast<const char*>(value_data), value_size);
        st->header_bytes += name.size() + value.size() + 32; // RFC 9113 §6.5.2 accounting
        ++st->header_count;
        const bool too_many = st->header_count > self->max_header_count_;
        if (st->header_bytes > self->max_header_bytes_ || too_many) {
            st->fail(errc::protocol_error,
                     too_many ? "more header fields than max_header_count (" +
                                    std::to_string(self->max_header_count_) + ")"
                              : std::string("the response head exceeds max_header_bytes"));
            nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, frame->hd.stream_id,
                                      NGHTTP2_CANCEL);
            return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
        }
        if (!st->ex) { // streamed, head handed over: only trailers can follow
            if (!name.starts_with(':')) st->trailers.add(std::string(name), std::string(value));
            return 0;
        }
        Response& response = st->ex->response;
        if (name == ":status") {
            int status = 0;
            std::from_chars(value.data(), value.data() + value.size(), status);
            if (status >= 100 && status < 200) {
                st->block = StreamState::Block::interim;
                if (++st->interim > max_interim) {
                    st->fail(errc::protocol_error, "more than " + std::to_string(max_interim) +
                                                       " interim (1xx) responses");
                    nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, frame->hd.stream_id,
                                              NGHTTP2_CANCEL);
                    return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
                }
            } else {
                st->block = StreamState::Block::final_response;
                response.status = status;
                response.reason = std::string(boost::beast::http::obsolete_reason(
                    static_cast<boost::beast::http::status>(status)));
                if (response.reason == "<unknown-status>") response.reason.clear();
            }
            return 0;
        }
        if (name.starts_with(':')) return 0;
        switch (st->block) {
            case StreamState::Block::final_response:
                response.headers.add(std::string(name), std::string(value));
                break;
            case StreamState::Block::unknown: // a block without :status after the response:
                                              // trailers
                if (response.status != 0)
                    response.trailers.add(std::string(name), std::string(value));
                break;
            case StreamState::Block::interim:
                break;
        }
        return 0;
    });
}

template <class Stream>
int Http2Connection<Stream>::on_frame_recv(nghttp2_session*, const nghttp2_frame* frame,
                                           void* user) noexcept {
    return guarded([&]() -> int {
        auto* self = static_cast<Http2Connection*>(user);
        const bool ends = (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
        const bool carries_nothing =
            (frame->hd.type == NGHTTP2_DATA && frame->hd.length == 0 && !ends) ||
            frame->hd.type == NGHTTP2_PRIORITY ||
            ((frame->hd.type == NGHTTP2_PING || frame->hd.type == NGHTTP2_SETTINGS) &&
             !(frame->hd.flags & NGHTTP2_FLAG_ACK));
        if (carries_nothing && self->flooded()) return NGHTTP2_ERR_CALLBACK_FAILURE;
        switch (frame->hd.type) {
            case NGHTTP2_HEADERS:
            case NGHTTP2_DATA:
                if (StreamState* st = self->stream_of(frame->hd.stream_id)) {
                    // An empty DATA frame is no progress: it must not hold off the read
                    // timeout.
                    if (!carries_nothing) st->last_progress = Clock::now();
                    if (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) st->response_ended = true;
                    if (st->streaming && frame->hd.type == NGHTTP2_HEADERS &&
                        st->block == StreamState::Block::final_response && !st->head_done) {
                        st->head_done = true;
                        st->wake();
                    }
                }
                break;
            case NGHTTP2_RST_STREAM:
                if (StreamState* st = self->stream_of(frame->hd.stream_id))
                    st->reset_by_peer = true;
                break;
            case NGHTTP2_GOAWAY:
                self->goaway_ = true;
                self->goaway_last_stream_ = frame->goaway.last_stream_id;
                self->goaway_code_ = frame->goaway.error_code;
                self->goaway_debug_.assign(
                    reinterpret_cast<const char*>(frame->goaway.opaque_data),
                    std::min<std::size_t>(frame->goaway.opaque_data_len, 200));
                break;
            case NGHTTP2_PING:
                if (frame->hd.flags & NGHTTP2_FLAG_ACK) self->ping_outstanding_ = false;
                break;
            case NGHTTP2_SETTINGS:
                if (!(frame->hd.flags & NGHTTP2_FLAG_ACK)) {
                    self->settings_received_ = true;
                    self->capacity_grew_ = true; // the stream limit is known, or may have risen
                }
                break;
            default:
                break;
        }
        return 0;
    });
}

template <class Stream>
int Http2Connection<Stream>::on_error(nghttp2_session*, int, const char* message, std::size_t size,
                                      void* user) noexcept {
    return guarded([&]() -> int {
        static_cast<Http2Connection*>(user)->last_error_.assign(message,
                                                                std::min<std::size_t>(size, 200));
        return 0;
    });
}

template <class Stream>
int Http2Connection<Stream>::on_frame_send(nghttp2_session*, const nghttp2_frame* frame,
                                           void* user) noexcept {
    return guarded([&]() -> int {
        auto* self = static_cast<Http2Connection*>(user);
        if (frame->hd.type == NGHTTP2_GOAWAY) {
            self->sent_goaway_ = true;
            self->sent_goaway_code_ = frame->goaway.error_code;
            return 0;
        }
        if (frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA) return 0;
        if (StreamState* st = self->stream_of(frame->hd.stream_id)) {
            st->last_progress = Clock::now();
            if (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) st->request_sent = true;
        }
        return 0;
    });
}

template <class Stream>
int Http2Connection<Stream>::on_frame_not_send(nghttp2_session*, const nghttp2_frame* frame,
                                               int lib_error, void* user) noexcept {
    return guarded([&]() -> int {
        auto* self = static_cast<Http2Connection*>(user);
        if (frame->hd.type != NGHTTP2_HEADERS) return 0;
        if (StreamState* st = self->stream_of(frame->hd.stream_id)) {
            // The request never left: after a GOAWAY, or the stream ids ran out.
            st->close_code = NGHTTP2_REFUSED_STREAM;
            st->closed = true;
            st->fail(errc::stream_refused, std::string("the HTTP/2 request could not be sent (") +
                                               nghttp2_strerror(lib_error) + ")");
            if (st->ex) st->ex->refused = true;
        }
        return 0;
    });
}

template <class Stream>
int Http2Connection<Stream>::on_data_chunk(nghttp2_session* session, std::uint8_t, std::int32_t id,
                                           const std::uint8_t* data, std::size_t size,
                                           void* user) noexcept {
    return guarded([&]() -> int {
        auto* self = static_cast<Http2Connection*>(user);
        StreamState* st = self->stream_of(id);
        if (st && st->streaming && !st->error) {
            // Kept until read; the window reopens then (Http2Body::read). Into the waiting
            // reader's buffer first, if it has one and nothing is pending before these bytes.
            std::size_t used = 0;
            if (st->direct_filled < st->direct.size() && st->pending.empty()) {
                used = std::min(size, st->direct.size() - st->direct_filled);
                std::memcpy(static_cast<char*>(st->direct.data()) + st->direct_filled, data, used);
                st->direct_filled += used;
            }
            if (used < size) {
                // A fresh buffer (the last one went to the reader) is sized for a read's
                // worth at once.
                if (st->pending.empty())
                    st->pending.reserve(std::max(size - used, pending_reserve));
                st->pending.append(reinterpret_cast<const char*>(data) + used, size - used);
            }
            st->last_progress = Clock::now();
            st->wake();
            return 0;
        }
        // A buffered exchange consumes the body at once, so the windows reopen at once.
        nghttp2_session_consume(session, id, size);
        if (!st || st->error) return 0;
        std::string& body = st->ex->response.body;
        if (body.size() + size > st->ex->limits->max_response_bytes) {
            st->fail(errc::body_too_large, "the body exceeds max_response_bytes");
            nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, id, NGHTTP2_CANCEL);
            return 0;
        }
        body.append(reinterpret_cast<const char*>(data), size);
        st->last_progress = Clock::now();
        return 0;
    });
}

template <class Stream>
int Http2Connection<Stream>::on_stream_close(nghttp2_session*, std::int32_t id, std::uint32_t code,
                                             void* user) noexcept {
    return guarded([&]() -> int {
        auto* self = static_cast<Http2Connection*>(user);
        if (StreamState* st = self->stream_of(id)) {
            st->closed = true;
            // A complete response stands even if the server then resets the stream (it may
            // send RST_STREAM NO_ERROR to stop an upload it no longer needs, RFC 9113 §8.1).
            if (!st->response_ended) st->close_code = code;
            st->wake();
        }
        return 0;
    });
}

template <class Stream>
ssize_t Http2Connection<Stream>::read_body(nghttp2_session* session, std::int32_t id,
                                           std::uint8_t* buffer, std::size_t length,
                                           std::uint32_t* flags, nghttp2_data_source*,
                                           void* user) noexcept {
    return guarded([&]() -> ssize_t {
        auto* self = static_cast<Http2Connection*>(user);
        (void)session;
        StreamState* st = self->stream_of(id);
        if (!st) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE; // the exchange is gone
        const std::string_view body = st->request_body;
        const std::size_t n = std::min(length, body.size() - st->body_offset);
        std::memcpy(buffer, body.data() + st->body_offset, n);
        st->body_offset += n;
        if (st->body_offset == body.size()) *flags |= NGHTTP2_DATA_FLAG_EOF;
        return static_cast<ssize_t>(n);
    });
}

template <class Stream>
ssize_t Http2Connection<Stream>::read_upload(nghttp2_session*, std::int32_t id,
                                             std::uint8_t* /*buffer: unused, NO_COPY*/,
                                             std::size_t length, std::uint32_t* flags,
                                             nghttp2_data_source*, void* user) noexcept {
    return guarded([&]() -> ssize_t {
        auto* self = static_cast<Http2Connection*>(user);
        StreamState* st = self->stream_of(id);
        if (!st) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE; // the exchange is gone
        if (st->piece_framed < st->piece_size) {
            const auto n = static_cast<std::size_t>(
                std::min<std::uint64_t>(length, st->piece_size - st->piece_framed));
            st->piece_framed += n; // send_upload_data queues the frame's bytes
            *flags |= NGHTTP2_DATA_FLAG_NO_COPY;
            return static_cast<ssize_t>(n);
        }
        // Framed whole: once written (write_loop resumes the data then), the next piece.
        if (st->piece_written < st->piece_size) return NGHTTP2_ERR_DEFERRED;
        st->piece = {};
        st->piece_size = st->piece_framed = st->piece_queued = st->piece_written = 0;
        if (st->piece_file) {
            st->piece_file.reset();
            try {
                st->upload->file_sent(); // a file that grew meanwhile is an error
            } catch (...) {
                const std::exception_ptr failure = std::current_exception();
                st->upload_done = true;
                st->fail(code_of(failure, errc::serialization_failed), message_of(failure));
                return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE; // the stream is reset
            }
        }
        if (st->upload_done) {
            *flags |= NGHTTP2_DATA_FLAG_EOF;
            return 0;
        }
        if (!st->upload_filling) {
            st->upload_filling = true;
            // Posted: co_spawn would start it at once, inside this callback, before nghttp2
            // has deferred the data that resume_data then resumes.
            asio::post(self->stream_.get_executor(),
                       [c = self->shared_from_this(), id, reader = st->upload] {
                           asio::co_spawn(c->stream_.get_executor(), c->fill_upload(c, id, reader),
                                          asio::detached);
                       });
        }
        return NGHTTP2_ERR_DEFERRED;
    });
}

template <class Stream>
int Http2Connection<Stream>::send_upload_data(nghttp2_session*, nghttp2_frame* frame,
                                              const std::uint8_t* head, std::size_t length,
                                              nghttp2_data_source*, void* user) noexcept {
    return guarded([&]() -> int {
        auto* self = static_cast<Http2Connection*>(user);
        StreamState* st = self->stream_of(frame->hd.stream_id);
        if (!st || st->piece_framed - st->piece_queued < length || frame->data.padlen > 0) {
            return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE; // the stream is reset (no padding
                                                          // is ever asked for)
        }
        self->out_.append(reinterpret_cast<const char*>(head), 9);
        if constexpr (std::is_same_v<Stream, PlainStream>) {
            // The head now; the bytes written from where they are (write_segments).
            self->segments_.push_back(
                Segment{.at = self->out_.size(),
                        .reader = st->upload,
                        .fd = st->piece_file ? st->piece_file->fd : -1,
                        .data = st->piece_file ? nullptr : st->piece.data() + st->piece_queued,
                        .offset = st->piece_queued,
                        .size = length,
                        .stream = frame->hd.stream_id});
            (st->piece_file ? self->file_bytes_ : self->memory_bytes_) += length;
        } else {
            // Over TLS the records are made of one contiguous batch: the bytes are copied.
            self->out_.append(st->piece.substr(st->piece_queued, length));
            st->piece_written += length;
        }
        st->piece_queued += length;
        // nghttp2 goes on to the next frame within the same mem_send call after a NO_COPY
        // one: once the batch is full, it must stop there (the frame counts as sent).
        return self->batch_full() ? NGHTTP2_ERR_PAUSE : 0;
    });
}

template <class Stream>
asio::awaitable<void> Http2Connection<Stream>::fill_upload(std::shared_ptr<Http2Connection>,
                                                           std::int32_t id,
                                                           std::shared_ptr<UploadReader> reader) {
    std::optional<std::string_view> piece; // valid until the reader's next call
    std::optional<UploadReader::FileRegion> file;
    std::exception_ptr failure;
    try {
        if constexpr (std::is_same_v<Stream, PlainStream>) {
            // Over h2c a file goes out from the page cache (sendfile), a frame head then
            // its bytes; an empty one is done at once.
            while ((file = reader->next_file()) && file->size == 0) reader->file_sent();
        }
        if (!file) piece = co_await reader->next();
    } catch (...) {
        failure = std::current_exception();
    }
    StreamState* st = open_ ? stream_of(id) : nullptr;
    if (!st) co_return; // the stream ended meanwhile
    st->upload_filling = false;
    if (file && !failure) {
        st->piece_file = file;
        st->piece_size = file->size;
        st->last_progress = Clock::now();
        nghttp2_session_resume_data(session_, id);
        signal_write();
        co_return;
    }
    if (failure) {
        st->upload_done = true;
        st->fail(code_of(failure, errc::serialization_failed), message_of(failure));
        nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, id, NGHTTP2_CANCEL);
    } else if (piece) {
        st->piece = *piece;
        st->piece_size = piece->size();
        st->last_progress = Clock::now();
    } else {
        st->upload_done = true;
    }
    nghttp2_session_resume_data(session_, id);
    signal_write();
}

template <class Stream>
asio::awaitable<void> Http2Connection<Stream>::read_loop(
    std::shared_ptr<Http2Connection> /*self: keeps the connection alive*/) {
    for (;;) {
        boost::system::error_code ec;
        std::size_t n = 0;
        if (tls_reader_.attached()) { // (over TLS only)
            // Records straight from the socket into the reader's BIO (tls_reader.hpp), empty
            // after a drain (a partial record waits inside OpenSSL).
            const asio::mutable_buffer room = tls_reader_.space();
            if (room.size() == 0) {
                read_failed(asio::error::no_buffer_space);
                co_return;
            }
            auto [read_error, read] =
                co_await boost::beast::get_lowest_layer(stream_).async_read_some(room, nothrow);
            ec = read_error;
            if (ec == asio::error::eof) ec = asio::ssl::error::stream_truncated;
            n = read;
        } else {
            auto [read_error, read] = co_await stream_.async_read_some(asio::buffer(in_), nothrow);
            ec = read_error;
            n = read;
        }
        fail_point(ec, n);
        if (!open_) co_return;
        if (ec) {
            read_failed(ec);
            co_return;
        }
        last_frame_at_ = Clock::now();
        if (tls_reader_.attached()) {
            tls_reader_.filled(n);
            // Every record those bytes complete, at once.
            for (;;) {
                boost::system::error_code record_error;
                const std::size_t got = tls_reader_.read(asio::buffer(in_), record_error);
                if (record_error) {
                    read_failed(record_error);
                    co_return;
                }
                if (got == 0) break;
                if (!receive(got)) co_return;
            }
        } else {
            if (!receive(n)) co_return;
            if constexpr (std::is_same_v<Stream, TlsStream>) {
                // OpenSSL hands over one TLS record per read, and each Asio read completes
                // on its own turn of the event loop, so the writer would run (and write)
                // between records. Take the records already received now: a batch of
                // responses is handled together, and the requests that follow them go out
                // in one write.
                bool drained = false;
                while (open_) {
                    ERR_clear_error();
                    const int got =
                        SSL_read(stream_.native_handle(), in_.data(), static_cast<int>(in_.size()));
                    if (got <= 0) { // nothing more buffered; an error shows on the next read
                        drained =
                            SSL_get_error(stream_.native_handle(), got) == SSL_ERROR_WANT_READ;
                        break;
                    }
                    if (!receive(static_cast<std::size_t>(got))) co_return;
                }
                ERR_clear_error();
                // Every record Asio's engine held is read: the reader may take over (not after
                // an error, which Asio's next read reports).
                if (open_ && drained) (void)tls_reader_.attach(stream_.native_handle());
            }
        }
        signal_write();
        if (capacity_grew_) {
            capacity_grew_ = false;
            if (on_capacity) on_capacity();
        }
    }
}

template <class Stream>
void Http2Connection<Stream>::read_failed(const boost::system::error_code& ec) {
    const errc io = errc_of_io(ec, errc::read_timeout);
    if (!goaway_ && nghttp2_session_want_read(session_) == 0) {
        // nghttp2 ended the session over the server's frames; the close follows.
        shutdown(errc::protocol_error, broke_protocol() + ")");
    } else if (io == errc::connection_closed) {
        shutdown(errc::connection_closed,
                 goaway_ ? "the server closed the HTTP/2 connection after GOAWAY " +
                               code_name(goaway_code_) +
                               (goaway_debug_.empty() ? "" : " (" + printable(goaway_debug_) + ")")
                         : std::string("the server closed the HTTP/2 connection"));
    } else if (io == errc::connection_reset) {
        shutdown(errc::connection_reset, "the HTTP/2 connection was reset: " + ec.message());
    } else {
        shutdown(errc::connection_failed, "the HTTP/2 connection failed: " + ec.message());
    }
}

template <class Stream>
asio::awaitable<void> Http2Connection<Stream>::write_loop(
    std::shared_ptr<Http2Connection> /*self: keeps the connection alive*/) {
    // The segments' readers (and their open files) go with the loop, not with the
    // connection, which a streamed body may keep for longer.
    struct ForgetSegments {
        std::vector<Segment>& segments;
        ~ForgetSegments() { segments.clear(); }
    } forget{segments_};
    for (;;) {
        out_.clear();
        segments_.clear();
        memory_bytes_ = 0;
        file_bytes_ = 0;
        while (!batch_full()) {
            const std::uint8_t* data = nullptr;
            const auto n = nghttp2_session_mem_send(session_, &data);
            if (n < 0) {
                shutdown(errc::protocol_error, std::string("HTTP/2 session failed: ") +
                                                   nghttp2_strerror(static_cast<int>(n)));
                co_return;
            }
            if (n == 0) break;
            out_.append(reinterpret_cast<const char*>(data), static_cast<std::size_t>(n));
        }
        if (!open_) co_return;
        if constexpr (std::is_same_v<Stream, TlsStream>) {
            // Once Asio's engine no longer reads (the reader attached) and has sent what it
            // encrypted (no write of its own is under way here), the writes are ours too.
            if (tls_reader_.attached() && !tls_writer_.attached()) {
                (void)tls_writer_.attach(stream_.native_handle());
            }
        }
        if (out_.empty() && !tls_writer_.pending()) {
            if (!nghttp2_session_want_read(session_) && !nghttp2_session_want_write(session_)) {
                // Both sides are done (a GOAWAY went out or came in and no stream is left).
                if (sent_goaway_ && sent_goaway_code_ != NGHTTP2_NO_ERROR) {
                    shutdown(errc::protocol_error,
                             broke_protocol() + "); nector ended the connection with GOAWAY " +
                                 code_name(sent_goaway_code_));
                } else if (goaway_) {
                    shutdown(goaway_code_ == NGHTTP2_NO_ERROR ? errc::connection_closed
                                                              : errc::protocol_error,
                             "the server ended the HTTP/2 connection (GOAWAY " +
                                 code_name(goaway_code_) +
                                 (goaway_debug_.empty() ? "" : ": " + printable(goaway_debug_)) +
                                 ")");
                } else {
                    shutdown(errc::connection_closed, "the HTTP/2 session ended");
                }
                co_return;
            }
            writer_waiting_ = true;
            write_signal_.expires_at(Clock::time_point::max());
            co_await write_signal_.async_wait(nothrow);
            writer_waiting_ = false;
            if (!open_) co_return;
            continue;
        }
        writing_ = true;
        write_started_ = Clock::now();
        boost::system::error_code ec;
        if (!segments_.empty()) { // (h2c only)
            ec = co_await write_segments();
            if (!open_) { // a file that changed ended the connection
                writing_ = false;
                co_return;
            }
        } else if (tls_writer_.attached()) { // (over TLS only)
            // The batch's records, with any SSL_read made since the last batch, in one write.
            const std::string_view records = tls_writer_.seal(out_, ec);
            if (!ec) {
                auto [write_error, written] = co_await asio::async_write(
                    boost::beast::get_lowest_layer(stream_), asio::buffer(records), nothrow);
                ec = write_error;
            }
        } else {
            auto [write_error, written] =
                co_await asio::async_write(stream_, asio::buffer(out_), nothrow);
            ec = write_error;
        }
        fail_point(ec);
        writing_ = false;
        if (!open_) co_return;
        if (ec) {
            shutdown(errc_of_io(ec, errc::write_timeout) == errc::connection_reset
                         ? errc::connection_reset
                         : errc::connection_failed,
                     "writing to the HTTP/2 connection failed: " + ec.message());
            co_return;
        }
    }
}

template <class Stream>
ssize_t Http2Connection<Stream>::data_frame_size(nghttp2_session*, std::uint8_t, std::int32_t id,
                                                 std::int32_t, std::int32_t, std::uint32_t,
                                                 void* user) noexcept {
    // nghttp2 takes the least of this, the windows and the server's frame size limit.
    const StreamState* st = static_cast<Http2Connection*>(user)->stream_of(id);
    return static_cast<ssize_t>(st && st->piece_file ? max_file_frame : default_data_frame);
}

template <class Stream>
asio::awaitable<boost::system::error_code> Http2Connection<Stream>::write_segments() {
    boost::system::error_code ec;
    if constexpr (std::is_same_v<Stream, PlainStream>) {
        if (!stream_.native_non_blocking()) {
            stream_.native_non_blocking(true, ec); // sendfile() must not block the loop
        }
        std::vector<asio::const_buffer> gather;
        std::size_t at = 0;
        for (std::size_t i = 0; i < segments_.size() && !ec; ++i) {
            const Segment& segment = segments_[i];
            gather.emplace_back(out_.data() + at, segment.at - at);
            at = segment.at;
            if (segment.fd < 0) {
                gather.emplace_back(segment.data, segment.size);
                continue;
            }
            // What comes before the file's bytes, its frame head last, held back until they
            // follow (MSG_MORE): the head does not leave as a segment of its own.
            ec = co_await send_all(gather, MSG_MORE);
            if (ec) break;
            const bool whole = co_await send_file_segment(i, ec);
            if (!whole) co_return ec; // the connection ended
        }
        gather.emplace_back(out_.data() + at, out_.size() - at);
        if (!ec) ec = co_await send_all(gather, 0);
        if (ec || !open_) co_return ec;
        for (const Segment& segment : segments_) {
            StreamState* st = stream_of(segment.stream);
            if (!st || st->upload != segment.reader) continue; // the stream ended meanwhile
            st->piece_written += segment.size;
            st->last_progress = Clock::now();
            if (st->piece_written == st->piece_size) {
                nghttp2_session_resume_data(session_, segment.stream); // the next piece
            }
        }
    }
    co_return ec;
}

template <class Stream>
asio::awaitable<boost::system::error_code> Http2Connection<Stream>::send_all(
    std::vector<asio::const_buffer>& buffers, int flags) {
    boost::system::error_code ec;
    if constexpr (std::is_same_v<Stream, PlainStream>) {
        std::erase_if(buffers, [](const asio::const_buffer& b) { return b.size() == 0; });
        std::size_t first = 0;
        while (first < buffers.size() && !ec) {
            auto [send_error, n] = co_await stream_.async_send(
                std::span<const asio::const_buffer>(buffers).subspan(first), flags, nothrow);
            ec = send_error;
            write_started_ = Clock::now(); // progress: the write timeout starts again
            while (n > 0) {                // drop what went out
                const std::size_t taken = std::min(n, buffers[first].size());
                buffers[first] += taken;
                n -= taken;
                if (buffers[first].size() == 0) ++first;
            }
        }
    }
    buffers.clear();
    co_return ec;
}

template <class Stream>
asio::awaitable<bool> Http2Connection<Stream>::send_file_segment(std::size_t index,
                                                                 boost::system::error_code& ec) {
    if constexpr (std::is_same_v<Stream, PlainStream>) {
        const Segment& segment = segments_[index];
        auto offset = static_cast<off_t>(segment.offset);
        const auto end = static_cast<off_t>(segment.offset + segment.size);
        std::string copy; // a file the kernel cannot splice from: read, then written
        while (offset < end && open_) {
            ssize_t n = 0;
            const auto want = static_cast<std::size_t>(end - offset);
            if (copy.empty()) {
                n = sendfile_quietly(stream_.native_handle(), segment.fd, &offset, want);
            } else {
                n = ::pread(segment.fd, copy.data(), std::min(want, copy.size()), offset);
                if (n > 0) {
                    auto [write_error, written] = co_await asio::async_write(
                        stream_, asio::buffer(copy.data(), static_cast<std::size_t>(n)), nothrow);
                    if ((ec = write_error)) co_return true;
                    offset += n;
                }
            }
            if (n > 0) {
                write_started_ = Clock::now(); // progress: the write timeout starts again
                continue;
            }
            const int error = n == 0 ? 0 : errno;
            if (error == EINTR) continue;
            if ((error == EINVAL || error == ENOSYS) && copy.empty()) {
                copy.resize(std::size_t{64} * 1024);
                continue;
            }
            if (error == 0 || error == EIO || !copy.empty()) { // ended early, or unreadable
                segment_failed(index, error);
                co_return false;
            }
            if (error != EAGAIN && error != EWOULDBLOCK) {
                ec = boost::system::error_code(error, boost::system::system_category());
                co_return true;
            }
            auto [wait_error] = co_await stream_.async_wait(asio::socket_base::wait_write, nothrow);
            if ((ec = wait_error)) co_return true;
        }
        if (!open_) ec = asio::error::operation_aborted;
    }
    co_return true;
}

template <class Stream>
void Http2Connection<Stream>::segment_failed(std::size_t index, int error) noexcept {
    const Segment& segment = segments_[index];
    if (StreamState* st = stream_of(segment.stream)) {
        try {
            if (error == 0) {
                segment.reader->file_shorter();
            } else {
                segment.reader->file_unreadable(error);
            }
        } catch (...) {
            const std::exception_ptr failure = std::current_exception();
            st->upload_done = true;
            st->fail(code_of(failure, errc::serialization_failed), message_of(failure));
        }
    }
    shutdown(errc::connection_failed,
             "an upload's file ended or failed in the middle of an HTTP/2 DATA frame, which the "
             "connection cannot finish");
}

template <class Stream>
asio::awaitable<void> Http2Connection<Stream>::ping_loop(
    std::shared_ptr<Http2Connection> /*self: keeps the connection alive*/) {
    for (;;) {
        const auto deadline = ping_outstanding_ ? ping_sent_ + settings_.ping_timeout
                                                : last_frame_at_ + settings_.ping_interval;
        ping_timer_.expires_at(deadline);
        fail_point_timer(ping_timer_);
        co_await ping_timer_.async_wait(nothrow);
        if (!open_) co_return;
        const auto now = Clock::now();
        if (ping_outstanding_) {
            if (now - ping_sent_ >= settings_.ping_timeout) {
                shutdown(
                    errc::connection_failed,
                    "the HTTP/2 connection is dead: no answer to PING within the ping timeout");
                co_return;
            }
        } else if (now - last_frame_at_ >= settings_.ping_interval) {
            if (nghttp2_submit_ping(session_, NGHTTP2_FLAG_NONE, nullptr) == 0) {
                ping_outstanding_ = true;
                ping_sent_ = now;
                signal_write();
            }
        }
    }
}

template <class Stream>
std::shared_ptr<Connection> start_connection(Stream stream, const WireLimits& limits) {
    auto c = std::make_shared<Http2Connection<Stream>>(std::move(stream), limits);
    c->start();
    return c;
}

} // namespace

std::shared_ptr<Connection> make_http2_connection(PlainStream stream, const WireLimits& limits) {
    return start_connection(std::move(stream), limits);
}

std::shared_ptr<Connection> make_http2_connection(TlsStream stream, const WireLimits& limits) {
    return start_connection(std::move(stream), limits);
}

} // namespace nector::http::detail
