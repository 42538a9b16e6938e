// Options of HTTPTransport: timeouts, pool limits, TLS, redirects, protocol.
#pragma once

#include "nector/http/auth.hpp"
#include "nector/http/circuit_breaker.hpp"
#include "nector/http/cookies.hpp"
#include "nector/http/duration.hpp"
#include "nector/http/interceptor.hpp"
#include "nector/http/retry.hpp"
#include "nector/transport/headers.hpp"

#include <boost/describe/class.hpp>
#include <boost/describe/enum.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace nector::http {

/// Timeouts by phase. connect, read and write are inactivity timeouts, as in httpx: read
/// bounds the wait for the next bytes of a response, not the whole response.
struct Timeout {
    /// Name lookup, TCP connect (each attempt at an address gets the full time; attempts
    /// overlap, see happy_eyeballs_delay) and the TLS handshake; a proxy's answer to CONNECT
    /// or SOCKS5. Default 10 s.
    Duration connect = std::chrono::seconds{10};
    /// Longest wait for the next bytes of a response. Default 10 s.
    Duration read = std::chrono::seconds{10};
    /// Longest stall while sending a request. Default 10 s.
    Duration write = std::chrono::seconds{10};
    /// Longest wait for a free pooled connection when the limits are reached. Default 10 s.
    Duration pool = std::chrono::seconds{10};
    /// Deadline for a whole call, redirects, retries and a streamed body included; zero
    /// means none. Default: none.
    Duration total = Duration::zero();

    /// Every phase set to `d` and no total deadline, like httpx's Timeout(5.0).
    static constexpr Timeout all(Duration d) noexcept { return {d, d, d, d, Duration::zero()}; }
};
BOOST_DESCRIBE_STRUCT(Timeout, (), (connect, read, write, pool, total))

/// Connection pool limits.
struct Limits {
    /// Open connections across all origins. Default 100.
    std::size_t max_connections = 100;
    /// Open connections to one origin (scheme, host, port). Default 100.
    std::size_t max_connections_per_origin = 100;
    /// Idle keep-alive connections kept for reuse across all origins. Default 20.
    std::size_t max_idle_connections = 20;
    /// An idle connection older than this is closed instead of reused. Default 5 s.
    Duration idle_timeout = std::chrono::seconds{5};
};
BOOST_DESCRIBE_STRUCT(Limits, (),
                      (max_connections, max_connections_per_origin, max_idle_connections,
                       idle_timeout))

enum class TlsVersion { tls1_2, tls1_3 };
BOOST_DESCRIBE_ENUM(TlsVersion, tls1_2, tls1_3)

/// TLS settings, used when verify_ssl is on (except the client certificate, always used).
struct TlsOptions {
    /// PEM file of trusted CA certificates; replaces the system store. Default: none.
    std::string ca_file;
    /// Trusted CA certificates as PEM text; replaces the system store. Default: none.
    std::string ca_pem;
    /// Client certificate chain and private key for mutual TLS, as files (PEM)...
    std::string cert_file;
    std::string key_file;
    /// ...or as PEM text. Default: no client certificate.
    std::string cert_pem;
    std::string key_pem;
    /// Oldest protocol version accepted. Default TLS 1.2.
    TlsVersion min_version = TlsVersion::tls1_2;
    /// Keep the sessions servers give (TLS 1.2 session ids, TLS 1.3 tickets) per host and
    /// port, and offer them on the next connection there, as curl and browsers do: the
    /// handshake then skips the certificate. Response::timings.tls_resumed and
    /// Metrics::tls_resumed show it. Default true.
    bool session_resumption = true;
};
BOOST_DESCRIBE_STRUCT(TlsOptions, (),
                      (ca_file, ca_pem, cert_file, key_file, cert_pem, key_pem, min_version,
                       session_resumption))

