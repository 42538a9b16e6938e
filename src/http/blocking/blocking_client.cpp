// BlockingClient and BlockingStream (nector/http/blocking.hpp). The blocking room sits on
// top of the public API: HTTPTransport on an io_context of its own, run by one thread;
// every call is a coroutine spawned there, raced against the client's closing, and waited
// for by the calling thread.
#include "nector/http/blocking.hpp"

#include "http/message/body.hpp"
#include "http/message/url.hpp"
#include "nector/http/transport.hpp"
#include "nector/transport/errors.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>

#include <atomic>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>
#include <type_traits>
#include <variant>

namespace nector::http {
namespace asio = boost::asio;

namespace detail {

/// What a call is about, for messages: "GET http://host/path" (credentials removed,
/// control characters escaped).
std::string call_context(const HttpMessage& message) {
    return printable(message.method) + " " + printable(redact(message.url));
}

[[noreturn]] void throw_closed(const std::string& context, bool in_flight) {
    throw_error(
        errc::not_connected,
        context + (in_flight ? ": the BlockingClient was closed while the call was in flight"
                             : ": the BlockingClient is closed"));
}

struct BlockingState {
    BlockingState(Options options, std::shared_ptr<ResilienceRegistry> resilience)
        : transport(std::move(options), std::move(resilience)) {}

    asio::io_context io;
    asio::executor_work_guard<asio::io_context::executor_type> work = asio::make_work_guard(io);
    HTTPTransport<> transport;
    /// Never expires: cancelled when the client closes, which ends every call's race.
    asio::steady_timer closing{io, asio::steady_timer::time_point::max()};
    std::thread thread;
    std::atomic<bool> closed{false};
    bool closed_on_io = false; ///< read and written on the io thread only
    std::mutex mutex;          ///< guards `accepting` and `joined`
    std::condition_variable joined_cv;
    bool accepting = false; ///< work posted now runs (the thread runs and is not being joined)
    bool joined = false;    ///< the thread has ended

    /// Runs `operation` on the io thread and waits for it; rethrows what it throws. Once
    /// the thread is being joined, throws the closed error naming `context` instead.
    ///
    /// What it throws is kept in a slot of the caller's until the caller has it, so that the
    /// exception object is freed in the caller's thread, never in the io thread while the
    /// caller reads it (its reference count lives in libstdc++, out of ThreadSanitizer's
    /// sight: a use_future would make it report a race that is not one).
    template <class T>
    T wait(asio::awaitable<T> operation, const std::string& context) {
        Settled<T> settled;
        if (!finish(settle(std::move(operation), settled))) throw_closed(context, false);
        if (settled.error) std::rethrow_exception(settled.error);
        if constexpr (!std::is_void_v<T>) return std::move(*settled.value);
    }

    template <class T>
    struct Settled {
        std::optional<std::conditional_t<std::is_void_v<T>, bool, T>> value; ///< (void: none)
        std::exception_ptr error;
    };
    template <class T>
    static asio::awaitable<void> settle(asio::awaitable<T> operation, Settled<T>& out) {
        try {
            if constexpr (std::is_void_v<T>) {
                co_await std::move(operation);
            } else {
                out.value.emplace(co_await std::move(operation));
            }
        } catch (...) {
            out.error = std::current_exception();
        }
    }
    /// Runs `settling` (which throws nothing) on the io thread and waits for its end; false
    /// (nothing run) once the thread is being joined. Spawned under the lock that join()
    /// takes to release the work guard, so what is spawned runs before the thread ends.
    bool finish(asio::awaitable<void> settling) {
        auto signal = std::make_shared<std::promise<void>>();
        std::future<void> done = signal->get_future();
        {
            std::lock_guard lock(mutex);
            if (!accepting) return false;
            asio::co_spawn(io, std::move(settling),
                           [signal](const std::exception_ptr&) { signal->set_value(); });
        }
        done.wait();
        return true;
    }

    /// Runs `f` on the io thread and waits for it; once the thread is being joined, waits
    /// for its end and runs `f` here (nothing else runs then).
    template <class F>
    void on_io(F f) {
        std::unique_lock lock(mutex);
        if (!accepting) {
            joined_cv.wait(lock, [this] { return joined; });
            lock.unlock();
            f();
            return;
        }
        auto done = std::make_shared<std::promise<void>>();
        std::future<void> finished = done->get_future();
        asio::post(io, [&f, done] {
            f();
            done->set_value();
        });
        lock.unlock();
        finished.wait();
    }

