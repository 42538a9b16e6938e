// The cookie jar (nector/http/cookies.hpp), RFC 6265 §5. Part of the message room.
#include "nector/http/cookies.hpp"

#include "http/message/body.hpp"
#include "http/message/http_date.hpp"
#include "http/message/url.hpp"
#include "nector/transport/headers.hpp"

#include <boost/asio/ip/address.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <fstream>
#include <stdexcept>

namespace nector::http {
namespace {

using detail::lower;
using detail::trim;

bool is_ip(std::string_view host) {
    boost::system::error_code ec;
    (void)boost::asio::ip::make_address(std::string(host), ec);
    return !ec;
}

// §5.1.3: host domain-matches domain.
bool domain_match(std::string_view host, std::string_view domain) {
    if (iequals(host, domain)) return true;
    return !is_ip(host) && host.size() > domain.size() &&
           host[host.size() - domain.size() - 1] == '.' &&
           iequals(host.substr(host.size() - domain.size()), domain);
}

// §5.1.4: the default path of a request path (without its query).
std::string default_path(std::string_view path) {
    if (path.empty() || path.front() != '/') return "/";
    const auto last = path.rfind('/');
    return last == 0 ? "/" : std::string(path.substr(0, last));
}

// §5.1.4: request path path-matches cookie path.
bool path_match(std::string_view request, std::string_view cookie) {
    if (request == cookie) return true;
    if (!request.starts_with(cookie)) return false;
    return cookie.back() == '/' || request[cookie.size()] == '/';
}

bool expired(const Cookie& c, CookieJar::Clock::time_point now) {
    return c.expires && *c.expires <= now;
}

std::string_view path_of(std::string_view target) { return target.substr(0, target.find('?')); }

} // namespace

bool CookieJar::store(std::string_view host, std::string_view path, bool secure,
                      std::string_view set_cookie, Clock::time_point now) {
    // §5.2: name=value, then attributes, split on ';'.
    std::string_view rest = set_cookie;
    const auto semicolon = rest.find(';');
    const std::string_view pair = rest.substr(0, semicolon);
    rest = semicolon == std::string_view::npos ? std::string_view{} : rest.substr(semicolon + 1);
    const auto equals = pair.find('=');
    if (equals == std::string_view::npos) return false;
    Cookie c;
    c.name = std::string(trim(pair.substr(0, equals)));
    c.value = std::string(trim(pair.substr(equals + 1)));
    if (c.name.empty()) return false;
    std::optional<std::string> domain_attribute;
    std::optional<Clock::time_point> max_age;
    std::string cookie_path;
    while (!rest.empty()) {
        const auto next = rest.find(';');
        const std::string_view attribute = rest.substr(0, next);
        rest = next == std::string_view::npos ? std::string_view{} : rest.substr(next + 1);
        const auto eq = attribute.find('=');
        const std::string_view key = trim(attribute.substr(0, eq));
        const std::string_view value =
            eq == std::string_view::npos ? std::string_view{} : trim(attribute.substr(eq + 1));
        if (iequals(key, "Expires")) {
            if (const auto date = detail::parse_http_date(value, now)) c.expires = *date;
        } else if (iequals(key, "Max-Age")) {
            long long seconds = 0;
            const bool negative = value.starts_with('-');
            const std::string_view digits = negative ? value.substr(1) : value;
            const auto [end, ec] =
                std::from_chars(digits.data(), digits.data() + digits.size(), seconds);
            if (!digits.empty() && ec == std::errc() && end == digits.data() + digits.size()) {
                max_age = negative || seconds == 0
                              ? Clock::time_point::min()
                              : now + std::chrono::seconds(std::min(seconds, 400LL * 24 * 3600));
            } else if (!digits.empty() && ec == std::errc::result_out_of_range && !negative) {
                max_age = now + std::chrono::seconds(400LL * 24 * 3600);
            }
        } else if (iequals(key, "Domain")) {
            std::string_view d = value;
            while (!d.empty() && d.front() == '.') d.remove_prefix(1);
            if (!d.empty()) domain_attribute = lower(d);
        } else if (iequals(key, "Path")) {
            if (value.starts_with('/')) cookie_path = std::string(value);
        } else if (iequals(key, "Secure")) {
            c.secure = true;
        } else if (iequals(key, "HttpOnly")) {
            c.http_only = true;
        } else if (iequals(key, "SameSite")) {
            c.same_site = std::string(value);
        }
    }
    if (max_age) c.expires = *max_age; // Max-Age wins over Expires (§5.3 step 3)
    // §5.3 steps 4-6: the domain; a public suffix at least as far as single labels go.
    const std::string request_host = lower(host);
    if (domain_attribute && *domain_attribute != request_host) {
        if (!domain_match(request_host, *domain_attribute)) return false;
        if (domain_attribute->find('.') == std::string::npos) return false; // "com", "local"
        c.host_only = false;
        c.domain = *domain_attribute;
    } else {
        c.host_only = true;
        c.domain = request_host;
    }
    c.path = cookie_path.empty() ? default_path(path_of(path)) : cookie_path;
    if (c.secure && !secure) return false; // RFC 6265bis: only a secure origin sets Secure
    c.created = now;
    std::lock_guard lock(mutex_);
    if (expired(c, now)) {
        std::erase_if(cookies_, [&](const Cookie& o) {
            return o.name == c.name && o.domain == c.domain && o.path == c.path;
        });
        return false;
    }
    put(std::move(c));
    return true;
}

void CookieJar::put(Cookie c) {
    for (Cookie& o : cookies_) {
        if (o.name == c.name && o.domain == c.domain && o.path == c.path) {
            c.created = o.created; // §5.3 step 11: the old creation time is kept
            o = std::move(c);
            return;
        }
    }
    cookies_.push_back(std::move(c));
}

std::string CookieJar::header_for(std::string_view host, std::string_view path, bool secure,
                                  Clock::time_point now) const {
    std::lock_guard lock(mutex_);
    std::erase_if(cookies_, [&](const Cookie& c) { return expired(c, now); });
    std::vector<const Cookie*> matching;
    const std::string_view request_path = path_of(path);
    for (const Cookie& c : cookies_) {
        const bool domain_ok = c.host_only ? iequals(host, c.domain) : domain_match(host, c.domain);
        if (domain_ok && path_match(request_path.empty() ? "/" : request_path, c.path) &&
            (!c.secure || secure)) {
            matching.push_back(&c);
        }
    }
    // §5.4 step 2: longer paths first, then earlier creation.
    std::stable_sort(matching.begin(), matching.end(), [](const Cookie* a, const Cookie* b) {
        if (a->path.size() != b->path.size()) return a->path.size() > b->path.size();
        return a->created < b->created;
    });
    std::string out;
    for (const Cookie* c : matching) {
        if (!out.empty()) out += "; ";
        out += c->name + "=" + c->value;
    }
    return out;
}

bool CookieJar::store(std::string_view url, std::string_view set_cookie, Clock::time_point now) {
    const detail::Target t = detail::make_target("", url);
    return store(t.origin.host, t.target, t.origin.tls, set_cookie, now);
}

std::string CookieJar::header_for(std::string_view url, Clock::time_point now) const {
    const detail::Target t = detail::make_target("", url);
    return header_for(t.origin.host, t.target, t.origin.tls, now);
}

std::vector<Cookie> CookieJar::cookies() const {
    std::lock_guard lock(mutex_);
    return cookies_;
}

void CookieJar::set(Cookie cookie) {
    std::lock_guard lock(mutex_);
    put(std::move(cookie));
}

void CookieJar::clear() {
    std::lock_guard lock(mutex_);
    cookies_.clear();
}

void CookieJar::load(const std::filesystem::path& file) {
    std::ifstream in(file);
    if (!in) throw std::runtime_error("cookie file " + file.string() + ": cannot be read");
    std::string line;
    std::vector<Cookie> read;
    for (std::size_t number = 1; std::getline(in, line); ++number) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        Cookie c;
        std::string_view text = line;
        if (text.starts_with("#HttpOnly_")) {
            c.http_only = true;
            text.remove_prefix(10);
        } else if (text.empty() || text.starts_with('#')) {
            continue;
        }
        std::vector<std::string_view> fields;
        for (std::size_t start = 0;;) {
            const auto tab = text.find('\t', start);
            fields.push_back(text.substr(start, tab - start));
            if (tab == std::string_view::npos) break;
            start = tab + 1;
        }
        const auto bad = [&](const char* why) {
            throw std::runtime_error("cookie file " + file.string() + ": line " +
                                     std::to_string(number) + ": " + why);
        };
        if (fields.size() != 7) bad("not 7 tab-separated fields");
        std::string_view domain = fields[0];
        const bool subdomains = fields[1] == "TRUE";
        while (domain.starts_with('.')) domain.remove_prefix(1);
        if (domain.empty()) bad("no domain");
        c.domain = lower(domain);
        c.host_only = !subdomains;
        c.path = std::string(fields[2]);
        c.secure = fields[3] == "TRUE";
        long long expiry = 0;
        const auto [end, ec] =
            std::from_chars(fields[4].data(), fields[4].data() + fields[4].size(), expiry);
        if (ec != std::errc() || end != fields[4].data() + fields[4].size())
            bad("expiry is not a number");
        if (expiry != 0) c.expires = Clock::time_point(std::chrono::seconds(expiry));
        c.name = std::string(fields[5]);
        c.value = std::string(fields[6]);
        if (c.name.empty()) bad("no name");
        read.push_back(std::move(c));
    }
    std::lock_guard lock(mutex_);
    for (Cookie& c : read) put(std::move(c));
}

void CookieJar::save(const std::filesystem::path& file) const {
    const auto now = Clock::now();
    std::string text = "# Netscape HTTP Cookie File\n# Written by nector.\n\n";
    {
        std::lock_guard lock(mutex_);
        for (const Cookie& c : cookies_) {
            if (expired(c, now)) continue;
            const long long expiry = c.expires ? std::chrono::duration_cast<std::chrono::seconds>(
                                                     c.expires->time_since_epoch())
                                                     .count()
                                               : 0;
            text += std::string(c.http_only ? "#HttpOnly_" : "") + (c.host_only ? "" : ".") +
                    c.domain + "\t" + (c.host_only ? "FALSE" : "TRUE") + "\t" + c.path + "\t" +
                    (c.secure ? "TRUE" : "FALSE") + "\t" + std::to_string(expiry) + "\t" + c.name +
                    "\t" + c.value + "\n";
        }
    }
    std::ofstream out(file, std::ios::trunc);
    out << text;
    if (!out) throw std::runtime_error("cookie file " + file.string() + ": cannot be written");
}

} // namespace nector::http
