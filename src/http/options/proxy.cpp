#include "http/options/proxy.hpp"

#include "http/message/body.hpp"
#include "nector/http/auth.hpp"
#include "nector/transport/errors.hpp"
#include "nector/transport/headers.hpp"

#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <stdexcept>

namespace nector::http::detail {
namespace {

// A port of 1-65535, else nullopt.
std::optional<std::uint16_t> port_number(std::string_view text) {
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size() || value == 0 ||
        value > 65535) {
        return std::nullopt;
    }
    return static_cast<std::uint16_t>(value);
}

} // namespace

ProxyUrl parse_proxy(std::string_view url) {
    const std::string shown = in_quotes(redact(url));
    const auto refuse = [&](const std::string& why) {
        throw std::invalid_argument(shown + ": " + why);
    };
    std::string text(trim(url));
    if (text.empty()) refuse("empty");
    if (text.find("://") == std::string::npos) text = "http://" + text; // as curl reads it
    const auto parsed = boost::urls::parse_uri(text);
    if (!parsed) refuse("not a URL (" + parsed.error().message() + ")");
    const boost::urls::url_view u = *parsed;
    ProxyUrl p;
    const std::string scheme = lower(u.scheme());
    std::uint16_t default_port = 1080;
    if (scheme == "http") {
        p.kind = ProxyUrl::Kind::http;
        default_port = 80;
    } else if (scheme == "socks5") {
        p.kind = ProxyUrl::Kind::socks5;
    } else if (scheme == "socks5h") {
        p.kind = ProxyUrl::Kind::socks5h;
    } else if (scheme == "https") {
        refuse("https:// proxies (TLS to the proxy itself) are not supported; use http://");
    } else {
        refuse("scheme \"" + printable(scheme) + "\" is not http, socks5 or socks5h");
    }
    if (!u.has_authority() || u.encoded_host().empty()) refuse("no host");
    if (u.host_type() == boost::urls::host_type::ipvfuture) refuse("IPvFuture is not supported");
    // A misread port ("proxy:31x28") leaves a path that does not start with '/'.
    if (!u.encoded_path().empty() && u.encoded_path() != "/") {
        refuse("a proxy URL has no path (or a port that is not a number)");
    }
    if (u.has_query() || u.has_fragment()) refuse("a proxy URL has no query or fragment");
    p.host = u.host_address();
    if (u.has_port()) {
        const auto port = port_number(u.port());
        if (!port) refuse("port \"" + printable(u.port()) + "\" is not 1-65535");
        p.port = *port;
    } else {
        p.port = default_port;
    }
    if (u.has_userinfo()) {
        if (p.kind != ProxyUrl::Kind::http) {
            refuse("SOCKS5 proxies with credentials are not supported (only no authentication)");
        }
        p.authorization = basic_auth(u.user(), u.password());
    }
    const bool v6 = u.host_type() == boost::urls::host_type::ipv6;
    p.display = scheme + "://" + (v6 ? "[" + p.host + "]" : p.host) + ":" + std::to_string(p.port);
    return p;
}

NoProxy parse_no_proxy(std::string_view list) {
    NoProxy out;
    while (!list.empty()) {
        const auto comma = list.find(',');
        const std::string_view entry = trim(list.substr(0, comma));
        list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
        if (entry.empty()) continue;
        if (entry == "*") {
            out.all = true;
            continue;
        }
        const auto refuse = [&](const std::string& why) {
            throw std::invalid_argument("entry \"" + printable(entry) + "\": " + why);
        };
        boost::system::error_code ec;
        if (entry.find('/') != std::string_view::npos) { // a CIDR range
            const std::string text(entry);
            const auto v4 = boost::asio::ip::make_network_v4(text, ec);
            if (!ec) {
                out.entries.emplace_back(v4.canonical());
                continue;
            }
            const auto v6 = boost::asio::ip::make_network_v6(text, ec);
            if (!ec) {
                out.entries.emplace_back(v6.canonical());
                continue;
            }
            refuse("not a CIDR range (ADDRESS/PREFIX-LENGTH)");
        }
        std::string_view host = entry;
        std::uint16_t port = 0;
        if (host.front() == '[') { // [v6] or [v6]:port
            const auto close = host.find(']');
            if (close == std::string_view::npos) refuse("no closing bracket");
            const std::string_view rest = host.substr(close + 1);
            host = host.substr(1, close - 1);
            if (!rest.empty()) {
                const auto p = rest.front() == ':' ? port_number(rest.substr(1)) : std::nullopt;
                if (!p) refuse("port is not 1-65535");
                port = *p;
            }
        } else if (std::count(host.begin(), host.end(), ':') == 1) { // name:port
            const auto colon = host.find(':');
            const auto p = port_number(host.substr(colon + 1));
            if (!p) refuse("port is not 1-65535");
            port = *p;
            host = host.substr(0, colon);
        }
        const auto address = boost::asio::ip::make_address(std::string(host), ec);
        if (!ec && port == 0) {
            out.entries.emplace_back(address);
            continue;
        }
        // A name (or an address with a port, compared as text): "*.a.b", ".a.b" and "a.b."
        // all mean a.b and the names under it.
        if (host.starts_with("*.")) host.remove_prefix(2);
        while (!host.empty() && host.front() == '.') host.remove_prefix(1);
        while (!host.empty() && host.back() == '.') host.remove_suffix(1);
        if (host.empty()) refuse("no host");
        out.entries.emplace_back(NoProxy::Name{lower(host), port});
    }
    return out;
}

