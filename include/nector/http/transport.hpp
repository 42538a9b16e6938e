// HTTPTransport<M>: the seed's HTTP transport (TDS-4 §3) on nector's native engine.
#pragma once

#include "nector/http/detail/core.hpp"
#include "nector/http/errors.hpp"
#include "nector/http/message.hpp"
#include "nector/http/metrics.hpp"
#include "nector/http/options.hpp"
#include "nector/http/resilience.hpp"
#include "nector/http/response.hpp"
#include "nector/http/stream.hpp"
#include "nector/transport/errors.hpp"
#include "nector/transport/protocol.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/json/value.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <type_traits>
#include <utility>

namespace nector::http {

/// An HTTP transport of messages M (TDS-1 Transport<M>).
///
/// Lifecycle: connect() binds the transport to the caller's executor and readies the
/// pool (idempotent); disconnect() closes every connection (idempotent); the destructor
/// does the same synchronously. Requests before connect() throw ConnectionError
/// (not_connected).
///
/// Lifetime: the transport's sockets belong to its executor's io_context, so destroy the
/// transport (or disconnect() it) before that io_context, as with any Asio socket. An open
/// HTTP/2 connection keeps a read pending (for the server's PING, SETTINGS and GOAWAY), so
/// io_context::run() returns only once the transport is disconnected or destroyed.
///
/// Threads: a transport is bound to one executor and may be used by many coroutines
/// running on it. With an io_context run by several threads, give it a strand.
///
/// Errors (TDS-4 §3.1): status >= 400 throws the HTTPStatusError subclass carrying the
/// Response (unless Options::raise_for_status is false); refused → ConnectionRefusedError; DNS and
/// connect failures → ConnectionError; timeouts → ConnectionTimeoutError whose code names
/// the phase; TLS → TLSError saying why; a bad URL, header or method →
/// TransportSpecificError before any byte is sent; a malformed response →
/// TransportSpecificError (protocol_error).
///
/// @par Per-Operation Cancellation
/// request(), send() and async_request() support terminal cancellation (a cancelled
/// co_spawn, awaitable operators, bind_cancellation_slot): the exchange is aborted and the
/// operation fails with an error of condition::cancelled (nector's errc::cancelled, or
/// Asio's operation_aborted when no I/O was in progress). Over HTTP/1.1 its connection is closed
/// (never returned to the pool half-read); over HTTP/2 its stream is reset (RST_STREAM
/// CANCEL) and the connection carries on.
template <Message M = HttpMessage>
class HTTPTransport {
public:
    using message_type = M;

    /// Validates `options`; throws ConfigurationError naming a bad field.
    explicit HTTPTransport(Options options = {}) : core_(std::move(options)) {}
    HTTPTransport(boost::asio::any_io_executor executor, Options options = {})
        : core_(std::move(executor), std::move(options)) {}
    /// Shares the circuit breakers and retry budgets of `resilience` (what
    /// HTTPTransportFactory does for the transports it makes).
    HTTPTransport(Options options, std::shared_ptr<ResilienceRegistry> resilience)
        : core_(std::move(options), std::move(resilience)) {}

    /// TDS-4 §5.2: `handler(response)` decides what receive() deserializes: the bytes it
    /// returns, or nothing (that exchange yields no message). Without a handler, the
    /// response body. Replaces any previous handler.
    void set_response_handler(std::function<std::optional<Bytes>(const Response&)> handler) {
        response_handler_ = std::move(handler);
    }

    boost::asio::awaitable<void> connect() { return core_.connect(); }
    boost::asio::awaitable<void> disconnect() { return core_.disconnect(); }
    bool is_connected() const noexcept { return core_.is_connected(); }

    /// Sends `message` as an HTTP request (see detail::to_http_message) and queues the
    /// completed exchange for receive(). Throws as request() does; nothing is queued then.
    boost::asio::awaitable<void> send(M message) {
        Response response = co_await core_.request(detail::to_http_message(message));
        core_.push_completed(std::move(response));
    }

