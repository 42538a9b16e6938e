// httpie-style request items and curl-style body flags, to an HttpMessage.
#include "cli.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <fmt/core.h>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

namespace nector::cli {
namespace {

namespace json = boost::json;

// httpie's separators. At the earliest position where one matches, the longest wins, so
// `a:=1` is raw JSON, `q==1` a query parameter and `Accept:a=b` a header.
constexpr std::array<std::string_view, 8> separators{":=@", "=@", "==", ":=", "=", "@", ":", ";"};

struct Item {
    std::string key;
    std::string_view separator;
    std::string value;
    std::string text; // the argument as given, for messages
};

// `arg` split at its first unescaped separator; nullopt when it has none. A backslash
// escapes the next character of the key (`a\:b=c` is the field "a:b").
std::optional<Item> split_item(std::string_view arg) {
    std::string key;
    for (std::size_t i = 0; i < arg.size(); ++i) {
        if (arg[i] == '\\' && i + 1 < arg.size()) {
            key += arg[++i];
            continue;
        }
        std::string_view found;
        for (const auto sep : separators) {
            if (arg.substr(i).starts_with(sep) && sep.size() > found.size()) found = sep;
        }
        if (!found.empty()) {
            return Item{std::move(key), found, std::string(arg.substr(i + found.size())),
                        std::string(arg)};
        }
        key += arg[i];
    }
    return std::nullopt;
}

// A first word that names a method: a known one in any case ("get", "Delete"), or any
// word of upper-case letters ("PURGE"). "localhost" or "example" is a URL instead.
bool is_method_word(std::string_view text) {
    static constexpr std::array<std::string_view, 9> known{
        "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"};
    if (text.empty()) return false;
    bool upper = true;
    for (const char c : text) {
        if (std::isalpha(static_cast<unsigned char>(c)) == 0) return false;
        if (std::isupper(static_cast<unsigned char>(c)) == 0) upper = false;
    }
    return upper || std::any_of(known.begin(), known.end(),
                                [&](std::string_view m) { return iequals(m, text); });
}

std::string upper(std::string_view text) {
    std::string out(text);
    for (auto& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return out;
}

std::string read_file(const std::string& path, std::string_view what) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw UsageError(fmt::format("{}: cannot read the file \"{}\"", what, path));
    return {std::istreambuf_iterator<char>(in), {}};
}

json::value parse_json(std::string_view text, std::string_view what) {
    boost::system::error_code ec;
    json::value value = json::parse(text, ec);
    if (ec) throw UsageError(fmt::format("{}: not JSON ({})", what, ec.message()));
    return value;
}

// A file part's type: `path;type=MIME` says it; else by the file's extension.
std::string content_type_of(const std::string& path) {
    static constexpr std::array<std::pair<std::string_view, std::string_view>, 14> types{{
        {".json", "application/json"},
        {".txt", "text/plain"},
        {".html", "text/html"},
        {".htm", "text/html"},
        {".css", "text/css"},
        {".csv", "text/csv"},
        {".xml", "application/xml"},
        {".js", "text/javascript"},
        {".png", "image/png"},
        {".jpg", "image/jpeg"},
        {".jpeg", "image/jpeg"},
        {".gif", "image/gif"},
        {".pdf", "application/pdf"},
        {".zip", "application/zip"},
    }};
    const auto dot = path.rfind('.');
    if (dot != std::string::npos) {
        const std::string ext = [&] {
            std::string e = path.substr(dot);
            for (auto& c : e) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            return e;
        }();
        for (const auto& [suffix, type] : types) {
            if (ext == suffix) return std::string(type);
        }
    }
    return "application/octet-stream";
}

// -d/--data: curl's rules. TEXT as is, @FILE the file's bytes, @- standard input; several
// joined with '&'.
std::string data_body(const std::vector<std::string>& data) {
    std::string body;
    for (const auto& d : data) {
        if (!body.empty()) body += '&';
        if (d == "@-") {
            body.append(std::istreambuf_iterator<char>(std::cin), {});
        } else if (d.starts_with('@')) {
            body += read_file(d.substr(1), "--data " + d);
        } else {
            body += d;
        }
    }
    return body;
}

} // namespace

std::string expand_url(std::string_view text, std::string_view default_scheme) {
    if (text.find("://") != std::string_view::npos) return std::string(text);
    // httpie's localhost shorthand: ":3000/x", ":/x", ":".
    if (text.starts_with(':')) {
        std::string_view rest = text.substr(1);
        std::string port;
        while (!rest.empty() && std::isdigit(static_cast<unsigned char>(rest.front())) != 0) {
            port += rest.front();
            rest.remove_prefix(1);
        }
        std::string url = fmt::format("{}://localhost", default_scheme);
        if (!port.empty()) url += ":" + port;
        if (rest.empty() || rest.front() != '/') url += '/';
        url += rest;
        return url;
    }
    return fmt::format("{}://{}", default_scheme, text);
}

BuiltRequest build_request(const RequestInput& input) {
    const auto& args = input.positionals;
    if (args.empty()) throw UsageError("no URL given (nector [METHOD] URL [ITEM...])");

    // [METHOD] URL: a first word that names a method (is_method_word) is the method when a
    // URL follows it; `nector localhost a=1` is a POST to http://localhost/.
    std::size_t at = 0;
    std::string method = input.method.empty() ? std::string() : upper(input.method);
    if (args.size() >= 2 && is_method_word(args[0])) {
        if (method.empty()) method = upper(args[0]);
        at = 1;
    }
    BuiltRequest built;
    http::HttpMessage& message = built.message;
    message.url = expand_url(args[at], input.default_scheme);

    json::object fields;
    bool has_fields = false;
    bool has_files = false;
    for (std::size_t i = at + 1; i < args.size(); ++i) {
        auto item = split_item(args[i]);
        if (!item) {
            throw UsageError(
                fmt::format("\"{}\" is not a request item (Header:value, name==value, field=value, "
                            "field:=json, field@file)",
                            args[i]));
        }
        const std::string_view sep = item->separator;
        const std::string& text = item->text;
        if (sep == ":") {
            if (item->key.empty()) throw UsageError(fmt::format("\"{}\": no header name", text));
            std::string value = item->value;
            value.erase(0, value.find_first_not_of(" \t"));
            // httpie: "Name:" with nothing after it unsets a header nector would send.
            if (value.empty()) {
                message.headers.erase(item->key);
                built.unset.push_back(item->key);
                continue;
            }
            message.headers.add(item->key, std::move(value));
        } else if (sep == ";") {
            if (!item->value.empty()) {
                throw UsageError(
                    fmt::format("\"{}\": \"Name;\" sends an empty header and "
                                "takes no value",
                                text));
            }
            message.headers.add(item->key, "");
        } else if (sep == "==") {
            message.params.emplace_back(item->key, item->value);
        } else if (sep == "@") {
            std::string path = item->value;
            std::string type;
            if (const auto semi = path.rfind(";type="); semi != std::string::npos) {
                type = path.substr(semi + 6);
                path.resize(semi);
            }
            if (::access(path.c_str(), R_OK) != 0) {
                throw UsageError(fmt::format("\"{}\": cannot read the file \"{}\"", text, path));
            }
            const auto slash = path.rfind('/');
            message.files.push_back(
                http::File{.field = item->key,
                           .filename = slash == std::string::npos ? path : path.substr(slash + 1),
                           .content_type = type.empty() ? content_type_of(path) : type,
                           .path = path});
            has_files = true;
        } else {
            // Data fields: =, :=, =@, :=@.
            has_fields = true;
            const bool raw_json = sep == ":=" || sep == ":=@";
            std::string value =
                (sep == "=@" || sep == ":=@") ? read_file(item->value, text) : item->value;
            if (raw_json) {
                fields[item->key] = parse_json(value, fmt::format("\"{}\"", text));
            } else {
                fields[item->key] = value;
            }
        }
    }

    // The body: one source at most.
    const int sources = static_cast<int>(has_fields || has_files) +
                        static_cast<int>(input.json.has_value()) +
                        static_cast<int>(!input.data.empty());
    if (sources > 1) {
        throw UsageError(
            "the body is given twice: use request items, --json or --data, "
            "one of them");
    }
    const bool form = input.form || has_files;
    if (has_files || (has_fields && form)) {
        for (const auto& [key, value] : fields) {
            if (!value.is_string()) {
                throw UsageError(
                    fmt::format("the field \"{}\" is raw JSON and cannot go in a "
                                "form",
                                std::string_view(key)));
            }
            message.form.emplace_back(std::string(key), std::string(value.as_string()));
        }
    } else if (has_fields) {
        message.json = std::move(fields);
        if (!message.headers.contains("Accept"))
            message.headers.add("Accept", "application/json, */*;q=0.5");
    } else if (input.json) {
        message.json = parse_json(*input.json, "--json");
        if (!message.headers.contains("Accept"))
            message.headers.add("Accept", "application/json, */*;q=0.5");
    } else if (!input.data.empty()) {
        message.content = to_bytes(data_body(input.data));
        if (!message.headers.contains("Content-Type"))
            message.headers.add("Content-Type", "application/x-www-form-urlencoded");
    } else if (auto piped = read_stdin_body(!input.ignore_stdin)) {
        message.content = to_bytes(*piped);
    }
    for (auto& [name, value] : header_flags(input.headers)) {
        message.headers.add(std::move(name), std::move(value));
    }
    const bool has_body =
        message.json || message.content || !message.form.empty() || !message.files.empty();
    message.method = !method.empty() ? method : (has_body ? "POST" : "GET");
    for (const auto& name : built.unset) message.headers.erase(name);
    return built;
}

Headers header_flags(const std::vector<std::string>& flags) {
    Headers headers;
    for (const auto& h : flags) {
        const auto colon = h.find(':');
        if (colon == std::string::npos || colon == 0) {
            throw UsageError(fmt::format("-H \"{}\" is not \"Name: value\"", h));
        }
        std::string value = h.substr(colon + 1);
        value.erase(0, value.find_first_not_of(" \t"));
        headers.add(h.substr(0, colon), std::move(value));
    }
    return headers;
}

std::optional<std::string> read_stdin_body(bool wanted) {
    if (!wanted || is_terminal(STDIN_FILENO)) return std::nullopt;
    struct stat st {};
    if (::fstat(STDIN_FILENO, &st) != 0) return std::nullopt;
    if (!S_ISFIFO(st.st_mode) && !S_ISREG(st.st_mode) && !S_ISSOCK(st.st_mode)) return std::nullopt;
    std::string body(std::istreambuf_iterator<char>(std::cin), {});
    if (body.empty()) return std::nullopt;
    return body;
}

bool is_terminal(int fd) noexcept { return ::isatty(fd) == 1; }

} // namespace nector::cli