/// HTTP/2 tuning. The defaults suit both many small exchanges and bulk downloads.
struct Http2Settings {
    /// Receive window of each stream (SETTINGS_INITIAL_WINDOW_SIZE). Default 4 MiB.
    std::uint32_t stream_window = std::uint32_t{4} << 20;
    /// Receive window of each connection, across its streams. Default 32 MiB.
    std::uint32_t connection_window = std::uint32_t{32} << 20;
    /// Streams nector runs at once on one connection; the server's
    /// SETTINGS_MAX_CONCURRENT_STREAMS lowers it. Default 100.
    std::uint32_t max_concurrent_streams = 100;
    /// A connection on which no frame arrived for this long is sent a PING; zero turns
    /// liveness checks off. Default 30 s.
    Duration ping_interval = std::chrono::seconds{30};
    /// A PING unanswered for this long closes the connection (its streams fail with
    /// ConnectionError, and idle pooled connections are dropped). Default 10 s.
    Duration ping_timeout = std::chrono::seconds{10};
};
BOOST_DESCRIBE_STRUCT(Http2Settings, (),
                      (stream_window, connection_window, max_concurrent_streams, ping_interval,
                       ping_timeout))

/// Proxies (docs/proxies-and-addressing.md). A proxy is a URL: "http://[USER:PASS@]HOST[:PORT]"
/// (an HTTP proxy: http:// requests are sent to it in absolute form, https:// ones through a
/// CONNECT tunnel; USER:PASS, percent-decoded, go as Proxy-Authorization: Basic),
/// "socks5://HOST[:PORT]" (SOCKS5, names resolved here) or "socks5h://HOST[:PORT]" (names
/// resolved by the proxy). Without a scheme, http://; without a port, 80 for http://, 1080
/// for SOCKS.
struct ProxyOptions {
    /// The proxy of http:// URLs. Default: none.
    std::string http;
    /// The proxy of https:// URLs. Default: none.
    std::string https;
    /// The proxy of both, where the scheme's own field is empty. Default: none.
    std::string all;
    /// Hosts reached directly, as curl's and httpx's NO_PROXY: a comma-separated list of
    /// names (each matching itself and the names under it; a leading dot is allowed),
    /// IP addresses, CIDR ranges ("10.0.0.0/8", "fd00::/8") and "*" (every host).
    /// Default: none.
    std::string no_proxy;
    /// Read the proxy environment variables, as curl and httpx do: http_proxy (never
    /// HTTP_PROXY in a CGI program, where it comes from a request's Proxy header),
    /// HTTPS_PROXY, ALL_PROXY and NO_PROXY, lower-case spelling first. Fields set here win:
    /// when http, https or all is set, no *_PROXY variable is read; NO_PROXY is read when
    /// no_proxy is empty. Read once, when the transport is made. Default true.
    bool trust_env = true;
};
BOOST_DESCRIBE_STRUCT(ProxyOptions, (), (http, https, all, no_proxy, trust_env))

struct HttpMessage;
struct Response;

/// One retry about to happen, for Hooks::on_retry.
struct RetryEvent {
    std::string_view method;
    std::string_view url;
    std::size_t attempt = 0; ///< the attempt that failed, from 1
    Duration delay{};        ///< the wait before the next attempt
    std::string_view reason; ///< why, e.g. "status 503, retry 1 of 3 in 0.31 s"
};

/// Event hooks, each optional, called on the transport's executor. A hook must not throw
/// (what it throws propagates from the call that ran it).
struct Hooks {
    /// Each call of request()/send(), before anything is sent.
    std::function<void(const HttpMessage&)> on_request;
    /// Each final response of a call (after redirects and retries), before status mapping.
    std::function<void(const Response&)> on_response;
    /// Each retry, before its backoff wait.
    std::function<void(const RetryEvent&)> on_retry;
    /// Each circuit breaker transition of an origin this transport uses. Transports of one
    /// HTTPTransportFactory share breakers, and the factory's defaults' hook is the one called.
    CircuitBreaker::TransitionHook on_breaker_state;
    /// Layers of one's own around each exchange, first outermost (Interceptor;
    /// docs/blocking-and-interceptors.md). Default: none.
    std::vector<Interceptor> interceptors;
    /// Answers every exchange in place of the network, for tests (MockHandler;
    /// docs/testing.md). Default: none, the network.
    MockHandler mock;
};
BOOST_DESCRIBE_STRUCT(Hooks, (),
                      (on_request, on_response, on_retry, on_breaker_state, interceptors, mock))

