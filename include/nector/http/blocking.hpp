// BlockingClient: HTTPTransport for code without coroutines (like reqwest::blocking and
// httpx.Client): calls block the calling thread and throw the transport's typed errors.
#pragma once

#include "nector/http/message.hpp"
#include "nector/http/metrics.hpp"
#include "nector/http/options.hpp"
#include "nector/http/resilience.hpp"
#include "nector/http/response.hpp"
#include "nector/http/stream_text.hpp"

#include <boost/json/value.hpp>

#include <memory>
#include <optional>
#include <string>

namespace nector::http {

namespace detail {
struct BlockingState;
struct BlockingStreamState;
} // namespace detail

class BlockingStream;

/// An HTTP client whose calls block. It owns an io_context run by one background thread,
/// and an HTTPTransport (connected when the client is made) on it; every call runs there
/// and the calling thread waits for its outcome.
///
/// Errors: the same typed exceptions as HTTPTransport::request() (HTTPStatusError
/// subclasses, ConnectionError, ConnectionTimeoutError, TLSError, ...), thrown in the
/// calling thread.
///
/// Threads: every member may be called from any number of threads at once; the calls share
/// the transport's connection pool (HTTP/2 connections are multiplexed) and resilience.
///
/// Shutdown: close() (or the destructor) makes later calls throw ConnectionError
/// (not_connected) and ends calls in flight with the same error, saying the client was
/// closed while the call was in flight; then every connection is closed. The destructor
/// also joins the background thread. A BlockingStream may outlive its client: its reads
/// then throw the same error.
class BlockingClient {
public:
    /// Validates `options` (ConfigurationError naming a bad field, in the calling thread)
    /// and starts the background thread.
    explicit BlockingClient(Options options = {});
    /// Shares the breakers and budgets of `resilience`, as HTTPTransportFactory does.
    BlockingClient(Options options, std::shared_ptr<ResilienceRegistry> resilience);
    ~BlockingClient();
    BlockingClient(const BlockingClient&) = delete;
    BlockingClient& operator=(const BlockingClient&) = delete;

    /// One request; returns the final Response (redirects followed, history kept).
    Response request(HttpMessage message);
    Response get(std::string url, Headers headers = {});
    Response head(std::string url, Headers headers = {});
    Response del(std::string url, Headers headers = {});
    /// POST/PUT/PATCH with a JSON body.
    Response post(std::string url, boost::json::value body, Headers headers = {});
    Response put(std::string url, boost::json::value body, Headers headers = {});
    Response patch(std::string url, boost::json::value body, Headers headers = {});

    /// As HTTPTransport::stream(): returns once the final response's head has arrived; the
    /// body is read from the BlockingStream as it arrives.
    BlockingStream stream(HttpMessage message);

    /// Ends the client as the class comment says. Idempotent; returns once every
    /// connection is closed.
    void close();
    bool is_closed() const noexcept;

    /// The transport's validated options.
    const Options& options() const noexcept;
    /// The transport's counters.
    Metrics metrics() const;

private:
    std::shared_ptr<detail::BlockingState> state_;
};

/// A streamed response of a BlockingClient: reads block. One stream is not to be used from
/// two threads at once. Destroying it before the end abandons the transfer, as
/// ResponseStream does.
class BlockingStream {
public:
    BlockingStream(BlockingStream&&) noexcept;
    BlockingStream& operator=(BlockingStream&&) noexcept;
    ~BlockingStream();

    /// Status, headers, version, URL, history; trailers once the body has ended.
    const Response& response() const noexcept;
    int status() const noexcept;
    const Headers& headers() const noexcept;

    /// The next chunk of the body, or nullopt at its end (ResponseStream::next()).
    std::optional<std::string> next();
    /// The rest of the body (ResponseStream::read_all()).
    std::string read_all();
    /// The next line of the body, its terminator removed, or nullopt at the end (lines
    /// longer than 1 MiB throw, as ResponseStream::lines() does). Do not mix with next().
    std::optional<std::string> next_line();
    /// The next Server-Sent Event, or nullopt at the end (ResponseStream::events()). Do
    /// not mix with next() or next_line().
    std::optional<ServerSentEvent> next_event();
    /// The whole body has been read.
    bool done() const noexcept;

private:
    friend class BlockingClient;
    BlockingStream(std::shared_ptr<detail::BlockingState> client,
                   std::shared_ptr<detail::BlockingStreamState> state);

    std::shared_ptr<detail::BlockingState> client_;
    std::shared_ptr<detail::BlockingStreamState> state_;
};

} // namespace nector::http
