#include "nector/http/response.hpp"

#include "http/message/body.hpp"
#include "nector/http/errors.hpp"
#include "nector/http/retry.hpp"

#include "detail/json_parse.hpp"

#include <boost/system/system_error.hpp>

#include <string>

namespace nector::http {

std::string_view to_string(Version v) noexcept {
    switch (v) {
        case Version::http_1_0:
            return "HTTP/1.0";
        case Version::http_1_1:
            return "HTTP/1.1";
        case Version::http_2:
            return "HTTP/2";
    }
    return "HTTP/?";
}

boost::json::value Response::json() const {
    auto [value, ec, used] = nector::detail::parse_json(body, 256);
    if (ec) {
        throw DeserializationError(errc::deserialization_failed,
                                   "Response::json() of " + method + " " + url + " (status " +
                                       std::to_string(status) + "): invalid JSON at byte " +
                                       std::to_string(used) + ": " + ec.message());
    }
    return std::move(value);
}

void Response::raise_for_status() const {
    if (status < 400) return;
    const std::error_code ec = status_error_code(status);
    std::rethrow_exception(make_http_exception(
        ec, method + " " + url + ": HTTP " + std::to_string(status) + detail::reason_note(reason),
        this));
}

std::optional<Duration> HTTPStatusError::retry_after() const {
    const auto value = response_->headers.get("Retry-After");
    if (!value) return std::nullopt;
    return parse_retry_after(*value, std::chrono::system_clock::now());
}

errc status_error_code(int status) noexcept {
    switch (status) {
        case 401:
            return errc::http_unauthorized;
        case 403:
            return errc::http_forbidden;
        case 404:
            return errc::http_not_found;
        case 408:
            return errc::http_request_timeout;
        case 429:
            return errc::http_too_many_requests;
        default:
            break;
    }
    if (status >= 400 && status < 500) return errc::http_client_error;
    if (status >= 500 && status < 600) return errc::http_server_error;
    return errc::http_status;
}

std::exception_ptr make_http_exception(std::error_code ec, const std::string& what,
                                       const Response* response) {
    if (!response || ec.category() != error_category()) return make_exception(ec, what);
    switch (static_cast<errc>(ec.value())) {
        case errc::http_unauthorized:
            return std::make_exception_ptr(HTTPUnauthorizedError(ec, what, *response));
        case errc::http_forbidden:
            return std::make_exception_ptr(HTTPForbiddenError(ec, what, *response));
        case errc::http_not_found:
            return std::make_exception_ptr(HTTPNotFoundError(ec, what, *response));
        case errc::http_request_timeout:
            return std::make_exception_ptr(HTTPTimeoutError(ec, what, *response));
        case errc::http_too_many_requests:
            return std::make_exception_ptr(HTTPTooManyRequestsError(ec, what, *response));
        case errc::http_client_error:
            return std::make_exception_ptr(HTTPClientError(ec, what, *response));
        case errc::http_server_error:
            return std::make_exception_ptr(HTTPServerError(ec, what, *response));
        case errc::http_status:
            return std::make_exception_ptr(HTTPStatusError(ec, what, *response));
        default:
            return make_exception(ec, what);
    }
}

std::error_code error_code_of(const std::exception_ptr& e, Response& response) {
    try {
        std::rethrow_exception(e);
    } catch (const HTTPStatusError& status) {
        response = status.response();
        return status.code();
    } catch (const std::system_error& error) {
        return error.code();
    } catch (const boost::system::system_error& error) {
        // Asio's own: a cancelled coroutine's next co_await throws operation_aborted.
        return error.code();
    }
}

} // namespace nector::http
