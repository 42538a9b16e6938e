// The dialer: how a connection to an origin comes to be. Name resolution, the TCP connect,
// TLS (the transport's context, SNI, verification) and the protocol choice (HTTP/1.1, or
// HTTP/2 by ALPN or prior knowledge), ending in a wire connection ready for exchanges. The
// pool owns one and asks it for every new connection. Proxies, Unix sockets, connect-to
// overrides and Happy Eyeballs belong here. May include wire/ and message/, never pool/ or
// client/.
#pragma once

#include "http/message/url.hpp"
#include "http/options/addressing.hpp"
#include "http/wire/connection.hpp"
#include "nector/http/options.hpp"
#include "nector/http/response.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl/context.hpp>

#include <memory>
#include <optional>
#include <string_view>
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
};

/// The dialer of a transport: Options::connect_to and Options::resolve first, then DNS
/// through Asio's resolver (literal addresses and localhost skip it), each address tried in
/// turn within Timeout::connect, then TLS for https:// with the URL's host as the server name.
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

private:
    /// The TLS context, with the system CA store loaded on first use when verification
    /// needs it.
    boost::asio::ssl::context& tls_context();

    const Options& options_;
    const WireLimits& limits_;
    std::vector<ResolveEntry> resolve_;
    std::vector<ConnectToEntry> connect_to_;
    std::optional<boost::asio::ip::address> local_; ///< Options::local_address
    std::shared_ptr<boost::asio::ssl::context> tls_;
    bool system_store_loaded_ = false;
    std::size_t opened_ = 0;
};

} // namespace nector::http::detail
