#include "nector/testing/h2_server.hpp"

#include <nghttp2/nghttp2.h>
#include <openssl/ssl.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address_v4.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <condition_variable>
#include <cstring>
#include <exception>
#include <map>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <tuple>

namespace nector::testing {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
using boost::system::error_code;
using tcp = asio::ip::tcp;

namespace {

constexpr std::size_t io_chunk = 64 * 1024;
constexpr auto tls_close_grace = std::chrono::seconds(1);
constexpr std::uint32_t max_window = 0x7fffffff;

bool iequals(std::string_view a, std::string_view b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
        return std::tolower(static_cast<unsigned char>(x)) ==
               std::tolower(static_cast<unsigned char>(y));
    });
}

bool has_field(const H2Fields& fields, std::string_view name) {
    return std::any_of(fields.begin(), fields.end(),
                       [&](const auto& field) { return iequals(field.first, name); });
}

nghttp2_nv make_nv(const std::string& name, const std::string& value) {
    // nghttp2 copies names and values (no NO_COPY flags), so they need to outlive the call only.
    return {reinterpret_cast<std::uint8_t*>(const_cast<char*>(name.data())),
            reinterpret_cast<std::uint8_t*>(const_cast<char*>(value.data())), name.size(),
            value.size(), NGHTTP2_NV_FLAG_NONE};
}

/// ALPN: "h2" or a fatal no_application_protocol alert.
int select_h2(SSL* /*ssl*/, const unsigned char** out, unsigned char* out_length,
              const unsigned char* in, unsigned int in_length, void* /*arg*/) {
    for (unsigned int i = 0; i < in_length;) {
        const unsigned int length = in[i];
        if (i + 1 + length > in_length) break;
        if (length == 2 && std::memcmp(in + i + 1, "h2", 2) == 0) {
            *out = in + i + 1;
            *out_length = 2;
            return SSL_TLSEXT_ERR_OK;
        }
        i += 1 + length;
    }
    return SSL_TLSEXT_ERR_ALERT_FATAL;
}

} // namespace

namespace detail {

class H2Connection;

struct H2ServerState {
    H2TestServer::Handler handler;
    H2ServerOptions options;
    ssl::context tls_context{ssl::context::tls_server};

    mutable std::mutex mutex;
    mutable std::condition_variable changed;
    std::vector<H2Request> requests;
    std::vector<H2Reset> resets;
    std::vector<H2GoAway> goaways;
    std::vector<std::string> errors;
    std::size_t connections{0};
    std::size_t pings{0};
    std::atomic<bool> stopping{false};

    asio::io_context io;
    tcp::acceptor acceptor{io};
    std::uint16_t port{0};
    std::vector<std::weak_ptr<H2Connection>> live; // server thread only
    std::thread thread;

    /// Runs `change` under the lock, then wakes the waiters.
    template <class Change>
    void update(Change&& change) {
        {
            std::lock_guard lock(mutex);
            change();
        }
        changed.notify_all();
    }

    void record_error(std::size_t connection, std::string_view what) {
        if (stopping) return;
        update([&] {
            errors.push_back("connection " + std::to_string(connection) + ": " + std::string(what));
        });
    }

    template <class Count>
    bool wait_for(Count count, std::size_t at_least,
                  std::chrono::steady_clock::duration timeout) const {
        std::unique_lock lock(mutex);
        return changed.wait_for(lock, timeout, [&] { return count() >= at_least; });
    }

    asio::awaitable<void> accept_loop();
};

/// One HTTP/2 connection: an nghttp2 server session fed by a read loop, drained by a write loop
/// that runs while nghttp2 has something to send. Everything runs on the server thread.
class H2Connection : public std::enable_shared_from_this<H2Connection> {
public:
    H2Connection(H2ServerState& state, tcp::socket socket, std::size_t index)
        : state_(state), stream_(std::move(socket), state.tls_context), index_(index) {}

    ~H2Connection() {
        if (session_ != nullptr) nghttp2_session_del(session_);
    }

    H2Connection(const H2Connection&) = delete;
    H2Connection& operator=(const H2Connection&) = delete;

    /// Handshake (TLS), session setup, then reads until the peer or the server ends it.
    asio::awaitable<void> run();

