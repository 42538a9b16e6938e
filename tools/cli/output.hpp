// What `nector` prints: request and response heads, bodies, pretty JSON, colours, and the
// notice shown on a terminal instead of a binary body (httpie's rules; docs/cli.md).
#pragma once

#include <nector/nector.hpp>

#include <cstdio>
#include <string>
#include <string_view>

namespace nector::cli {

struct Print {
    bool request_head = false;  ///< H
    bool request_body = false;  ///< B
    bool response_head = false; ///< h
    bool response_body = true;  ///< b
    bool colors = false;        ///< ANSI colours (--pretty=colors|all)
    bool format = false;        ///< JSON reindented (--pretty=format|all)
    bool terminal = false;      ///< stdout is a terminal: a binary body is not dumped on it
    bool wire = false;          ///< -i: heads as curl -i prints them (CRLF line ends)

    /// --print letters ("HBhb"); throws UsageError for another letter.
    static Print from_letters(std::string_view letters);
};

/// The request line and header fields of an exchange, as sent.
void print_request_head(std::FILE* out, const http::InterceptedRequest& request,
                        http::Version version, const Print& print);

/// The status line and header fields: "HTTP/1.1 404 Not Found" with the reason as the server
/// sent it (none for HTTP/2, which has none), then each field in the order received.
void print_response_head(std::FILE* out, const http::Response& response, const Print& print);

/// A body: JSON reformatted and/or coloured when asked and it is JSON, a notice instead of
/// bytes with a NUL on a terminal, else the bytes as they are.
void print_body(std::FILE* out, std::string_view body, std::string_view content_type,
                const Print& print);

/// `text` as JSON, indented by four spaces (a parse failure returns it unchanged).
std::string indent_json(std::string_view text);

/// JSON text with ANSI colours: keys, strings, numbers and literals (whitespace kept).
std::string color_json(std::string_view text);

} // namespace nector::cli
