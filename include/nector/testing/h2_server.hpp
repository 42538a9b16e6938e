// An in-process, scriptable HTTP/2 server for tests (part of nector::testing, docs/testing.md),
// built on nghttp2's server session: it listens on an ephemeral loopback port (h2c with prior
// knowledge, or TLS with ALPN "h2"), records every request and every RST_STREAM, GOAWAY and PING
// the client sends, and lets a test-supplied handler decide each stream's fate (answer, refuse,
// reset, GOAWAY, close the connection, ignore), optionally after a delay that holds up no other
// stream.
#pragma once

#include "nector/testing/test_server.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace nector::testing {

namespace detail {
struct H2ServerState;
} // namespace detail

/// HTTP/2 error codes (RFC 9113 section 7), as sent in RST_STREAM and GOAWAY.
enum class H2Error : std::uint32_t {
    no_error = 0x0,
    protocol_error = 0x1,
    internal_error = 0x2,
    flow_control_error = 0x3,
    settings_timeout = 0x4,
    stream_closed = 0x5,
    frame_size_error = 0x6,
    refused_stream = 0x7,
    cancel = 0x8,
    compression_error = 0x9,
    connect_error = 0xa,
    enhance_your_calm = 0xb,
    inadequate_security = 0xc,
    http_1_1_required = 0xd,
};

/// Header fields in order, as (name, value).
using H2Fields = std::vector<std::pair<std::string, std::string>>;

/// One complete request (END_STREAM received) as the server decoded it.
struct H2Request {
    std::string method;    ///< :method
    std::string scheme;    ///< :scheme
    std::string authority; ///< :authority (empty when absent)
    std::string path;      ///< :path
    H2Fields headers;      ///< Regular fields in the order received (HTTP/2 names are lower-case).
    std::string body;      ///< DATA payloads concatenated.
    H2Fields trailers;     ///< Fields of a trailing HEADERS frame, if any.
    std::int32_t stream_id{0};
    std::size_t connection{0}; ///< The connection's number in accept order, 0-based.

    /// Value of the first regular field named `name` (case-insensitive), or nullopt.
    std::optional<std::string> header(std::string_view name) const;
};

/// What the server does with one request. An aggregate: fill it with designated initializers or
/// use the static helpers.
struct H2Action {
    enum class Kind {
        respond, ///< HEADERS (+ DATA) (+ trailing HEADERS) with status, headers, body, trailers.
        refuse,  ///< RST_STREAM REFUSED_STREAM.
        reset,   ///< RST_STREAM with `error`.
        /// GOAWAY with `last_stream_id` and `error`; then, when `answer_after_goaway` and the
        /// stream is not above last_stream_id, answers it like `respond`. Streams above
        /// last_stream_id are never answered afterwards, and new streams are ignored (nghttp2).
        goaway,
        close,  ///< Closes the TCP connection at once: no GOAWAY, no close_notify.
        ignore, ///< Never answers this stream.
    };

    Kind kind = Kind::respond; ///< Default: respond.
    int status = 200;          ///< :status of the answer. Default 200.
    H2Fields headers;          ///< Response fields, sent as given.
    std::string body;          ///< Response DATA. Default empty.
    H2Fields trailers;         ///< Sent as a trailing HEADERS frame if not empty.
    std::chrono::steady_clock::duration delay{0}; ///< Wait on a timer before acting. Default 0.
    H2Error error = H2Error::no_error;            ///< reset, goaway: the error code.
    /// goaway: the last stream id to announce; nullopt (default) means this request's stream.
    std::optional<std::int32_t> last_stream_id;
    bool answer_after_goaway = false; ///< goaway: also answer this stream. Default false.
    /// Adds `content-length: body.size()` unless `headers` has a content-length or the status
    /// is 1xx, 204 or 304. Default true.
    bool content_length = true;
    /// goaway: the GOAWAY frame's debug data. Default none.
    std::string goaway_debug;

    /// An answer with `status`, `body` and `headers`.
    static H2Action respond(int status, std::string body = {}, H2Fields headers = {});
    static H2Action refuse();
    static H2Action reset(H2Error error);
    /// GOAWAY announcing this request's stream as the last one, leaving it unanswered (set
    /// answer_after_goaway and the response fields to answer it too).
    static H2Action goaway(H2Error error);
    static H2Action close();
    static H2Action ignore();
};

/// An RST_STREAM the client sent.
struct H2Reset {
    std::int32_t stream_id{0};
    H2Error error{H2Error::no_error};
    std::size_t connection{0};
};

