#include "support/servers.hpp"

#include "support/h2_server.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <optional>
#include <set>
#include <sstream>
#include <stdexcept>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#ifndef NECTOR_HTTPBIN_LAUNCHER
#error "NECTOR_HTTPBIN_LAUNCHER must name tests/support/httpbin_server.py"
#endif

extern char** environ;

namespace nector::test {

namespace fs = std::filesystem;

namespace {

/// How long a server may take to say it is listening.
constexpr std::chrono::seconds startup_limit{30};

[[noreturn]] void throw_error(int error, const std::string& what) {
    throw std::system_error(error, std::generic_category(), what);
}

/// Throws for the current errno. A fixed text: building a string could change errno first.
[[noreturn]] void throw_errno(const char* what) { throw_error(errno, what); }

std::string read_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

void write_file(const fs::path& path, std::string_view content) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
    if (!out) throw std::runtime_error("cannot write " + path.string());
}

std::string make_url(std::string_view scheme, std::uint16_t port, std::string_view path) {
    std::string url(scheme);
    url += "://127.0.0.1:" + std::to_string(port);
    if (path.empty() || path.front() != '/') url += '/';
    url += path;
    return url;
}

std::optional<fs::path> find_in_path(std::string_view name) {
    const char* path = std::getenv("PATH");
    std::istringstream dirs(path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin");
    for (std::string dir; std::getline(dirs, dir, ':');) {
        if (dir.empty()) continue;
        fs::path candidate = fs::path(dir) / name;
        if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    }
    return std::nullopt;
}

void require_executable(const fs::path& binary, std::string_view hint) {
    if (::access(binary.c_str(), X_OK) != 0) {
        throw std::runtime_error(binary.string() + " is missing or not executable (" +
                                 std::string(hint) + ")");
    }
}

/// An owned file descriptor.
class Fd {
public:
    explicit Fd(int fd = -1) : fd_(fd) {}
    Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
    Fd& operator=(Fd&& other) noexcept {
        if (this != &other) {
            reset();
            fd_ = std::exchange(other.fd_, -1);
        }
        return *this;
    }
    ~Fd() { reset(); }
    int get() const { return fd_; }
    void reset() {
        if (fd_ >= 0) ::close(fd_);
        fd_ = -1;
    }

private:
    int fd_;
};

/// What spawn() starts.
struct ChildSpec {
    std::vector<std::string> argv;      ///< argv[0] is the executable's path.
    std::vector<std::string> extra_env; ///< "NAME=value", added to this process's environment.
    fs::path log;                       ///< Receives stderr, and stdout unless stdout_fd is set.
    int stdout_fd = -1;                 ///< When >= 0, becomes the child's stdout.
    std::vector<int> inherited_fds;     ///< Kept open across exec (close-on-exec cleared).
    int death_signal = SIGKILL;         ///< Sent to the child when the spawning thread ends.
};

std::string join(const std::vector<std::string>& argv) {
    std::string text;
    for (const auto& arg : argv) text += (text.empty() ? "" : " ") + arg;
    return text;
}

pid_t spawn(const ChildSpec& spec) {
    // Everything the child needs is built before fork: other threads may hold the allocator's
    // locks, so the child makes async-signal-safe calls only.
    std::vector<char*> argv;
    for (const auto& arg : spec.argv) argv.push_back(const_cast<char*>(arg.c_str()));
    argv.push_back(nullptr);
    std::vector<std::string> env;
    for (char** entry = environ; *entry != nullptr; ++entry) {
        const std::string_view item(*entry);
        bool overridden = false;
        for (const auto& extra : spec.extra_env) {
            const auto name = extra.substr(0, extra.find('=') + 1);
            overridden = overridden || item.starts_with(name);
        }
        if (!overridden) env.emplace_back(item);
    }
    env.insert(env.end(), spec.extra_env.begin(), spec.extra_env.end());
    std::vector<char*> envp;
    for (auto& item : env) envp.push_back(item.data());
    envp.push_back(nullptr);

    Fd log(::open(spec.log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (log.get() < 0) {
        const int error = errno;
        throw_error(error, "open " + spec.log.string());
    }
    Fd null(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    if (null.get() < 0) throw_errno("open /dev/null");
    const int out = spec.stdout_fd >= 0 ? spec.stdout_fd : log.get();
    const pid_t parent = ::getpid();

    const pid_t pid = ::fork();
    if (pid < 0) {
        const int error = errno;
        throw_error(error, "fork for " + spec.argv.front());
    }
    if (pid == 0) {
        // The parent may have died before prctl: then the signal would never come.
        if (::prctl(PR_SET_PDEATHSIG, spec.death_signal) != 0 || ::getppid() != parent) {
            ::_exit(126);
        }
        sigset_t none;
        ::sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        struct sigaction default_action {};
        default_action.sa_handler = SIG_DFL;
        for (const int sig : {SIGTERM, SIGINT, SIGPIPE}) ::sigaction(sig, &default_action, nullptr);
        if (::dup2(null.get(), 0) < 0 || ::dup2(out, 1) < 0 || ::dup2(log.get(), 2) < 0) {
            ::_exit(126);
        }
        for (const int fd : spec.inherited_fds) ::fcntl(fd, F_SETFD, 0);
        ::execve(argv[0], argv.data(), envp.data());
        ::_exit(127);
    }
    return pid;
}

int wait_for_exit(pid_t pid) {
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return status;
}

void stop(pid_t pid) {
    if (pid <= 0) return;
    ::kill(pid, SIGTERM);
    wait_for_exit(pid);
}

std::string describe(int status) {
    if (WIFEXITED(status)) {
        if (WEXITSTATUS(status) == 127) return "could not be executed";
        return "exited with status " + std::to_string(WEXITSTATUS(status));
    }
    if (WIFSIGNALED(status)) return "was killed by signal " + std::to_string(WTERMSIG(status));
    return "ended with wait status " + std::to_string(status);
}

/// Runs a command to completion; throws std::runtime_error with its output when it fails.
void run_checked(const std::vector<std::string>& argv, const fs::path& log) {
    ChildSpec spec;
    spec.argv = argv;
    spec.log = log;
    const int status = wait_for_exit(spawn(spec));
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return;
    throw std::runtime_error("`" + join(argv) + "` " + describe(status) + ":\n" + read_file(log));
}

/// What a child printed before read_until() returned.
struct ChildOutput {
    std::string text;
    bool timed_out{false};
};

/// Reads `fd` until `done(text so far)` holds, end of file, or `limit` passes: a blocking poll,
/// woken by output or by the writer's exit (a bounded wait for a line, not a readiness poll).
ChildOutput read_until(int fd, const std::function<bool(std::string_view)>& done,
                       std::chrono::seconds limit) {
    ChildOutput output;
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done(output.text)) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        pollfd ready{fd, POLLIN, 0};
        const int polled = ::poll(&ready, 1, static_cast<int>(std::max<long>(left.count(), 0)));
        if (polled < 0 && errno == EINTR) continue;
        if (polled == 0) {
            output.timed_out = true;
            break;
        }
        char buffer[512];
        const ssize_t n = ::read(fd, buffer, sizeof buffer);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        output.text.append(buffer, static_cast<std::size_t>(n));
    }
    return output;
}

/// A TCP socket listening on 127.0.0.1 with an ephemeral port (close-on-exec).
Fd listen_on_loopback(std::uint16_t& port) {
    Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (fd.get() < 0) throw_errno("socket");
    const int one = 1;
    if (::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0) {
        throw_errno("setsockopt SO_REUSEADDR");
    }
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = 0;
    if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
        throw_errno("bind 127.0.0.1:0");
    }
    if (::listen(fd.get(), SOMAXCONN) != 0) throw_errno("listen");
    socklen_t length = sizeof address;
    if (::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&address), &length) != 0) {
        throw_errno("getsockname");
    }
    port = ntohs(address.sin_port);
    return fd;
}

