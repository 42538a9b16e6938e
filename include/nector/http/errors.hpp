// HTTP errors (TDS-4 §3.2): status errors carry the Response that caused them.
#pragma once

#include "nector/http/response.hpp"
#include "nector/transport/errors.hpp"

#include <chrono>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <system_error>

namespace nector::http {

/// Base of HTTP-specific errors.
class HTTPTransportError : public TransportSpecificError {
public:
    using TransportSpecificError::TransportSpecificError;
};

/// A response whose status is an error. response() is the whole response (headers, body,
/// redirect history); copies of the exception share it.
class HTTPStatusError : public HTTPTransportError {
public:
    HTTPStatusError(std::error_code ec, const std::string& what, Response response)
        : HTTPTransportError(ec, what),
          response_(std::make_shared<const Response>(std::move(response))) {}

    const Response& response() const noexcept { return *response_; }
    int status_code() const noexcept { return response_->status; }
    /// The response's Retry-After as a delay from now (delay-seconds or HTTP-date), so a
    /// caller can reschedule; nullopt when absent or unparseable.
    std::optional<Duration> retry_after() const;

private:
    std::shared_ptr<const Response> response_;
};

/// 4xx.
class HTTPClientError : public HTTPStatusError {
public:
    using HTTPStatusError::HTTPStatusError;
};
/// 5xx.
class HTTPServerError : public HTTPStatusError {
public:
    using HTTPStatusError::HTTPStatusError;
};
/// 401.
class HTTPUnauthorizedError : public HTTPClientError {
public:
    using HTTPClientError::HTTPClientError;
};
/// 403.
class HTTPForbiddenError : public HTTPClientError {
public:
    using HTTPClientError::HTTPClientError;
};
/// 404.
class HTTPNotFoundError : public HTTPClientError {
public:
    using HTTPClientError::HTTPClientError;
};
/// 408.
class HTTPTimeoutError : public HTTPClientError {
public:
    using HTTPClientError::HTTPClientError;
};
/// 429.
class HTTPTooManyRequestsError : public HTTPClientError {
public:
    using HTTPClientError::HTTPClientError;
};

/// An open circuit breaker refused the call without any I/O (errc::circuit_open).
class CircuitOpenError : public HTTPTransportError {
public:
    CircuitOpenError(const std::string& what, std::chrono::steady_clock::time_point retry_at)
        : HTTPTransportError(errc::circuit_open, what), retry_at_(retry_at) {}
    /// When the breaker next lets a call through.
    std::chrono::steady_clock::time_point retry_at() const noexcept { return retry_at_; }

private:
    std::chrono::steady_clock::time_point retry_at_;
};

/// The error code for an HTTP status: http_unauthorized for 401, …, http_client_error
/// for other 4xx, http_server_error for 5xx, http_status for anything else.
errc status_error_code(int status) noexcept;

/// The exception for `ec`: with a response, the status classes of TDS-4 §3.1 (chosen by
/// the code, so the two channels agree); otherwise nector::make_exception(ec, what).
std::exception_ptr make_http_exception(std::error_code ec, const std::string& what,
                                       const Response* response);

/// The inverse, for completion handlers: the error code of an exception (a copy of an
/// HTTPStatusError's response goes to `response`; Asio's boost::system::system_error, which a
/// cancelled coroutine throws, gives its code, operation_aborted). Other exceptions are
/// rethrown: they are bugs, not transport outcomes.
std::error_code error_code_of(const std::exception_ptr& e, Response& response);

} // namespace nector::http
