#include "http/engine.hpp"

#include "detail/base64.hpp"
#include "http/body.hpp"
#include "http/decode.hpp"
#include "http/http1.hpp"
#include "http/http2.hpp"
#include "http/tls.hpp"
#include "http/url.hpp"
#include "nector/http/errors.hpp"
#include "nector/http/resilience.hpp"
#include "nector/http/retry.hpp"
#include "nector/http/transport.hpp"
#include "nector/transport/errors.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <openssl/ssl.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <string>

namespace nector::http::detail {
namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;
using SteadyClock = std::chrono::steady_clock;

namespace {

constexpr auto nothrow = asio::as_tuple(asio::use_awaitable);

[[noreturn]] void bad_option(const std::string& what) {
    throw ConfigurationError(errc::invalid_configuration, "HTTPTransport options: " + what);
}

// The error code of a nector (or any std::system_error) exception. A plain function:
// jumping out of a catch block inside a coroutine corrupts GCC 12's exception state.
std::error_code code_of(const std::exception_ptr& e) {
    try {
        std::rethrow_exception(e);
    } catch (const std::system_error& error) {
        return error.code();
    } catch (...) {
        return {};
    }
}

std::string basic_credentials(std::string_view userinfo) {
    return "Basic " + nector::detail::base64_encode(as_bytes(userinfo));
}

void validate(const Options& o) {
    if (!o.base_url.empty()) {
        try {
            (void)make_target(o.base_url, "");
        } catch (const TransportError& e) {
            bad_option(std::string("base_url: ") + e.what());
        }
    }
    const std::array<std::pair<const char*, Duration>, 4> phases{{{"connect", o.timeout.connect},
                                                                  {"read", o.timeout.read},
                                                                  {"write", o.timeout.write},
                                                                  {"pool", o.timeout.pool}}};
    for (const auto& [name, d] : phases) {
        if (d <= Duration::zero()) bad_option(std::string("timeout.") + name + " must be positive");
    }
    if (o.timeout.total < Duration::zero()) bad_option("timeout.total must not be negative");
    if (o.limits.max_connections == 0) bad_option("limits.max_connections must be at least 1");
    if (o.limits.max_connections_per_origin == 0) {
        bad_option("limits.max_connections_per_origin must be at least 1");
    }
    if (o.max_header_bytes < 1024 || o.max_header_bytes > 0xffffffffU) {
        bad_option("max_header_bytes must be between 1 KiB and 4 GiB");
    }
    if (o.max_header_count == 0) bad_option("max_header_count must be at least 1");
    const Http2Settings& h2 = o.http2_settings;
    if (h2.stream_window == 0 || h2.stream_window > 0x7fffffffU) {
        bad_option("http2_settings.stream_window must be between 1 and 2^31-1");
    }
    if (h2.connection_window < 65535 || h2.connection_window > 0x7fffffffU) {
        bad_option("http2_settings.connection_window must be between 65535 and 2^31-1");
    }
    if (h2.max_concurrent_streams == 0) {
        bad_option("http2_settings.max_concurrent_streams must be at least 1");
    }
    if (h2.ping_interval < Duration::zero()) {
        bad_option("http2_settings.ping_interval must not be negative");
    }
    if (h2.ping_interval > Duration::zero() && h2.ping_timeout <= Duration::zero()) {
        bad_option("http2_settings.ping_timeout must be positive");
    }
    for (const auto& [name, value] : o.headers) {
        try {
            validate_header(name, value);
        } catch (const TransportError& e) {
            bad_option(std::string("headers: ") + e.what());
        }
    }
}

} // namespace

Engine::Engine(Options o, std::shared_ptr<ResilienceRegistry> shared)
    : options(std::move(o)), resilience(std::move(shared)) {
    validate(options);
    http::validate(options.retry);
    http::validate(options.circuit_breaker);
    if (!resilience) resilience = make_resilience(options);
    // TLS files and PEM given in the options are loaded (and so checked) now. Without
    // them the context waits for the first https:// connection: an OpenSSL context and
    // the system CA store cost a few megabytes that a plain-HTTP transport never needs.
    const TlsOptions& t = options.tls;
    if (!t.ca_file.empty() || !t.ca_pem.empty() || !t.cert_file.empty() || !t.key_file.empty() ||
        !t.cert_pem.empty() || !t.key_pem.empty()) {
        tls_ = make_tls_context(options);
    }
    // Every request starts from the transport's headers and the defaults nector adds.
    default_headers_ = options.headers;
    default_headers_.erase("Content-Length");
    default_headers_.erase("Transfer-Encoding");
    if (!options.user_agent.empty() && !default_headers_.contains("User-Agent")) {
        default_headers_.set("User-Agent", options.user_agent);
    }
    if (!default_headers_.contains("Accept")) default_headers_.set("Accept", "*/*");
    if (options.decode_content && !default_headers_.contains("Accept-Encoding")) {
        default_headers_.set("Accept-Encoding", std::string(accept_encoding()));
    }
    try {
        for (const auto& [name, value] : default_headers_) validate_header(name, value);
        defaults_valid_ = true;
    } catch (const TransportError&) {
        defaults_valid_ = false; // each request reports it (a bad user_agent, say)
    }
}

asio::ssl::context& Engine::tls_context() {
    if (!tls_) tls_ = make_tls_context(options);
    // Before the first TLS stream is made from the context: the store is not changed while
    // connections use it.
    if (!system_store_loaded_ && uses_system_store(options)) {
        load_system_store(*tls_);
        system_store_loaded_ = true;
    }
    return *tls_;
}

void Engine::bind(asio::any_io_executor ex) {
    if (executor) return;
    executor = ex;
    pool_ = std::make_unique<Pool>(
        ex, options.limits, options.timeout.pool,
        [this](const Origin& origin, Timings& timings, std::string_view context) {
            return open(origin, timings, context);
        },
        [this](const Origin& origin) {
            return options.http2_prior_knowledge || (origin.tls && options.http2);
        });
}

void Engine::close() noexcept {
    connected = false;
    completed.clear();
    if (pool_) pool_->close_all();
}

asio::awaitable<std::shared_ptr<Connection>> Engine::open(const Origin& origin, Timings& timings,
                                                          std::string_view context) {
    auto ex = co_await asio::this_coro::executor;
    const auto started = SteadyClock::now();
    const std::string where = origin.host + ":" + std::to_string(origin.port);
    std::vector<tcp::endpoint> endpoints;
    boost::system::error_code parse_error;
    const auto address = asio::ip::make_address(origin.host, parse_error);
    if (!parse_error) {
        endpoints.emplace_back(address, origin.port);
    } else {
        using namespace asio::experimental::awaitable_operators;
        tcp::resolver resolver(ex);
        asio::steady_timer timer(ex, options.timeout.connect);
        auto result =
            co_await (resolver.async_resolve(origin.host, std::to_string(origin.port), nothrow) ||
                      timer.async_wait(nothrow));
        if (result.index() == 1) {
            throw_error(errc::connect_timeout, std::string(context) + ": name lookup of \"" +
                                                   origin.host +
                                                   "\" took longer than the connect timeout");
        }
        auto [ec, results] = std::get<0>(std::move(result));
        if (ec == asio::error::operation_aborted) {
            throw_error(errc::cancelled, std::string(context) + ": cancelled during name lookup");
        }
        if (ec) {
            throw_error(errc::name_resolution_failed, std::string(context) + ": name lookup of \"" +
                                                          origin.host +
                                                          "\" failed: " + ec.message());
        }
        for (const auto& entry : results) endpoints.push_back(entry.endpoint());
    }
    timings.dns = SteadyClock::now() - started;

    const auto connect_started = SteadyClock::now();
    beast::tcp_stream stream(ex);
    boost::system::error_code last;
    for (const auto& endpoint : endpoints) {
        stream.expires_after(options.timeout.connect);
        auto [ec] = co_await stream.async_connect(endpoint, nothrow);
        if (!ec) {
            last = {};
            break;
        }
        last = ec;
        stream.close();
        if (ec == asio::error::operation_aborted) break;
    }
    if (last) {
        const std::string detail = std::string(context) + ": connecting to " + where;
        if (last == beast::error::timeout) {
            throw_error(errc::connect_timeout, detail + ": no answer within the connect timeout");
        }
        if (last == asio::error::operation_aborted)
            throw_error(errc::cancelled, detail + ": cancelled");
        if (last == asio::error::connection_refused) {
            throw_error(errc::connection_refused, detail + ": " + last.message());
        }
        throw_error(errc::connection_failed, detail + ": " + last.message());
    }
    stream.expires_never();
    stream.socket().set_option(tcp::no_delay(true));
    timings.connect = SteadyClock::now() - connect_started;
    ++metrics.connections_opened;

    if (!origin.tls) {
        if (options.http2_prior_knowledge) {
            co_return make_http2_connection(std::move(stream), options);
        }
        co_return std::make_shared<Http1Connection<beast::tcp_stream>>(std::move(stream));
    }
    const auto tls_started = SteadyClock::now();
    TlsStream tls(std::move(stream), tls_context());
    co_await tls_handshake(tls, origin.host, options, context);
    timings.tls = SteadyClock::now() - tls_started;
    if (negotiated_h2(tls)) co_return make_http2_connection(std::move(tls), options);
    co_return std::make_shared<Http1Connection<TlsStream>>(std::move(tls));
}

namespace {

// The response's Content-Encoding (several fields joined), or empty.
std::string content_encoding(const Response& r) {
    std::string joined;
    for (const std::string_view value : r.headers.get_all("Content-Encoding")) {
        if (!joined.empty()) joined += ", ";
        joined += value;
    }
    return joined;
}

std::unique_ptr<ContentDecoder> decoder_for(const Options& options, const Response& r,
                                            std::size_t limit, std::string_view context) {
    if (!options.decode_content) return nullptr;
    const std::string coding = content_encoding(r);
    if (coding.empty()) return nullptr;
    return ContentDecoder::make(coding, limit,
                                std::string(context) + ": reading the response body");
}

} // namespace

void Engine::decode(Response& response, std::string_view context) const {
    auto decoder = decoder_for(options, response, options.max_response_bytes, context);
    if (!decoder) return;
    std::string decoded;
    decoder->feed(response.body, decoded);
    decoder->finish(decoded);
    response.body = std::move(decoded);
}

PendingBody::PendingBody(std::shared_ptr<Engine> e, Lease l, std::unique_ptr<BodyReader> r,
                         std::unique_ptr<ContentDecoder> d, std::string c)
    : engine(std::move(e)),
      lease(std::move(l)),
      reader(std::move(r)),
      decoder(std::move(d)),
      context(std::move(c)) {}

PendingBody::~PendingBody() {
    reader.reset(); // before the end this abandons the transfer; the lease then closes
}

asio::awaitable<std::optional<std::string>> PendingBody::next(std::size_t max) {
    std::string out;
    while (!ended && out.empty()) {
        std::string raw;
        const bool more = co_await reader->read(raw, max);
        if (!more) {
            ended = true;
            trailers = reader->trailers();
            if (decoder) decoder->finish(out);
            ++lease->exchanges;
            lease.release(reader->keep_alive());
            break;
        }
        if (decoder) {
            decoder->feed(raw, out);
        } else {
            out = std::move(raw);
        }
    }
    if (out.empty()) co_return std::nullopt;
    co_return out;
}

asio::awaitable<void> Engine::exchange(const Prepared& p, bool& sent,
                                       std::unique_ptr<PendingBody>* stream, Response& response) {
    const std::string_view method = p.method;
    const Target& target = p.target;
    const std::string_view context = p.context;
    // A producer body goes out once: no replay of it.
    const bool replayable = !p.upload || p.upload->replayable();
    bool replayed_stale = false;
    bool replayed_refused = false;
    for (bool first = true;; first = false) {
        if (!first) response = Response{}; // a replay starts afresh
        const auto started = SteadyClock::now();
        Timings timings;
        // Most calls find a pooled connection: no coroutine for that.
        Lease lease = pool_->try_acquire(target.origin);
        if (!lease) lease = co_await pool_->acquire(target.origin, timings, context);
        const bool reused = lease->exchanges > 0;
        Exchange ex{.method = method,
                    .target = &target,
                    .headers = &p.headers(),
                    .body = p.body,
                    .upload = p.upload,
                    .options = &options,
                    .context = context,
                    .response = response,
                    .stream = stream != nullptr};
        std::exception_ptr failure;
        sent = true; // from here on the server may have seen (part of) the request
        try {
            co_await lease->exchange(ex);
        } catch (const TransportError&) {
            failure = std::current_exception();
        }
        if (failure) {
            lease.release(false);
            // A reused keep-alive connection the server had already closed: nothing of the
            // request was processed, so an idempotent request is replayed once, fresh.
            if (replayable && reused && !replayed_stale && !ex.refused && !ex.response_started &&
                is_idempotent(method) && code_of(failure) == condition::network) {
                replayed_stale = true;
                ++metrics.replays;
                continue;
            }
            // HTTP/2 streams the server did not process (REFUSED_STREAM, or above a
            // GOAWAY's last stream id) are replayed once, whatever the method.
            if (replayable && ex.refused && !replayed_refused) {
                replayed_refused = true;
                ++metrics.replays;
                continue;
            }
            std::rethrow_exception(failure);
        }
        if (ex.body_reader) {
            const Response& r = ex.response;
            const bool redirect =
                options.follow_redirects && r.is_redirect() && r.headers.contains("Location");
            if (r.status < 400 && !redirect) { // the body streams to the caller
                timings.first_byte = r.timings.first_byte;
                timings.total = SteadyClock::now() - started;
                ex.response.timings = timings;
                *stream = std::make_unique<PendingBody>(
                    shared_from_this(), std::move(lease), std::move(ex.body_reader),
                    decoder_for(options, ex.response, options.max_decoded_bytes, context),
                    std::string(context));
                co_return;
            }
            // Read whole: it is retried, redirected or becomes a status error.
            for (;;) {
                const bool more = co_await ex.body_reader->read(ex.response.body, 64 * 1024);
                if (!more) break;
                if (ex.response.body.size() > options.max_response_bytes) {
                    throw_error(errc::body_too_large,
                                std::string(context) +
                                    ": reading the response: the body exceeds max_response_bytes");
                }
            }
            ex.keep_alive = ex.body_reader->keep_alive();
            ex.response.trailers = ex.body_reader->trailers();
        }
        ++lease->exchanges;
        lease.release(ex.keep_alive);
        decode(ex.response, context);
        timings.first_byte = ex.response.timings.first_byte;
        timings.total = SteadyClock::now() - started;
        ex.response.timings = timings;
        co_return;
    }
}

namespace {

// `e`'s message without the code's message that std::system_error appends.
std::string bare_message(const std::system_error& e) {
    std::string what = e.what();
    const std::string suffix = ": " + e.code().message();
    if (what.size() >= suffix.size() && what.ends_with(suffix))
        what.resize(what.size() - suffix.size());
    return what;
}

} // namespace

Engine::Prepared Engine::prepare(HttpMessage& message) const {
    Prepared p;
    try {
        validate_method(message.method);
        p.method = message.method;
        p.target = message.params.empty()
                       ? make_target(options.base_url, message.url)
                       : make_target(options.base_url, append_query(message.url, message.params));
        p.context = p.method + " " + p.target.url;
        // Only multipart bodies need a (random) boundary.
        const std::string boundary = message.files.empty() ? std::string() : make_boundary();
        std::optional<UploadBody> upload = encode_upload(message, boundary);
        std::optional<EncodedBody> body;
        if (!upload) body = encode_body(message, boundary);
        const std::string_view content_type = upload ? std::string_view(upload->content_type)
                                              : body ? std::string_view(body->content_type)
                                                     : std::string_view();
        // The transport's headers and defaults were merged once (see Engine::Engine).
        p.defaults = &default_headers_;
        if (!message.headers.empty()) {
            Headers& headers = p.mutable_headers();
            for (const auto& [name, value] : message.headers) headers.set(name, value);
            headers.erase("Content-Length");
            headers.erase("Transfer-Encoding");
        }
        if (!content_type.empty() && !p.headers().contains("Content-Type")) {
            p.mutable_headers().set("Content-Type", std::string(content_type));
        }
        if (!p.target.userinfo.empty() && !p.headers().contains("Authorization")) {
            p.mutable_headers().set("Authorization", basic_credentials(p.target.userinfo));
        }
        if (defaults_valid_) {
            for (const auto& [name, value] : message.headers) validate_header(name, value);
        } else {
            for (const auto& [name, value] : p.headers()) validate_header(name, value);
        }
        if (p.method == "TRACE" && (upload || (body && !body->data.empty()))) {
            throw_error(errc::invalid_method, "a TRACE request cannot have a body (RFC 9110)");
        }
        if (body) p.body = std::move(body->data);
        if (upload) p.upload = std::make_shared<const UploadBody>(std::move(*upload));
        return p;
    } catch (const SerializationError&) {
        throw; // already says which request and body
    } catch (const TransportError& e) {
        const std::string context =
            p.context.empty() ? printable(message.method) + " " + printable(redact(message.url))
                              : p.context;
        std::rethrow_exception(make_exception(e.code(), context + ": " + bare_message(e)));
    }
}

bool Engine::is_final(const Prepared& p, Response& response) const {
    response.method = p.method;
    response.url = p.target.url;
    if (!options.follow_redirects || !response.is_redirect()) return true;
    if (!response.headers.contains("Location")) return true;
    // A 307/308 resends the body: a producer's cannot be, so that response is final.
    const bool resends_body = response.status == 307 || response.status == 308;
    return resends_body && p.upload && !p.upload->replayable();
}

asio::awaitable<void> Engine::redirects(const Prepared& p, Response& response, bool& sent,
                                        std::unique_ptr<PendingBody>* stream) {
    // The first exchange sent the prepared request as it is; only a redirect copies it.
    std::optional<Prepared> redirected;
    const Prepared* current = &p;
    std::vector<Response> history;
    for (std::size_t redirects = 0;; ++redirects) {
        if (redirects > 0) {
            response = Response{};
            co_await exchange(*current, sent, stream, response);
            if (is_final(*current, response)) {
                response.history = std::move(history);
                co_return;
            }
        }
        const std::string location(*response.headers.get("Location"));
        if (redirects == options.max_redirects) {
            throw TransportSpecificError(errc::too_many_redirects,
                                         current->context + ": more than " +
                                             std::to_string(options.max_redirects) +
                                             " redirects (last to " + location + ")");
        }
        Target next = make_target("", resolve_location(current->target.url, location));
        if (!redirected) redirected = p;
        Prepared& r = *redirected;
        const int status = response.status;
        if ((status == 303 && r.method != "HEAD") ||
            ((status == 301 || status == 302) && r.method == "POST")) {
            r.method = "GET";
            r.body.clear();
            r.upload.reset();
            r.mutable_headers().erase("Content-Type");
        }
        if (!(next.origin == r.target.origin)) {
            r.mutable_headers().erase("Authorization");
            r.mutable_headers().erase("Cookie");
        }
        history.push_back(std::move(response));
        r.target = std::move(next);
        r.context = r.method + " " + r.target.url;
        current = &r;
    }
}

namespace {

std::string origin_key(const Origin& o) {
    return (o.tls ? "https://" : "http://") + o.host + ":" + std::to_string(o.port);
}

std::string attempts_note(std::size_t attempts) {
    return attempts == 1 ? std::string(" (1 attempt)")
                         : " (" + std::to_string(attempts) + " attempts)";
}

// How one attempt ended, for the breaker, the budget and decide_retry.
struct Assessment {
    CircuitBreaker::Outcome outcome = CircuitBreaker::Outcome::success;
    Failure failure = Failure::other;
    bool failed = false;    // a failure for the budget
    bool cancelled = false; // the caller cancelled: no verdict on the server
};

Assessment assess(const std::exception_ptr& error, const std::optional<Response>& response,
                  bool sent) {
    using Outcome = CircuitBreaker::Outcome;
    Assessment a;
    if (response) {
        a.outcome = CircuitBreaker::outcome_of_status(response->status);
        a.failure = Failure::status;
        a.failed = a.outcome != Outcome::success;
        return a;
    }
    const std::error_code ec = code_of(error);
    a.failed = true;
    if (ec == condition::cancelled) {
        a = Assessment{.outcome = Outcome::cancelled, .cancelled = true};
    } else if (ec == errc::pool_timeout) {
        // Local congestion says nothing about the origin.
        a.outcome = Outcome::cancelled;
        a.failure = Failure::timeout_before_send;
        a.failed = false;
    } else if (ec == errc::stream_refused) {
        // The server did not process the request: as safe to retry as a failed connect.
        a.outcome = Outcome::connection_error;
        a.failure = Failure::connect;
    } else if (!sent) {
        a.outcome = ec == condition::timeout ? Outcome::timeout : Outcome::connection_error;
        a.failure = ec == condition::timeout ? Failure::timeout_before_send : Failure::connect;
    } else if (ec == errc::write_timeout) {
        a.outcome = Outcome::timeout;
        a.failure = Failure::write_timeout;
    } else if (ec == errc::read_timeout) {
        a.outcome = Outcome::timeout;
        a.failure = Failure::read_timeout;
    } else {
        a.outcome = Outcome::connection_error;
        a.failure = Failure::other;
    }
    return a;
}

// Rethrows `error` as the same class with `note` appended to its message (a plain
// function: GCC 12 coroutines must not leave a catch block by a jump).
[[noreturn]] void rethrow_noted(const std::exception_ptr& error, const std::string& note) {
    try {
        std::rethrow_exception(error);
    } catch (const CircuitOpenError&) {
        throw;
    } catch (const HTTPStatusError& e) {
        std::rethrow_exception(
            make_http_exception(e.code(), bare_message(e) + note, &e.response()));
    } catch (const std::system_error& e) {
        std::rethrow_exception(make_exception(e.code(), bare_message(e) + note));
    }
}

std::string seconds(Duration d) {
    const double s = std::chrono::duration<double>(d).count();
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%.3g s", s);
    return buffer;
}

} // namespace

std::shared_ptr<ResilienceRegistry> make_resilience(const Options& o) {
    return std::make_shared<ResilienceRegistry>(
        ResilienceConfig{.retry = o.retry,
                         .breaker = o.circuit_breaker,
                         .clock = o.clock,
                         .random = o.random,
                         .on_transition = o.hooks.on_breaker_state});
}

Metrics Engine::snapshot() const {
    Metrics m = metrics;
    m.breakers = resilience->breaker_metrics();
    m.open_connections = pool_ ? pool_->open_connections() : 0;
    return m;
}

void Engine::record_call(SteadyClock::time_point started, int status) noexcept {
    const Duration elapsed = SteadyClock::now() - started;
    std::size_t bucket = 0;
    while (elapsed > Metrics::latency_bounds[bucket]) ++bucket;
    ++metrics.latency[bucket];
    ++metrics.status_classes[status >= 100 && status < 600 ? static_cast<std::size_t>(status / 100)
                                                           : 0];
}

void Engine::check_connected(const HttpMessage& message) const {
    if (!connected || !executor) {
        throw_error(errc::not_connected, message.method + " " + redact(message.url) +
                                             ": transport not connected (call connect() first)");
    }
}

asio::awaitable<Response> Engine::request(std::shared_ptr<Engine> self, HttpMessage&& message,
                                          std::unique_ptr<PendingBody>* stream) {
    // Not a coroutine (one frame less per call): without a total timeout the call is the
    // request.
    if (options.timeout.total > Duration::zero()) {
        return timed_call(std::move(self), std::move(message), stream);
    }
    return call(std::move(self), std::move(message), stream, nullptr, std::nullopt);
}

asio::awaitable<Response> Engine::timed_call(std::shared_ptr<Engine> self, HttpMessage message,
                                             std::unique_ptr<PendingBody>* stream) {
    check_connected(message);
    CallState state{.started = SteadyClock::now(), .stream = stream};
    // Asio's || waits for the first operation to *succeed*, so the call must not throw
    // inside it: its outcome, value or exception, is carried out as a value.
    using namespace asio::experimental::awaitable_operators;
    const auto deadline = state.started + options.timeout.total;
    asio::steady_timer timer(*executor, deadline);
    // (`self` is copied: this frame uses the engine after the call's frame is gone.)
    auto result = co_await (outcome_of(call(self, std::move(message), stream, &state, deadline)) ||
                            timer.async_wait(nothrow));
    if (result.index() == 1) {
        throw_error(errc::total_timeout,
                    state.context + ": the call exceeded the total timeout of " +
                        seconds(options.timeout.total) + attempts_note(state.attempts));
    }
    Outcome outcome = std::get<0>(std::move(result));
    if (outcome.error) std::rethrow_exception(outcome.error);
    co_return std::move(*outcome.response);
}

asio::awaitable<Engine::Outcome> Engine::outcome_of(asio::awaitable<Response> operation) {
    Outcome outcome;
    try {
        outcome.response = co_await std::move(operation);
    } catch (...) {
        outcome.error = std::current_exception();
    }
    co_return outcome;
}

const Engine::OriginResilience& Engine::resilience_of(const Origin& origin) {
    const auto found = resilience_of_.find(origin);
    if (found != resilience_of_.end()) return found->second;
    std::string key = origin_key(origin);
    auto breaker = resilience->breaker(key);
    auto budget = resilience->budget(key);
    return resilience_of_
        .emplace(origin, OriginResilience{std::move(key), std::move(breaker), std::move(budget)})
        .first->second;
}

asio::awaitable<Response> Engine::call(std::shared_ptr<Engine> /*self*/, HttpMessage message,
                                       std::unique_ptr<PendingBody>* stream, CallState* outer,
                                       std::optional<SteadyClock::time_point> deadline) {
    if (!outer) check_connected(message); // (a timed call has checked)
    CallState own;
    CallState& state = outer ? *outer : own;
    if (!outer) state = CallState{.started = SteadyClock::now(), .stream = stream};
    ++metrics.requests;
    if (options.hooks.on_request) options.hooks.on_request(message);
    // Records latency and status class however the call ends.
    struct Recorder {
        Engine* engine;
        CallState* state;
        ~Recorder() { engine->record_call(state->started, state->status); }
    } recorder{this, &state};
    const Prepared p = prepare(message);
    if (outer) state.context = p.context; // for a total timeout's message
    const OriginResilience& origin = resilience_of(p.target.origin);
    const std::string& key = origin.key;
    CircuitBreaker* const breaker = origin.breaker.get();
    RetryBudget* const budget = origin.budget.get();
    const bool idempotency_key = p.headers().contains("Idempotency-Key");
    Duration previous{};
    for (std::size_t retries = 0;; ++retries) {
        auto ticket = breaker->try_acquire();
        if (const auto* rejection = std::get_if<CircuitBreaker::Rejection>(&ticket)) {
            ++metrics.breaker_rejections;
            const auto wait = rejection->retry_at - resilience->clock().now();
            throw CircuitOpenError(p.context + ": the circuit breaker of " + key +
                                       " is open; next probe allowed in " +
                                       seconds(std::max(wait, Duration::zero())) +
                                       (state.attempts ? attempts_note(state.attempts) : ""),
                                   rejection->retry_at);
        }
        auto permit = std::get<CircuitBreaker::Permit>(std::move(ticket));
        ++metrics.attempts;
        ++state.attempts;
        bool sent = false;
        std::optional<Response> response(std::in_place);
        std::exception_ptr error;
        try {
            // Most responses are final: the redirect loop (a coroutine of its own) runs only
            // when there is a redirect to follow.
            co_await exchange(p, sent, state.stream, *response);
            if (!is_final(p, *response)) co_await redirects(p, *response, sent, state.stream);
        } catch (const ConfigurationError&) {
            throw; // the transport's own options (the system CA store unreadable): no retry
        } catch (const TransportError&) {
            error = std::current_exception();
        }
        if (error) response.reset();
        const Assessment a = assess(error, response, sent);
        breaker->record(std::move(permit), a.outcome);
        if (a.failed) {
            budget->on_failure();
        } else if (!a.cancelled) {
            budget->on_success();
        }
        if (response) state.status = response->status;
        if (response && response->status < 400) {
            finish(*response);
            co_return std::move(*response);
        }
        if (a.cancelled) std::rethrow_exception(error);

        const auto retry_after = response ? response->headers.get("Retry-After") : std::nullopt;
        RetryDecision d = decide_retry(options.retry,
                                       FailedAttempt{.method = p.method,
                                                     .has_idempotency_key = idempotency_key,
                                                     .failure = a.failure,
                                                     .status = response ? response->status : 0,
                                                     .retry_after = retry_after,
                                                     .retries_done = retries,
                                                     .previous_delay = previous},
                                       resilience->clock(), resilience->random());
        std::string why;
        if (d.action == RetryDecision::Action::retry && p.upload && !p.upload->replayable()) {
            d.action = RetryDecision::Action::give_up;
            why = "; a producer body cannot be sent again";
        }
        if (d.action == RetryDecision::Action::retry) {
            if (!budget->allow_retry()) {
                ++metrics.retries_suppressed;
                d.action = RetryDecision::Action::give_up;
                why = "; retry suppressed by the retry budget of " + key;
            } else if (deadline && SteadyClock::now() + d.delay >= *deadline) {
                d.action = RetryDecision::Action::give_up;
                why = "; a retry in " + seconds(d.delay) + " would end past the total deadline";
            }
        } else if (d.action == RetryDecision::Action::give_up_retry_after_too_long) {
            why = "; " + d.reason;
        }
        if (d.action != RetryDecision::Action::retry) {
            const std::string note = attempts_note(state.attempts) + why;
            if (!response) rethrow_noted(error, note);
            finish(*response);
            if (!options.raise_for_status) co_return std::move(*response);
            std::rethrow_exception(make_http_exception(status_error_code(response->status),
                                                       p.context + ": HTTP " +
                                                           std::to_string(response->status) + " " +
                                                           response->reason + note,
                                                       &*response));
        }
        if (options.hooks.on_retry) {
            options.hooks.on_retry(RetryEvent{.method = p.method,
                                              .url = p.target.url,
                                              .attempt = state.attempts,
                                              .delay = d.delay,
                                              .reason = d.reason});
        }
        ++metrics.retries;
        asio::steady_timer backoff(*executor, d.delay);
        co_await backoff.async_wait(asio::use_awaitable);
        previous = d.delay;
    }
}

void Engine::finish(Response& response) {
    if (options.hooks.on_response) options.hooks.on_response(response);
}

} // namespace nector::http::detail
