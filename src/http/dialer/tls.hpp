// TLS through OpenSSL and asio::ssl: the per-transport context and the client handshake.
#pragma once

#include "http/wire/streams.hpp"
#include "nector/http/options.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl/context.hpp>

#include <memory>
#include <string_view>

namespace nector::http::detail {
namespace asio = boost::asio;

/// The transport's one TLS context: verification per verify_ssl and the CA options,
/// client certificate, minimum version, ALPN. ConfigurationError for unusable files/PEM.
/// The system CA store (used when verifying with no ca_file or ca_pem) is not loaded here:
/// see uses_system_store() and load_system_store().
std::shared_ptr<boost::asio::ssl::context> make_tls_context(const Options& options);

/// Whether verification trusts the system CA store (verify_ssl with no ca_file or ca_pem).
bool uses_system_store(const Options& options) noexcept;

/// Loads the system CA store into `context` (tens of milliseconds and a megabyte or two,
/// so a transport that never opens an https:// connection never pays it).
/// ConfigurationError if the store cannot be read.
void load_system_store(boost::asio::ssl::context& context);

/// Client handshake with SNI and host-name (or IP address) verification, bounded by the
/// connect timeout. Throws TLSError whose code says why (untrusted, host-name mismatch,
/// expired, other handshake failure) and whose message names OpenSSL's reason.
boost::asio::awaitable<void> tls_handshake(TlsStream& stream, const std::string& host,
                                           const Options& options, std::string_view context);

/// Whether the server chose "h2" by ALPN in the completed handshake.
bool negotiated_h2(TlsStream& stream) noexcept;

} // namespace nector::http::detail
