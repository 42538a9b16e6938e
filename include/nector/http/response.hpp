// Response: one HTTP response, with the redirects that led to it and per-phase timings.
#pragma once

#include "nector/http/duration.hpp"
#include "nector/transport/headers.hpp"

#include <boost/json/value.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace nector::http {

/// The protocol version that answered.
enum class Version { http_1_0, http_1_1, http_2 };

/// "HTTP/1.0", "HTTP/1.1" or "HTTP/2".
std::string_view to_string(Version v) noexcept;

/// Where the time of one exchange went. Phases that did not happen (dns, connect and tls
/// on a reused connection) are zero.
struct Timings {
    Duration dns{};     ///< name lookup
    Duration connect{}; ///< TCP connect
    Duration tls{};     ///< TLS handshake
    /// The TLS handshake resumed a session the server gave an earlier connection
    /// (TlsOptions::session_resumption): no certificate was sent.
    bool tls_resumed = false;
    Duration first_byte{}; ///< from sending the request to the first response byte
    Duration total{};      ///< the whole exchange, connection set-up included
};

/// An HTTP response. Plain data: copy, move and compare freely.
struct Response {
    int status = 0;
    std::string reason;
    Version version = Version::http_1_1;
    Headers headers;  ///< case-insensitive lookup, repeated names kept in order
    std::string body; ///< the bytes received (empty for HEAD)
    /// Trailer fields sent after the body: HTTP/2's trailing HEADERS, HTTP/1.1's trailer
    /// section after the last chunk (kept apart from `headers`, RFC 9110 §6.5).
    Headers trailers;
    std::string method;            ///< the request method that got this response
    std::string url;               ///< the URL that answered (after redirects), credentials removed
    std::vector<Response> history; ///< redirect responses followed, oldest first
    Timings timings;

    /// The body as text (nector does not transcode; HTTP bodies are treated as UTF-8).
    std::string_view text() const noexcept { return body; }
    /// The body parsed as JSON; throws DeserializationError saying why it is not JSON.
    boost::json::value json() const;
    bool is_success() const noexcept { return status >= 200 && status < 300; }
    bool is_redirect() const noexcept {
        return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
    }
    /// Throws the HTTPStatusError subclass for the status (TDS-4 §3.1) when it is >= 400;
    /// does nothing otherwise.
    void raise_for_status() const;
};

} // namespace nector::http