    /// Closes the socket at once and forgets every stream. The session is not used afterwards.
    void abort() noexcept {
        closed_ = true;
        error_code ignored;
        stream_.next_layer().close(ignored);
        streams_.clear(); // cancels pending delays
        pending_.clear();
        completed_.clear();
    }

private:
    struct Stream {
        H2Request request;
        std::string body; // response DATA
        std::size_t sent{0};
        H2Fields trailers; // response trailers
        std::unique_ptr<asio::steady_timer> timer;
    };

    bool tls() const { return state_.options.tls.has_value(); }
    Stream* find(std::int32_t id) {
        const auto it = streams_.find(id);
        return it == streams_.end() ? nullptr : it->second.get();
    }

    bool start_session();
    void dispatch_completed();
    void dispatch(std::int32_t id);
    void perform(std::int32_t id, H2Action action);
    void submit_response(std::int32_t id, Stream& stream, H2Action& action);
    void kick();
    asio::awaitable<void> write_loop();
    void maybe_finish();
    asio::awaitable<void> finish_tls();

    // nghttp2 callbacks: noexcept, failures are recorded.
    static int on_begin_headers(nghttp2_session*, const nghttp2_frame* frame,
                                void* user_data) noexcept;
    static int on_header(nghttp2_session*, const nghttp2_frame* frame, const std::uint8_t* name,
                         std::size_t name_length, const std::uint8_t* value,
                         std::size_t value_length, std::uint8_t flags, void* user_data) noexcept;
    static int on_invalid_header(nghttp2_session*, const nghttp2_frame* frame,
                                 const std::uint8_t* name, std::size_t name_length,
                                 const std::uint8_t* value, std::size_t value_length,
                                 std::uint8_t flags, void* user_data) noexcept;
    static int on_data_chunk(nghttp2_session*, std::uint8_t flags, std::int32_t stream_id,
                             const std::uint8_t* data, std::size_t length,
                             void* user_data) noexcept;
    static int on_frame_recv(nghttp2_session*, const nghttp2_frame* frame,
                             void* user_data) noexcept;
    static int on_stream_close(nghttp2_session*, std::int32_t stream_id, std::uint32_t error_code,
                               void* user_data) noexcept;
    static int on_error(nghttp2_session*, int lib_error_code, const char* message,
                        std::size_t length, void* user_data) noexcept;
    static ssize_t read_body(nghttp2_session* session, std::int32_t stream_id, std::uint8_t* buf,
                             std::size_t length, std::uint32_t* data_flags,
                             nghttp2_data_source* source, void* user_data) noexcept;