/// A GOAWAY the client sent.
struct H2GoAway {
    std::int32_t last_stream_id{0};
    H2Error error{H2Error::no_error};
    std::size_t connection{0};
};

/// Server-wide settings for H2TestServer; validated by its constructor.
struct H2ServerOptions {
    /// SETTINGS_MAX_CONCURRENT_STREAMS announced to the client. Default 100. nghttp2 refuses a
    /// stream above it (REFUSED_STREAM) while the SETTINGS are unacknowledged, and treats one
    /// above it afterwards as a connection error (GOAWAY PROTOCOL_ERROR, see errors()).
    std::uint32_t max_concurrent_streams = 100;
    /// SETTINGS_INITIAL_WINDOW_SIZE announced to the client (its send window per stream).
    /// Default 65535, the protocol's default; at most 2^31-1.
    std::uint32_t initial_window_size = 65535;
    /// false: PINGs are counted but never acknowledged. Default true.
    bool answer_pings = true;
    /// The handler runs only once this many complete requests are pending on a connection,
    /// then for each of them in stream-id order. Default 1 (at once). At least 1.
    std::size_t batch = 1;
    /// When set, a batch is dispatched in this order (a "less than" on the requests) instead
    /// of stream-id order: with `batch`, answers go out in an order the test chooses, with no
    /// timer. Default unset.
    std::function<bool(const H2Request&, const H2Request&)> batch_order;
    /// TLS with these files, ALPN "h2" only (TlsFiles::alpn is not used): a client that
    /// offers ALPN without h2 fails the handshake. Default none (h2c, prior knowledge).
    std::optional<TlsFiles> tls;
};

/// An HTTP/2 server on 127.0.0.1 with an ephemeral port, running nghttp2 on its own io_context
/// and thread. Requests are dispatched once complete (no early responses).
///
/// Thread safety: the accessors may be called from any thread at any time. The handler runs on
/// the server thread; what it shares with the test needs its own synchronisation.
class H2TestServer {
public:
    /// Decides each request's fate. Exceptions it throws are recorded in errors() and the
    /// stream is reset with INTERNAL_ERROR.
    using Handler = std::function<H2Action(const H2Request&)>;

    /// Listens (bound when this returns) and starts the server thread. An empty handler means
    /// hello_or_echo. Throws std::invalid_argument for invalid options, std::runtime_error when
    /// the TLS files cannot be loaded, boost::system::system_error when it cannot listen.
    explicit H2TestServer(Handler handler = {}, const H2ServerOptions& options = {});

    /// Closes the listener and every connection (pending delays included), stops and joins the
    /// server thread.
    ~H2TestServer();

    H2TestServer(const H2TestServer&) = delete;
    H2TestServer& operator=(const H2TestServer&) = delete;

    std::uint16_t port() const;

    /// "http://127.0.0.1:PORT" + path ("https://..." with tls); a '/' is added before a path
    /// that lacks it.
    std::string url(std::string_view path = "/") const;

    /// Every complete request so far, in completion order (a copy).
    std::vector<H2Request> requests() const;
    /// Connections accepted so far (including ones whose TLS handshake failed).
    std::size_t connections_accepted() const;
    /// PING frames received (acknowledgements excluded).
    std::size_t pings_received() const;
    /// RST_STREAM frames received, in arrival order.
    std::vector<H2Reset> resets_received() const;
    /// GOAWAY frames received, in arrival order.
    std::vector<H2GoAway> goaways_received() const;
    /// Protocol errors nghttp2 reported, failed TLS handshakes and handler exceptions, one line
    /// each ("connection N: ...").
    std::vector<std::string> errors() const;

    /// Block until at least `count` of the thing have been recorded or `timeout` passes;
    /// return whether they were.
    bool wait_for_requests(std::size_t count, std::chrono::steady_clock::duration timeout) const;
    bool wait_for_resets(std::size_t count, std::chrono::steady_clock::duration timeout) const;
    bool wait_for_goaways(std::size_t count, std::chrono::steady_clock::duration timeout) const;
    bool wait_for_pings(std::size_t count, std::chrono::steady_clock::duration timeout) const;

    /// The default handler: 200 echoing the request body, or "hello\n" when it is empty.
    static H2Action hello_or_echo(const H2Request& request);

private:
    std::unique_ptr<detail::H2ServerState> state_;
};

} // namespace nector::testing
