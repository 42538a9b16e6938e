// Where a connection goes instead of where its URL's name says, as curl's --resolve and
// --connect-to: the entries of Options::resolve and Options::connect_to, parsed. Validation
// (validate.cpp) and the dialer read them through these functions, so an entry means one
// thing in both.
#pragma once

#include <boost/asio/ip/address.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nector::http::detail {

/// "HOST:PORT:ADDRESS[,ADDRESS...]": connections to HOST:PORT go to these addresses, in
/// order, without a name lookup. IPv6 addresses in brackets.
struct ResolveEntry {
    std::string host; ///< compared case-insensitively
    std::uint16_t port = 0;
    std::vector<boost::asio::ip::address> addresses;
};

/// "HOST:PORT:CONNECT-HOST:CONNECT-PORT": connections to HOST:PORT are made to
/// CONNECT-HOST:CONNECT-PORT instead. An empty HOST or PORT matches any; an empty
/// CONNECT-HOST or CONNECT-PORT keeps the URL's. The URL's host stays the request's Host,
/// the TLS server name and the name the certificate is checked against.
struct ConnectToEntry {
    std::string host;               ///< compared case-insensitively; empty: any
    std::uint16_t port = 0;         ///< 0: any
    std::string connect_host;       ///< empty: the URL's host; IPv6 without brackets
    std::uint16_t connect_port = 0; ///< 0: the URL's port
};

/// Parse one entry; std::invalid_argument saying what is wrong (the entry escaped).
ResolveEntry parse_resolve(std::string_view entry);
ConnectToEntry parse_connect_to(std::string_view entry);

/// Where a connection to host:port goes: the first connect_to entry that matches, applied.
struct Destination {
    std::string host;
    std::uint16_t port;
};
Destination destination(const std::vector<ConnectToEntry>& connect_to, std::string_view host,
                        std::uint16_t port);

/// The addresses a resolve entry gives host:port (host compared case-insensitively), or
/// nullptr.
const ResolveEntry* resolved(const std::vector<ResolveEntry>& resolve, std::string_view host,
                             std::uint16_t port);

} // namespace nector::http::detail