    H2ServerState& state_;
    ssl::stream<tcp::socket> stream_;
    std::size_t index_;
    nghttp2_session* session_{nullptr};
    std::map<std::int32_t, std::unique_ptr<Stream>> streams_;
    std::vector<std::int32_t> completed_; // complete since the last dispatch, arrival order
    std::vector<std::int32_t> pending_;   // complete, waiting for a full batch
    bool writing_{false};
    bool fatal_{false};     // nghttp2 failed: flush what is queued, then close
    bool finishing_{false}; // TLS close_notify exchange under way
    bool closed_{false};
    bool goaway_sent_{false};
    std::int32_t goaway_last_stream_id_{0};
};

asio::awaitable<void> H2Connection::run() {
    if (tls()) {
        auto [ec] = co_await stream_.async_handshake(ssl::stream_base::server,
                                                     asio::as_tuple(asio::use_awaitable));
        if (ec) {
            state_.record_error(index_, "TLS handshake: " + ec.message());
            abort();
            co_return;
        }
    }
    if (!start_session()) {
        abort();
        co_return;
    }
    kick();
    std::vector<std::uint8_t> buffer(io_chunk);
    while (!closed_) {
        if (finishing_) {
            // maybe_finish() ran (inline, from kick()) before this read started.
            co_await finish_tls();
            co_return;
        }
        error_code ec;
        std::size_t n = 0;
        if (tls()) {
            std::tie(ec, n) = co_await stream_.async_read_some(asio::buffer(buffer),
                                                               asio::as_tuple(asio::use_awaitable));
        } else {
            std::tie(ec, n) = co_await stream_.next_layer().async_read_some(
                asio::buffer(buffer), asio::as_tuple(asio::use_awaitable));
        }
        if (closed_) co_return;
        if (finishing_) {
            // maybe_finish() cancelled this read: no TLS operation is pending any more, so the
            // close_notify exchange can start.
            co_await finish_tls();
            co_return;
        }
        if (ec) {
            // End of stream or a transport error: nothing more can be exchanged.
            abort();
            co_return;
        }
        const auto used = nghttp2_session_mem_recv(session_, buffer.data(), n);
        if (used < 0) {
            state_.record_error(index_, std::string("nghttp2_session_mem_recv: ") +
                                            nghttp2_strerror(static_cast<int>(used)));
            fatal_ = true; // flush what nghttp2 queued, then close
            kick();
            co_return;
        }
        dispatch_completed();
        kick();
    }
}

bool H2Connection::start_session() {
    nghttp2_session_callbacks* callbacks = nullptr;
    nghttp2_option* option = nullptr;
    if (nghttp2_session_callbacks_new(&callbacks) != 0 || nghttp2_option_new(&option) != 0) {
        nghttp2_session_callbacks_del(callbacks);
        state_.record_error(index_, "nghttp2: out of memory");
        return false;
    }
    nghttp2_session_callbacks_set_on_begin_headers_callback(callbacks, on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(callbacks, on_header);
    nghttp2_session_callbacks_set_on_invalid_header_callback(callbacks, on_invalid_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks, on_data_chunk);
    nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, on_frame_recv);
    nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, on_stream_close);
    nghttp2_session_callbacks_set_error_callback2(callbacks, on_error);
    if (!state_.options.answer_pings) nghttp2_option_set_no_auto_ping_ack(option, 1);
    const int created = nghttp2_session_server_new2(&session_, callbacks, this, option);
    nghttp2_session_callbacks_del(callbacks);
    nghttp2_option_del(option);
    if (created != 0) {
        state_.record_error(
            index_, std::string("nghttp2_session_server_new2: ") + nghttp2_strerror(created));
        return false;
    }
    const nghttp2_settings_entry settings[] = {
        {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, state_.options.max_concurrent_streams},
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, state_.options.initial_window_size},
    };
    const int submitted =
        nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings, std::size(settings));
    if (submitted != 0) {
        state_.record_error(index_,
                            std::string("nghttp2_submit_settings: ") + nghttp2_strerror(submitted));
        return false;
    }
    return true;
}

void H2Connection::dispatch_completed() {
    pending_.insert(pending_.end(), completed_.begin(), completed_.end());
    completed_.clear();
    if (pending_.size() < state_.options.batch) return;
    auto ids = std::exchange(pending_, {});
    std::sort(ids.begin(), ids.end());
    if (const auto& before = state_.options.batch_order) {
        // Streams the client reset meanwhile go last (dispatch skips them).
        std::stable_sort(ids.begin(), ids.end(), [&](std::int32_t a, std::int32_t b) {
            const Stream* x = find(a);
            const Stream* y = find(b);
            if (x == nullptr || y == nullptr) return x != nullptr && y == nullptr;
            return before(x->request, y->request);
        });
    }
    for (const auto id : ids) {
        if (closed_) return;
        dispatch(id);
    }
}

void H2Connection::dispatch(std::int32_t id) {
    Stream* stream = find(id);
    if (stream == nullptr) return; // reset by the client meanwhile
    H2Action action;
    try {
        action = state_.handler(stream->request);
    } catch (const std::exception& e) {
        state_.record_error(index_,
                            "stream " + std::to_string(id) + ": handler threw: " + e.what());
        action = H2Action::reset(H2Error::internal_error);
    }
    if (action.delay <= std::chrono::steady_clock::duration::zero()) {
        perform(id, std::move(action));
        return;
    }
    stream->timer = std::make_unique<asio::steady_timer>(stream_.get_executor(), action.delay);
    // The stream owns the timer: a stream closed meanwhile cancels it (operation_aborted).
    stream->timer->async_wait(
        [self = shared_from_this(), id, action = std::move(action)](error_code ec) mutable {
            if (ec || self->closed_) return;
            self->perform(id, std::move(action));
            self->kick();
        });
}