    /// The next completed exchange, oldest first, as an M deserialized from the response
    /// body (TDS-4); nullopt when none is waiting. Throws DeserializationError when the
    /// body is not an M.
    boost::asio::awaitable<std::optional<M>> receive() {
        for (;;) {
            std::optional<Response> response = co_await receive_response();
            if (!response) co_return std::nullopt;
            if (!response_handler_) co_return M::deserialize(as_bytes(response->body));
            std::optional<Bytes> bytes = response_handler_(*response);
            if (bytes) co_return M::deserialize(*bytes);
        }
    }

    /// Like receive(), but the whole Response (status, headers, method and URL it answers).
    boost::asio::awaitable<std::optional<Response>> receive_response() {
        core_.executor(); // throws not_connected
        co_return core_.pop_completed();
    }

    /// One request; returns the final Response (redirects followed, history kept).
    boost::asio::awaitable<Response> request(HttpMessage message) {
        return core_.request(std::move(message));
    }

    /// TDS-4 §5.1: sends `message` as send() does and returns as soon as the final
    /// response's status and headers have arrived; its body is then read from the
    /// ResponseStream as it arrives (chunks, lines, Server-Sent Events, or as an Asio
    /// AsyncReadStream), with backpressure. Status errors throw as in send() (their body
    /// read whole); redirects are followed and retries made until a response streams.
    boost::asio::awaitable<ResponseStream> stream_response(M message) {
        return core_.stream(detail::to_http_message(message));
    }
    /// stream_response() for a plain request, whatever M is.
    boost::asio::awaitable<ResponseStream> stream(HttpMessage message) {
        return core_.stream(std::move(message));
    }
    boost::asio::awaitable<Response> get(std::string url, Headers headers = {}) {
        return request(message_of("GET", std::move(url), std::move(headers)));
    }
    boost::asio::awaitable<Response> head(std::string url, Headers headers = {}) {
        return request(message_of("HEAD", std::move(url), std::move(headers)));
    }
    boost::asio::awaitable<Response> options(std::string url, Headers headers = {}) {
        return request(message_of("OPTIONS", std::move(url), std::move(headers)));
    }
    boost::asio::awaitable<Response> del(std::string url, Headers headers = {}) {
        return request(message_of("DELETE", std::move(url), std::move(headers)));
    }
    /// POST/PUT/PATCH with a JSON body.
    boost::asio::awaitable<Response> post(std::string url, boost::json::value body,
                                          Headers headers = {}) {
        return request(message_of("POST", std::move(url), std::move(headers), std::move(body)));
    }
    boost::asio::awaitable<Response> put(std::string url, boost::json::value body,
                                         Headers headers = {}) {
        return request(message_of("PUT", std::move(url), std::move(headers), std::move(body)));
    }
    boost::asio::awaitable<Response> patch(std::string url, boost::json::value body,
                                           Headers headers = {}) {
        return request(message_of("PATCH", std::move(url), std::move(headers), std::move(body)));
    }

    // Completion-token forms (Asio's universal model: a callback, use_future,
    // use_awaitable, as_tuple(...), deferred, ...). Each runs its operation on the
    // transport's executor and completes through the handler's associated executor (the
    // transport's executor when it has none), so a plain callback runs on the thread that
    // runs the transport's io_context. (Before the transport is bound to an executor, the
    // operation fails with not_connected on the handler's associated executor.)
    //
    // Errors are codes, not exceptions: a boost::system::error_code, as Asio's tokens
    // expect (use_future and use_awaitable throw it as boost::system::system_error), that
    // converts to the std::error_code of the typed error and compares equal to its
    // nector::errc (errc::connect_timeout, errc::http_not_found, ...). A bound cancellation
    // slot cancels the operation as cancelling its coroutine would; the code is then of
    // condition::cancelled. An exception that is no transport error (a bug, e.g. in an
    // interceptor or a mock handler) is not turned into a code: it propagates from the
    // io_context's run().