/// A Unix domain socket listening at `path` (close-on-exec).
Fd listen_on_unix(const fs::path& path) {
    Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (fd.get() < 0) throw_errno("socket AF_UNIX");
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    const std::string p = path.string();
    if (p.size() >= sizeof address.sun_path) throw std::runtime_error("socket path too long: " + p);
    std::memcpy(address.sun_path, p.c_str(), p.size() + 1);
    if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
        throw_errno("bind unix socket");
    }
    if (::listen(fd.get(), SOMAXCONN) != 0) throw_errno("listen");
    return fd;
}

// --- Certificates -----------------------------------------------------------------------------

std::string openssl_config(const fs::path& dir) {
    return R"([ req ]
distinguished_name = dn
prompt = no
[ dn ]
CN = unused
[ ca ]
default_ca = test_ca
[ test_ca ]
dir = )" + dir.string() +
           R"(
database = $dir/index.txt
serial = $dir/serial
new_certs_dir = $dir/issued
certificate = $dir/ca.pem
private_key = $dir/ca.key
default_md = sha256
policy = any_name
unique_subject = no
email_in_dn = no
copy_extensions = none
[ any_name ]
commonName = supplied
[ ca_ext ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[ server_ext ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1
authorityKeyIdentifier = keyid
[ wrong_host_ext ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:wrong.example
authorityKeyIdentifier = keyid
[ client_ext ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
authorityKeyIdentifier = keyid
)";
}

/// The static files nginx and nghttpd serve (see Nginx in servers.hpp).
void write_static_files(const fs::path& docroot) {
    fs::create_directory(docroot);
    write_file(docroot / "hello.txt", "hello\n");
    write_file(docroot / "12b.txt", "hello world\n");
    std::string mebibyte(std::size_t{1} << 20, '\0');
    for (std::size_t i = 0; i < mebibyte.size(); ++i) mebibyte[i] = static_cast<char>(i % 251);
    write_file(docroot / "1m.bin", mebibyte);
}

// --- nginx ------------------------------------------------------------------------------------

constexpr int nginx_status_codes[] = {200, 204, 400, 404, 418, 500, 502, 503};

std::string nginx_locations(const fs::path& docroot) {
    std::string text = "        root " + docroot.string() + ";\n";
    for (const int code : nginx_status_codes) {
        const auto c = std::to_string(code);
        text += "        location = /status/" + c + " { return " + c + "; }\n";
    }
    text += "        location = /redirect { return 302 /hello.txt; }\n";
    text += "        location = /host { default_type text/plain; return 200 \"$http_host\"; }\n";
    // add_trailer makes an HTTP/1.1 response chunked; over HTTP/2 it is a trailing HEADERS frame.
    text +=
        "        location = /trailers { default_type text/plain; "
        "add_trailer x-checksum abc always; return 200 \"body\\n\"; }\n";
    return text;
}

std::string nginx_config(const fs::path& dir, const fs::path& docroot, const Certificates& certs,
                         const std::uint16_t (&ports)[7], const fs::path& unix_http,
                         const fs::path& unix_https) {
    const std::string d = dir.string();
    const std::string locations = nginx_locations(docroot);
    // `parameters`: "", " ssl", " http2" or " ssl http2". http2 is per address:port, so the other
    // ports stay HTTP/1.1 only.
    auto listen = [](std::uint16_t port, std::string_view parameters = "") {
        return "        listen 127.0.0.1:" + std::to_string(port) + std::string(parameters) + ";\n";
    };
    auto certificate = [](const fs::path& cert, const fs::path& key) {
        return "        ssl_certificate " + cert.string() + ";\n        ssl_certificate_key " +
               key.string() + ";\n";
    };
    std::string text;
    // Workers running as root read the root-only temporary directory; the default user could not.
    if (::geteuid() == 0) text += "user root;\n";
    text += "daemon off;\n";
    // master_process off crashes nginx 1.22 on inherited sockets (SIGSEGV in
    // ngx_event_process_init), so one worker under a master.
    text += "master_process on;\nworker_processes 1;\n";
    text += "pid " + d + "/nginx.pid;\n";
    text += "error_log " + d + "/error.log notice;\n";
    text += "events { worker_connections 512; }\n";
    text += "http {\n";
    text += "    access_log " + d + "/access.log;\n";
    for (const char* temp : {"client_body", "proxy", "fastcgi", "uwsgi", "scgi"}) {
        text += "    " + std::string(temp) + "_temp_path " + d + "/temp_" + temp + ";\n";
    }
    text += "    types { text/plain txt; application/octet-stream bin; }\n";
    text += "    default_type application/octet-stream;\n";
    text += "    keepalive_requests 10000;\n";
    text += "    ssl_protocols TLSv1.2 TLSv1.3;\n";
    text += "    server {\n" + listen(ports[0]) + "        listen unix:" + unix_http.string() +
            ";\n" + locations + "    }\n";
    text += "    server {\n" + listen(ports[1], " ssl") +
            "        listen unix:" + unix_https.string() + " ssl;\n" +
            certificate(certs.server_cert, certs.server_key) + locations + "    }\n";
    text += "    server {\n" + listen(ports[2], " ssl") +
            certificate(certs.wrong_host_cert, certs.wrong_host_key) + locations + "    }\n";
    text += "    server {\n" + listen(ports[3], " ssl") +
            certificate(certs.expired_cert, certs.expired_key) + locations + "    }\n";
    text += "    server {\n" + listen(ports[4], " ssl") +
            certificate(certs.server_cert, certs.server_key) + "        ssl_client_certificate " +
            certs.ca_cert.string() + ";\n        ssl_verify_client on;\n" + locations + "    }\n";
    text += "    server {\n" + listen(ports[5], " ssl http2") +
            certificate(certs.server_cert, certs.server_key) + locations + "    }\n";
    text += "    server {\n" + listen(ports[6], " http2") + locations + "    }\n";
    text += "}\n";
    return text;
}

// --- nghttpd ----------------------------------------------------------------------------------

/// The port of the one IPv4 socket in LISTEN state that process `pid` holds: its socket inodes
/// (/proc/PID/fd links "socket:[INODE]") matched against /proc/PID/net/tcp. Throws
/// std::runtime_error when there is none.
std::uint16_t listening_port(pid_t pid) {
    const fs::path proc = "/proc/" + std::to_string(pid);
    std::set<std::string> inodes;
    std::error_code error;
    for (const auto& entry : fs::directory_iterator(proc / "fd", error)) {
        std::error_code unreadable; // a descriptor closed meanwhile
        const std::string target = fs::read_symlink(entry.path(), unreadable).string();
        if (!unreadable && target.starts_with("socket:[") && target.ends_with("]")) {
            inodes.insert(target.substr(8, target.size() - 9));
        }
    }
    if (error) {
        throw std::runtime_error("cannot list " + (proc / "fd").string() + ": " + error.message());
    }
    std::ifstream table(proc / "net" / "tcp");
    std::string line;
    std::getline(table, line); // column titles
    // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode ...
    while (std::getline(table, line)) {
        std::istringstream fields(line);
        std::string slot, local, remote, state, queues, timer, retransmits, uid, timeout, inode;
        fields >> slot >> local >> remote >> state >> queues >> timer >> retransmits >> uid >>
            timeout >> inode;
        const auto colon = local.find(':');
        if (state != "0A" || colon == std::string::npos || !inodes.contains(inode)) continue;
        return static_cast<std::uint16_t>(std::stoul(local.substr(colon + 1), nullptr, 16));
    }
    throw std::runtime_error("no listening IPv4 socket among the descriptors of process " +
                             std::to_string(pid));
}

/// Whether nghttpd's -v output has the line it prints once a socket listens
/// ("IPv4: listen 127.0.0.1:0" - the port as given, not as bound).
bool has_listen_line(std::string_view text) {
    for (const std::string_view family : {"IPv4: listen ", "IPv6: listen "}) {
        const auto at = text.find(family);
        if (at != std::string_view::npos && text.find('\n', at) != std::string_view::npos) {
            return true;
        }
    }
    return false;
}

} // namespace

// --- TempDir ----------------------------------------------------------------------------------

TempDir::TempDir(std::string_view prefix) {
    std::string pattern = "/tmp/" + std::string(prefix) + "-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) {
        const int error = errno;
        throw_error(error, "mkdtemp " + pattern);
    }
    path_ = pattern;
}