void H2Connection::perform(std::int32_t id, H2Action action) {
    Stream* stream = find(id);
    if (stream == nullptr || closed_) return;
    if (goaway_sent_ && id > goaway_last_stream_id_) return; // announced as unprocessed
    int rv = 0;
    switch (action.kind) {
        case H2Action::Kind::respond:
            submit_response(id, *stream, action);
            return;
        case H2Action::Kind::refuse:
            rv = nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, id, NGHTTP2_REFUSED_STREAM);
            break;
        case H2Action::Kind::reset:
            rv = nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, id,
                                           static_cast<std::uint32_t>(action.error));
            break;
        case H2Action::Kind::goaway: {
            const std::int32_t last = action.last_stream_id.value_or(id);
            rv = nghttp2_submit_goaway(
                session_, NGHTTP2_FLAG_NONE, last, static_cast<std::uint32_t>(action.error),
                reinterpret_cast<const std::uint8_t*>(action.goaway_debug.data()),
                action.goaway_debug.size());
            if (rv == 0) {
                // nghttp2 never raises last_stream_id once sent.
                goaway_last_stream_id_ =
                    goaway_sent_ ? std::min(goaway_last_stream_id_, last) : last;
                goaway_sent_ = true;
                if (action.answer_after_goaway && id <= goaway_last_stream_id_) {
                    submit_response(id, *stream, action);
                }
            }
            break;
        }
        case H2Action::Kind::close:
            abort();
            return;
        case H2Action::Kind::ignore:
            return;
    }
    if (rv != 0) {
        state_.record_error(index_, "stream " + std::to_string(id) + ": " + nghttp2_strerror(rv));
    }
}

void H2Connection::submit_response(std::int32_t id, Stream& stream, H2Action& action) {
    const std::string status = std::to_string(action.status);
    const std::string status_name = ":status";
    const std::string length_name = "content-length";
    const std::string length = std::to_string(action.body.size());
    std::vector<nghttp2_nv> fields;
    fields.push_back(make_nv(status_name, status));
    for (const auto& [name, value] : action.headers) fields.push_back(make_nv(name, value));
    const bool bodiless = (action.status >= 100 && action.status < 200) || action.status == 204 ||
                          action.status == 304;
    if (action.content_length && !bodiless && !has_field(action.headers, "content-length")) {
        fields.push_back(make_nv(length_name, length));
    }
    stream.body = std::move(action.body);
    stream.trailers = std::move(action.trailers);
    nghttp2_data_provider provider{};
    provider.source.ptr = &stream;
    provider.read_callback = read_body;
    const bool has_data = !stream.body.empty() || !stream.trailers.empty();
    const int rv = nghttp2_submit_response(session_, id, fields.data(), fields.size(),
                                           has_data ? &provider : nullptr);
    if (rv != 0) {
        state_.record_error(index_, "stream " + std::to_string(id) +
                                        ": nghttp2_submit_response: " + nghttp2_strerror(rv));
    }
}

void H2Connection::kick() {
    if (writing_ || closed_ || finishing_) return;
    writing_ = true;
    asio::co_spawn(
        stream_.get_executor(), [self = shared_from_this()] { return self->write_loop(); },
        asio::detached);
}

asio::awaitable<void> H2Connection::write_loop() {
    std::string out;
    bool send_failed = false;
    while (!closed_ && !send_failed) {
        out.clear();
        while (out.size() < io_chunk) {
            const std::uint8_t* data = nullptr;
            const auto n = nghttp2_session_mem_send(session_, &data);
            if (n < 0) {
                state_.record_error(index_, std::string("nghttp2_session_mem_send: ") +
                                                nghttp2_strerror(static_cast<int>(n)));
                fatal_ = true;
                send_failed = true;
                break;
            }
            if (n == 0) break;
            out.append(reinterpret_cast<const char*>(data), static_cast<std::size_t>(n));
        }
        if (out.empty() || closed_) break;
        error_code ec;
        if (tls()) {
            std::tie(ec, std::ignore) = co_await asio::async_write(
                stream_, asio::buffer(out), asio::as_tuple(asio::use_awaitable));
        } else {
            std::tie(ec, std::ignore) = co_await asio::async_write(
                stream_.next_layer(), asio::buffer(out), asio::as_tuple(asio::use_awaitable));
        }
        if (ec) {
            writing_ = false;
            if (!closed_) abort();
            co_return;
        }
    }
    writing_ = false;
    maybe_finish();
}

void H2Connection::maybe_finish() {
    if (closed_ || writing_ || finishing_) return;
    if (fatal_) {
        abort();
        return;
    }
    if (nghttp2_session_want_read(session_) != 0 || nghttp2_session_want_write(session_) != 0) {
        return;
    }
    // The session is over (GOAWAY exchanged, no stream left).
    if (!tls()) {
        error_code ignored;
        stream_.next_layer().shutdown(tcp::socket::shutdown_send, ignored);
        abort();
        return;
    }
    // The read loop runs finish_tls(), so that no TLS read overlaps async_shutdown: it sees the
    // flag before its next read, or now, if it waits in one, when that read is cancelled.
    finishing_ = true;
    error_code ignored;
    stream_.next_layer().cancel(ignored);
}

