#include "nector/transport/errors.hpp"

#include <array>
#include <cerrno>
#include <utility>

namespace nector {
namespace {

struct CodeInfo {
    errc code;
    std::string_view name;
    std::string_view message;
    condition group;
};

// One row per code, in enum order; the table is the single source of names,
// messages and condition groups.
constexpr std::array code_table{
    CodeInfo{errc::not_connected, "not_connected", "transport not connected", condition::network},
    CodeInfo{errc::connection_failed, "connection_failed", "connection failed", condition::network},
    CodeInfo{errc::connection_refused, "connection_refused", "connection refused",
             condition::network},
    CodeInfo{errc::connection_reset, "connection_reset", "connection reset by peer",
             condition::network},
    CodeInfo{errc::connection_closed, "connection_closed", "connection closed by peer",
             condition::network},
    CodeInfo{errc::name_resolution_failed, "name_resolution_failed", "host name lookup failed",
             condition::network},
    CodeInfo{errc::connect_timeout, "connect_timeout", "connect timed out", condition::timeout},
    CodeInfo{errc::read_timeout, "read_timeout", "read timed out", condition::timeout},
    CodeInfo{errc::write_timeout, "write_timeout", "write timed out", condition::timeout},
    CodeInfo{errc::pool_timeout, "pool_timeout", "timed out waiting for a pooled connection",
             condition::timeout},
    CodeInfo{errc::total_timeout, "total_timeout", "total deadline exceeded", condition::timeout},
    CodeInfo{errc::tls_handshake_failed, "tls_handshake_failed", "TLS handshake failed",
             condition::tls},
    CodeInfo{errc::tls_certificate_untrusted, "tls_certificate_untrusted",
             "TLS certificate not trusted", condition::tls},
    CodeInfo{errc::tls_hostname_mismatch, "tls_hostname_mismatch",
             "TLS certificate does not match the host name", condition::tls},
    CodeInfo{errc::tls_certificate_expired, "tls_certificate_expired", "TLS certificate expired",
             condition::tls},
    CodeInfo{errc::serialization_failed, "serialization_failed", "message serialization failed",
             condition::client},
    CodeInfo{errc::deserialization_failed, "deserialization_failed",
             "message deserialization failed", condition::client},
    CodeInfo{errc::invalid_configuration, "invalid_configuration", "invalid configuration",
             condition::client},
    CodeInfo{errc::unknown_factory, "unknown_factory", "no transport factory of that name",
             condition::client},
    CodeInfo{errc::duplicate_factory, "duplicate_factory",
             "a transport factory of that name is already registered", condition::client},
    CodeInfo{errc::message_type_mismatch, "message_type_mismatch",
             "factory produces a different message type", condition::client},
    CodeInfo{errc::invalid_url, "invalid_url", "invalid URL", condition::client},
    CodeInfo{errc::invalid_header, "invalid_header", "invalid header", condition::client},
    CodeInfo{errc::invalid_method, "invalid_method", "invalid request method", condition::client},
    CodeInfo{errc::queue_full, "queue_full", "receive queue full", condition::client},
    CodeInfo{errc::protocol_error, "protocol_error", "protocol error", condition::server},
    CodeInfo{errc::body_too_large, "body_too_large", "body exceeds the configured limit",
             condition::server},
    CodeInfo{errc::cancelled, "cancelled", "operation cancelled", condition::cancelled},
    CodeInfo{errc::http_status, "http_status", "HTTP error status", condition::client},
    CodeInfo{errc::http_client_error, "http_client_error", "HTTP client error", condition::client},
    CodeInfo{errc::http_unauthorized, "http_unauthorized", "HTTP 401 Unauthorized",
             condition::client},
    CodeInfo{errc::http_forbidden, "http_forbidden", "HTTP 403 Forbidden", condition::client},
    CodeInfo{errc::http_not_found, "http_not_found", "HTTP 404 Not Found", condition::client},
    CodeInfo{errc::http_request_timeout, "http_request_timeout", "HTTP 408 Request Timeout",
             condition::client},
    CodeInfo{errc::http_too_many_requests, "http_too_many_requests", "HTTP 429 Too Many Requests",
             condition::client},
    CodeInfo{errc::http_server_error, "http_server_error", "HTTP server error", condition::server},
    CodeInfo{errc::circuit_open, "circuit_open", "circuit breaker open", condition::server},
    CodeInfo{errc::too_many_redirects, "too_many_redirects", "too many redirects",
             condition::server},
    CodeInfo{errc::stream_refused, "stream_refused", "HTTP/2 stream refused by the server",
             condition::network},
    CodeInfo{errc::stream_reset, "stream_reset", "HTTP/2 stream reset by the server",
             condition::server},
    CodeInfo{errc::insecure_redirect, "insecure_redirect", "redirect from https to http refused",
             condition::client},
    CodeInfo{errc::proxy_failed, "proxy_failed", "the proxy refused the connection",
             condition::network},
};

constexpr bool table_in_enum_order() {
    for (std::size_t i = 0; i < code_table.size(); ++i) {
        if (static_cast<std::size_t>(code_table[i].code) != i + 1) return false;
    }
    return true;
}
static_assert(table_in_enum_order(), "code_table must list every errc in enum order");

const CodeInfo* find(int value) noexcept {
    if (value < 1 || static_cast<std::size_t>(value) > code_table.size()) return nullptr;
    return &code_table[static_cast<std::size_t>(value) - 1];
}

constexpr std::array<std::string_view, 7> condition_names{"unknown",   "network", "timeout", "tls",
                                                          "cancelled", "client",  "server"};

class ErrorCategory final : public std::error_category {
public:
    const char* name() const noexcept override { return "nector"; }
    std::string message(int value) const override {
        const CodeInfo* info = find(value);
        return info ? std::string(info->message) : "unknown nector error";
    }
    std::error_condition default_error_condition(int value) const noexcept override {
        const CodeInfo* info = find(value);
        return info ? make_error_condition(info->group) : std::error_condition(value, *this);
    }
};

// Which condition a foreign (system, generic, Asio) error belongs to.
std::optional<condition> foreign_condition(const std::error_code& ec) noexcept {
    const std::error_condition generic = ec.default_error_condition();
    if (generic.category() != std::generic_category()) return std::nullopt;
    switch (static_cast<std::errc>(generic.value())) {
        case std::errc::timed_out:
            return condition::timeout;
        case std::errc::operation_canceled:
            return condition::cancelled;
        case std::errc::connection_refused:
        case std::errc::connection_reset:
        case std::errc::connection_aborted:
        case std::errc::not_connected:
        case std::errc::network_down:
        case std::errc::network_unreachable:
        case std::errc::network_reset:
        case std::errc::host_unreachable:
        case std::errc::broken_pipe:
        case std::errc::address_not_available:
            return condition::network;
        default:
            return std::nullopt;
    }
}

class ConditionCategory final : public std::error_category {
public:
    const char* name() const noexcept override { return "nector.condition"; }
    std::string message(int value) const override {
        return std::string(to_string(static_cast<condition>(value)));
    }
    bool equivalent(const std::error_code& ec, int value) const noexcept override {
        if (ec.category() == nector::error_category()) {
            const CodeInfo* info = find(ec.value());
            return info && static_cast<int>(info->group) == value;
        }
        const auto group = foreign_condition(ec);
        return group && static_cast<int>(*group) == value;
    }
};

} // namespace

const std::error_category& error_category() noexcept {
    static const ErrorCategory category;
    return category;
}

const std::error_category& condition_category() noexcept {
    static const ConditionCategory category;
    return category;
}

std::string_view to_string(errc e) noexcept {
    const CodeInfo* info = find(static_cast<int>(e));
    return info ? info->name : "unknown";
}

std::string_view to_string(condition c) noexcept {
    const auto index = static_cast<std::size_t>(c);
    return index < condition_names.size() ? condition_names[index] : condition_names[0];
}

std::optional<errc> errc_from_string(std::string_view name) noexcept {
    for (const CodeInfo& info : code_table) {
        if (info.name == name) return info.code;
    }
    return std::nullopt;
}

std::exception_ptr make_exception(std::error_code ec, const std::string& what) {
    if (ec.category() == nector::error_category()) {
        switch (static_cast<errc>(ec.value())) {
            case errc::not_connected:
            case errc::connection_failed:
            case errc::connection_reset:
            case errc::connection_closed:
            case errc::name_resolution_failed:
            case errc::stream_refused:
                return std::make_exception_ptr(ConnectionError(ec, what));
            case errc::connection_refused:
                return std::make_exception_ptr(ConnectionRefusedError(ec, what));
            case errc::proxy_failed:
                return std::make_exception_ptr(ProxyError(ec, what));
            case errc::connect_timeout:
            case errc::read_timeout:
            case errc::write_timeout:
            case errc::pool_timeout:
            case errc::total_timeout:
                return std::make_exception_ptr(ConnectionTimeoutError(ec, what));
            case errc::tls_handshake_failed:
            case errc::tls_certificate_untrusted:
            case errc::tls_hostname_mismatch:
            case errc::tls_certificate_expired:
                return std::make_exception_ptr(TLSError(ec, what));
            case errc::serialization_failed:
                return std::make_exception_ptr(SerializationError(ec, what));
            case errc::deserialization_failed:
                return std::make_exception_ptr(DeserializationError(ec, what));
            case errc::invalid_configuration:
            case errc::unknown_factory:
            case errc::duplicate_factory:
            case errc::message_type_mismatch:
                return std::make_exception_ptr(ConfigurationError(ec, what));
            case errc::cancelled:
                return std::make_exception_ptr(TransportError(ec, what));
            default:
                return std::make_exception_ptr(TransportSpecificError(ec, what));
        }
    }
    if (ec == std::errc::connection_refused) {
        return std::make_exception_ptr(ConnectionRefusedError(ec, what));
    }
    switch (foreign_condition(ec).value_or(condition::client)) {
        case condition::timeout:
            return std::make_exception_ptr(ConnectionTimeoutError(ec, what));
        case condition::network:
            return std::make_exception_ptr(ConnectionError(ec, what));
        default:
            return std::make_exception_ptr(TransportError(ec, what));
    }
}

void throw_error(std::error_code ec, const std::string& what) {
    std::rethrow_exception(make_exception(ec, what));
}

} // namespace nector
