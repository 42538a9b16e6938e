#include "http/dialer/tls.hpp"

#include "http/dialer/socket_deadline.hpp"
#include "http/dialer/tls_sessions.hpp"
#include "http/errors/bridge.hpp"
#include "http/errors/fail_point.hpp"
#include "http/message/body.hpp"
#include "nector/transport/errors.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/stream_traits.hpp>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <string>

namespace nector::http::detail {
namespace asio = boost::asio;
namespace ssl = asio::ssl;

namespace {

template <class F>
void load(const char* what, F&& f) {
    try {
        f();
    } catch (const boost::system::system_error& e) {
        throw ConfigurationError(
            errc::invalid_configuration,
            std::string("HTTPTransport options: TLS ") + what + ": " + e.code().message());
    }
}

} // namespace

std::shared_ptr<ssl::context> make_tls_context(const Options& o) {
    auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
    SSL_CTX* native = ctx->native_handle();
    if (SSL_CTX_set_min_proto_version(
            native, o.tls.min_version == TlsVersion::tls1_3 ? TLS1_3_VERSION : TLS1_2_VERSION) !=
        1) {
        throw ConfigurationError(errc::invalid_configuration,
                                 "HTTPTransport options: TLS min_version: OpenSSL refused it");
    }
    if (o.verify_ssl) {
        load("verify mode", [&] { ctx->set_verify_mode(ssl::verify_peer); });
        if (!o.tls.ca_file.empty()) {
            load("ca_file", [&] { ctx->load_verify_file(o.tls.ca_file); });
        }
        if (!o.tls.ca_pem.empty()) {
            load("ca_pem", [&] { ctx->add_certificate_authority(asio::buffer(o.tls.ca_pem)); });
        }
    } else {
        load("verify mode", [&] { ctx->set_verify_mode(ssl::verify_none); });
    }
    if (!o.tls.cert_file.empty()) {
        load("cert_file", [&] { ctx->use_certificate_chain_file(o.tls.cert_file); });
    }
    if (!o.tls.key_file.empty()) {
        load("key_file", [&] { ctx->use_private_key_file(o.tls.key_file, ssl::context::pem); });
    }
    if (!o.tls.cert_pem.empty()) {
        load("cert_pem", [&] { ctx->use_certificate_chain(asio::buffer(o.tls.cert_pem)); });
    }
    if (!o.tls.key_pem.empty()) {
        load("key_pem",
             [&] { ctx->use_private_key(asio::buffer(o.tls.key_pem), ssl::context::pem); });
    }
    // ALPN is offered always (HTTP/1.1 alone when HTTP/2 is off, as curl does), so that a
    // server that insists on ALPN answers with a protocol or refuses by name.
    static constexpr unsigned char both[] = {2,   'h', '2', 8,   'h', 't',
                                             't', 'p', '/', '1', '.', '1'};
    const bool h2 = o.http2 || o.http2_prior_knowledge;
    const unsigned char* alpn = h2 ? both : both + 3;
    const auto alpn_size = static_cast<unsigned int>(h2 ? sizeof both : sizeof both - 3);
    if (SSL_CTX_set_alpn_protos(native, alpn, alpn_size) != 0) { // 0 is success
        throw ConfigurationError(errc::invalid_configuration,
                                 "HTTPTransport options: TLS: OpenSSL refused the ALPN list");
    }
    if (o.tls.session_resumption) TlsSessions::enable(native);
    return ctx;
}

bool uses_system_store(const Options& o) noexcept {
    return o.verify_ssl && o.tls.ca_file.empty() && o.tls.ca_pem.empty();
}

void load_system_store(ssl::context& context) {
    load("system CA store", [&] { context.set_default_verify_paths(); });
}

asio::awaitable<void> tls_handshake(TlsStream& stream, const std::string& host,
                                    const Options& options, std::string_view context) {
    SSL* ssl_handle = stream.native_handle();
    boost::system::error_code not_ip;
    (void)asio::ip::make_address(host, not_ip);
    const bool is_ip = !not_ip;
    // Every set-up call whose failure would weaken the checks fails the connection: a host
    // check that could not be set must never let the handshake go on without it.
    const auto refuse = [&](const char* what) {
        ERR_clear_error();
        boost::system::error_code ignored;
        boost::beast::get_lowest_layer(stream).close(ignored);
        throw TLSError(errc::tls_handshake_failed, std::string(context) + ": TLS set-up for \"" +
                                                       printable(host) + "\": " + what +
                                                       "; the connection was not made");
    };
    // SSL_set_tlsext_host_name is a macro with a C cast; call what it expands to.
    if (!is_ip && SSL_ctrl(ssl_handle, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                           const_cast<char*>(host.c_str())) != 1) {
        refuse("OpenSSL refused the name for SNI");
    }
    if (options.verify_ssl) {
        X509_VERIFY_PARAM* param = SSL_get0_param(ssl_handle);
        if (is_ip) {
            if (X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str()) != 1) {
                refuse("OpenSSL refused the address for the certificate check");
            }
        } else {
            X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
            if (X509_VERIFY_PARAM_set1_host(param, host.c_str(), host.size()) != 1) {
                refuse("OpenSSL refused the name for the certificate host check");
            }
        }
    }
    auto& lowest = boost::beast::get_lowest_layer(stream);
    boost::system::error_code ec;
    {
        const SocketDeadline deadline(lowest, options.timeout.connect);
        auto [handshake_error] = co_await stream.async_handshake(
            ssl::stream_base::client, asio::as_tuple(asio::use_awaitable));
        fail_point(handshake_error);
        ec = deadline.timed(handshake_error);
    }
    if (!ec) co_return;
    boost::system::error_code ignored;
    lowest.close(ignored);
    const std::string where = std::string(context) + ": TLS handshake with " + host;
    const errc io = errc_of_io(ec, errc::connect_timeout);
    if (io == errc::connect_timeout) {
        throw_error(io, where + ": no answer within the connect timeout");
    }
    if (io == errc::cancelled) throw_error(io, where + ": cancelled");
    const long verify = SSL_get_verify_result(ssl_handle);
    if (options.verify_ssl && verify != X509_V_OK) {
        const std::string reason = X509_verify_cert_error_string(verify);
        switch (verify) {
            case X509_V_ERR_HOSTNAME_MISMATCH:
            case X509_V_ERR_IP_ADDRESS_MISMATCH:
                throw TLSError(
                    errc::tls_hostname_mismatch,
                    where + ": the certificate is not valid for \"" + host + "\" (" + reason + ")");
            case X509_V_ERR_CERT_HAS_EXPIRED:
                throw TLSError(errc::tls_certificate_expired,
                               where + ": the certificate has expired (" + reason + ")");
            case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
            case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
            case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
            case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
            case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
            case X509_V_ERR_CERT_UNTRUSTED:
                throw TLSError(errc::tls_certificate_untrusted,
                               where + ": the certificate is not trusted (" + reason + ")");
            default:
                throw TLSError(errc::tls_handshake_failed,
                               where + ": certificate verification failed (" + reason + ")");
        }
    }
    // The connection ended under the handshake: a network failure, which may pass.
    if (io == errc::connection_closed || io == errc::connection_reset) {
        throw_error(io, where + ": the server " +
                            (io == errc::connection_closed ? "closed" : "reset") +
                            " the connection during the handshake");
    }
    // The TLS layer refused: an alert from the server (its name is OpenSSL's message:
    // "tlsv1 alert no application protocol", "sslv3 alert handshake failure") or no
    // protocol version, cipher or group in common. Retrying cannot change it.
    throw TLSError(errc::tls_handshake_failed, where + ": " + ec.message());
}

bool negotiated_h2(TlsStream& stream) noexcept {
    const unsigned char* protocol = nullptr;
    unsigned int length = 0;
    SSL_get0_alpn_selected(stream.native_handle(), &protocol, &length);
    return length == 2 && protocol[0] == 'h' && protocol[1] == '2';
}

} // namespace nector::http::detail
