#include "http/http1.hpp"

#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>

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

void check_head_limits(std::size_t count, std::size_t bytes, const Options& options,
                       std::string_view context) {
    const std::string where = std::string(context) + ": reading the response: ";
    if (count > options.max_header_count) {
        throw_error(errc::protocol_error, where + std::to_string(count) +
                                              " header fields, more than max_header_count (" +
                                              std::to_string(options.max_header_count) + ")");
    }
    if (bytes > options.max_header_bytes) {
        throw_error(errc::protocol_error, where + "the response head exceeds max_header_bytes (" +
                                              std::to_string(options.max_header_bytes) + ")");
    }
}

} // namespace nector::http::detail
