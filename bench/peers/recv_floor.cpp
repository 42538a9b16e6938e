// The floor of a large HTTP/1.1 download: COUNT GETs of URL over one keep-alive connection,
// each body received with blocking recv() into one 64 KiB buffer and thrown away. No event
// loop, no parsing beyond the head's Content-Length, no copy: what is left is the kernel's
// cost of receiving the bytes, which every socket reader pays. bench/compare's download
// section runs it beside curl and nector (bench/peers/README.md).
//   peer-recv-floor http://127.0.0.1:PORT/PATH [count=10]
// Prints "downloads N of N ok, B bytes" on success; exits 1 on a failed download, 2 for bad
// arguments.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace {

int fail(const char* what) {
    std::fprintf(stderr, "peer-recv-floor: %s\n", what);
    return 1;
}

} // namespace

int main(int argc, char** argv) {
    if (argc < 2 || argc > 3) {
        std::fprintf(stderr, "usage: %s http://127.0.0.1:PORT/PATH [count=10]\n", argv[0]);
        return 2;
    }
    const std::string_view url = argv[1];
    const int count = argc > 2 ? std::atoi(argv[2]) : 10;
    constexpr std::string_view scheme = "http://";
    if (url.substr(0, scheme.size()) != scheme || count <= 0) {
        std::fprintf(stderr,
                     "peer-recv-floor: expected an http:// URL with an IPv4 address "
                     "and a positive count\n");
        return 2;
    }
    const std::string_view rest = url.substr(scheme.size());
    const std::size_t slash = rest.find('/');
    const std::string_view authority = rest.substr(0, slash);
    const std::string path(slash == std::string_view::npos ? "/" : rest.substr(slash));
    const std::size_t colon = authority.find(':');
    const std::string host(authority.substr(0, colon));
    const int port = colon == std::string_view::npos
                         ? 80
                         : std::atoi(std::string(authority.substr(colon + 1)).c_str());
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<std::uint16_t>(port));
    if (inet_pton(AF_INET, host.c_str(), &address.sin_addr) != 1) {
        std::fprintf(stderr, "peer-recv-floor: %s is not an IPv4 address\n", host.c_str());
        return 2;
    }
    const int s = socket(AF_INET, SOCK_STREAM, 0);
    if (s < 0 || connect(s, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
        return fail("cannot connect");
    }
    const std::string request = "GET " + path + " HTTP/1.1\r\nHost: " + std::string(authority) +
                                "\r\nUser-Agent: peer-recv-floor\r\n\r\n";
    std::vector<char> buffer(64 * 1024);
    unsigned long long total = 0;
    for (int i = 0; i < count; ++i) {
        if (send(s, request.data(), request.size(), 0) != static_cast<ssize_t>(request.size())) {
            return fail("cannot send the request");
        }
        // The head (and the body's first bytes, which count as received).
        std::size_t filled = 0;
        std::size_t head_end = std::string_view::npos;
        while (head_end == std::string_view::npos) {
            const ssize_t n = recv(s, buffer.data() + filled, buffer.size() - filled, 0);
            if (n <= 0) return fail("the connection ended in the response head");
            filled += static_cast<std::size_t>(n);
            head_end = std::string_view(buffer.data(), filled).find("\r\n\r\n");
            if (head_end == std::string_view::npos && filled == buffer.size()) {
                return fail("response head too large");
            }
        }
        const std::string_view head(buffer.data(), head_end);
        if (head.substr(0, 12) != "HTTP/1.1 200") return fail("status other than 200");
        const std::size_t field = head.find("\r\nContent-Length: ");
        if (field == std::string_view::npos) return fail("no Content-Length");
        const unsigned long long length =
            std::strtoull(buffer.data() + field + std::strlen("\r\nContent-Length: "), nullptr, 10);
        unsigned long long got = filled - (head_end + 4);
        while (got < length) {
            const std::size_t want = length - got < buffer.size()
                                         ? static_cast<std::size_t>(length - got)
                                         : buffer.size();
            const ssize_t n = recv(s, buffer.data(), want, 0);
            if (n <= 0) return fail("the connection ended in the body");
            got += static_cast<unsigned long long>(n);
        }
        if (got != length) return fail("more bytes than Content-Length");
        total += got;
    }
    close(s);
    std::printf("downloads %d of %d ok, %llu bytes\n", count, count, total);
    return 0;
}
