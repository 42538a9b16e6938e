// Real servers for integration tests, each started once per test process on first use and
// stopped at process exit: a test PKI made with the openssl tool, nginx (static files over
// HTTP/1.1, several HTTPS flavours, and HTTP/2 with and without TLS), nghttpd (nghttp2's HTTP/2
// server) and httpbin. Every port is ephemeral and on 127.0.0.1, and each server accepts
// connections as soon as its accessor returns (no sleeping, no polling).
//
// A missing tool (openssl, nginx, nghttpd, python3, the httpbin module) makes the accessor throw
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
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

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
///   /host        200 with the request's Host header as the body (text/plain)
///   /trailers    200 "body\n" (text/plain) followed by the trailer field `x-checksum: abc`:
///                a trailing HEADERS frame over HTTP/2; over HTTP/1.1 the response is chunked
///                (no Content-Length) with the trailer after the last chunk
/// nginx cannot echo request bodies (POST to a static file is 405).
/// Every port answers HTTP/1.1 only, except h2_port() and h2c_port(). On the other TLS ports
/// ALPN selects http/1.1, and a client offering h2 alone fails the handshake
/// (no_application_protocol alert). h2c_port() speaks HTTP/2 with prior knowledge only: no
/// Upgrade, and an HTTP/1.1 request gets HTTP/2 frames back.
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
    /// TLS with server_cert, ALPN offering h2 then http/1.1 (nginx's `listen ... ssl http2`).
    std::uint16_t h2_port() const { return ports_[5]; }
    /// Plaintext HTTP/2 with prior knowledge, h2c (nginx's `listen ... http2`).
    std::uint16_t h2c_port() const { return ports_[6]; }

    /// A Unix domain socket serving what http_port() serves.
    std::filesystem::path unix_socket() const;
    /// A Unix domain socket serving what https_port() serves (TLS, server_cert).
    std::filesystem::path unix_tls_socket() const;

    /// "http://127.0.0.1:HTTP_PORT" + path.
    std::string url(std::string_view path = "/") const;
    /// "https://127.0.0.1:HTTPS_PORT" + path.
    std::string https_url(std::string_view path = "/") const;
    /// "https://127.0.0.1:H2_PORT" + path.
    std::string h2_url(std::string_view path = "/") const;
    /// "http://127.0.0.1:H2C_PORT" + path.
    std::string h2c_url(std::string_view path = "/") const;

    const std::filesystem::path& docroot() const { return docroot_; }
    /// nginx's error log (notice level), for diagnostics.
    std::filesystem::path error_log() const;

private:
    TempDir dir_;
    std::filesystem::path docroot_;
    std::uint16_t ports_[7]{};
    pid_t pid_{-1};
};

/// The process's nginx, started on first call (thread-safe) with certificates().
/// Throws like Nginx().
Nginx& nginx();

/// Options for starting Nghttpd.
struct NghttpdOptions {
    std::filesystem::path binary = "/usr/sbin/nghttpd"; ///< Debian package nghttp2-server.
};

/// Two nghttpd processes (one worker thread each) serving one docroot in a temporary directory
/// with nginx's static files: /hello.txt, /12b.txt and /1m.bin (see Nginx). Both echo the body
/// of every POST or PUT, whatever the path (`--echo-upload`: 200, header nghttpd-response: echo).
/// A missing file is 404. HTTP/2 only:
///   tls_port()  TLS with Certificates::server_cert, ALPN h2 only. Every response with a body
///               ends with the trailer field `x-trailer: yes` (`--trailer`) and announces it
///               with `trailer: x-trailer`.
///   h2c_port()  plaintext HTTP/2 with prior knowledge (`--no-tls`), no trailers.
class Nghttpd {
public:
    /// Starts both with port 0 and `-v` on a pipe, reads up to the "listen" line nghttpd prints
    /// after listen() returns, then takes the bound port from the child's listening socket
    /// (/proc/PID/fd against /proc/PID/net/tcp). A thread per child then copies the rest of its
    /// output (a trace of every frame) to its log. So every port accepts connections when this
    /// returns. `certificates` must outlive this. Throws std::runtime_error when nghttpd is
    /// missing, exits or stays silent for 30 s (with its output), or the port is not found.
    explicit Nghttpd(const Certificates& certificates, const NghttpdOptions& options = {});

    /// Stops both (SIGTERM, then waits for them), joins the log threads, removes the directory.
    ~Nghttpd();

    Nghttpd(const Nghttpd&) = delete;
    Nghttpd& operator=(const Nghttpd&) = delete;

    std::uint16_t tls_port() const { return tls_.port; }
    std::uint16_t h2c_port() const { return h2c_.port; }

    /// "https://127.0.0.1:TLS_PORT" + path.
    std::string tls_url(std::string_view path = "/") const;
    /// "http://127.0.0.1:H2C_PORT" + path.
    std::string h2c_url(std::string_view path = "/") const;