asio::awaitable<void> H2Connection::finish_tls() {
    using namespace asio::experimental::awaitable_operators;
    asio::steady_timer grace(stream_.get_executor(), tls_close_grace);
    // async_shutdown sends close_notify, then waits for the peer's; the timer bounds the wait.
    co_await (stream_.async_shutdown(asio::as_tuple(asio::use_awaitable)) ||
              grace.async_wait(asio::as_tuple(asio::use_awaitable)));
    if (!closed_) abort();
}

// --- nghttp2 callbacks ------------------------------------------------------------------------

int H2Connection::on_begin_headers(nghttp2_session*, const nghttp2_frame* frame,
                                   void* user_data) noexcept {
    auto& self = *static_cast<H2Connection*>(user_data);
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
    try {
        auto stream = std::make_unique<Stream>();
        stream->request.stream_id = frame->hd.stream_id;
        stream->request.connection = self.index_;
        self.streams_[frame->hd.stream_id] = std::move(stream);
    } catch (const std::exception&) {
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    }
    return 0;
}

int H2Connection::on_header(nghttp2_session*, const nghttp2_frame* frame, const std::uint8_t* name,
                            std::size_t name_length, const std::uint8_t* value,
                            std::size_t value_length, std::uint8_t /*flags*/,
                            void* user_data) noexcept {
    auto& self = *static_cast<H2Connection*>(user_data);
    if (frame->hd.type != NGHTTP2_HEADERS) return 0;
    Stream* stream = self.find(frame->hd.stream_id);
    if (stream == nullptr) return 0;
    try {
        std::string field(reinterpret_cast<const char*>(name), name_length);
        std::string text(reinterpret_cast<const char*>(value), value_length);
        auto& request = stream->request;
        if (frame->headers.cat == NGHTTP2_HCAT_HEADERS) {
            request.trailers.emplace_back(std::move(field), std::move(text));
        } else if (field == ":method") {
            request.method = std::move(text);
        } else if (field == ":scheme") {
            request.scheme = std::move(text);
        } else if (field == ":authority") {
            request.authority = std::move(text);
        } else if (field == ":path") {
            request.path = std::move(text);
        } else {
            request.headers.emplace_back(std::move(field), std::move(text));
        }
    } catch (const std::exception&) {
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    }
    return 0;
}

int H2Connection::on_invalid_header(nghttp2_session*, const nghttp2_frame* frame,
                                    const std::uint8_t* name, std::size_t name_length,
                                    const std::uint8_t* value, std::size_t value_length,
                                    std::uint8_t /*flags*/, void* user_data) noexcept {
    auto& self = *static_cast<H2Connection*>(user_data);
    try {
        self.state_.record_error(
            self.index_, "stream " + std::to_string(frame->hd.stream_id) +
                             ": invalid header field '" +
                             std::string(reinterpret_cast<const char*>(name), name_length) + ": " +
                             std::string(reinterpret_cast<const char*>(value), value_length) + "'");
    } catch (const std::exception&) {
    }
    // As without this callback: the stream is reset with PROTOCOL_ERROR.
    return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
}

int H2Connection::on_data_chunk(nghttp2_session*, std::uint8_t /*flags*/, std::int32_t stream_id,
                                const std::uint8_t* data, std::size_t length,
                                void* user_data) noexcept {
    auto& self = *static_cast<H2Connection*>(user_data);
    Stream* stream = self.find(stream_id);
    if (stream == nullptr) return 0;
    try {
        stream->request.body.append(reinterpret_cast<const char*>(data), length);
    } catch (const std::exception&) {
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    }
    return 0;
}

