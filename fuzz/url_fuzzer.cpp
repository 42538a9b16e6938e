// Request targets (src/http/message/url.cpp): joining onto a base URL, validation, redirect
// resolution and redaction, on arbitrary URLs.
//
// Input: up to three lines: the base URL, the URL, a Location to resolve against the result.
//
// Checked on every input: only nector's typed error (invalid_url); an accepted target has a
// host, a port, a request-target starting with '/', no userinfo, CR, LF, space or NUL in its
// URL or Host field, and reads the same when made again from its own URL; redaction is
// idempotent and leaves no '@' before the host of what it redacts.
#include "http/message/url.hpp"

#include <nector/transport/errors.hpp>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

namespace {

using nector::http::detail::make_target;
using nector::http::detail::redact;
using nector::http::detail::resolve_location;
using nector::http::detail::Target;

bool has_control(std::string_view s) {
    for (char c : s)
        if (c == '\r' || c == '\n' || c == '\0' || c == ' ') return true;
    return false;
}

void check_typed(const nector::TransportError& e) {
    if (e.code() != nector::errc::invalid_url) std::abort();
}

void check_target(const Target& t) {
    if (t.origin.host.empty() || t.origin.port == 0) std::abort();
    if (t.target.empty() || t.target[0] != '/') std::abort();
    if (has_control(t.url) || has_control(t.host_header) || has_control(t.target)) std::abort();
    if (redact(t.url) != t.url) std::abort(); // no credentials left in it
    // Made again from its own URL, it is the same target.
    const Target again = make_target("", t.url);
    if (!(again.origin == t.origin) || again.target != t.target || again.url != t.url ||
        again.host_header != t.host_header)
        std::abort();
}

std::string_view next_line(std::string_view& rest) {
    const auto end = rest.find('\n');
    const std::string_view line = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
    return line;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view rest(reinterpret_cast<const char*>(data), size);
    const std::string_view base = next_line(rest);
    const std::string_view url = next_line(rest);
    const std::string_view location = rest;
    for (std::string_view u : {base, url, location}) {
        const std::string once = redact(u);
        if (redact(once) != once) std::abort();
    }
    try {
        const Target t = make_target(base, url);
        check_target(t);
        const std::string next = resolve_location(t.url, location);
        check_target(make_target("", next));
    } catch (const nector::TransportError& e) {
        check_typed(e);
    }
    return 0;
}
