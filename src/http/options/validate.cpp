#include "http/options/validate.hpp"

#include "http/message/body.hpp"
#include "http/message/url.hpp"
#include "http/options/addressing.hpp"
#include "http/options/proxy.hpp"
#include "nector/transport/errors.hpp"

#include <boost/asio/ip/address.hpp>

#include <algorithm>
#include <array>
#include <stdexcept>
#include <string>
#include <utility>

namespace nector::http::detail {
namespace {

[[noreturn]] void bad_option(const std::string& what) {
    throw ConfigurationError(errc::invalid_configuration, "HTTPTransport options: " + what);
}

} // namespace

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
    // sockaddr_un's sun_path holds 108 bytes with the terminating NUL.
    if (o.unix_socket.size() > 107 || o.unix_socket == "@" ||
        o.unix_socket.find('\0') != std::string::npos) {
        bad_option("unix_socket: \"" + printable(o.unix_socket) +
                   "\" is not a socket path (at most 107 bytes, no NUL; \"@NAME\" for an abstract "
                   "socket)");
    }
    if (o.happy_eyeballs_delay <= Duration::zero())
        bad_option("happy_eyeballs_delay must be positive");
    if (o.dns_cache_ttl < Duration::zero()) bad_option("dns_cache_ttl must not be negative");
    if (o.hedge.after <= Duration::zero()) bad_option("hedge.after must be positive");
    if (!(o.hedge.percentile >= 0 && o.hedge.percentile < 100)) {
        bad_option("hedge.percentile must be at least 0 and below 100");
    }
    if (o.hedge.min_samples == 0 || o.hedge.min_samples > 100) {
        bad_option("hedge.min_samples must be between 1 and 100 (the response times kept)");
    }
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
    const auto check_entries = [](const std::vector<std::string>& entries, const char* field,
                                  auto parse, const char* form) {
        for (const auto& entry : entries) {
            try {
                (void)parse(entry);
            } catch (const std::invalid_argument& e) {
                bad_option(std::string(field) + ": " + e.what() + " (expected " + form + ")");
            }
        }
    };
    if (!o.local_address.empty()) {
        boost::system::error_code ec;
        (void)boost::asio::ip::make_address(o.local_address, ec);
        if (ec) {
            bad_option("local_address: \"" + printable(o.local_address) +
                       "\" is not an IP address");
        }
    }
    check_entries(o.resolve, "resolve", parse_resolve, "HOST:PORT:ADDRESS[,ADDRESS...]");
    check_entries(o.connect_to, "connect_to", parse_connect_to,
                  "HOST:PORT:CONNECT-HOST:CONNECT-PORT");
    const Auth& a = o.auth;
    const auto control = [](const std::string& text) {
        return std::any_of(text.begin(), text.end(), [](char c) {
            return static_cast<unsigned char>(c) < 0x20 || c == 0x7F;
        });
    };
    const AuthScheme scheme = effective_scheme(a);
    if (a.scheme == AuthScheme::automatic && !a.token.empty() &&
        (!a.user.empty() || !a.password.empty())) {
        bad_option("auth: both a token and a user or password: set auth.scheme to say which");
    }
    if ((scheme == AuthScheme::basic || scheme == AuthScheme::digest) &&
        (control(a.user) || control(a.password))) {
        bad_option("auth: the user and password must not hold control characters");
    }
    if (scheme == AuthScheme::basic && a.user.find(':') != std::string::npos) {
        bad_option("auth.user: a Basic user name cannot hold ':' (RFC 7617)");
    }
    if (a.scheme == AuthScheme::digest && a.user.empty())
        bad_option("auth.user: digest needs a user");
    if (scheme == AuthScheme::bearer &&
        (a.token.empty() || control(a.token) || a.token.find(' ') != std::string::npos)) {
        bad_option("auth.token: a bearer token is one word of visible characters");
    }
    // The proxy fields as set (the environment is read when the transport's dialer is made).
    (void)proxies_of(o.proxy, [](const char*) -> const char* { return nullptr; });
    for (const auto& name : o.sensitive_headers) {
        try {
            validate_header(name, "");
        } catch (const TransportError& e) {
            bad_option(std::string("sensitive_headers: ") + e.what());
        }
    }
}

} // namespace nector::http::detail