TempDir::~TempDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
}

// --- Certificates -----------------------------------------------------------------------------

Certificates::Certificates() : dir("nector-pki") {
    const auto openssl = find_in_path("openssl");
    if (!openssl) {
        throw std::runtime_error(
            "the openssl command-line tool is not in PATH (Debian package openssl); the test "
            "certificates are generated with it");
    }
    const fs::path d = dir.path();
    const fs::path config = d / "openssl.cnf";
    const fs::path log = d / "openssl.log";
    write_file(config, openssl_config(d));
    write_file(d / "index.txt", "");
    write_file(d / "serial", "1000\n");
    fs::create_directory(d / "issued");

    const std::string tool = openssl->string();
    const std::string cnf = config.string();
    auto key_and_request = [&](const std::string& name, const std::string& subject) {
        run_checked(
            {tool, "req", "-config", cnf, "-new", "-newkey", "ec", "-pkeyopt",
             "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", (d / (name + ".key")).string(),
             "-out", (d / (name + ".csr")).string(), "-subj", subject},
            log);
    };
    auto sign = [&](const std::string& name, const std::string& extensions,
                    std::vector<std::string> validity) {
        std::vector<std::string> argv = {tool,          "ca",
                                         "-config",     cnf,
                                         "-batch",      "-notext",
                                         "-in",         (d / (name + ".csr")).string(),
                                         "-out",        (d / (name + ".pem")).string(),
                                         "-extensions", extensions};
        argv.insert(argv.end(), validity.begin(), validity.end());
        run_checked(argv, log);
    };

    ca_cert = d / "ca.pem";
    ca_key = d / "ca.key";
    run_checked({tool,
                 "req",
                 "-config",
                 cnf,
                 "-x509",
                 "-new",
                 "-newkey",
                 "ec",
                 "-pkeyopt",
                 "ec_paramgen_curve:prime256v1",
                 "-nodes",
                 "-keyout",
                 ca_key.string(),
                 "-out",
                 ca_cert.string(),
                 "-days",
                 "3650",
                 "-subj",
                 "/CN=nector test CA",
                 "-extensions",
                 "ca_ext"},
                log);
    ca_pem = read_file(ca_cert);

    const std::vector<std::string> ten_years = {"-days", "3650"};
    key_and_request("server", "/CN=localhost");
    sign("server", "server_ext", ten_years);
    key_and_request("wrong_host", "/CN=wrong.example");
    sign("wrong_host", "wrong_host_ext", ten_years);
    // `openssl x509` (3.0) cannot backdate; `openssl ca` takes explicit dates.
    key_and_request("expired", "/CN=localhost");
    sign("expired", "server_ext", {"-startdate", "20200101000000Z", "-enddate", "20210101000000Z"});
    key_and_request("client", "/CN=nector test client");
    sign("client", "client_ext", ten_years);

    server_cert = d / "server.pem";
    server_key = d / "server.key";
    wrong_host_cert = d / "wrong_host.pem";
    wrong_host_key = d / "wrong_host.key";
    expired_cert = d / "expired.pem";
    expired_key = d / "expired.key";
    client_cert = d / "client.pem";
    client_key = d / "client.key";
}

