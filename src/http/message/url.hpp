// Request targets: base_url joining, validation, origins, redirect resolution.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace nector::http::detail {

/// Where a connection goes: scheme, host and port. Connections are pooled per origin.
struct Origin {
    std::string host; ///< name or address, without IPv6 brackets
    std::uint16_t port = 0;
    bool tls = false;

    friend bool operator==(const Origin&, const Origin&) = default;
};

/// A request URL taken apart.
struct Target {
    Origin origin;
    std::string host_header; ///< Host field: host[:port], port omitted when default
    std::string target;      ///< request-target: path and query, e.g. "/a?b=1"
    std::string url;         ///< the whole URL without credentials or fragment
    std::string userinfo;    ///< "user:password" from the URL (percent-decoded), if any
};

/// Joins `url` onto `base` as httpx does (a relative URL is appended to base's path, a
/// leading '/' notwithstanding; an absolute URL stands alone) and validates the result:
/// scheme http or https, a host, a valid port. Throws TransportSpecificError
/// (invalid_url) naming the URL and the problem.
Target make_target(std::string_view base, std::string_view url);

/// `location` (a Location header) resolved against `current` per RFC 3986.
/// Throws TransportSpecificError (invalid_url) when it cannot be parsed.
std::string resolve_location(std::string_view current, std::string_view location);

/// `url` with any user:password@ removed, for messages and Response::url.
std::string redact(std::string_view url);

} // namespace nector::http::detail
