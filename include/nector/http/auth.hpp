// Credentials a transport sends (docs/auth-and-cookies.md): Basic and Bearer on every
// request, HTTP Digest (RFC 7616) in answer to a server's challenge; and the header values
// of Basic and Bearer for a single request's own Authorization header.
#pragma once

#include <boost/describe/class.hpp>
#include <boost/describe/enum.hpp>

#include <string>
#include <string_view>

namespace nector::http {

/// How a transport authenticates its requests.
enum class AuthScheme {
    /// By what is set: Basic when a user or password is, Bearer when a token is, else no
    /// credentials (a URL's user:password still become Basic, for that request).
    automatic,
    basic,  ///< "Authorization: Basic base64(user:password)" on every request (RFC 7617)
    bearer, ///< "Authorization: Bearer token" on every request (RFC 6750)
    /// HTTP Digest (RFC 7616): a request answered 401 with a Digest challenge is sent once
    /// more with the answer (MD5, SHA-256 or SHA-512-256, and their -sess forms; qop=auth,
    /// or none as RFC 2069); later requests to that origin answer the same challenge at
    /// once, counting nc up, until the server sends a new one.
    digest,
};
BOOST_DESCRIBE_ENUM(AuthScheme, automatic, basic, bearer, digest)

/// Options::auth. Credentials are sent only to the origins the requests name: a redirect to
/// another origin drops the Authorization header. They appear in no error message.
struct Auth {
    AuthScheme scheme = AuthScheme::automatic;
    std::string user;     ///< basic and digest; for basic, without ':'
    std::string password; ///< basic and digest
    std::string token;    ///< bearer

    static Auth basic(std::string user, std::string password) {
        return with(AuthScheme::basic, std::move(user), std::move(password), {});
    }
    static Auth bearer(std::string token) {
        return with(AuthScheme::bearer, {}, {}, std::move(token));
    }
    static Auth digest(std::string user, std::string password) {
        return with(AuthScheme::digest, std::move(user), std::move(password), {});
    }

private:
    // Every member named: GCC 12's -Wextra warns of designated initializers that leave some out.
    static Auth with(AuthScheme scheme, std::string user, std::string password, std::string token) {
        Auth auth;
        auth.scheme = scheme;
        auth.user = std::move(user);
        auth.password = std::move(password);
        auth.token = std::move(token);
        return auth;
    }
};
BOOST_DESCRIBE_STRUCT(Auth, (), (scheme, user, password, token))

/// The scheme `auth` stands for: its own, or for automatic what is set (none when nothing
/// is, AuthScheme::automatic then meaning no credentials).
constexpr AuthScheme effective_scheme(const Auth& auth) noexcept {
    if (auth.scheme != AuthScheme::automatic) return auth.scheme;
    if (!auth.token.empty()) return AuthScheme::bearer;
    if (!auth.user.empty() || !auth.password.empty()) return AuthScheme::basic;
    return AuthScheme::automatic;
}

/// "Basic " + base64(user ":" password): an Authorization value for one request.
std::string basic_auth(std::string_view user, std::string_view password);
/// "Bearer " + token.
std::string bearer_auth(std::string_view token);

} // namespace nector::http