const Certificates& certificates() {
    static const Certificates instance;
    return instance;
}

TlsFiles h2_tls_files() {
    const Certificates& certs = certificates();
    return TlsFiles{.certificate_chain = certs.server_cert, .private_key = certs.server_key};
}

// --- Nginx ------------------------------------------------------------------------------------

Nginx::Nginx(const Certificates& certs, const NginxOptions& options) : dir_("nector-nginx") {
    require_executable(options.binary, "install Debian's nginx-light");
    const fs::path d = dir_.path();
    docroot_ = d / "www";
    write_static_files(docroot_);

    // The sockets listen before nginx starts, so a client can connect as soon as this
    // constructor returns: the kernel queues the connections until nginx accepts them.
    std::vector<Fd> sockets;
    for (auto& port : ports_) sockets.push_back(listen_on_loopback(port));
    sockets.push_back(listen_on_unix(unix_socket()));
    sockets.push_back(listen_on_unix(unix_tls_socket()));
    const fs::path config = d / "nginx.conf";
    write_file(config, nginx_config(d, docroot_, certs, ports_, unix_socket(), unix_tls_socket()));

    const std::string binary = options.binary.string();
    const std::vector<std::string> common = {"-p", d.string() + "/",    "-c", config.string(),
                                             "-e", error_log().string()};
    std::vector<std::string> check = {binary, "-t", "-q"};
    check.insert(check.end(), common.begin(), common.end());
    run_checked(check, d / "nginx-t.log");

    ChildSpec spec;
    spec.argv = {binary};
    spec.argv.insert(spec.argv.end(), common.begin(), common.end());
    spec.log = d / "nginx.out";
    // nginx's binary-upgrade hand-over: it adopts the listening sockets named in NGINX
    // ("fd;fd;...;") whose addresses match its `listen` lines, and logs "using inherited
    // sockets".
    std::string inherited = "NGINX=";
    for (const auto& socket : sockets) {
        spec.inherited_fds.push_back(socket.get());
        inherited += std::to_string(socket.get()) + ";";
    }
    spec.extra_env.push_back(inherited);
    // SIGTERM, not SIGKILL: the master then stops its worker too.
    spec.death_signal = SIGTERM;
    pid_ = spawn(spec);
}

