// An in-process, scriptable HTTP/1.1 server for tests (part of nector::testing, installed with
// nector; docs/testing.md): it listens on an ephemeral
// loopback port, runs a test-supplied coroutine per connection (which can send exact, malformed,
// slow or truncated bytes) and records every request it parses.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace nector::testing {

/// One request as the server parsed it.
struct RecordedRequest {
    std::string method;  ///< As sent, e.g. "GET".
    std::string target;  ///< As sent, e.g. "/path?q=1".
    std::string version; ///< "HTTP/1.1" or "HTTP/1.0".
    /// Header fields in the order received, names spelled as sent.
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;          ///< Payload with any chunked framing removed.
    std::string raw;           ///< The exact bytes of the request (head and framed body).
    std::size_t connection{0}; ///< TestConnection::index() of the connection it arrived on.

    /// Value of the first field named `name` (case-insensitive), or nullopt.
    std::optional<std::string> header(std::string_view name) const;
};

class TestServer;

/// One accepted connection, handed to the server's handler. Lives until the handler returns and
/// the connection is closed; all members must be called on the server thread (that is, from the
/// handler). After close() or reset() the other operations fail.
class TestConnection : public std::enable_shared_from_this<TestConnection> {
public:
    TestConnection(const TestConnection&) = delete;
    TestConnection& operator=(const TestConnection&) = delete;
    ~TestConnection();

    /// Parses the next request (Beast's request_parser<string_body>; head up to 1 MiB, body up
    /// to 1 GiB), appends it to the server's record and returns it. Returns nullopt when the peer
    /// closes the connection before sending any byte of a new request (TLS: with or without
    /// close_notify). Throws boost::system::system_error on malformed input, a request cut
    /// short, or a transport error. Bytes after the request stay buffered for the next call.
    boost::asio::awaitable<std::optional<RecordedRequest>> read_request();

    /// Writes exactly `bytes` (the caller keeps them alive until the write completes; a
    /// co_await on the call does). Throws boost::system::system_error.
    boost::asio::awaitable<void> write(std::string_view bytes);

    /// Waits `duration` on a steady_timer. Throws boost::system::system_error with
    /// operation_aborted when the server stops meanwhile.
    boost::asio::awaitable<void> delay(std::chrono::steady_clock::duration duration);

    /// Returns the bytes received so far that read_request() has not consumed, or, when there
    /// are none, the next chunk read from the socket (up to 64 KiB). Returns an empty string at
    /// end of stream. Throws boost::system::system_error on a transport error.
    boost::asio::awaitable<std::string> read_some_raw();

    /// Graceful close: the peer reads what was written, then end of stream. Plain TCP: FIN
    /// then close. TLS: a close_notify is sent at once and the TCP connection is closed when the
    /// peer answers it, or after one second. Idempotent.
    void close();

    /// Abortive close: SO_LINGER {1, 0} then close, so the peer sees ECONNRESET. Idempotent.
    void reset();

    /// TCP close with no TLS close_notify (a truncated TLS stream: the peer reads
    /// stream_truncated). Plain TCP: as close(). Idempotent.
    void cut();

    /// This connection's number in accept order, 0-based.
    int index() const { return static_cast<int>(index_); }

    /// The client's address, as the server sees it ("127.0.0.1"); empty once closed.
    std::string peer_address() const;

private:
    friend class TestServer;

    TestConnection(TestServer& server, boost::asio::ip::tcp::socket socket,
                   boost::asio::ssl::context& tls_context, bool tls, std::size_t index);

    boost::asio::awaitable<void> handshake();
    boost::asio::awaitable<void> graceful_close();
    boost::asio::awaitable<std::pair<boost::system::error_code, std::size_t>> read_some(
        boost::asio::mutable_buffer buffer);
    void abort() noexcept;

    TestServer& server_;
    boost::asio::ssl::stream<boost::asio::ip::tcp::socket> stream_;
    bool tls_;
    std::size_t index_;
    std::string pending_; // received, not yet consumed
    bool closed_{false};
};

/// Server certificate for TestServer's TLS mode; PEM files read once in the constructor.
struct TlsFiles {
    std::filesystem::path certificate_chain; ///< Leaf certificate first. Required.
    std::filesystem::path private_key;       ///< The leaf's private key. Required.
    /// The one application protocol the server accepts by ALPN ("h2", "http/1.1"): a client
    /// that offers it gets it; one that offers others is refused with the
    /// no_application_protocol alert. Empty: any offer is ignored (no ALPN answer).
    std::string alpn;
};