bool bypasses(const NoProxy& no_proxy, std::string_view host, std::uint16_t port) {
    if (no_proxy.all) return true;
    while (!host.empty() && host.back() == '.') host.remove_suffix(1);
    boost::system::error_code ec;
    const auto address = boost::asio::ip::make_address(std::string(host), ec);
    const bool is_address = !ec;
    for (const auto& entry : no_proxy.entries) {
        if (const auto* name = std::get_if<NoProxy::Name>(&entry)) {
            if (name->port != 0 && name->port != port) continue;
            if (iequals(host, name->name)) return true;
            if (!is_address && host.size() > name->name.size() &&
                host[host.size() - name->name.size() - 1] == '.' &&
                iequals(host.substr(host.size() - name->name.size()), name->name)) {
                return true;
            }
        } else if (!is_address) {
            continue;
        } else if (const auto* a = std::get_if<boost::asio::ip::address>(&entry)) {
            if (*a == address) return true;
        } else if (const auto* n4 = std::get_if<boost::asio::ip::network_v4>(&entry)) {
            if (address.is_v4() &&
                boost::asio::ip::network_v4(address.to_v4(), n4->prefix_length()).canonical() ==
                    *n4) {
                return true;
            }
        } else if (const auto* n6 = std::get_if<boost::asio::ip::network_v6>(&entry)) {
            if (address.is_v6() &&
                boost::asio::ip::network_v6(address.to_v6(), n6->prefix_length()).canonical() ==
                    *n6) {
                return true;
            }
        }
    }
    return false;
}

const ProxyUrl* Proxies::route(const Origin& origin) const {
    const std::optional<ProxyUrl>& proxy = origin.tls ? https : http;
    if (!proxy || bypasses(no_proxy, origin.host, origin.port)) return nullptr;
    return &*proxy;
}

Proxies proxies_of(const ProxyOptions& options, const Environment& environment) {
    // A variable's value, the lower-case spelling first, as curl and urllib read them.
    const auto variable = [&](std::string_view name,
                              bool upper_too) -> std::pair<std::string, std::string> {
        const std::string lower_name = lower(name);
        if (const char* v = environment(lower_name.c_str()); v && *v) return {lower_name, v};
        if (!upper_too) return {};
        const std::string upper_name(name);
        if (const char* v = environment(upper_name.c_str()); v && *v) return {upper_name, v};
        return {};
    };
    const auto fail = [](const std::string& where, const std::string& why) {
        throw ConfigurationError(errc::invalid_configuration,
                                 "HTTPTransport options: " + where + ": " + why);
    };
    const auto parse = [&](const std::string& where, const std::string& url) {
        try {
            return parse_proxy(url);
        } catch (const std::invalid_argument& e) {
            fail(where, e.what());
        }
        return ProxyUrl{};
    };
    Proxies out;
    std::string http = options.http, https = options.https, all = options.all;
    std::string http_from = "proxy.http", https_from = "proxy.https", all_from = "proxy.all";
    const bool configured = !http.empty() || !https.empty() || !all.empty();
    if (options.trust_env && !configured) {
        // HTTP_PROXY in a CGI program is the request's Proxy header (httpoxy): only the
        // lower-case spelling counts there, as curl and Go decide.
        const bool cgi = environment("REQUEST_METHOD") != nullptr;
        std::tie(http_from, http) = variable("HTTP_PROXY", !cgi);
        std::tie(https_from, https) = variable("HTTPS_PROXY", true);
        std::tie(all_from, all) = variable("ALL_PROXY", true);
        http_from = "environment variable " + http_from;
        https_from = "environment variable " + https_from;
        all_from = "environment variable " + all_from;
    }
    if (!all.empty()) out.http = out.https = parse(all_from, all);
    if (!http.empty()) out.http = parse(http_from, http);
    if (!https.empty()) out.https = parse(https_from, https);
    std::string no_proxy = options.no_proxy;
    std::string no_proxy_from = "proxy.no_proxy";
    if (options.trust_env && no_proxy.empty()) {
        std::tie(no_proxy_from, no_proxy) = variable("NO_PROXY", true);
        no_proxy_from = "environment variable " + no_proxy_from;
    }
    try {
        out.no_proxy = parse_no_proxy(no_proxy);
    } catch (const std::invalid_argument& e) {
        fail(no_proxy_from, e.what());
    }
    return out;
}

Environment process_environment() {
    return [](const char* name) -> const char* { return std::getenv(name); };
}

} // namespace nector::http::detail