Nginx::~Nginx() { stop(pid_); }

std::string Nginx::url(std::string_view path) const { return make_url("http", http_port(), path); }

std::string Nginx::https_url(std::string_view path) const {
    return make_url("https", https_port(), path);
}

std::string Nginx::h2_url(std::string_view path) const {
    return make_url("https", h2_port(), path);
}

std::string Nginx::h2c_url(std::string_view path) const {
    return make_url("http", h2c_port(), path);
}

fs::path Nginx::error_log() const { return dir_.path() / "error.log"; }

fs::path Nginx::unix_socket() const { return dir_.path() / "http.sock"; }

fs::path Nginx::unix_tls_socket() const { return dir_.path() / "https.sock"; }

Nginx& nginx() {
    static Nginx instance(certificates());
    return instance;
}

// --- Nghttpd ----------------------------------------------------------------------------------

Nghttpd::Instance::~Instance() {
    // The child's end of the pipe closes when it exits, which ends the log writer.
    stop(pid);
    if (log_writer.joinable()) log_writer.join();
}

Nghttpd::Nghttpd(const Certificates& certs, const NghttpdOptions& options)
    : dir_("nector-nghttpd") {
    require_executable(options.binary, "install Debian's nghttp2-server");
    docroot_ = dir_.path() / "www";
    write_static_files(docroot_);
    const std::vector<std::string> common = {
        options.binary.string(), "-v", "-a", "127.0.0.1", "-d", docroot_.string(), "--echo-upload"};
    auto tls = common;
    tls.insert(tls.end(), {"--trailer", "x-trailer: yes", "0", certs.server_key.string(),
                           certs.server_cert.string()});
    start(tls_, tls, "tls");
    auto h2c = common;
    h2c.insert(h2c.end(), {"--no-tls", "0"});
    start(h2c_, h2c, "h2c");
}