/// An HTTP/1.1 (or HTTPS/1.1) server on 127.0.0.1 with an ephemeral port, running its own
/// io_context on its own thread so a test can drive a client on the main thread.
///
/// Thread safety: the accessors may be called from any thread at any time.
class TestServer {
public:
    /// Run once per accepted connection, as a coroutine on the server thread. When it returns
    /// the connection is closed gracefully (unless the handler closed or reset it). What it
    /// throws is recorded in errors() and the connection is closed. The server keeps its copy of
    /// the handler until destruction, so a coroutine lambda's captures stay valid in every call.
    /// GCC 12: name a co_await result before testing it
    /// (`auto request = co_await c.read_request(); if (!request) co_return;`); a co_await
    /// inside an `if`/`while` condition crashes at run time.
    using Handler = std::function<boost::asio::awaitable<void>(TestConnection&)>;

    /// Starts a plain HTTP server. The port is bound and listening when this returns.
    /// Throws boost::system::system_error when it cannot listen.
    explicit TestServer(Handler handler);

    /// Starts an HTTPS server: each connection does the TLS handshake first (a failed handshake
    /// is recorded in errors() and the handler is not called), then runs the same handler.
    /// Throws boost::system::system_error when a file cannot be loaded or the port not bound.
    TestServer(Handler handler, const TlsFiles& tls);

    /// Closes the listener and every connection (pending delays included), stops and joins the
    /// server thread. Never waits for a handler to finish.
    ~TestServer();

    TestServer(const TestServer&) = delete;
    TestServer& operator=(const TestServer&) = delete;

    std::uint16_t port() const { return port_; }

    /// "http://127.0.0.1:PORT" + path ("https://..." in TLS mode); a '/' is added before a path
    /// that lacks it.
    std::string url(std::string_view path = "/") const;

    /// Every request read so far, in arrival order (a copy).
    std::vector<RecordedRequest> requests() const;

    /// Connections accepted so far (including ones whose TLS handshake failed).
    std::size_t connections() const;

    /// What handlers threw and failed TLS handshakes, one line each ("connection N: ...").
    std::vector<std::string> errors() const;

    /// TLS: the ALPN protocols offered by each client that offered any, in handshake
    /// order, comma-separated ("h2,http/1.1").
    std::vector<std::string> alpn_offers() const;

    /// Blocks until at least `count` requests have been recorded or `timeout` passes; returns
    /// whether they were.
    bool wait_for_requests(std::size_t count, std::chrono::steady_clock::duration timeout) const;

    /// Handler: answers every request on a connection with `raw_response` (bytes as given),
    /// keeping the connection open until the client closes it.
    static Handler respond(std::string raw_response);

    /// Handler: the Nth request this handler receives (across all connections, in arrival
    /// order) gets raw_responses[N]; past the end, the last one repeats. Keeps connections open
    /// like respond(). Throws std::invalid_argument when the list is empty.
    static Handler sequence(std::vector<std::string> raw_responses);

private:
    friend class TestConnection;

    TestServer(Handler handler, const TlsFiles* tls);
    boost::asio::awaitable<void> accept_loop();
    boost::asio::awaitable<void> serve(std::shared_ptr<TestConnection> connection);
    void record(RecordedRequest request);
    void record_error(std::size_t connection, std::string_view what);

    Handler handler_;
    bool tls_;
    boost::asio::ssl::context tls_context_;

    mutable std::mutex mutex_;
    mutable std::condition_variable requests_changed_;
    std::vector<RecordedRequest> requests_;
    std::vector<std::string> errors_;
    std::vector<std::string> alpn_offers_;
    std::string alpn_; // TlsFiles::alpn
    std::size_t connections_{0};
    std::atomic<bool> stopping_{false};

    boost::asio::io_context io_;
    boost::asio::ip::tcp::acceptor acceptor_;
    std::uint16_t port_{0};
    std::vector<std::weak_ptr<TestConnection>> live_; // server thread only
    std::thread thread_;
};

/// A complete HTTP/1.1 response: status line (`reason` defaults to the standard phrase, empty
/// for an unknown code), `headers` in order, a Content-Length for `body` unless `headers` has
/// Content-Length or Transfer-Encoding or the status is 1xx, 204 or 304, then `body` as given.
std::string http_response(int status, std::string_view body,
                          std::vector<std::pair<std::string, std::string>> headers = {},
                          std::string_view reason = "");

} // namespace nector::testing
