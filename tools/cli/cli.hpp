// The `nector` command line: what its parts share. Everything here uses nector's public API
// only (the rule of issue 19): what the CLI needs that the API lacks is an API change.
//
//   request.cpp   `nector [METHOD] URL [ITEM...]`: flags to Options, the call, the exit code
//   items.cpp     httpie-style items (Header:value, name==query, field=value, field:=json,
//                 field@file) and the curl-style body flags, to an HttpMessage
//   output.cpp    what is printed: heads, bodies, pretty JSON, colours, the binary notice
//   message.cpp   `nector message build|inspect`: nector's own message envelopes
//   main.cpp      the command line's grammar (CLI11) and the dispatch
#pragma once

#include <nector/nector.hpp>

#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace nector::cli {

/// Exit statuses, by error class (docs/cli.md lists them; httpie's where it has one).
enum class Exit : int {
    ok = 0,
    error = 1,              ///< anything not below
    timeout = 2,            ///< a connect, read, write, pool or total timeout
    status_3xx = 3,         ///< --check-status and a 3xx final response
    status_4xx = 4,         ///< --check-status and a 4xx
    status_5xx = 5,         ///< --check-status and a 5xx
    too_many_redirects = 6, ///< more redirects than --max-redirects, or https -> http
    connection = 7,         ///< refused, reset, closed, no such host, a proxy's refusal
    tls = 8,                ///< certificate untrusted, expired or for another host; handshake
    bad_input = 9,          ///< the command line, a URL, a header, a file that cannot be read
    bad_response = 10,      ///< a response that could not be read (malformed, too large)
};

/// The command line asked for something that cannot be done; exit status bad_input.
class UsageError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// The exit status for a nector error code.
Exit exit_for(std::error_code ec) noexcept;

/// What `nector [METHOD] URL [ITEM...]` builds its request from.
struct RequestInput {
    std::vector<std::string> positionals; ///< [METHOD] URL [ITEM...]
    std::string method;                   ///< -X/--method (wins over a positional METHOD)
    std::vector<std::string> headers;     ///< -H/--header "Name: value"
    std::optional<std::string> json;      ///< --json TEXT: a raw JSON body
    std::vector<std::string> data;        ///< -d/--data TEXT|@FILE|@- (joined with '&')
    bool form = false;                    ///< -f/--form: data items as form fields
    bool ignore_stdin = false;            ///< --ignore-stdin
    std::string default_scheme = "http";  ///< for URLs given without one
};

/// The request the command line describes, and the headers it unsets ("Name:" items: a
/// header nector would otherwise send, such as User-Agent, is left out).
struct BuiltRequest {
    http::HttpMessage message;
    std::vector<std::string> unset;
};

/// The request of httpie's grammar (docs/cli.md). When the command line gives no body,
/// standard input is read as the body if it is a pipe or a file (not with --ignore-stdin).
/// Throws UsageError saying which argument is wrong and why.
BuiltRequest build_request(const RequestInput& input);

/// `-H "Name: value"` flags as header fields; throws UsageError for one without a name.
Headers header_flags(const std::vector<std::string>& flags);

/// The URL httpie would make of `text`: ":8080/x" -> "http://localhost:8080/x",
/// "example.org/x" -> "http://example.org/x"; URLs with a scheme are kept.
std::string expand_url(std::string_view text, std::string_view default_scheme);

/// Standard input as the body: its bytes when it is a pipe or a regular file (not a
/// terminal, not /dev/null's character device) and `wanted`; nullopt otherwise.
std::optional<std::string> read_stdin_body(bool wanted);

/// Whether `fd` is a terminal (colours, the progress bar and the binary notice need one).
bool is_terminal(int fd) noexcept;

} // namespace nector::cli