void Nghttpd::start(Instance& instance, std::vector<std::string> argv, const std::string& name) {
    int ends[2];
    if (::pipe2(ends, O_CLOEXEC) != 0) throw_errno("pipe2");
    Fd reader(ends[0]);
    Fd writer(ends[1]);

    ChildSpec spec;
    spec.argv = std::move(argv);
    spec.log = dir_.path() / ("nghttpd-" + name + ".stderr");
    spec.stdout_fd = writer.get();
    instance.pid = spawn(spec);
    writer.reset();

    // nghttpd prints the line after listen() succeeded, so connections queue from then on.
    auto output = read_until(reader.get(), has_listen_line, startup_limit);
    std::string failure;
    if (has_listen_line(output.text)) {
        try {
            instance.port = listening_port(instance.pid);
        } catch (const std::runtime_error& e) {
            failure = e.what();
        }
    } else {
        failure = output.timed_out ? "no \"listen\" line within 30 s" : "it exited";
    }
    if (!failure.empty()) {
        stop(std::exchange(instance.pid, -1));
        throw std::runtime_error("nghttpd (" + join(spec.argv) + ") did not start: " + failure +
                                 "; its output:\n" + output.text + read_file(spec.log));
    }

    // -v traces every frame on stdout: keep draining the pipe, into the log.
    const fs::path log = dir_.path() / ("nghttpd-" + name + ".log");
    write_file(log, output.text);
    instance.log_writer = std::thread([reader = std::move(reader), log] {
        std::ofstream out(log, std::ios::binary | std::ios::app);
        char buffer[4096];
        for (;;) {
            const ssize_t n = ::read(reader.get(), buffer, sizeof buffer);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) return;
            out.write(buffer, n);
            out.flush();
        }
    });
}

Nghttpd::~Nghttpd() = default;

std::string Nghttpd::tls_url(std::string_view path) const {
    return make_url("https", tls_port(), path);
}

std::string Nghttpd::h2c_url(std::string_view path) const {
    return make_url("http", h2c_port(), path);
}

fs::path Nghttpd::tls_log() const { return dir_.path() / "nghttpd-tls.log"; }

fs::path Nghttpd::h2c_log() const { return dir_.path() / "nghttpd-h2c.log"; }