    void close() {
        if (closed.exchange(true)) return;
        // A call that has not started yet sees closed_on_io; one in flight loses its race.
        try {
            wait(shut(), "BlockingClient::close");
        } catch (const TransportError&) {
            // Already being joined: every connection closes with the io_context.
        }
    }

    asio::awaitable<void> shut() {
        closed_on_io = true;
        closing.cancel();
        co_await transport.disconnect();
    }

    void join() {
        {
            std::lock_guard lock(mutex);
            if (!accepting) return;
            accepting = false;
            work.reset();
        }
        thread.join();
        std::lock_guard lock(mutex);
        joined = true;
        joined_cv.notify_all();
    }
};

struct BlockingStreamState {
    std::optional<ResponseStream> stream;
    std::optional<ResponseStream::Lines> lines;
    std::optional<ResponseStream::Events> events;
    std::string context;
};

namespace {

template <class T>
struct Outcome {
    std::optional<T> value;
    std::exception_ptr error;
};

template <class T>
asio::awaitable<Outcome<T>> outcome_of(asio::awaitable<T> operation) {
    Outcome<T> outcome;
    try {
        outcome.value.emplace(co_await std::move(operation));
    } catch (...) {
        outcome.error = std::current_exception();
    }
    co_return outcome;
}

/// `operation` (made on the io thread by `make`), unless the client closes first.
template <class T, class Make>
asio::awaitable<T> guarded(BlockingState& s, Make make, std::string context) {
    using namespace asio::experimental::awaitable_operators;
    if (s.closed_on_io) throw_closed(context, false);
    std::variant<Outcome<T>, std::tuple<boost::system::error_code>> result = co_await (
        outcome_of<T>(make()) || s.closing.async_wait(asio::as_tuple(asio::use_awaitable)));
    if (result.index() == 1) throw_closed(context, true);
    Outcome<T>& outcome = std::get<0>(result);
    if (outcome.error) std::rethrow_exception(outcome.error);
    co_return std::move(*outcome.value);
}

asio::awaitable<Response> call(BlockingState& s, HttpMessage message) {
    std::string context = call_context(message);
    auto make = [&s, &message] { return s.transport.request(std::move(message)); };
    Response response = co_await guarded<Response>(s, make, std::move(context));
    co_return response;
}

// (An optional: co_spawn needs a result type with a default.)
asio::awaitable<std::optional<ResponseStream>> open(BlockingState& s, HttpMessage message) {
    std::string context = call_context(message);
    auto make = [&s, &message] { return s.transport.stream(std::move(message)); };
    ResponseStream stream = co_await guarded<ResponseStream>(s, make, std::move(context));
    co_return stream;
}

/// One read of a stream: `read` (made on the io thread) raced against closing.
template <class T, class Read>
asio::awaitable<T> read(BlockingState& s, BlockingStreamState& state, Read read_once) {
    T value = co_await guarded<T>(s, read_once, state.context);
    co_return value;
}

} // namespace
} // namespace detail

BlockingClient::BlockingClient(Options options) : BlockingClient(std::move(options), nullptr) {}

BlockingClient::BlockingClient(Options options, std::shared_ptr<ResilienceRegistry> resilience)
    : state_(std::make_shared<detail::BlockingState>(std::move(options), std::move(resilience))) {
    detail::BlockingState& s = *state_;
    s.thread = std::thread([&s] { s.io.run(); });
    {
        std::lock_guard lock(s.mutex);
        s.accepting = true;
    }
    s.wait(s.transport.connect(), "BlockingClient: connecting");
}

BlockingClient::~BlockingClient() {
    close();
    state_->join();
}

void BlockingClient::close() { state_->close(); }

bool BlockingClient::is_closed() const noexcept { return state_->closed.load(); }

Response BlockingClient::request(HttpMessage message) {
    detail::BlockingState& s = *state_;
    if (s.closed.load()) detail::throw_closed(detail::call_context(message), false);
    std::string context = detail::call_context(message);
    return s.wait(detail::call(s, std::move(message)), context);
}

Response BlockingClient::get(std::string url, Headers headers) {
    return request(
        HttpMessage{.method = "GET", .url = std::move(url), .headers = std::move(headers)});
}
Response BlockingClient::head(std::string url, Headers headers) {
    return request(
        HttpMessage{.method = "HEAD", .url = std::move(url), .headers = std::move(headers)});
}
Response BlockingClient::del(std::string url, Headers headers) {
    return request(
        HttpMessage{.method = "DELETE", .url = std::move(url), .headers = std::move(headers)});
}
Response BlockingClient::post(std::string url, boost::json::value body, Headers headers) {
    return request(HttpMessage{.method = "POST",
                               .url = std::move(url),
                               .headers = std::move(headers),
                               .json = std::move(body)});
}
Response BlockingClient::put(std::string url, boost::json::value body, Headers headers) {
    return request(HttpMessage{.method = "PUT",
                               .url = std::move(url),
                               .headers = std::move(headers),
                               .json = std::move(body)});
}
Response BlockingClient::patch(std::string url, boost::json::value body, Headers headers) {
    return request(HttpMessage{.method = "PATCH",
                               .url = std::move(url),
                               .headers = std::move(headers),
                               .json = std::move(body)});
}

BlockingStream BlockingClient::stream(HttpMessage message) {
    detail::BlockingState& s = *state_;
    auto state = std::make_shared<detail::BlockingStreamState>();
    state->context = detail::call_context(message);
    if (s.closed.load()) detail::throw_closed(state->context, false);
    state->stream = s.wait(detail::open(s, std::move(message)), state->context);
    return BlockingStream(state_, std::move(state));
}

const Options& BlockingClient::options() const noexcept { return state_->transport.options(); }

Metrics BlockingClient::metrics() const {
    Metrics m;
    state_->on_io([&] { m = state_->transport.metrics(); });
    return m;
}

BlockingStream::BlockingStream(std::shared_ptr<detail::BlockingState> client,
                               std::shared_ptr<detail::BlockingStreamState> state)
    : client_(std::move(client)), state_(std::move(state)) {}

BlockingStream::BlockingStream(BlockingStream&&) noexcept = default;
BlockingStream& BlockingStream::operator=(BlockingStream&& other) noexcept {
    if (this != &other) {
        BlockingStream gone(std::move(*this));
        client_ = std::move(other.client_);
        state_ = std::move(other.state_);
    }
    return *this;
}

BlockingStream::~BlockingStream() {
    if (!state_) return;
    // The stream's sockets belong to the client's io thread: it is destroyed there.
    client_->on_io([this] {
        state_->events.reset();
        state_->lines.reset();
        state_->stream.reset();
    });
}

const Response& BlockingStream::response() const noexcept { return state_->stream->response(); }
int BlockingStream::status() const noexcept { return state_->stream->status(); }
const Headers& BlockingStream::headers() const noexcept { return state_->stream->headers(); }
bool BlockingStream::done() const noexcept { return state_->stream->done(); }

std::optional<std::string> BlockingStream::next() {
    detail::BlockingState& s = *client_;
    if (s.closed.load()) detail::throw_closed(state_->context, false);
    detail::BlockingStreamState& st = *state_;
    return s.wait(
        detail::read<std::optional<std::string>>(s, st, [&st] { return st.stream->next(); }),
        st.context);
}

std::string BlockingStream::read_all() {
    detail::BlockingState& s = *client_;
    if (s.closed.load()) detail::throw_closed(state_->context, false);
    detail::BlockingStreamState& st = *state_;
    return s.wait(detail::read<std::string>(s, st, [&st] { return st.stream->read_all(); }),
                  st.context);
}

std::optional<std::string> BlockingStream::next_line() {
    detail::BlockingState& s = *client_;
    if (s.closed.load()) detail::throw_closed(state_->context, false);
    detail::BlockingStreamState& st = *state_;
    return s.wait(
        detail::read<std::optional<std::string>>(s, st,
                                                 [&st] {
                                                     if (!st.lines)
                                                         st.lines.emplace(st.stream->lines());
                                                     return st.lines->next();
                                                 }),
        st.context);
}

std::optional<ServerSentEvent> BlockingStream::next_event() {
    detail::BlockingState& s = *client_;
    if (s.closed.load()) detail::throw_closed(state_->context, false);
    detail::BlockingStreamState& st = *state_;
    return s.wait(
        detail::read<std::optional<ServerSentEvent>>(s, st,
                                                     [&st] {
                                                         if (!st.events)
                                                             st.events.emplace(st.stream->events());
                                                         return st.events->next();
                                                     }),
        st.context);
}

} // namespace nector::http
