// The compiled, message-independent part of HTTPTransport and the helpers its template needs.
// Not part of the API: HTTPTransport<M> (nector/http/transport.hpp) is.
#pragma once

#include "nector/http/message.hpp"
#include "nector/http/metrics.hpp"
#include "nector/http/options.hpp"
#include "nector/http/resilience.hpp"
#include "nector/http/response.hpp"
#include "nector/http/stream.hpp"
#include "nector/transport/protocol.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/json/value.hpp>
#include <boost/system/error_code.hpp>

#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

namespace nector::http::detail {

class Engine;

/// The breakers and budgets of a transport made without a factory.
std::shared_ptr<ResilienceRegistry> make_resilience(const Options& options);

/// The compiled, message-independent part of HTTPTransport: options, connection pool,
/// TLS context and the queue of completed exchanges. Movable; not copyable.
class Core {
public:
    /// Validates `options` (ConfigurationError naming the field). The executor is taken
    /// from the coroutine that calls connect().
    /// `resilience`: breakers and budgets shared with other transports (null: its own).
    explicit Core(Options options, std::shared_ptr<ResilienceRegistry> resilience = nullptr);
    /// As above, bound to `executor` from the start.
    Core(const boost::asio::any_io_executor& executor, Options options,
         std::shared_ptr<ResilienceRegistry> resilience = nullptr);
    Core(Core&&) noexcept;
    Core& operator=(Core&&) noexcept;
    ~Core();

    boost::asio::awaitable<void> connect();
    boost::asio::awaitable<void> disconnect();
    bool is_connected() const noexcept;
    /// One call: pool, connection, exchange, redirects, status mapping. Not a coroutine:
    /// `message` moves once, into the call.
    boost::asio::awaitable<Response> request(HttpMessage&& message);
    /// request(), but the final response's body is left to read as it arrives.
    boost::asio::awaitable<ResponseStream> stream(HttpMessage message);
    /// Closes every connection now; in-flight exchanges fail. Safe to call twice.
    void close() noexcept;

    /// The executor (ConnectionError not_connected before connect()).
    boost::asio::any_io_executor executor() const;
    /// The executor the transport is bound to (made with, or connected on), if any.
    std::optional<boost::asio::any_io_executor> bound_executor() const;
    /// A stream of a response read whole (what a failed async_stream hands its handler).
    static ResponseStream stream_of(Response response, boost::asio::any_io_executor executor);
    const Options& options() const noexcept;
    Metrics metrics() const;

    /// The send()/receive() queue: completed exchanges, oldest first.
    void push_completed(Response response);
    std::optional<Response> pop_completed();

private:
    std::shared_ptr<Engine> engine_;
};

/// An operation's value, or the exception that ended it (the completion-token forms).
template <class T>
struct Completed {
    std::optional<T> value;
    std::exception_ptr error;
};

/// `ec` as the completion-token forms hand it to Asio (success stays the empty code).
inline boost::system::error_code asio_code(const std::error_code& ec) {
    return ec ? boost::system::error_code(ec) : boost::system::error_code{};
}

/// What a completion handler of a failed operation is handed beside its error code:
/// `response` is the status error's response (else empty).
template <class T>
T failed_value(Response response, const boost::asio::any_io_executor& executor) {
    if constexpr (std::is_same_v<T, Response>) {
        return response;
    } else if constexpr (std::is_same_v<T, ResponseStream>) {
        return Core::stream_of(std::move(response), executor);
    } else {
        return T{}; // std::optional<M>: nullopt
    }
}

/// The HTTP request a message of type M stands for (TDS-4 _prepare_request): an
/// HttpMessage as itself; any other message as POST to base_url carrying its serialized
/// bytes and Content-Type M::content_type, except that a JSON object payload may name
/// "method", "url", "params", "json" and "data" (form) as in the seed.
template <class M>
HttpMessage to_http_message(const M& message);

/// Header values of generic messages: strings as they are, other JSON as its text.
std::string header_text(const boost::json::value& value);
inline std::string header_text(std::string_view value) { return std::string(value); }

/// The seed's _prepare_request for a JSON payload object.
void apply_json_payload(const boost::json::value& payload, HttpMessage& out);

} // namespace nector::http::detail