int H2Connection::on_frame_recv(nghttp2_session*, const nghttp2_frame* frame,
                                void* user_data) noexcept {
    auto& self = *static_cast<H2Connection*>(user_data);
    auto& state = self.state_;
    try {
        switch (frame->hd.type) {
            case NGHTTP2_HEADERS:
            case NGHTTP2_DATA: {
                if ((frame->hd.flags & NGHTTP2_FLAG_END_STREAM) == 0) break;
                Stream* stream = self.find(frame->hd.stream_id);
                if (stream == nullptr) break;
                state.update([&] { state.requests.push_back(stream->request); });
                self.completed_.push_back(frame->hd.stream_id);
                break;
            }
            case NGHTTP2_PING:
                if ((frame->hd.flags & NGHTTP2_FLAG_ACK) == 0) state.update([&] { ++state.pings; });
                break;
            case NGHTTP2_RST_STREAM:
                state.update([&] {
                    state.resets.push_back({frame->hd.stream_id,
                                            static_cast<H2Error>(frame->rst_stream.error_code),
                                            self.index_});
                });
                break;
            case NGHTTP2_GOAWAY:
                state.update([&] {
                    state.goaways.push_back({frame->goaway.last_stream_id,
                                             static_cast<H2Error>(frame->goaway.error_code),
                                             self.index_});
                });
                break;
            default:
                break;
        }
    } catch (const std::exception&) {
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    }
    return 0;
}

int H2Connection::on_stream_close(nghttp2_session*, std::int32_t stream_id,
                                  std::uint32_t /*error_code*/, void* user_data) noexcept {
    auto& self = *static_cast<H2Connection*>(user_data);
    std::erase(self.completed_, stream_id);
    std::erase(self.pending_, stream_id);
    self.streams_.erase(stream_id); // cancels a pending delay
    return 0;
}

int H2Connection::on_error(nghttp2_session*, int /*lib_error_code*/, const char* message,
                           std::size_t length, void* user_data) noexcept {
    auto& self = *static_cast<H2Connection*>(user_data);
    try {
        self.state_.record_error(self.index_, std::string(message, length));
    } catch (const std::exception&) {
    }
    return 0;
}

ssize_t H2Connection::read_body(nghttp2_session* session, std::int32_t stream_id, std::uint8_t* buf,
                                std::size_t length, std::uint32_t* data_flags,
                                nghttp2_data_source* source, void* user_data) noexcept {
    auto& stream = *static_cast<Stream*>(source->ptr);
    const std::size_t n = std::min(length, stream.body.size() - stream.sent);
    std::memcpy(buf, stream.body.data() + stream.sent, n);
    stream.sent += n;
    if (stream.sent < stream.body.size()) return static_cast<ssize_t>(n);
    *data_flags |= NGHTTP2_DATA_FLAG_EOF;
    if (stream.trailers.empty()) return static_cast<ssize_t>(n);
    try {
        std::vector<nghttp2_nv> fields;
        for (const auto& [name, value] : stream.trailers) fields.push_back(make_nv(name, value));
        const int rv = nghttp2_submit_trailer(session, stream_id, fields.data(), fields.size());
        if (rv != 0) {
            auto& self = *static_cast<H2Connection*>(user_data);
            self.state_.record_error(self.index_,
                                     "stream " + std::to_string(stream_id) +
                                         ": nghttp2_submit_trailer: " + nghttp2_strerror(rv));
            return static_cast<ssize_t>(n);
        }
    } catch (const std::exception&) {
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    }
    *data_flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
    return static_cast<ssize_t>(n);
}

// --- H2ServerState ----------------------------------------------------------------------------

asio::awaitable<void> H2ServerState::accept_loop() {
    for (;;) {
        auto [ec, socket] = co_await acceptor.async_accept(asio::as_tuple(asio::use_awaitable));
        if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
        if (ec) continue; // e.g. a connection reset while queued
        // Frames are written whole; Nagle would hold a small one back for the peer's ACK.
        error_code ignored;
        socket.set_option(tcp::no_delay(true), ignored);
        std::size_t index = 0;
        update([&] { index = connections++; });
        auto connection = std::make_shared<H2Connection>(*this, std::move(socket), index);
        std::erase_if(live, [](const auto& weak) { return weak.expired(); });
        live.push_back(connection);
        asio::co_spawn(
            io, [connection] { return connection->run(); }, asio::detached);
    }
}

} // namespace detail

// --- H2Request, H2Action ----------------------------------------------------------------------

std::optional<std::string> H2Request::header(std::string_view name) const {
    for (const auto& [field, value] : headers) {
        if (iequals(field, name)) return value;
    }
    return std::nullopt;
}

H2Action H2Action::respond(int status, std::string body, H2Fields headers) {
    return {.kind = Kind::respond,
            .status = status,
            .headers = std::move(headers),
            .body = std::move(body)};
}

H2Action H2Action::refuse() { return {.kind = Kind::refuse}; }

H2Action H2Action::reset(H2Error error) { return {.kind = Kind::reset, .error = error}; }