    /// connect() with a completion token: void(boost::system::error_code). The transport binds to
    /// the executor it was made with or, if none, to `executor`.
    template <class Token>
    auto async_connect(boost::asio::any_io_executor executor, Token&& token) {
        return boost::asio::async_initiate<Token, void(boost::system::error_code)>(
            [this](auto handler, boost::asio::any_io_executor ex) {
                launch(core_.bound_executor().value_or(ex), core_.connect(), std::move(handler));
            },
            token, std::move(executor));
    }
    /// async_connect() on the executor the transport was made with (a transport made
    /// without one completes with errc::not_connected: use the overload above).
    template <class Token>
    auto async_connect(Token&& token) {
        return boost::asio::async_initiate<Token, void(boost::system::error_code)>(
            [this](auto handler) {
                std::optional<boost::asio::any_io_executor> ex = core_.bound_executor();
                if (!ex) {
                    launch(boost::asio::get_associated_executor(handler), no_executor(),
                           std::move(handler));
                    return;
                }
                launch(*ex, core_.connect(), std::move(handler));
            },
            token);
    }
    /// disconnect() with a completion token: void(boost::system::error_code).
    template <class Token>
    auto async_disconnect(Token&& token) {
        return boost::asio::async_initiate<Token, void(boost::system::error_code)>(
            [this](auto handler) { launch_on_transport(core_.disconnect(), std::move(handler)); },
            token);
    }
    /// request() with a completion token; the handler's signature is
    /// void(boost::system::error_code, Response). A status error completes with its code
    /// (e.g. errc::http_not_found) and the response. Needs connect() first.
    template <class Token>
    auto async_request(HttpMessage message, Token&& token) {
        return boost::asio::async_initiate<Token, void(boost::system::error_code, Response)>(
            [this](auto handler, HttpMessage m) {
                launch_on_transport(request(std::move(m)), std::move(handler));
            },
            token, std::move(message));
    }
    /// send() with a completion token: void(boost::system::error_code). A status error completes
    /// with its code and queues nothing.
    template <class Token>
    auto async_send(M message, Token&& token) {
        return boost::asio::async_initiate<Token, void(boost::system::error_code)>(
            [this](auto handler, M m) {
                launch_on_transport(send(std::move(m)), std::move(handler));
            },
            token, std::move(message));
    }
    /// receive() with a completion token: void(boost::system::error_code, std::optional<M>)
    /// (nullopt when no exchange is waiting; DeserializationError's code when the body is not an
    /// M).
    template <class Token>
    auto async_receive(Token&& token) {
        return boost::asio::async_initiate<Token,
                                           void(boost::system::error_code, std::optional<M>)>(
            [this](auto handler) { launch_on_transport(receive(), std::move(handler)); }, token);
    }
    /// stream() with a completion token: void(boost::system::error_code, ResponseStream). A status
    /// error completes with its code and a stream of the error response (its body read
    /// whole); other errors with an empty stream (status 0, done()).
    template <class Token>
    auto async_stream(HttpMessage message, Token&& token) {
        return boost::asio::async_initiate<Token, void(boost::system::error_code, ResponseStream)>(
            [this](auto handler, HttpMessage m) {
                launch_on_transport(stream(std::move(m)), std::move(handler));
            },
            token, std::move(message));
    }
    /// stream_response() with a completion token, as async_stream().
    template <class Token>
    auto async_stream_response(M message, Token&& token) {
        return async_stream(detail::to_http_message(message), std::forward<Token>(token));
    }

    /// The options the transport was made with, validated.
    const Options& options() const noexcept { return core_.options(); }
    /// options(), under its earlier name.
    [[deprecated("use options()")]] const Options& get_options() const noexcept {
        return core_.options();
    }
    /// Counters of this transport's calls (breaker transitions: of the shared breakers).
    Metrics metrics() const { return core_.metrics(); }

private:
    // Built by assignment: GCC 12's -Wextra warns of designated initializers that leave
    // members out, and this header is compiled by users' code.
    static HttpMessage message_of(std::string method, std::string url, Headers headers,
                                  std::optional<boost::json::value> json = std::nullopt) {
        HttpMessage message;
        message.method = std::move(method);
        message.url = std::move(url);
        message.headers = std::move(headers);
        message.json = std::move(json);
        return message;
    }

