// Real servers for integration tests, each started once per test process on first use and
// stopped at process exit: a test PKI made with the openssl tool, nginx (static files over HTTP
// and several HTTPS flavours) and httpbin. Every port is ephemeral and on 127.0.0.1, and each
// server accepts connections as soon as its accessor returns (no sleeping, no polling).
//
// A missing tool (openssl, nginx, python3, the httpbin module) makes the accessor throw
// std::runtime_error naming what is missing: the calling test fails, it is never skipped.
//
// The child processes get PR_SET_PDEATHSIG, so they die with the test process even when it is
// killed. Linux sends that signal when the *thread* that started them exits: call the accessors
// from the main thread (as GoogleTest's test bodies run) or from a thread that outlives the
// server. A process killed that way leaves its /tmp/nector-* directories behind.
#pragma once

#include <sys/types.h>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace nector::test {

/// A fresh directory under /tmp (mkdtemp), removed with its contents on destruction.
class TempDir {
public:
    /// Throws std::system_error when the directory cannot be created.
    explicit TempDir(std::string_view prefix = "nector-test");
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const std::filesystem::path& path() const { return path_; }

private:
    std::filesystem::path path_;
};

/// A test PKI, every item a PEM file in its own temporary directory (removed with the object).
/// All leaf certificates are signed by the CA and use P-256 keys.
struct Certificates {
    /// Generates everything with the `openssl` found in PATH. Throws std::runtime_error naming
    /// the command that failed (with its output) or saying that openssl is missing.
    Certificates();

    TempDir dir;
    std::filesystem::path ca_cert; ///< Self-signed CA, CN "nector test CA", valid 10 years.
    std::filesystem::path ca_key;
    std::string ca_pem; ///< The text of ca_cert.
    /// CN localhost, subjectAltName DNS:localhost, IP:127.0.0.1, serverAuth, valid 10 years.
    std::filesystem::path server_cert;
    std::filesystem::path server_key;
    /// CN wrong.example, subjectAltName DNS:wrong.example only (host-name mismatch tests).
    std::filesystem::path wrong_host_cert;
    std::filesystem::path wrong_host_key;
    /// Like server_cert but valid only from 2020-01-01 to 2021-01-01 (expired).
    std::filesystem::path expired_cert;
    std::filesystem::path expired_key;
    /// CN "nector test client", clientAuth, for mutual TLS.
    std::filesystem::path client_cert;
    std::filesystem::path client_key;
};

/// The process's test PKI, generated on first call (thread-safe). Throws like Certificates().
const Certificates& certificates();

/// Options for starting Nginx; the defaults suit Debian's nginx-light.
struct NginxOptions {
    std::filesystem::path binary = "/usr/sbin/nginx"; ///< The nginx executable.
};

/// nginx (master + one worker) with its own prefix, configuration, logs and docroot in a
/// temporary directory. Every port serves the same docroot and locations:
///   /hello.txt   "hello\n" (text/plain)
///   /12b.txt     "hello world\n", exactly 12 bytes
///   /1m.bin      1 MiB (1048576 bytes), byte i == i % 251 (application/octet-stream)
///   /status/CODE an empty response with that status, CODE in 200 204 400 404 418 500 502 503
///   /redirect    302 to /hello.txt
/// nginx answers HTTP/1.1 only (no h2 in ALPN).
class Nginx {
public:
    /// Writes the configuration, checks it with `nginx -t`, binds the listening sockets in this
    /// process and starts nginx on them (inherited through the NGINX environment variable), so
    /// every port accepts connections when this returns. `certificates` must outlive this.
    /// Throws std::runtime_error when nginx is missing, rejects the configuration, or a socket
    /// cannot be bound.
    explicit Nginx(const Certificates& certificates, const NginxOptions& options = {});

    /// Stops nginx (SIGTERM, then waits for it) and removes the directory.
    ~Nginx();

    Nginx(const Nginx&) = delete;
    Nginx& operator=(const Nginx&) = delete;

    std::uint16_t http_port() const { return ports_[0]; }
    /// TLS with Certificates::server_cert (localhost, 127.0.0.1).
    std::uint16_t https_port() const { return ports_[1]; }
    /// TLS with Certificates::wrong_host_cert (wrong.example only).
    std::uint16_t wrong_host_port() const { return ports_[2]; }
    /// TLS with Certificates::expired_cert.
    std::uint16_t expired_port() const { return ports_[3]; }
    /// TLS with server_cert that requires a client certificate signed by the test CA: 200
    /// with one, 400 without (the handshake itself succeeds).
    std::uint16_t mtls_port() const { return ports_[4]; }

    /// "http://127.0.0.1:HTTP_PORT" + path.
    std::string url(std::string_view path = "/") const;
    /// "https://127.0.0.1:HTTPS_PORT" + path.
    std::string https_url(std::string_view path = "/") const;

    const std::filesystem::path& docroot() const { return docroot_; }
    /// nginx's error log (notice level), for diagnostics.
    std::filesystem::path error_log() const;

private:
    TempDir dir_;
    std::filesystem::path docroot_;
    std::uint16_t ports_[5]{};
    pid_t pid_{-1};
};

/// The process's nginx, started on first call (thread-safe) with certificates().
/// Throws like Nginx().
Nginx& nginx();

/// Options for starting Httpbin.
struct HttpbinOptions {
    std::filesystem::path python = "/usr/bin/python3"; ///< Needs the httpbin module.
    /// The launcher script; empty means tests/support/httpbin_server.py of this source tree.
    std::filesystem::path launcher;
};

/// httpbin served by werkzeug's threaded WSGI server (so /delay/N blocks nothing else).
class Httpbin {
public:
    /// Starts the launcher and reads the port it prints once it is listening. Throws
    /// std::runtime_error when python3, the launcher or the httpbin module is missing, or the
    /// launcher exits or stays silent for 30 s (with its stderr in the message).
    explicit Httpbin(const HttpbinOptions& options = {});

    /// Stops the server (SIGTERM, then waits for it) and removes the directory.
    ~Httpbin();

    Httpbin(const Httpbin&) = delete;
    Httpbin& operator=(const Httpbin&) = delete;

    std::uint16_t port() const { return port_; }
    /// "http://127.0.0.1:PORT" + path.
    std::string url(std::string_view path = "/") const;

private:
    TempDir dir_;
    std::uint16_t port_{0};
    pid_t pid_{-1};
};

/// The process's httpbin, started on first call (thread-safe). Throws like Httpbin().
Httpbin& httpbin();

} // namespace nector::test
