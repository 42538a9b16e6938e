#include "http/errors/bridge.hpp"

#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/beast/core/error.hpp>

#include <openssl/err.h>
#include <openssl/ssl.h>

namespace nector::http::detail {

std::error_code code_of(const std::exception_ptr& e, std::error_code fallback) noexcept {
    try {
        std::rethrow_exception(e);
    } catch (const std::system_error& error) {
        return error.code();
    } catch (...) {
        return fallback;
    }
}

errc errc_of_io(const boost::system::error_code& ec, errc timeout_code) noexcept {
    namespace asio = boost::asio;
    if (ec == boost::beast::error::timeout) return timeout_code;
    if (ec == asio::error::operation_aborted) return errc::cancelled;
    if (ec == asio::error::eof || ec == asio::ssl::error::stream_truncated) {
        return errc::connection_closed;
    }
    if (ec == asio::error::connection_reset || ec == asio::error::broken_pipe) {
        return errc::connection_reset;
    }
    if (ec == asio::error::connection_refused) return errc::connection_refused;
    // An alert the peer sent (OpenSSL's reasons SSL_AD_REASON_OFFSET + the alert's number:
    // "sslv3 alert bad certificate", "tlsv13 alert certificate required"): the TLS layer
    // refused, which retrying cannot change. It can come after the handshake: TLS 1.3
    // servers send a missing client certificate's alert with the first read.
    if (ec.category() == asio::error::get_ssl_category()) {
        const int reason = ERR_GET_REASON(static_cast<unsigned long>(ec.value()));
        if (reason >= SSL_AD_REASON_OFFSET && reason < SSL_AD_REASON_OFFSET + 256) {
            return errc::tls_handshake_failed;
        }
    }
    return errc::connection_failed;
}

std::string bare_message(const std::system_error& e) {
    std::string what = e.what();
    const std::string suffix = ": " + e.code().message();
    if (what.size() >= suffix.size() && what.ends_with(suffix)) {
        what.resize(what.size() - suffix.size());
    }
    return what;
}

} // namespace nector::http::detail
