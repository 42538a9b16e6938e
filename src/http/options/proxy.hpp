// Which proxy a connection goes through: Options::proxy's URLs and NO_PROXY list parsed, the
// environment's proxy variables read (trust_env), and the choice for an origin. Validation
// (validate.cpp) and the dialer read them through these functions, so a proxy URL or a
// NO_PROXY entry means one thing in both.
#pragma once

#include "http/message/url.hpp"
#include "nector/http/options.hpp"

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/network_v4.hpp>
#include <boost/asio/ip/network_v6.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace nector::http::detail {

/// A proxy URL taken apart.
struct ProxyUrl {
    enum class Kind {
        http,    ///< an HTTP proxy: absolute-form requests, CONNECT tunnels
        socks5,  ///< SOCKS5, the destination's name resolved here
        socks5h, ///< SOCKS5, the destination's name resolved by the proxy
    };
    Kind kind = Kind::http;
    std::string host; ///< without IPv6 brackets
    std::uint16_t port = 0;
    /// "Basic base64(user:password)" for an HTTP proxy with credentials, else empty.
    std::string authorization;
    /// The proxy for messages: scheme://host:port, never the credentials.
    std::string display;

    friend bool operator==(const ProxyUrl&, const ProxyUrl&) = default;
};

/// Parses a proxy URL (see ProxyOptions); std::invalid_argument saying what is wrong, with
/// the URL redacted and escaped.
ProxyUrl parse_proxy(std::string_view url);

/// A NO_PROXY list.
struct NoProxy {
    struct Name {
        std::string name;       ///< lower case, no leading or trailing dot
        std::uint16_t port = 0; ///< 0: any
    };
    using Entry = std::variant<Name, boost::asio::ip::address, boost::asio::ip::network_v4,
                               boost::asio::ip::network_v6>;
    bool all = false; ///< "*"
    std::vector<Entry> entries;
};

/// Parses a NO_PROXY list; std::invalid_argument naming a bad entry (a CIDR range that is
/// not one).
NoProxy parse_no_proxy(std::string_view list);

/// `host` (a name or an address without brackets) on `port` is reached directly.
bool bypasses(const NoProxy& no_proxy, std::string_view host, std::uint16_t port);

/// The proxies of a transport.
struct Proxies {
    std::optional<ProxyUrl> http;  ///< for http:// origins
    std::optional<ProxyUrl> https; ///< for https:// origins
    NoProxy no_proxy;

    /// The proxy a connection to `origin` goes through, or nullptr (direct).
    const ProxyUrl* route(const Origin& origin) const;
};

/// A way to read an environment variable (nullptr: unset); tests give their own.
using Environment = std::function<const char*(const char*)>;

/// The proxies `options` configure, the environment's filling in as ProxyOptions says
/// when trust_env is set. Throws ConfigurationError naming the field or the variable whose
/// value cannot be parsed.
Proxies proxies_of(const ProxyOptions& options, const Environment& environment);

/// The process environment (std::getenv).
Environment process_environment();

} // namespace nector::http::detail
