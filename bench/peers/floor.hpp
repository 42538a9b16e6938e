// What the floors (recv_floor.cpp, send_floor.cpp) share: one blocking connection, plain or
// TLS, to an http[s]://IPv4:PORT/PATH URL, with nothing between the program and the
// kernel (or OpenSSL) but a read or a write call.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

namespace floor_peer {

/// One connection, plain or TLS: blocking reads and writes, nothing in between.
class Connection {
public:
    explicit Connection(int s) : s_(s) {}
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;
    ~Connection() {
        if (ssl_) SSL_free(ssl_);
        if (ctx_) SSL_CTX_free(ctx_);
        close(s_);
    }

    int fd() const noexcept { return s_; }
    SSL* ssl() const noexcept { return ssl_; }

    /// The TLS handshake (OpenSSL's defaults, no verification, SNI and ALPN http/1.1 or h2);
    /// false on failure.
    bool start_tls(const std::string& host, bool h2) {
        ctx_ = SSL_CTX_new(TLS_client_method());
        if (!ctx_) return false;
        SSL_CTX_set_verify(ctx_, SSL_VERIFY_NONE, nullptr);
        // kTLS where the kernel offers it (offload: no encryption in user space).
        SSL_CTX_set_options(ctx_, SSL_OP_ENABLE_KTLS);
        static const unsigned char http1[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
        static const unsigned char http2[] = {2, 'h', '2'};
        if ((h2 ? SSL_CTX_set_alpn_protos(ctx_, http2, sizeof http2)
                : SSL_CTX_set_alpn_protos(ctx_, http1, sizeof http1)) != 0) {
            return false;
        }
        ssl_ = SSL_new(ctx_);
        if (!ssl_ || SSL_set_fd(ssl_, s_) != 1) return false;
        SSL_set_tlsext_host_name(ssl_, host.c_str());
        return SSL_connect(ssl_) == 1;
    }
    /// "plain", or the TLS version, cipher and whether kTLS took over `direction`
    /// ("receive" or "send").
    std::string tls_description(std::string_view direction) const {
        if (!ssl_) return "plain";
        const bool ktls = direction == "send" ? BIO_get_ktls_send(SSL_get_wbio(ssl_))
                                              : BIO_get_ktls_recv(SSL_get_rbio(ssl_));
        return std::string(SSL_get_version(ssl_)) + " " +
               SSL_CIPHER_get_name(SSL_get_current_cipher(ssl_)) +
               (ktls ? ", kTLS " : ", no kTLS ") + std::string(direction);
    }

    long read(char* data, std::size_t size) {
        if (!ssl_) return recv(s_, data, size, 0);
        std::size_t n = 0;
        return SSL_read_ex(ssl_, data, size, &n) == 1 ? static_cast<long>(n) : -1;
    }
    bool write(std::string_view data) {
        if (!ssl_) {
            while (!data.empty()) {
                const long n = send(s_, data.data(), data.size(), MSG_NOSIGNAL);
                if (n <= 0) return false;
                data.remove_prefix(static_cast<std::size_t>(n));
            }
            return true;
        }
        std::size_t n = 0;
        return SSL_write_ex(ssl_, data.data(), data.size(), &n) == 1 && n == data.size();
    }

private:
    int s_;
    SSL_CTX* ctx_ = nullptr;
    SSL* ssl_ = nullptr;
};

/// An http[s]://IPv4[:PORT]/PATH URL, split.
struct Target {
    bool tls = false;
    std::string host, authority, path;
    int port = 0;
};

/// The URL's parts, or nullopt (with a message on stderr naming `program`).
inline std::optional<Target> parse_url(const char* program, std::string_view url) {
    Target t;
    t.tls = url.substr(0, 8) == "https://";
    if (!t.tls && url.substr(0, 7) != "http://") {
        std::fprintf(stderr, "%s: expected an http:// or https:// URL with an IPv4 address\n",
                     program);
        return std::nullopt;
    }
    const std::string_view rest = url.substr(t.tls ? 8 : 7);
    const std::size_t slash = rest.find('/');
    t.authority = std::string(rest.substr(0, slash));
    t.path = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
    const std::size_t colon = t.authority.find(':');
    t.host = t.authority.substr(0, colon);
    t.port = colon == std::string::npos ? (t.tls ? 443 : 80)
                                        : std::atoi(t.authority.c_str() + colon + 1);
    return t;
}

/// Opens `connection` to `t` (TLS on https://, ALPN h2 when `h2`, else http/1.1): 0, or
/// the exit status after a message on stderr naming `program` (2: a bad address, 1: no
/// connection).
inline int open_connection(const char* program, const Target& t, bool h2,
                           std::optional<Connection>& connection) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<std::uint16_t>(t.port));
    if (inet_pton(AF_INET, t.host.c_str(), &address.sin_addr) != 1) {
        std::fprintf(stderr, "%s: %s is not an IPv4 address\n", program, t.host.c_str());
        return 2;
    }
    const int s = socket(AF_INET, SOCK_STREAM, 0);
    if (s < 0) {
        std::fprintf(stderr, "%s: cannot create a socket\n", program);
        return 1;
    }
    connection.emplace(s);
    if (connect(s, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
        std::fprintf(stderr, "%s: cannot connect\n", program);
        return 1;
    }
    if (t.tls && !connection->start_tls(t.host, h2)) {
        ERR_print_errors_fp(stderr);
        std::fprintf(stderr, "%s: the TLS handshake failed\n", program);
        return 1;
    }
    return 0;
}

} // namespace floor_peer