/// Hedged requests (opt-in; docs/resilience.md): when an idempotent request has had no
/// response for a while, a second attempt goes out on another connection; the first
/// response wins and the other attempt is cancelled (its HTTP/1.1 connection closed, its
/// HTTP/2 stream reset). Each hedge draws a token from the origin's retry budget, so hedges
/// stop when the origin is failing.
struct HedgePolicy {
    /// Default false.
    bool enabled = false;
    /// How long after an attempt starts its hedge goes out, while the origin has too few
    /// latencies recorded for `percentile`. Default 100 ms.
    Duration after = std::chrono::milliseconds{100};
    /// When above 0: the hedge goes out at this percentile (e.g. 95) of the origin's recent
    /// response times (its last 100), once `min_samples` of them are known. Default 0:
    /// `after` always.
    double percentile = 0;
    /// Response times an origin needs before `percentile` applies, 1 to 100. Default 20.
    std::size_t min_samples = 20;
};
BOOST_DESCRIBE_STRUCT(HedgePolicy, (), (enabled, after, percentile, min_samples))

/// Everything an HTTPTransport is configured with; validated once by its constructor,
/// which throws ConfigurationError naming the bad field.
struct Options {
    /// Prefix of relative request URLs, e.g. "http://127.0.0.1:8080/api". Default: none
    /// (every request URL must then be absolute).
    std::string base_url;
    /// Headers sent with every request; a message's own headers override them by name.
    Headers headers;
    Timeout timeout{};
    Limits limits{};
    /// Follow 301, 302, 303, 307 and 308 responses. Default true (the seed's default).
    bool follow_redirects = true;
    /// Redirects followed in one call before TransportSpecificError (too_many_redirects).
    std::size_t max_redirects = 20;
    /// Follow a redirect from https to http. Default false: such a redirect ends the call
    /// with TransportSpecificError (insecure_redirect), as the request (and the response
    /// it leads to) would cross the network in the clear.
    bool allow_insecure_redirects = false;
    /// Header names dropped from a request, besides Authorization, Proxy-Authorization,
    /// Cookie and a caller's Host, when a redirect leads to another origin (scheme, host or
    /// port): the headers that carry credentials of the caller's own, such as "X-Api-Key".
    /// Case-insensitive. Default: none.
    std::vector<std::string> sensitive_headers;
    /// Addresses for host names, as curl's --resolve: "HOST:PORT:ADDRESS[,ADDRESS...]"
    /// (IPv6 in brackets). A connection to HOST:PORT goes to these addresses, tried in
    /// order, without a name lookup; the URL's host stays the Host header, the TLS server
    /// name and the name the certificate must carry. Default: none.
    std::vector<std::string> resolve;
    /// Connections made elsewhere, as curl's --connect-to: "HOST:PORT:CONNECT-HOST:CONNECT-PORT"
    /// (an empty HOST or PORT matches any; an empty CONNECT-HOST or CONNECT-PORT keeps the
    /// URL's). The first entry that matches applies, then `resolve`; the URL's host stays the
    /// Host header, the TLS server name and the certificate's name, and the pool keeps the
    /// connections under the URL's origin. Default: none.
    std::vector<std::string> connect_to;
    /// The local IP address connections are made from (curl's --interface with an
    /// address), e.g. "10.0.0.5" or "::1"; only addresses of its family are connected to.
    /// Default: empty, the system's choice.
    std::string local_address;
    /// Every connection goes to this Unix domain socket instead of the network, as curl's
    /// --unix-socket ("@NAME": Linux's abstract namespace, curl's --abstract-unix-socket).
    /// The URL still says what is asked for: its host is the Host header and, for https://,
    /// the TLS server name and the certificate's name; the pool keeps connections per
    /// origin. Proxies, resolve, connect_to and local_address do not apply. Default: none.
    std::string unix_socket;
    /// Happy Eyeballs (RFC 8305): when a name has several addresses, the next connection
    /// attempt starts this long after the one before (or at once when it fails), the
    /// addresses alternating between IPv6 and IPv4; the first to connect wins and the others
    /// are closed. Each attempt still has Timeout::connect. Default 250 ms.
    Duration happy_eyeballs_delay = std::chrono::milliseconds{250};
    /// How long a name's addresses from DNS are reused by the transport's new connections
    /// (as curl's DNS cache); concurrent lookups of one name are made once and shared.
    /// Zero looks every connection's name up. Default 60 s.
    Duration dns_cache_ttl = std::chrono::seconds{60};
    /// Proxies, and whether the environment's proxy variables are read (on by default).
    ProxyOptions proxy{};
    /// Credentials sent with requests: Auth::basic, Auth::bearer or Auth::digest
    /// (docs/auth-and-cookies.md). Default: none.
    Auth auth{};
    /// A cookie jar: Set-Cookie fields of every response (redirects' included) are stored in
    /// it and requests carry the cookies their URL matches (unless they set Cookie
    /// themselves). Share one among transports by handing each the same jar. Default: none,
    /// no cookies kept (docs/auth-and-cookies.md).
    std::shared_ptr<CookieJar> cookies;
    /// Verify the server's certificate and host name. Default true.
    bool verify_ssl = true;
    TlsOptions tls{};
    /// Offer HTTP/2 by ALPN ("h2,http/1.1") over TLS and speak what the server picks.
    /// http:// URLs stay on HTTP/1.1 unless http2_prior_knowledge is set. Default false, as
    /// in the seed.
    bool http2 = false;
    /// Speak HTTP/2 without negotiation on http:// URLs (h2c, RFC 9113 §3.3). Default false.
    bool http2_prior_knowledge = false;
    Http2Settings http2_settings{};
    /// Largest response body buffered by request()/send(), before and after decoding;
    /// beyond it the exchange fails with TransportSpecificError (body_too_large). Default
    /// 64 MiB.
    std::size_t max_response_bytes = std::size_t{64} << 20;
    /// Largest response head (status line and header fields; over HTTP/2 counted as RFC
    /// 9113 §6.5.2 does); beyond it the exchange fails with TransportSpecificError
    /// (protocol_error). Default 64 KiB.
    std::size_t max_header_bytes = std::size_t{64} << 10;
    /// Most header fields in a response head; beyond it the exchange fails likewise.
    /// Default 256.
    std::size_t max_header_count = 256;
    /// Send "Accept-Encoding: gzip, deflate, br, zstd" (unless the headers set one) and
    /// decode gzip, deflate, br and zstd response bodies. false leaves bodies as they came
    /// (raw bytes, Content-Encoding as sent) and sends no Accept-Encoding. Default true.
    bool decode_content = true;
    /// Largest decoded body of a streamed response (stream_response), against
    /// decompression bombs; beyond it reading fails with TransportSpecificError
    /// (body_too_large). Buffered responses are bounded by max_response_bytes, decoded.
    /// Default 1 GiB.
    std::size_t max_decoded_bytes = std::size_t{1} << 30;
    /// User-Agent sent unless the headers set one; empty sends none. Default "nector".
    std::string user_agent = "nector";
    /// request()/send() throw the HTTPStatusError subclass for a final status >= 400, as
    /// the seed's send does. false returns such responses; Response::raise_for_status()
    /// then does the mapping on demand. Default true.
    bool raise_for_status = true;
    /// Retries of failed attempts (docs/resilience.md): the seed's 3 retries with capped,
    /// full-jitter exponential backoff; statuses and read timeouts only for idempotent
    /// requests; a per-origin retry budget.
    RetryPolicy retry{};
    /// A circuit breaker per origin. Default off, as in the seed's plain transport.
    CircuitBreakerPolicy circuit_breaker{};
    /// Hedged requests for idempotent methods. Default off.
    HedgePolicy hedge{};
    Hooks hooks{};
    /// Time and randomness for backoff, jitter, budgets and breakers; tests inject them.
    Clock clock = Clock::system();
    Randomness random = Randomness::system();
};
// Every field of Options, described once: JSON loading (options_from_json), the factory's
// overrides and the tests that cover each field walk this list.
BOOST_DESCRIBE_STRUCT(Options, (),
                      (base_url, headers, timeout, limits, follow_redirects, max_redirects,
                       allow_insecure_redirects, sensitive_headers, resolve, connect_to,
                       local_address, unix_socket, happy_eyeballs_delay, dns_cache_ttl, proxy, auth,
                       cookies, verify_ssl, tls, http2, http2_prior_knowledge, http2_settings,
                       max_response_bytes, max_header_bytes, max_header_count, decode_content,
                       max_decoded_bytes, user_agent, raise_for_status, retry, circuit_breaker,
                       hedge, hooks, clock, random))

} // namespace nector::http
