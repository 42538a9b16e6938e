#include "http/options/addressing.hpp"

#include "http/message/body.hpp"
#include "nector/transport/headers.hpp"

#include <charconv>
#include <stdexcept>

namespace nector::http::detail {
namespace {

[[noreturn]] void refuse(std::string_view entry, const std::string& why) {
    throw std::invalid_argument(in_quotes(entry) + ": " + why);
}

// The next ':'-separated field; a field in brackets ("[::1]") may hold colons.
std::string_view field(std::string_view& rest, std::string_view entry, bool last) {
    std::string_view out;
    if (!rest.empty() && rest.front() == '[') {
        const auto close = rest.find(']');
        if (close == std::string_view::npos) refuse(entry, "a '[' without its ']'");
        out = rest.substr(0, close + 1);
        rest.remove_prefix(close + 1);
        if (!last) {
            if (rest.empty() || rest.front() != ':') refuse(entry, "':' expected after ']'");
            rest.remove_prefix(1);
        }
        return out;
    }
    if (last) {
        out = rest;
        rest = {};
        return out;
    }
    const auto colon = rest.find(':');
    if (colon == std::string_view::npos) refuse(entry, "too few ':'-separated fields");
    out = rest.substr(0, colon);
    rest.remove_prefix(colon + 1);
    return out;
}

std::uint16_t port_of(std::string_view text, std::string_view entry, bool may_be_empty) {
    if (text.empty()) {
        if (may_be_empty) return 0;
        refuse(entry, "a port is missing");
    }
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end != text.data() + text.size() || value == 0 || value > 65535) {
        refuse(entry, in_quotes(text) + " is not a port (1 to 65535)");
    }
    return static_cast<std::uint16_t>(value);
}

std::string host_of(std::string_view text, std::string_view entry) {
    if (text.size() >= 2 && text.front() == '[' && text.back() == ']') {
        text = text.substr(1, text.size() - 2);
    }
    for (const char c : text) {
        const auto u = static_cast<unsigned char>(c);
        if (u <= 0x20 || u == 0x7F || c == '/' || c == '?' || c == '#' || c == '@') {
            refuse(entry, "the host \"" + printable(text) + "\" is not a host name or address");
        }
    }
    return std::string(text);
}

} // namespace

ResolveEntry parse_resolve(std::string_view entry) {
    std::string_view rest = entry;
    ResolveEntry out;
    out.host = host_of(field(rest, entry, false), entry);
    if (out.host.empty()) refuse(entry, "the host is missing");
    out.port = port_of(field(rest, entry, false), entry, false);
    if (rest.empty()) refuse(entry, "no address");
    while (!rest.empty()) {
        const auto comma = rest.find(',', rest.front() == '[' ? rest.find(']') : 0);
        std::string_view text = rest.substr(0, comma);
        rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
        if (text.size() >= 2 && text.front() == '[' && text.back() == ']') {
            text = text.substr(1, text.size() - 2);
        }
        boost::system::error_code ec;
        const auto address = boost::asio::ip::make_address(std::string(text), ec);
        if (ec) refuse(entry, in_quotes(text) + " is not an IP address");
        out.addresses.push_back(address);
    }
    return out;
}

ConnectToEntry parse_connect_to(std::string_view entry) {
    std::string_view rest = entry;
    ConnectToEntry out;
    out.host = host_of(field(rest, entry, false), entry);
    out.port = port_of(field(rest, entry, false), entry, true);
    out.connect_host = host_of(field(rest, entry, false), entry);
    out.connect_port = port_of(field(rest, entry, true), entry, true);
    if (out.connect_host.empty() && out.connect_port == 0) {
        refuse(entry, "neither a host nor a port to connect to");
    }
    return out;
}

Destination destination(const std::vector<ConnectToEntry>& connect_to, std::string_view host,
                        std::uint16_t port) {
    for (const auto& e : connect_to) {
        if ((e.host.empty() || iequals(e.host, host)) && (e.port == 0 || e.port == port)) {
            return {e.connect_host.empty() ? std::string(host) : e.connect_host,
                    e.connect_port == 0 ? port : e.connect_port};
        }
    }
    return {std::string(host), port};
}

const ResolveEntry* resolved(const std::vector<ResolveEntry>& resolve, std::string_view host,
                             std::uint16_t port) {
    for (const auto& e : resolve) {
        if (iequals(e.host, host) && e.port == port) return &e;
    }
    return nullptr;
}

} // namespace nector::http::detail