    const std::filesystem::path& docroot() const { return docroot_; }
    /// The frame traces (nghttpd -v), for diagnostics.
    std::filesystem::path tls_log() const;
    std::filesystem::path h2c_log() const;

private:
    /// One running nghttpd; stopped (and its log writer joined) on destruction.
    struct Instance {
        Instance() = default;
        Instance(const Instance&) = delete;
        Instance& operator=(const Instance&) = delete;
        ~Instance();

        pid_t pid{-1};
        std::uint16_t port{0};
        std::thread log_writer; ///< Copies the child's stdout to its log until end of file.
    };

    void start(Instance& instance, std::vector<std::string> argv, const std::string& name);

    TempDir dir_;
    std::filesystem::path docroot_;
    Instance tls_;
    Instance h2c_;
};

/// The process's nghttpd pair, started on first call (thread-safe) with certificates().
/// Throws like Nghttpd().
Nghttpd& nghttpd();

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

/// A port on 127.0.0.1 where nothing listens: bound a moment ago, then closed.
std::uint16_t closed_port();

/// A server process started with its standard output on a pipe, which a thread drains into
/// memory (so the child never blocks on a full pipe). Stopped (SIGTERM, then waited for) on
/// destruction.
class ChildOutputLog {
public:
    ChildOutputLog() = default;
    ~ChildOutputLog();
    ChildOutputLog(const ChildOutputLog&) = delete;
    ChildOutputLog& operator=(const ChildOutputLog&) = delete;

    /// Takes over the child `pid` and the read end `fd` of its stdout pipe, with what was
    /// read from it already.
    void adopt(pid_t pid, int fd, std::string already_read);
    /// Everything the child printed so far, including what is in the pipe at this moment:
    /// a line the child wrote before answering a request is there once the answer arrived.
    std::string text() const;

private:
    void drain_locked() const; // reads what the pipe holds now; mutex_ held
    pid_t pid_{-1};
    int fd_{-1};
    mutable std::mutex mutex_;
    mutable std::string text_;
    std::thread reader_;
};

/// Options for starting Tinyproxy.
struct TinyproxyOptions {
    std::filesystem::path binary = "/usr/bin/tinyproxy"; ///< Debian package tinyproxy.
    /// With a user: BasicAuth, every request must carry these credentials (else 407).
    std::string user;
    std::string password;
};

/// tinyproxy, an HTTP proxy (absolute-form requests and CONNECT to any port), on 127.0.0.1
/// with a free port, logging at Info level: a line "Request (file descriptor N): LINE" for
/// each request line it reads (e.g. "CONNECT 127.0.0.1:8443 HTTP/1.1").
class Tinyproxy {
public:
    /// Writes its configuration, starts it in the foreground and reads its output up to
    /// "Accepting connections" (printed once it listens). The port is found free by binding
    /// to port 0 first; tinyproxy cannot take an inherited socket, so if another process
    /// takes the port in between, it is started again on another. Throws std::runtime_error
    /// when tinyproxy is missing or does not start (with its output).
    explicit Tinyproxy(const TinyproxyOptions& options = {});
    ~Tinyproxy();
    Tinyproxy(const Tinyproxy&) = delete;
    Tinyproxy& operator=(const Tinyproxy&) = delete;

    std::uint16_t port() const { return port_; }
    /// "http://127.0.0.1:PORT", or "http://USER:PASSWORD@127.0.0.1:PORT" with `credentials`.
    std::string url(bool credentials = false) const;
    /// Everything tinyproxy logged so far.
    std::string log() const { return output_.text(); }

private:
    TempDir dir_;
    TinyproxyOptions options_;
    std::uint16_t port_{0};
    ChildOutputLog output_;
};

/// The process's tinyproxy without authentication, and one with BasicAuth user "nector",
/// password "s3cret", each started on first call (thread-safe).
Tinyproxy& tinyproxy();
Tinyproxy& tinyproxy_with_auth();

/// Options for starting Dante.
struct DanteOptions {
    std::filesystem::path binary = "/usr/sbin/danted"; ///< Debian package dante-server.
};

/// Dante's SOCKS5 server (no authentication, connections from and to 127.0.0.0/8) on
/// 127.0.0.1 with a free port, found as Tinyproxy's is; logging connections to its output.
class Dante {
public:
    /// Starts it with one process per role and reads its output up to the line its
    /// negotiate child prints when ready (the listening socket exists before then). Throws
    /// std::runtime_error when danted is missing or does not start (with its output).
    explicit Dante(const DanteOptions& options = {});
    ~Dante();
    Dante(const Dante&) = delete;
    Dante& operator=(const Dante&) = delete;

    std::uint16_t port() const { return port_; }
    /// "socks5://127.0.0.1:PORT", or "socks5h://..." (names resolved by the proxy).
    std::string url(bool remote_names = false) const;
    /// Everything dante logged so far.
    std::string log() const { return output_.text(); }

private:
    TempDir dir_;
    std::uint16_t port_{0};
    ChildOutputLog output_;
};

/// The process's dante, started on first call (thread-safe).
Dante& dante();

} // namespace nector::test
