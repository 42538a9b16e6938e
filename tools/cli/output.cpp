// What `nector` prints (output.hpp).
#include "output.hpp"

#include "cli.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <fmt/core.h>

#include <cctype>

namespace nector::cli {
namespace {

namespace json = boost::json;

// ANSI SGR colours (as httpie's default style uses them).
constexpr std::string_view reset = "\x1b[0m";
constexpr std::string_view blue = "\x1b[34m";
constexpr std::string_view cyan = "\x1b[36m";
constexpr std::string_view green = "\x1b[32m";
constexpr std::string_view yellow = "\x1b[33m";
constexpr std::string_view red = "\x1b[31m";
constexpr std::string_view magenta = "\x1b[35m";
constexpr std::string_view bold_blue = "\x1b[1;34m";

std::string paint(std::string_view text, std::string_view color, bool on) {
    if (!on) return std::string(text);
    std::string out(color);
    out.append(text).append(reset);
    return out;
}

std::string_view status_color(int status) {
    if (status < 300) return green;
    if (status < 400) return yellow;
    return red;
}

// A field line: "Name: value", the name coloured.
void print_field(std::FILE* out, std::string_view name, std::string_view value, const Print& print,
                 std::string_view eol) {
    fmt::print(out, "{}: {}{}", paint(name, cyan, print.colors), value, eol);
}

// The request target of `url`: its path and query ("/" when it has no path).
std::string target_of(std::string_view url) {
    const auto scheme = url.find("://");
    const auto start = scheme == std::string_view::npos ? 0 : scheme + 3;
    const auto slash = url.find_first_of("/?", start);
    if (slash == std::string_view::npos) return "/";
    if (url[slash] == '?') return std::string("/").append(url.substr(slash));
    return std::string(url.substr(slash));
}

std::string_view authority_of(std::string_view url) {
    const auto scheme = url.find("://");
    const auto start = scheme == std::string_view::npos ? 0 : scheme + 3;
    auto authority = url.substr(start, url.find_first_of("/?#", start) - start);
    if (const auto at = authority.rfind('@'); at != std::string_view::npos)
        authority.remove_prefix(at + 1);
    return authority;
}

void indent_value(std::string& out, const json::value& v, int depth) {
    const auto pad = [&](int d) { out.append(static_cast<std::size_t>(d) * 4, ' '); };
    if (v.is_object()) {
        const auto& o = v.as_object();
        if (o.empty()) {
            out += "{}";
            return;
        }
        out += "{\n";
        bool first = true;
        for (const auto& [key, value] : o) {
            if (!first) out += ",\n";
            first = false;
            pad(depth + 1);
            out += json::serialize(json::string(key));
            out += ": ";
            indent_value(out, value, depth + 1);
        }
        out += '\n';
        pad(depth);
        out += '}';
    } else if (v.is_array()) {
        const auto& a = v.as_array();
        if (a.empty()) {
            out += "[]";
            return;
        }
        out += "[\n";
        bool first = true;
        for (const auto& value : a) {
            if (!first) out += ",\n";
            first = false;
            pad(depth + 1);
            indent_value(out, value, depth + 1);
        }
        out += '\n';
        pad(depth);
        out += ']';
    } else {
        out += json::serialize(v);
    }
}

bool looks_like_json(std::string_view content_type, std::string_view body) {
    if (content_type.find("json") != std::string_view::npos) return true;
    const auto first = body.find_first_not_of(" \t\r\n");
    return first != std::string_view::npos && (body[first] == '{' || body[first] == '[') &&
           content_type.empty();
}

} // namespace

Print Print::from_letters(std::string_view letters) {
    Print p;
    p.response_body = false;
    for (const char c : letters) {
        switch (c) {
            case 'H':
                p.request_head = true;
                break;
            case 'B':
                p.request_body = true;
                break;
            case 'h':
                p.response_head = true;
                break;
            case 'b':
                p.response_body = true;
                break;
            default:
                throw UsageError(fmt::format(
                    "--print \"{}\": '{}' is not one of H (request head), B (request body), h "
                    "(response head), b (response body)",
                    letters, c));
        }
    }
    return p;
}

void print_request_head(std::FILE* out, const http::InterceptedRequest& request,
                        http::Version version, const Print& print) {
    const std::string_view eol = print.wire ? "\r\n" : "\n";
    fmt::print(out, "{} {} {}{}", paint(request.method, green, print.colors),
               paint(target_of(request.url), cyan, print.colors),
               paint(http::to_string(version), blue, print.colors), eol);
    // Host is the wire's own field (":authority" over HTTP/2): shown as HTTP/1.1 sends it.
    if (!request.headers.contains("Host"))
        print_field(out, "Host", authority_of(request.url), print, eol);
    for (const auto& [name, value] : request.headers) print_field(out, name, value, print, eol);
    fmt::print(out, "{}", eol);
}

void print_response_head(std::FILE* out, const http::Response& response, const Print& print) {
    const std::string_view eol = print.wire ? "\r\n" : "\n";
    std::string status = std::to_string(response.status);
    // HTTP/2 has no reason phrase: Response::reason is the standard one, not what was sent.
    if (!response.reason.empty() && response.version != http::Version::http_2)
        status.append(" ").append(response.reason);
    fmt::print(out, "{} {}{}", paint(http::to_string(response.version), blue, print.colors),
               paint(status, status_color(response.status), print.colors), eol);
    for (const auto& [name, value] : response.headers) print_field(out, name, value, print, eol);
    fmt::print(out, "{}", eol);
}

void print_body(std::FILE* out, std::string_view body, std::string_view content_type,
                const Print& print) {
    if (body.empty()) return;
    if (print.terminal && body.find('\0') != std::string_view::npos) {
        fmt::print(out,
                   "+-----------------------------------------+\n"
                   "| NOTE: binary data not shown in terminal |\n"
                   "+-----------------------------------------+\n");
        return;
    }
    if ((print.format || print.colors) && looks_like_json(content_type, body)) {
        std::string text = print.format ? indent_json(body) : std::string(body);
        if (print.colors) text = color_json(text);
        std::fwrite(text.data(), 1, text.size(), out);
        if (print.format) std::fputc('\n', out);
        return;
    }
    std::fwrite(body.data(), 1, body.size(), out);
    if (print.terminal && body.back() != '\n') std::fputc('\n', out);
}

std::string indent_json(std::string_view text) {
    boost::system::error_code ec;
    const json::value v = json::parse(text, ec);
    if (ec) return std::string(text);
    std::string out;
    indent_value(out, v, 0);
    return out;
}

std::string color_json(std::string_view text) {
    std::string out;
    std::size_t i = 0;
    while (i < text.size()) {
        const char c = text[i];
        if (c == '"') {
            std::size_t end = i + 1;
            while (end < text.size() && text[end] != '"')
                end += text[end] == '\\' ? std::size_t{2} : std::size_t{1};
            end = std::min(end + 1, text.size());
            const auto next = text.find_first_not_of(" \t\r\n", end);
            const bool key = next != std::string_view::npos && text[next] == ':';
            out += paint(text.substr(i, end - i), key ? bold_blue : green, true);
            i = end;
        } else if (c == '-' || std::isdigit(static_cast<unsigned char>(c)) != 0) {
            std::size_t end = i + 1;
            while (end < text.size() && (std::isalnum(static_cast<unsigned char>(text[end])) != 0 ||
                                         text[end] == '.' || text[end] == '+' || text[end] == '-'))
                ++end;
            out += paint(text.substr(i, end - i), cyan, true);
            i = end;
        } else if (std::isalpha(static_cast<unsigned char>(c)) != 0) {
            std::size_t end = i;
            while (end < text.size() && std::isalpha(static_cast<unsigned char>(text[end])) != 0)
                ++end;
            out += paint(text.substr(i, end - i), magenta, true);
            i = end;
        } else {
            out += c;
            ++i;
        }
    }
    return out;
}

} // namespace nector::cli
