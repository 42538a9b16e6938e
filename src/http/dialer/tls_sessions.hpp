// TLS session resumption: the sessions (TLS 1.2 session ids, TLS 1.3 tickets) a transport's
// servers gave it, kept per host and port and offered on the next connection there, so that
// its handshake skips the certificate exchange and the key agreement's signature. Part of
// the dialer room.
#pragma once

#include <openssl/ssl.h>

#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace nector::http::detail {

class TlsSessions : public std::enable_shared_from_this<TlsSessions> {
public:
    TlsSessions() = default;
    ~TlsSessions();
    TlsSessions(const TlsSessions&) = delete;
    TlsSessions& operator=(const TlsSessions&) = delete;

    /// Makes `ctx` hand its client sessions to the TlsSessions of each connection (OpenSSL's
    /// client cache mode, no internal store, a new-session callback). Once per context.
    static void enable(SSL_CTX* ctx);

    /// Before a handshake to `key` (host:port): offers the session kept for it, if any, and
    /// keeps the sessions the server sends on this connection under it (TLS 1.3 sends its
    /// tickets after the handshake, when the connection first reads). False when OpenSSL
    /// refused to take the session (the handshake then goes on in full).
    bool prepare(SSL* ssl, const std::string& key);

    /// Sessions kept, for tests.
    std::size_t size() const;

private:
    static int on_new_session(SSL* ssl, SSL_SESSION* session);
    void keep(const std::string& key, SSL_SESSION* session);

    mutable std::mutex mutex_; // a ticket may arrive on any connection of the transport
    std::unordered_map<std::string, SSL_SESSION*> sessions_;
};

} // namespace nector::http::detail