Nghttpd& nghttpd() {
    static Nghttpd instance(certificates());
    return instance;
}

// --- Httpbin ----------------------------------------------------------------------------------

Httpbin::Httpbin(const HttpbinOptions& options) : dir_("nector-httpbin") {
    require_executable(options.python, "install python3 and python3-httpbin");
    const fs::path launcher =
        options.launcher.empty() ? fs::path(NECTOR_HTTPBIN_LAUNCHER) : options.launcher;
    if (!fs::is_regular_file(launcher)) {
        throw std::runtime_error("the httpbin launcher " + launcher.string() + " is missing");
    }
    int ends[2];
    if (::pipe2(ends, O_CLOEXEC) != 0) throw_errno("pipe2");
    Fd reader(ends[0]);
    Fd writer(ends[1]);

    ChildSpec spec;
    spec.argv = {options.python.string(), launcher.string()};
    spec.log = dir_.path() / "httpbin.log";
    spec.stdout_fd = writer.get();
    pid_ = spawn(spec);
    writer.reset();

    // The launcher prints the port only once its socket listens.
    const auto [line, timed_out] = read_until(
        reader.get(), [](std::string_view text) { return text.find('\n') != text.npos; },
        startup_limit);
    int port = 0;
    try {
        port = std::stoi(line);
    } catch (const std::exception&) {
        port = 0;
    }
    if (port <= 0 || port > 65535) {
        stop(std::exchange(pid_, -1));
        throw std::runtime_error("httpbin (" + join(spec.argv) + ") did not start" +
                                 (timed_out ? " within 30 s" : "") + "; its output:\n" +
                                 read_file(spec.log) +
                                 "(python3-httpbin provides the httpbin module)");
    }
    port_ = static_cast<std::uint16_t>(port);
}

Httpbin::~Httpbin() { stop(pid_); }

std::string Httpbin::url(std::string_view path) const { return make_url("http", port_, path); }

Httpbin& httpbin() {
    static Httpbin instance;
    return instance;
}

} // namespace nector::test

