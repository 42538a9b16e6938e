#include "http/message/url.hpp"

#include "http/message/body.hpp"
#include "nector/transport/errors.hpp"

#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>

#include <charconv>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

namespace nector::http::detail {
namespace urls = boost::urls;
namespace {

[[noreturn]] void bad_url(std::string_view url, std::string_view why) {
    throw TransportSpecificError(
        errc::invalid_url, "invalid URL \"" + printable(redact(url)) + "\": " + std::string(why));
}

bool is_absolute(std::string_view url) {
    const auto colon = url.find(':');
    if (colon == std::string_view::npos || colon == 0) return false;
    for (std::size_t i = 0; i < colon; ++i) {
        const char c = url[i];
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                        (i > 0 && ((c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.'));
        if (!ok) return false;
    }
    return true;
}

// A registered name as the resolver, SNI and certificate checks will see it (percent-
// decoded): letters, digits, '-', '.', '_' and '~' only. Anything else (NUL, CR, LF, a
// space, a delimiter) would let the resolver, SNI and the host check each read a different
// name, as "localhost%00.other.test" once did.
void check_host_name(std::string_view url, std::string_view host) {
    for (std::size_t i = 0; i < host.size(); ++i) {
        const auto c = static_cast<unsigned char>(host[i]);
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                        (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
        if (ok) continue;
        if (c >= 0x80) {
            bad_url(url,
                    "the host holds non-ASCII bytes: give an internationalized name in its "
                    "ASCII (punycode) form");
        }
        char hex[8];
        std::snprintf(hex, sizeof hex, "0x%02X", c);
        bad_url(url, std::string("the host holds a character not allowed in a host name (") + hex +
                         " at byte " + std::to_string(i) + " of the decoded host)");
    }
}

/// A host name whose last label is a number is an IPv4 address however it is spelled
/// (WHATWG URL's IPv4 parser, which curl and browsers follow): "127.1", "0x7f.0.0.1",
/// "2130706433", "0177.0.0.1" and "127.0.0.1." are all 127.0.0.1. Returns the dotted quad,
/// nullopt for a name that does not end in a number, and refuses one that does but is no
/// address ("1.2.3.256", "foo.1", five parts): the resolver would read those its own way.
std::optional<std::string> numeric_ipv4(std::string_view url, std::string_view host) {
    std::vector<std::string_view> parts;
    for (std::string_view rest = host;;) {
        const std::size_t dot = rest.find('.');
        parts.push_back(rest.substr(0, dot));
        if (dot == std::string_view::npos) break;
        rest.remove_prefix(dot + 1);
    }
    if (parts.size() > 1 && parts.back().empty()) parts.pop_back();
    // A part as WHATWG reads it: 0x… hex, 0… octal, else decimal.
    const auto number = [](std::string_view part) -> std::optional<std::uint64_t> {
        int base = 10;
        if (part.size() >= 2 && part[0] == '0' && (part[1] == 'x' || part[1] == 'X')) {
            part.remove_prefix(2);
            base = 16;
            if (part.empty()) return 0;
        } else if (part.size() >= 2 && part[0] == '0') {
            part.remove_prefix(1);
            base = 8;
        }
        if (part.empty() || part.size() > 32) return std::nullopt;
        std::uint64_t value = 0;
        const auto [end, ec] = std::from_chars(part.data(), part.data() + part.size(), value, base);
        if (ec != std::errc() || end != part.data() + part.size()) return std::nullopt;
        return value;
    };
    const std::string_view last = parts.back();
    const bool ends_in_number =
        (!last.empty() && last.find_first_not_of("0123456789") == std::string_view::npos) ||
        number(last).has_value();
    if (!ends_in_number) return std::nullopt;
    const auto refuse = [&](const std::string& why) {
        bad_url(url, "the host ends in a number but is not an IPv4 address (" + why + ")");
    };
    if (parts.size() > 4) refuse("more than four parts");
    std::uint64_t address = 0;
    for (std::size_t i = 0; i < parts.size(); ++i) {
        const auto value = number(parts[i]);
        if (!value) refuse("part " + std::to_string(i + 1) + " is not a number");
        const bool is_last = i + 1 == parts.size();
        const std::uint64_t limit = is_last ? std::uint64_t{1} << (8 * (5 - parts.size())) : 256;
        if (*value >= limit) refuse("part " + std::to_string(i + 1) + " is too large");
        address = is_last ? address + *value : address + (*value << (8 * (3 - i)));
    }
    return std::to_string(address >> 24) + "." + std::to_string((address >> 16) & 0xFF) + "." +
           std::to_string((address >> 8) & 0xFF) + "." + std::to_string(address & 0xFF);
}

} // namespace

std::string redact(std::string_view url) {
    const auto scheme_end = url.find("://");
    std::size_t authority = 0;
    if (scheme_end != std::string_view::npos) {
        authority = scheme_end + 3;
    } else if (url.starts_with("//")) {
        authority = 2;
    } else {
        return std::string(url);
    }
    const auto authority_end = url.find_first_of("/?#", authority);
    const auto at = url.substr(0, authority_end).rfind('@');
    if (at == std::string_view::npos || at < authority) return std::string(url);
    return std::string(url.substr(0, authority)) + std::string(url.substr(at + 1));
}

namespace {

Target parse_target(std::string_view base, std::string_view url);

} // namespace

Target make_target(std::string_view base, std::string_view url) {
    // A service calls the same few URLs over and over: the last one parsed on this thread
    // is kept (a copy of a Target is much cheaper than parsing the URL again).
    struct Last {
        std::string base;
        std::string url;
        Target target;
        bool valid = false;
    };
    thread_local Last last;
    if (last.valid && last.url == url && last.base == base) return last.target;
    Target t = parse_target(base, url);
    if (!t.userinfo.empty()) return t; // credentials are not kept beyond the call
    last.valid = false;                // until all three are stored (an allocation may throw)
    last.base = base;
    last.url = url;
    last.target = t;
    last.valid = true;
    return t;
}

namespace {

// Boost.URL 1.81 stops a port at its first non-digit ("h.test:4st43/p" is port 4 and the
// path "st43/p"): after an authority, a path that does not start with "/" is always such a
// misreading (RFC 3986 §3.3: path-abempty). `text` is what was parsed.
void refuse_misread_authority(const urls::url_view_base& u, std::string_view text,
                              std::string_view what = {}) {
    if (!u.has_authority() || u.encoded_path().empty() || u.encoded_path().front() == '/') return;
    const auto slashes = text.find("//");
    std::string_view authority = text.substr(slashes + 2);
    authority = authority.substr(0, authority.find_first_of("/?#"));
    authority = authority.substr(authority.rfind('@') + 1); // never the credentials
    bad_url(text,
            std::string(what) + "host and port \"" + printable(authority) + "\" are not valid");
}

Target parse_target(std::string_view base, std::string_view url) {
    // A fragment is the client's own (RFC 9110 §4.2.1 / RFC 3986 §3.5): dropped before
    // anything else reads the URL, whatever it holds ("#a#b" included).
    url = url.substr(0, url.find('#'));
    std::string joined;
    if (is_absolute(url)) {
        joined = url;
    } else if (base.empty()) {
        bad_url(url, "relative URL and no base_url");
    } else {
        // httpx's rule: base path + relative path, whatever slash either has.
        const auto base_end = base.find_first_of("?#", base.find("://") + 3);
        std::string_view base_part = base.substr(0, base_end);
        joined = base_part;
        const bool base_has_path =
            base_part.find('/', base_part.find("://") + 3) != std::string_view::npos;
        if (!base_has_path) joined += '/';
        if (joined.back() != '/') joined += '/';
        std::string_view rest = url;
        while (!rest.empty() && rest.front() == '/') rest.remove_prefix(1);
        joined += rest;
    }
    auto parsed = urls::parse_uri(joined);
    if (!parsed) bad_url(joined, parsed.error().message());
    // Boost.URL 1.81 reads a host that starts like an IPv4 address and goes on
    // ("1.2.3.4.5", "127.0.0.1.", "1.2.3.4x") as that address, and the rest as a path that
    // does not start with "/": the request would go to another host than the URL names.
    // With the host's first byte percent-encoded it reads the whole host as a name.
    std::string reread;
    if (parsed->host_type() == urls::host_type::ipv4 && !parsed->encoded_path().empty() &&
        parsed->encoded_path().front() != '/') {
        const auto at = static_cast<std::size_t>(parsed->encoded_host().data() - joined.data());
        char escaped[4];
        std::snprintf(escaped, sizeof escaped, "%%%02X", static_cast<unsigned char>(joined[at]));
        reread = joined.substr(0, at) + escaped + joined.substr(at + 1);
        parsed = urls::parse_uri(reread);
        if (!parsed || parsed->host_type() != urls::host_type::name) bad_url(joined, "bad host");
    }
    const urls::url_view u = *parsed;
    const std::string scheme = u.scheme();
    Target t;
    if (u.scheme_id() == urls::scheme::http) {
        t.origin.tls = false;
    } else if (u.scheme_id() == urls::scheme::https) {
        t.origin.tls = true;
    } else {
        bad_url(joined, "scheme \"" + scheme + "\" is not http or https");
    }
    if (!u.has_authority() || u.encoded_host().empty()) bad_url(joined, "no host");
    if (u.host_type() == urls::host_type::ipvfuture) {
        bad_url(joined, "IPvFuture host addresses are not supported");
    }
    t.origin.host = u.host_address();
    // (A host re-read above is sent as the name it decodes to: only plain bytes pass.)
    std::string host_text = reread.empty() ? std::string(u.encoded_host()) : t.origin.host;
    if (u.host_type() == urls::host_type::name) {
        check_host_name(joined, t.origin.host);
        if (auto address = numeric_ipv4(joined, t.origin.host)) {
            t.origin.host = *address;
            host_text = std::move(*address);
        }
    }
    refuse_misread_authority(u, joined);
    if (u.has_port()) {
        const auto port = u.port();
        unsigned value = 0;
        const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
        if (port.empty() || ec != std::errc() || end != port.data() + port.size() || value == 0 ||
            value > 65535) {
            bad_url(joined, "port \"" + std::string(port) + "\" is not 1-65535");
        }
        t.origin.port = static_cast<std::uint16_t>(value);
    } else {
        t.origin.port = t.origin.tls ? 443 : 80;
    }
    const std::uint16_t default_port = t.origin.tls ? 443 : 80;
    t.host_header = std::move(host_text);
    if (t.origin.port != default_port) t.host_header += ":" + std::to_string(t.origin.port);
    t.target = u.encoded_path().empty() ? "/" : std::string(u.encoded_path());
    if (u.has_query()) t.target += "?" + std::string(u.encoded_query());
    if (u.has_userinfo()) t.userinfo = u.userinfo();
    t.url = scheme + "://" + t.host_header + t.target;
    return t;
}

} // namespace

std::string resolve_location(std::string_view current, std::string_view location) {
    // Its fragment is dropped, as a request URL's is, whatever it holds.
    location = location.substr(0, location.find('#'));
    auto base = urls::parse_uri(current);
    auto ref = urls::parse_uri_reference(location);
    if (!base) bad_url(current, base.error().message());
    if (!ref) bad_url(location, "Location header: " + ref.error().message());
    refuse_misread_authority(*ref, location, "Location header: ");
    urls::url resolved;
    if (auto r = urls::resolve(*base, *ref, resolved); !r) {
        bad_url(location, "Location header: " + r.error().message());
    }
    resolved.remove_fragment();
    return std::string(resolved.buffer());
}

} // namespace nector::http::detail