H2Action H2Action::goaway(H2Error error) { return {.kind = Kind::goaway, .error = error}; }

H2Action H2Action::close() { return {.kind = Kind::close}; }

H2Action H2Action::ignore() { return {.kind = Kind::ignore}; }

// --- H2TestServer -----------------------------------------------------------------------------

H2TestServer::H2TestServer(Handler handler, const H2ServerOptions& options)
    : state_(std::make_unique<detail::H2ServerState>()) {
    if (options.batch == 0) throw std::invalid_argument("H2TestServer: batch must be at least 1");
    if (options.initial_window_size > max_window) {
        throw std::invalid_argument("H2TestServer: initial_window_size above 2^31-1");
    }
    auto& state = *state_;
    state.handler = handler ? std::move(handler) : Handler(hello_or_echo);
    state.options = options;
    if (options.tls) {
        state.tls_context.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                                      ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                                      ssl::context::no_tlsv1_1);
        state.tls_context.use_certificate_chain_file(options.tls->certificate_chain.string());
        state.tls_context.use_private_key_file(options.tls->private_key.string(),
                                               ssl::context::pem);
        SSL_CTX_set_alpn_select_cb(state.tls_context.native_handle(), select_h2, nullptr);
    }
    const tcp::endpoint endpoint(asio::ip::address_v4::loopback(), 0);
    state.acceptor.open(endpoint.protocol());
    state.acceptor.set_option(tcp::acceptor::reuse_address(true));
    state.acceptor.bind(endpoint);
    state.acceptor.listen();
    state.port = state.acceptor.local_endpoint().port();
    asio::co_spawn(
        state.io, [&state] { return state.accept_loop(); }, asio::detached);
    state.thread = std::thread([&state] { state.io.run(); });
}

H2TestServer::~H2TestServer() {
    auto& state = *state_;
    asio::post(state.io, [&state] {
        state.stopping = true;
        error_code ignored;
        state.acceptor.close(ignored);
        for (const auto& weak : state.live) {
            if (auto connection = weak.lock()) connection->abort();
        }
        // Delays and reads still pending are destroyed with the io_context.
        state.io.stop();
    });
    state.thread.join();
}

std::uint16_t H2TestServer::port() const { return state_->port; }

std::string H2TestServer::url(std::string_view path) const {
    std::string result =
        state_->options.tls.has_value() ? "https://127.0.0.1:" : "http://127.0.0.1:";
    result += std::to_string(state_->port);
    if (path.empty() || path.front() != '/') result += '/';
    result += path;
    return result;
}

std::vector<H2Request> H2TestServer::requests() const {
    std::lock_guard lock(state_->mutex);
    return state_->requests;
}

std::size_t H2TestServer::connections_accepted() const {
    std::lock_guard lock(state_->mutex);
    return state_->connections;
}

std::size_t H2TestServer::pings_received() const {
    std::lock_guard lock(state_->mutex);
    return state_->pings;
}

std::vector<H2Reset> H2TestServer::resets_received() const {
    std::lock_guard lock(state_->mutex);
    return state_->resets;
}

std::vector<H2GoAway> H2TestServer::goaways_received() const {
    std::lock_guard lock(state_->mutex);
    return state_->goaways;
}

std::vector<std::string> H2TestServer::errors() const {
    std::lock_guard lock(state_->mutex);
    return state_->errors;
}

bool H2TestServer::wait_for_requests(std::size_t count,
                                     std::chrono::steady_clock::duration timeout) const {
    return state_->wait_for([this] { return state_->requests.size(); }, count, timeout);
}

bool H2TestServer::wait_for_resets(std::size_t count,
                                   std::chrono::steady_clock::duration timeout) const {
    return state_->wait_for([this] { return state_->resets.size(); }, count, timeout);
}

bool H2TestServer::wait_for_goaways(std::size_t count,
                                    std::chrono::steady_clock::duration timeout) const {
    return state_->wait_for([this] { return state_->goaways.size(); }, count, timeout);
}

bool H2TestServer::wait_for_pings(std::size_t count,
                                  std::chrono::steady_clock::duration timeout) const {
    return state_->wait_for([this] { return state_->pings; }, count, timeout);
}

H2Action H2TestServer::hello_or_echo(const H2Request& request) {
    return H2Action::respond(200, request.body.empty() ? std::string("hello\n") : request.body);
}

} // namespace nector::testing