namespace nector::test {
namespace {

// Starts `spec` with its stdout on a pipe and reads until `ready` holds. On success `log`
// takes the child and the pipe and "" is returned; otherwise the child is stopped and the
// failure (with the child's output) is returned.
std::string start_logged(ChildSpec spec, const std::function<bool(std::string_view)>& ready,
                         ChildOutputLog& log) {
    int ends[2];
    if (::pipe2(ends, O_CLOEXEC) != 0) throw_errno("pipe2");
    Fd reader(ends[0]);
    Fd writer(ends[1]);
    spec.stdout_fd = writer.get();
    const pid_t pid = spawn(spec);
    writer.reset();
    auto output = read_until(reader.get(), ready, startup_limit);
    if (!ready(output.text)) {
        stop(pid);
        return std::string(output.timed_out ? "no ready line within 30 s" : "it exited") +
               "; its output:\n" + output.text + read_file(spec.log);
    }
    const int fd = ::dup(reader.get());
    if (fd < 0) throw_errno("dup");
    log.adopt(pid, fd, std::move(output.text));
    return {};
}

// A port free on 127.0.0.1 a moment ago, for servers that cannot take an inherited socket.
std::uint16_t free_port() {
    std::uint16_t port = 0;
    (void)listen_on_loopback(port);
    return port;
}

} // namespace

std::uint16_t closed_port() { return free_port(); }

// --- ChildOutputLog ---------------------------------------------------------------------------

void ChildOutputLog::adopt(pid_t pid, int fd, std::string already_read) {
    pid_ = pid;
    fd_ = fd;
    ::fcntl(fd_, F_SETFL, ::fcntl(fd_, F_GETFL) | O_NONBLOCK);
    text_ = std::move(already_read);
    reader_ = std::thread([this] {
        for (;;) {
            pollfd ready{fd_, POLLIN, 0};
            if (::poll(&ready, 1, -1) < 0 && errno != EINTR) return;
            std::lock_guard lock(mutex_);
            char buffer[4096];
            const ssize_t n = ::read(fd_, buffer, sizeof buffer);
            if (n == 0) return; // the child exited
            if (n < 0 && errno != EAGAIN && errno != EINTR) return;
            if (n > 0) text_.append(buffer, static_cast<std::size_t>(n));
        }
    });
}

void ChildOutputLog::drain_locked() const {
    char buffer[4096];
    for (;;) {
        const ssize_t n = ::read(fd_, buffer, sizeof buffer);
        if (n > 0) {
            text_.append(buffer, static_cast<std::size_t>(n));
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        return;
    }
}

std::string ChildOutputLog::text() const {
    std::lock_guard lock(mutex_);
    if (fd_ >= 0) drain_locked();
    return text_;
}

ChildOutputLog::~ChildOutputLog() {
    // The pipe's write end closes when the child (and any child of its) exits, which ends
    // the reader.
    stop(pid_);
    if (reader_.joinable()) reader_.join();
    if (fd_ >= 0) ::close(fd_);
}

// --- Tinyproxy --------------------------------------------------------------------------------

Tinyproxy::Tinyproxy(const TinyproxyOptions& options)
    : dir_("nector-tinyproxy"), options_(options) {
    require_executable(options.binary, "install Debian's tinyproxy");
    std::string failure;
    for (int attempt = 0; attempt < 3; ++attempt) {
        port_ = free_port();
        std::string config = "Port " + std::to_string(port_) +
                             "\nListen 127.0.0.1\nTimeout 60\nLogLevel Info\nMaxClients 200\n"
                             "Allow 127.0.0.1\n";
        if (!options.user.empty())
            config += "BasicAuth " + options.user + " " + options.password + "\n";
        write_file(dir_.path() / "tinyproxy.conf", config);
        ChildSpec spec;
        spec.argv = {options.binary.string(), "-d", "-c",
                     (dir_.path() / "tinyproxy.conf").string()};
        spec.log = dir_.path() / "tinyproxy.stderr";
        failure = start_logged(
            spec,
            [](std::string_view text) {
                return text.find("Accepting connections") != std::string_view::npos;
            },
            output_);
        if (failure.empty()) return;
    }
    throw std::runtime_error("tinyproxy did not start: " + failure);
}

Tinyproxy::~Tinyproxy() = default;

std::string Tinyproxy::url(bool credentials) const {
    std::string userinfo;
    if (credentials) userinfo = options_.user + ":" + options_.password + "@";
    return "http://" + userinfo + "127.0.0.1:" + std::to_string(port_);
}

Tinyproxy& tinyproxy() {
    static Tinyproxy instance;
    return instance;
}

Tinyproxy& tinyproxy_with_auth() {
    static Tinyproxy instance(TinyproxyOptions{.user = "nector", .password = "s3cret"});
    return instance;
}

// --- Dante ------------------------------------------------------------------------------------

Dante::Dante(const DanteOptions& options) : dir_("nector-dante") {
    require_executable(options.binary, "install Debian's dante-server");
    std::string failure;
    for (int attempt = 0; attempt < 3; ++attempt) {
        port_ = free_port();
        std::string config =
            "logoutput: stdout\ninternal: 127.0.0.1 port = " + std::to_string(port_) +
            "\nexternal: 127.0.0.1\nsocksmethod: none\nclientmethod: none\n";
        // As root, dante wants users to switch to; otherwise it runs as the user it is.
        if (::geteuid() == 0) config += "user.privileged: root\nuser.unprivileged: nobody\n";
        config +=
            "client pass { from: 127.0.0.0/8 to: 0.0.0.0/0 log: connect }\n"
            "socks pass { from: 127.0.0.0/8 to: 0.0.0.0/0 log: connect }\n";
        write_file(dir_.path() / "danted.conf", config);
        ChildSpec spec;
        spec.argv = {options.binary.string(),
                     "-f",
                     (dir_.path() / "danted.conf").string(),
                     "-p",
                     (dir_.path() / "danted.pid").string(),
                     "-N",
                     "1",
                     "-d",
                     "1"};
        spec.log = dir_.path() / "danted.stderr";
        failure = start_logged(
            spec,
            [](std::string_view text) {
                return text.find("negotiate-child and ready to serve") != std::string_view::npos;
            },
            output_);
        if (failure.empty()) return;
    }
    throw std::runtime_error("danted did not start: " + failure);
}

Dante::~Dante() = default;

std::string Dante::url(bool remote_names) const {
    return std::string(remote_names ? "socks5h" : "socks5") +
           "://127.0.0.1:" + std::to_string(port_);
}

Dante& dante() {
    static Dante instance;
    return instance;
}

} // namespace nector::test
