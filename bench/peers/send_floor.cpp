// The floor of a large upload: one HTTP/1.1 PUT of a file's bytes with its Content-Length,
// and nothing between the program and the kernel (or OpenSSL) but the write calls. What is
// left is the cost of sending the bytes, which every sender pays.
//   file      http://  sendfile() from the file to the socket: the kernel's cost alone.
//             https:// read() into one 64 KiB buffer and SSL_write_ex() it (OpenSSL's
//                      defaults, certificate not verified; SSL_sendfile() when kTLS took
//                      over sending, which the kernel may not offer: the floor says which).
//   producer  the same number of bytes from one 64 KiB buffer in memory, written again and
//             again with send() (or SSL_write_ex()): the floor of a body made while it is
//             sent, which has no file to hand to the kernel.
// Then the response head is read; its status must be 2xx.
// bench/upload runs it beside curl and nector (bench/peers/README.md).
//   peer-send-floor http[s]://127.0.0.1:PORT/PATH FILE [file|producer]
// Prints "upload ok, B bytes (TLS)" on success; exits 1 on a failed upload, 2 for bad
// arguments.
#include "floor.hpp"

#include <fcntl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>

#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace {

int fail(const char* what) {
    std::fprintf(stderr, "peer-send-floor: %s\n", what);
    return 1;
}

/// Sends `size` bytes of the file `fd`; false on a failure.
bool send_file(floor_peer::Connection& c, int fd, long long size) {
    off_t offset = 0;
    if (!c.ssl()) {
        while (offset < size) {
            if (sendfile(c.fd(), fd, &offset, static_cast<std::size_t>(size - offset)) <= 0)
                return false;
        }
        return true;
    }
    if (BIO_get_ktls_send(SSL_get_wbio(c.ssl()))) {
        while (offset < size) {
            const ossl_ssize_t n =
                SSL_sendfile(c.ssl(), fd, offset, static_cast<std::size_t>(size - offset), 0);
            if (n <= 0) return false;
            offset += n;
        }
        return true;
    }
    std::vector<char> buffer(64 * 1024);
    while (offset < size) {
        const long n = read(fd, buffer.data(), buffer.size());
        if (n <= 0 || !c.write(std::string_view(buffer.data(), static_cast<std::size_t>(n))))
            return false;
        offset += n;
    }
    return true;
}

/// Sends `size` bytes from one buffer (the file's first 64 KiB, over and over).
bool send_produced(floor_peer::Connection& c, int fd, long long size) {
    std::vector<char> buffer(64 * 1024);
    if (pread(fd, buffer.data(), buffer.size(), 0) < 0) return false;
    for (long long sent = 0; sent < size;) {
        const auto n = static_cast<std::size_t>(
            std::min<long long>(size - sent, static_cast<long long>(buffer.size())));
        if (!c.write(std::string_view(buffer.data(), n))) return false;
        sent += static_cast<long long>(n);
    }
    return true;
}

} // namespace

int main(int argc, char** argv) {
    if (argc < 3 || argc > 4) {
        std::fprintf(stderr, "usage: %s http[s]://127.0.0.1:PORT/PATH FILE [file|producer]\n",
                     argv[0]);
        return 2;
    }
    const std::string_view source = argc > 3 ? argv[3] : "file";
    if (source != "file" && source != "producer") {
        std::fprintf(stderr, "peer-send-floor: the source is file or producer\n");
        return 2;
    }
    const auto target = floor_peer::parse_url("peer-send-floor", argv[1]);
    if (!target) return 2;
    const int fd = open(argv[2], O_RDONLY | O_CLOEXEC);
    struct stat st {};
    if (fd < 0 || fstat(fd, &st) != 0) {
        std::fprintf(stderr, "peer-send-floor: cannot open %s\n", argv[2]);
        return 2;
    }
    std::optional<floor_peer::Connection> connection;
    if (const int status =
            floor_peer::open_connection("peer-send-floor", *target, false, connection)) {
        return status;
    }
    const long long size = st.st_size;
    const std::string head =
        "PUT " + target->path + " HTTP/1.1\r\nHost: " + target->authority +
        "\r\nUser-Agent: peer-send-floor\r\nContent-Length: " + std::to_string(size) + "\r\n\r\n";
    if (!connection->write(head)) return fail("cannot send the request head");
    const bool sent =
        source == "file" ? send_file(*connection, fd, size) : send_produced(*connection, fd, size);
    close(fd);
    if (!sent) return fail("cannot send the body");
    std::string response;
    char buffer[4096];
    while (response.find("\r\n\r\n") == std::string::npos) {
        const long n = connection->read(buffer, sizeof buffer);
        if (n <= 0) return fail("the connection ended in the response head");
        response.append(buffer, static_cast<std::size_t>(n));
        if (response.size() > 65536) return fail("response head too large");
    }
    if (response.size() < 12 || response.compare(0, 10, "HTTP/1.1 2") != 0)
        return fail("status other than 2xx");
    std::printf("upload ok, %lld bytes (%s)\n", size, connection->tls_description("send").c_str());
    return 0;
}
