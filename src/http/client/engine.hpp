// The engine behind HTTPTransport: the composition root of a transport (options, default
// headers, pool, resilience registry, metrics) and the layers of a call, defined one layer a
// file: engine.cpp (construction, metrics), call.cpp (deadline, retries, breaker),
// redirects.cpp, attempt.cpp (pool lease, exchange, replay, streamed body), prepare.cpp.
// The client room may include every room below it (docs/architecture.md).
#pragma once

#include "http/dialer/dialer.hpp"
#include "http/message/body.hpp"
#include "http/pool/pool.hpp"
#include "nector/http/message.hpp"
#include "nector/http/metrics.hpp"
#include "nector/http/options.hpp"
#include "nector/http/resilience.hpp"
#include "nector/http/response.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

namespace nector::http::detail {

class ContentDecoder;
class Engine;

/// The body of a streamed response, still on its connection: its lease, the connection's
/// reader and the content decoder. Destroyed before the end, it abandons the transfer.
struct PendingBody {
    PendingBody(std::shared_ptr<Engine> e, Lease l, std::unique_ptr<BodyReader> r,
                std::unique_ptr<ContentDecoder> d, std::string c);
    ~PendingBody();
    PendingBody(const PendingBody&) = delete;
    PendingBody& operator=(const PendingBody&) = delete;

    /// The next decoded bytes (at most about `max`), or nullopt at the end of the body.
    boost::asio::awaitable<std::optional<std::string>> next(std::size_t max);

    std::shared_ptr<Engine> engine; // keeps the pool the lease points into
    Lease lease;
    std::unique_ptr<BodyReader> reader;
    std::unique_ptr<ContentDecoder> decoder;
    std::string context;
    Headers trailers; ///< once ended
    bool ended = false;
};

class Engine : public std::enable_shared_from_this<Engine> {
public:
    /// Validates `options` and builds the TLS context; ConfigurationError on a bad field.
    /// `resilience` holds the breakers and budgets (shared by a factory's transports); null
    /// makes the engine its own.
    Engine(Options options, std::shared_ptr<ResilienceRegistry> resilience);
    /// Not copied or moved: the dialer and the pool refer to the engine's options and limits.
    Engine(const Engine&) = delete;
    Engine& operator=(const Engine&) = delete;

    void bind(boost::asio::any_io_executor executor);
    /// One call. With `stream`, a successful final response comes back with its body left
    /// on the connection in `*stream` (responses to be retried, redirected or mapped to a
    /// status error are still read whole). `self` (this engine) is held by the call from
    /// the moment the awaitable is made.
    boost::asio::awaitable<Response> request(std::shared_ptr<Engine> self, HttpMessage&& message,
                                             std::unique_ptr<PendingBody>* stream = nullptr);
    void close() noexcept;

    Options options;
    std::optional<boost::asio::any_io_executor> executor;
    bool connected = false;
    std::deque<Response> completed;
    std::shared_ptr<ResilienceRegistry> resilience;
    Metrics metrics;

    Metrics snapshot() const;

private:
    /// A request ready for the wire: validated, URL resolved, headers merged, body encoded.
    struct Prepared {
        std::string method;
        Target target;
        /// The headers to send: the engine's merged defaults themselves (no copy) until the
        /// request adds or changes one, then its own.
        const Headers& headers() const noexcept { return own_headers ? *own_headers : *defaults; }
        Headers& mutable_headers() {
            if (!own_headers) own_headers = *defaults;
            return *own_headers;
        }
        const Headers* defaults = nullptr;
        std::optional<Headers> own_headers;
        std::string body;
        std::shared_ptr<const UploadBody> upload; ///< instead of `body`: sent piece by piece
        std::string context;                      ///< "METHOD URL" for messages
    };
    struct CallState {
        std::chrono::steady_clock::time_point started;
        std::size_t attempts = 0;
        int status = 0;                                 ///< of the last response, 0 if none
        std::unique_ptr<PendingBody>* stream = nullptr; ///< a streamed call's body
        std::string context;                            ///< "METHOD URL", once prepared
    };
    /// Throws not_connected unless connect() bound the engine to an executor.
    void check_connected(const HttpMessage& message) const;
    /// Not a coroutine, so that it may catch and rethrow with context (GCC 12).
    Prepared prepare(HttpMessage& message) const;
    /// The whole call, the request's one coroutine frame here: the request prepared, then
    /// retries around breaker-guarded attempts (docs/resilience.md). `outer` is the state
    /// a timed call reads (else the call keeps its own); `self` holds the engine.
    boost::asio::awaitable<Response> call(
        std::shared_ptr<Engine> self, HttpMessage message, std::unique_ptr<PendingBody>* stream,
        CallState* outer, std::optional<std::chrono::steady_clock::time_point> deadline);
    /// call() under Timeout::total.
    boost::asio::awaitable<Response> timed_call(std::shared_ptr<Engine> self, HttpMessage message,
                                                std::unique_ptr<PendingBody>* stream);
    /// Stamps `response` with the request's method and URL; true unless it is a redirect
    /// to follow.
    bool is_final(const Prepared& p, Response& response) const;
    /// The rest of an attempt whose first response, in `response`, is a redirect to
    /// follow: the exchanges it leads to, the last one's response left in `response`.
    /// `sent` turns true once a request byte may have reached a server.
    boost::asio::awaitable<void> redirects(const Prepared& p, Response& response, bool& sent,
                                           std::unique_ptr<PendingBody>* stream);
    /// One exchange (replayed once on a stale connection or a refused stream), its
    /// response written into `response`, which starts empty.
    boost::asio::awaitable<void> exchange(const Prepared& p, bool& sent,
                                          std::unique_ptr<PendingBody>* stream, Response& response);
    /// Decodes a whole buffered body per its Content-Encoding (when decode_content is on),
    /// bounded by max_response_bytes.
    void decode(Response& response, std::string_view context) const;
    /// Runs the on_response hook on a final response.
    void finish(Response& response);
    struct Outcome {
        std::optional<Response> response;
        std::exception_ptr error;
    };
    /// `operation`'s result or exception, as a value.
    static boost::asio::awaitable<Outcome> outcome_of(boost::asio::awaitable<Response> operation);
    void record_call(std::chrono::steady_clock::time_point started, int status) noexcept;

    /// An origin's breaker and retry budget from the registry (which keeps them for its
    /// lifetime), looked up once per origin rather than once per call.
    struct OriginResilience {
        std::string key; ///< the registry's spelling, "http://host:port"
        std::shared_ptr<CircuitBreaker> breaker;
        std::shared_ptr<RetryBudget> budget;
    };
    struct OriginHash {
        std::size_t operator()(const Origin& o) const noexcept {
            return std::hash<std::string>{}(o.host) ^ (std::size_t{o.port} << 1 | (o.tls ? 1 : 0));
        }
    };
    const OriginResilience& resilience_of(const Origin& origin);

    /// Made with the engine (so that TLS files are checked at once), handed to the pool
    /// when the engine is bound to an executor.
    std::unique_ptr<NetworkDialer> dialer_;
    WireLimits wire_limits_;  ///< the options as the wire sees them
    Headers default_headers_; ///< options.headers with User-Agent, Accept, Accept-Encoding
    bool defaults_valid_ = false;
    std::unordered_map<Origin, OriginResilience, OriginHash> resilience_of_; // nodes stay put
    std::unique_ptr<Pool> pool_;
};

} // namespace nector::http::detail
