// The dialer: how a connection to an origin comes to be. Name resolution, the TCP connect,
// TLS (the transport's context, SNI, verification) and the protocol choice (HTTP/1.1, or
// HTTP/2 by ALPN or prior knowledge), ending in a wire connection ready for exchanges. The
// pool owns one and asks it for every new connection. Proxies, Unix sockets, connect-to
// overrides and Happy Eyeballs belong here. May include wire/ and message/, never pool/ or
// client/.
#pragma once

#include "http/dialer/tls_sessions.hpp"
#include "http/message/url.hpp"
#include "http/options/addressing.hpp"
#include "http/options/proxy.hpp"
#include "http/wire/connection.hpp"
#include "http/wire/streams.hpp"
#include "nector/http/options.hpp"
#include "nector/http/response.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>

#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <exception>
#include <memory>
#include <optional>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace nector::http::detail {

/// Opens connections for a pool. Tests give a pool their own.
class Dialer {
public:
    virtual ~Dialer() = default;

    /// A new connection to `origin`, ready to carry an exchange; `timings` gets the DNS,
    /// connect and TLS phases. Throws a nector exception naming `context` and the phase
    /// (name lookup, connect, TLS handshake), or cancelled.
    virtual boost::asio::awaitable<std::shared_ptr<Connection>> dial(const Origin& origin,
                                                                     Timings& timings,
                                                                     std::string_view context) = 0;

    /// Whether a connection to `origin` is expected to be multiplexed (HTTP/2 by prior
    /// knowledge, or offered by ALPN): then the pool makes one connection attempt at a time
    /// to it, and the other requests wait to share that connection.
    virtual bool expects_multiplexed(const Origin& origin) const noexcept = 0;

    /// TCP connections made so far (Metrics::connections_opened).
    virtual std::size_t connections_opened() const noexcept = 0;
    /// Name lookups made so far (Metrics::name_lookups).
    virtual std::size_t name_lookups() const noexcept { return 0; }
    /// TLS handshakes completed, and those that resumed a session (Metrics).
    virtual std::size_t tls_handshakes() const noexcept { return 0; }
    virtual std::size_t tls_resumed() const noexcept { return 0; }
};

/// The dialer of a transport: Options::connect_to and Options::resolve first, then DNS
/// through Asio's resolver (literal addresses and localhost skip it), each address tried in
/// turn within Timeout::connect, then TLS for https:// with the URL's host as the server name.
/// Through a proxy (Options::proxy and the environment, read when the dialer is made), the
/// proxy is connected to instead, and a tunnel to the destination asked of it (CONNECT or
/// SOCKS5), except for http:// requests to an HTTP proxy, sent to it in absolute form.
class NetworkDialer final : public Dialer {
public:
    /// `options` and `limits` (what the wire keeps of them) must outlive the dialer (the
    /// engine owns all three). TLS files and PEM named in
    /// the options are loaded now, so a bad one is a ConfigurationError here; without them
    /// the TLS context is made on the first https:// connection (an OpenSSL context and the
    /// system CA store cost a few megabytes a plain-HTTP transport never needs).
    NetworkDialer(const Options& options, const WireLimits& limits);

