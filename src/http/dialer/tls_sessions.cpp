#include "http/dialer/tls_sessions.hpp"

#include <openssl/crypto.h>

namespace nector::http::detail {
namespace {

// What a connection's SSL object carries for the new-session callback: whose sessions they
// are (weakly: a late ticket after the transport is gone is dropped) and under which key.
struct Slot {
    std::weak_ptr<TlsSessions> sessions;
    std::string key;
};

void free_slot(void*, void* pointer, CRYPTO_EX_DATA*, int, long, void*) {
    delete static_cast<Slot*>(pointer);
}

int slot_index() {
    static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, free_slot);
    return index;
}

} // namespace

TlsSessions::~TlsSessions() {
    for (auto& [key, session] : sessions_) SSL_SESSION_free(session);
}

void TlsSessions::enable(SSL_CTX* ctx) {
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(ctx, &TlsSessions::on_new_session);
}

bool TlsSessions::prepare(SSL* ssl, const std::string& key) {
    const int index = slot_index();
    if (index < 0) return false;
    auto* slot = new Slot{weak_from_this(), key};
    if (SSL_set_ex_data(ssl, index, slot) != 1) {
        delete slot;
        return false;
    }
    std::lock_guard lock(mutex_);
    const auto found = sessions_.find(key);
    if (found == sessions_.end()) return true;
    if (SSL_SESSION_is_resumable(found->second) != 1) {
        SSL_SESSION_free(found->second);
        sessions_.erase(found);
        return true;
    }
    return SSL_set_session(ssl, found->second) == 1;
}

std::size_t TlsSessions::size() const {
    std::lock_guard lock(mutex_);
    return sessions_.size();
}

int TlsSessions::on_new_session(SSL* ssl, SSL_SESSION* session) {
    const int index = slot_index();
    auto* slot = index < 0 ? nullptr : static_cast<Slot*>(SSL_get_ex_data(ssl, index));
    if (slot == nullptr) return 0;
    const auto sessions = slot->sessions.lock();
    if (!sessions) return 0; // OpenSSL frees the session
    sessions->keep(slot->key, session);
    return 1; // the reference is ours now
}

void TlsSessions::keep(const std::string& key, SSL_SESSION* session) {
    // A copy: the connection's own session object is marked not resumable when the
    // connection is closed without a TLS close_notify, as a pooled connection is.
    SSL_SESSION* copy = SSL_SESSION_dup(session);
    SSL_SESSION_free(session);
    if (copy == nullptr) return;
    std::lock_guard lock(mutex_);
    SSL_SESSION*& kept = sessions_[key];
    if (kept != nullptr) SSL_SESSION_free(kept);
    kept = copy; // the newest: TLS 1.3 servers send fresh tickets on each connection
}

} // namespace nector::http::detail
