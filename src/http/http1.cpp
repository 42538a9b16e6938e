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

void check_header_count(std::size_t fields, std::size_t limit, std::string_view context) {
    if (fields <= limit) return;
    throw_error(errc::protocol_error,
                std::string(context) + ": reading the response: " + std::to_string(fields) +
                    " header fields, more than max_header_count (" + std::to_string(limit) + ")");
}

} // namespace nector::http::detail