    boost::asio::awaitable<std::shared_ptr<Connection>> dial(const Origin& origin, Timings& timings,
                                                             std::string_view context) override;
    bool expects_multiplexed(const Origin& origin) const noexcept override;
    std::size_t connections_opened() const noexcept override { return opened_; }
    std::size_t name_lookups() const noexcept override { return lookups_made_; }
    std::size_t tls_handshakes() const noexcept override { return tls_handshakes_; }
    std::size_t tls_resumed() const noexcept override { return tls_resumed_; }

private:
    /// The TLS context, with the system CA store loaded on first use when verification
    /// needs it.
    boost::asio::ssl::context& tls_context();
    /// The addresses of host:port: a resolve entry, a literal address, localhost, or DNS
    /// within the connect timeout.
    boost::asio::awaitable<std::vector<boost::asio::ip::tcp::endpoint>> addresses(
        const std::string& host, std::uint16_t port, std::string_view context);
    /// A connection to Options::unix_socket, within the connect timeout.
    boost::asio::awaitable<PlainStream> connect_unix(std::string_view context);
    /// TLS for https:// and the protocol choice on a connected stream.
    boost::asio::awaitable<std::shared_ptr<Connection>> speak(PlainStream stream,
                                                              const Origin& origin,
                                                              Timings& timings,
                                                              std::string_view context);
    /// A DNS lookup within the connect timeout.
    boost::asio::awaitable<std::vector<boost::asio::ip::tcp::endpoint>> lookup(
        const std::string& host, std::uint16_t port, std::string_view context);
    /// lookup() through the cache (Options::dns_cache_ttl), one at a time per name.
    boost::asio::awaitable<std::vector<boost::asio::ip::tcp::endpoint>> cached_lookup(
        const std::string& host, std::uint16_t port, std::string_view context);
    /// A TCP connection to the first of `endpoints` that answers (`where` names them in
    /// errors), from the local address if one is set.
    boost::asio::awaitable<PlainStream> connect(
        const std::vector<boost::asio::ip::tcp::endpoint>& endpoints, const std::string& where,
        std::string_view context);
    /// connect() to one address, within the connect timeout.
    boost::asio::awaitable<PlainStream> connect_one(boost::asio::ip::tcp::endpoint endpoint,
                                                    const std::string& where,
                                                    std::string_view context);
    /// dial() to Options::unix_socket.
    boost::asio::awaitable<std::shared_ptr<Connection>> dial_unix(const Origin& origin,
                                                                  Timings& timings,
                                                                  std::string_view context);
    /// connect() to several candidates: raced (Happy Eyeballs). A coroutine of its own, so
    /// the common single-address connect's frame does not carry the race's state.
    boost::asio::awaitable<PlainStream> connect_racing(
        std::vector<boost::asio::ip::tcp::endpoint> candidates, const std::string& where,
        std::string_view context);
    /// dial() through a proxy: the proxy's addresses, a connection to it and, except for
    /// plain http:// through an HTTP proxy, a tunnel to the origin.
    boost::asio::awaitable<std::shared_ptr<Connection>> dial_proxied(const Origin& origin,
                                                                     const ProxyUrl& proxy,
                                                                     Timings& timings,
                                                                     std::string_view context);

    const Options& options_;
    const WireLimits& limits_;
    std::vector<ResolveEntry> resolve_;
    std::vector<ConnectToEntry> connect_to_;
    std::optional<boost::asio::ip::address> local_; ///< Options::local_address
    Proxies proxies_;
    std::shared_ptr<boost::asio::ssl::context> tls_;
    bool system_store_loaded_ = false;
    std::size_t opened_ = 0;

    /// Addresses from DNS, kept until `expires` (Options::clock).
    struct CachedAddresses {
        std::vector<boost::asio::ip::tcp::endpoint> endpoints;
        std::chrono::steady_clock::time_point expires;
    };
    /// A lookup under way, which other connections to the same name wait for.
    struct PendingLookup {
        explicit PendingLookup(const boost::asio::any_io_executor& ex)
            : done(ex, std::chrono::steady_clock::time_point::max()) {}
        boost::asio::steady_timer done; ///< cancelled when the lookup ends
        bool finished = false;
        std::vector<boost::asio::ip::tcp::endpoint> endpoints;
        std::exception_ptr error;
    };
    std::unordered_map<std::string, CachedAddresses> dns_cache_; ///< by "host:port"
    std::unordered_map<std::string, std::shared_ptr<PendingLookup>> lookups_;
    std::size_t lookups_made_ = 0;
    std::shared_ptr<TlsSessions> sessions_; ///< made on the first TLS connection
    std::size_t tls_handshakes_ = 0;
    std::size_t tls_resumed_ = 0;
};

} // namespace nector::http::detail
