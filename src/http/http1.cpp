#include "http/http1.hpp"

#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>

#include <charconv>

#include <poll.h>

namespace nector::http::detail {

void throw_io_error(const boost::system::error_code& ec, std::string_view context,
                    std::string_view phase, errc timeout_code) {
    namespace asio = boost::asio;
    namespace bhttp = boost::beast::http;
    const std::string where = std::string(context) + ": " + std::string(phase);
    if (ec == boost::beast::error::timeout) {
        throw_error(timeout_code, where + ": no progress within the " +
                                      (timeout_code == errc::read_timeout ? "read" : "write") +
                                      " timeout");
    }
    if (ec == asio::error::operation_aborted) throw_error(errc::cancelled, where + ": cancelled");
    if (ec == bhttp::error::header_limit) {
        throw_error(errc::protocol_error, where + ": the response head exceeds max_header_bytes");
    }
    if (ec == bhttp::error::body_limit) {
        throw_error(errc::body_too_large, where + ": the body exceeds max_response_bytes");
    }
    if (ec == bhttp::error::end_of_stream || ec == asio::error::eof ||
        ec == asio::ssl::error::stream_truncated) {
        throw_error(errc::connection_closed, where + ": the server closed the connection");
    }
    if (ec == bhttp::error::partial_message) {
        throw_error(errc::connection_closed,
                    where + ": the server closed the connection before the end of the body");
    }
    if (ec.category() == boost::system::error_code(bhttp::error::need_more).category()) {
        throw_error(errc::protocol_error, where + ": malformed response: " + ec.message());
    }
    if (ec == asio::error::connection_reset || ec == asio::error::broken_pipe) {
        throw_error(errc::connection_reset, where + ": " + ec.message());
    }
    throw_error(errc::connection_failed, where + ": " + ec.message());
}

bool socket_quiet(int fd) noexcept {
    pollfd p{.fd = fd, .events = POLLIN, .revents = 0};
    return ::poll(&p, 1, 0) == 0;
}

bool needs_content_length(std::string_view method, std::size_t body_size) noexcept {
    return body_size > 0 || method == "POST" || method == "PUT" || method == "OPTIONS";
}

void write_head(std::string& out, std::string_view method, const Target& target,
                const Headers& headers, std::optional<std::uint64_t> content_length, bool chunked) {
    out.append(method).append(" ").append(target.target).append(" HTTP/1.1\r\n");
    if (!headers.contains("Host")) out.append("Host: ").append(target.host_header).append("\r\n");
    for (const auto& [name, value] : headers) {
        out.append(name).append(": ").append(value).append("\r\n");
    }
    if (chunked) {
        out.append("Transfer-Encoding: chunked\r\n");
    } else if (content_length) {
        char digits[24];
        const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, *content_length);
        out.append("Content-Length: ").append(digits, end).append("\r\n");
    }
    out.append("\r\n");
}

void check_head_limits(std::size_t count, std::size_t bytes, const Options& options,
                       std::string_view context) {
    if (count <= options.max_header_count && bytes <= options.max_header_bytes) return;
    const std::string where = std::string(context) + ": reading the response: ";
    if (count > options.max_header_count) {
        throw_error(errc::protocol_error, where + std::to_string(count) +
                                              " header fields, more than max_header_count (" +
                                              std::to_string(options.max_header_count) + ")");
    }
    throw_error(errc::protocol_error, where + "the response head exceeds max_header_bytes (" +
                                          std::to_string(options.max_header_bytes) + ")");
}

} // namespace nector::http::detail
