// A cookie jar (RFC 6265), opt-in: Options::cookies. Responses' Set-Cookie fields are
// stored (redirects' too), requests get the Cookie field their URL matches. One jar may be
// shared by several transports, from any thread; load() and save() read and write the
// Netscape cookie-file format curl's -b and -c use (docs/auth-and-cookies.md).
#pragma once

#include <chrono>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nector::http {

struct Cookie {
    std::string name;
    std::string value;
    std::string domain; ///< lower case, no leading dot
    std::string path;
    bool host_only = true; ///< only `domain` itself, not the names under it
    bool secure = false;   ///< only over https://
    bool http_only = false;
    std::optional<std::chrono::system_clock::time_point> expires; ///< none: a session cookie
    std::string same_site; ///< as sent ("Strict", "Lax", "None") or empty; kept, not enforced
    std::chrono::system_clock::time_point created{};

    friend bool operator==(const Cookie&, const Cookie&) = default;
};

class CookieJar {
public:
    using Clock = std::chrono::system_clock;

    /// Stores the cookie of one Set-Cookie field received for `url` (an http:// or https://
    /// URL), following RFC 6265 §5.3: false when it is refused (no name=value, a Domain the
    /// URL's host is not under, a Domain that is a single label or another IP address, Secure
    /// from http://) or it deletes a cookie (expired).
    bool store(std::string_view url, std::string_view set_cookie,
               Clock::time_point now = Clock::now());
    /// The Cookie field value for a request to `url` (empty when no cookie matches): the
    /// unexpired cookies whose domain, path and Secure match, longest path first.
    std::string header_for(std::string_view url, Clock::time_point now = Clock::now()) const;

    /// Every cookie stored, expired ones included until the next store or header_for.
    std::vector<Cookie> cookies() const;
    /// Adds (or replaces: same name, domain and path) a cookie.
    void set(Cookie cookie);
    void clear();

    /// Adds the cookies of a Netscape cookie file (curl's -b FILE; "#HttpOnly_" lines
    /// included). Throws std::runtime_error naming the file and line that cannot be read.
    void load(const std::filesystem::path& file);
    /// Writes every unexpired cookie in that format (curl's -c FILE), session cookies with
    /// expiry 0. Throws std::runtime_error when the file cannot be written.
    void save(const std::filesystem::path& file) const;

    /// For the transport: store() and header_for() with the URL already taken apart.
    bool store(std::string_view host, std::string_view path, bool secure,
               std::string_view set_cookie, Clock::time_point now);
    std::string header_for(std::string_view host, std::string_view path, bool secure,
                           Clock::time_point now) const;

private:
    void put(Cookie cookie); // mutex_ held
    mutable std::mutex mutex_;
    mutable std::vector<Cookie> cookies_;
};

} // namespace nector::http