    /// Runs `operation` on `executor` and completes `handler` with its outcome as codes.
    template <class T, class Handler>
    static void launch(const boost::asio::any_io_executor& executor,
                       boost::asio::awaitable<T> operation, Handler handler) {
        auto slot = boost::asio::get_associated_cancellation_slot(handler);
        auto handler_executor = boost::asio::get_associated_executor(handler, executor);
        if constexpr (std::is_void_v<T>) {
            boost::asio::co_spawn(
                executor, std::move(operation),
                boost::asio::bind_cancellation_slot(
                    slot, boost::asio::bind_executor(
                              handler_executor,
                              [h = std::move(handler)](const std::exception_ptr& e) mutable {
                                  Response ignored;
                                  std::error_code ec;
                                  if (e) ec = error_code_of(e, ignored);
                                  std::move(h)(detail::asio_code(ec));
                              })));
        } else {
            boost::asio::co_spawn(
                executor, outcome_of(std::move(operation)),
                boost::asio::bind_cancellation_slot(
                    slot, boost::asio::bind_executor(
                              handler_executor,
                              [h = std::move(handler), executor](const std::exception_ptr& e,
                                                                 detail::Completed<T> c) mutable {
                                  Response status_response;
                                  std::error_code ec;
                                  if (e) ec = error_code_of(e, status_response);
                                  if (c.error) ec = error_code_of(c.error, status_response);
                                  if (ec) {
                                      std::move(h)(detail::asio_code(ec),
                                                   detail::failed_value<T>(
                                                       std::move(status_response), executor));
                                  } else {
                                      std::move(h)(boost::system::error_code{},
                                                   std::move(*c.value));
                                  }
                              })));
        }
    }
    /// launch() on the transport's executor (before connect(), on the handler's, where the
    /// operation fails with not_connected).
    template <class T, class Handler>
    void launch_on_transport(boost::asio::awaitable<T> operation, Handler handler) {
        std::optional<boost::asio::any_io_executor> ex = core_.bound_executor();
        if (!ex) ex = boost::asio::get_associated_executor(handler);
        launch(*ex, std::move(operation), std::move(handler));
    }
    /// The operation's value or its exception, so that a value type with no default (a
    /// ResponseStream) crosses co_spawn.
    template <class T>
    static boost::asio::awaitable<detail::Completed<T>> outcome_of(
        boost::asio::awaitable<T> operation) {
        detail::Completed<T> c;
        try {
            c.value.emplace(co_await std::move(operation));
        } catch (...) {
            c.error = std::current_exception();
        }
        co_return c;
    }
    /// What async_connect(token) runs when the transport has no executor of its own.
    static boost::asio::awaitable<void> no_executor() {
        throw_error(errc::not_connected,
                    "HTTPTransport::async_connect: the transport was made without an executor: "
                    "pass one to async_connect(executor, token)");
        co_return;
    }

    detail::Core core_;
    std::function<std::optional<Bytes>(const Response&)> response_handler_;
};

template <class M>
HttpMessage detail::to_http_message(const M& message) {
    if constexpr (std::is_same_v<M, HttpMessage>) {
        return message;
    } else {
        HttpMessage out;
        out.method = "POST";
        for (auto&& [name, value] : message.get_headers()) {
            out.headers.add(std::string(name), header_text(value));
        }
        if constexpr (std::is_convertible_v<decltype(message.get_payload()),
                                            const boost::json::value&>) {
            apply_json_payload(message.get_payload(), out);
        }
        if (!out.json && out.form.empty() && !out.content) {
            out.content = message.serialize();
            if (!out.headers.contains("Content-Type")) {
                out.headers.add("Content-Type", std::string(M::content_type));
            }
        }
        return out;
    }
}

} // namespace nector::http
