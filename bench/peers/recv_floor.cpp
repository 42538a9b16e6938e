// The floor of a large HTTP/1.1 download: COUNT GETs of URL over one keep-alive connection,
// each body received into one 64 KiB buffer and thrown away. No event loop, no parsing
// beyond the head's Content-Length, no copy: what is left is the cost of receiving the
// bytes, which every reader pays.
//   http://  blocking recv(): the kernel's cost alone.
//   https:// TLS (OpenSSL's defaults, certificate not verified, ALPN http/1.1) and a
//            blocking SSL_read_ex() loop: the kernel's cost plus OpenSSL's decryption, the
//            floor of every TLS client using OpenSSL without kTLS (which the kernel may not
//            offer: the floor says which it used).
// With `h2`, the same downloads over HTTP/2 (prior knowledge on http://, ALPN on https://):
// a bare frame reader that counts DATA bytes, answers SETTINGS and PING and reopens the
// windows as nector does (stream 4 MiB, connection 32 MiB, a WINDOW_UPDATE once half is
// read), with no HPACK decoding beyond the status and no copy: what the server's framing
// adds to the cost of receiving the bytes.
// bench/compare's download section runs it beside curl and nector (bench/peers/README.md).
//   peer-recv-floor http[s]://127.0.0.1:PORT/PATH [count=10] [http1|h2]
// Prints "downloads N of N ok, B bytes" on success; exits 1 on a failed download, 2 for bad
// arguments.
#include "floor.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace {

using floor_peer::Connection;

int fail(const char* what) {
    std::fprintf(stderr, "peer-recv-floor: %s\n", what);
    return 1;
}

long long failed(const char* what) {
    fail(what);
    return -1;
}

/// COUNT HTTP/1.1 GETs, each body read to its Content-Length; the body bytes, or -1.
long long download_http1(Connection& connection, const std::string& authority,
                         const std::string& path, int count) {
    const std::string request = "GET " + path + " HTTP/1.1\r\nHost: " + authority +
                                "\r\nUser-Agent: peer-recv-floor\r\n\r\n";
    std::vector<char> buffer(64 * 1024);
    long long total = 0;
    for (int i = 0; i < count; ++i) {
        if (!connection.write(request)) return failed("cannot send the request");
        // The head (and the body's first bytes, which count as received).
        std::size_t filled = 0;
        std::size_t head_end = std::string_view::npos;
        while (head_end == std::string_view::npos) {
            const long n = connection.read(buffer.data() + filled, buffer.size() - filled);
            if (n <= 0) return failed("the connection ended in the response head");
            filled += static_cast<std::size_t>(n);
            head_end = std::string_view(buffer.data(), filled).find("\r\n\r\n");
            if (head_end == std::string_view::npos && filled == buffer.size()) {
                return failed("response head too large");
            }
        }
        const std::string_view head(buffer.data(), head_end);
        if (head.substr(0, 12) != "HTTP/1.1 200") return failed("status other than 200");
        const std::size_t field = head.find("\r\nContent-Length: ");
        if (field == std::string_view::npos) return failed("no Content-Length");
        const long long length =
            std::strtoll(buffer.data() + field + std::strlen("\r\nContent-Length: "), nullptr, 10);
        long long got = static_cast<long long>(filled - (head_end + 4));
        while (got < length) {
            const std::size_t want = length - got < static_cast<long long>(buffer.size())
                                         ? static_cast<std::size_t>(length - got)
                                         : buffer.size();
            const long n = connection.read(buffer.data(), want);
            if (n <= 0) return failed("the connection ended in the body");
            got += n;
        }
        if (got != length) return failed("more bytes than Content-Length");
        total += got;
    }
    return total;
}

/// An HTTP/2 frame's 9-byte head.
std::string frame_head(std::uint32_t length, std::uint8_t type, std::uint8_t flags,
                       std::uint32_t stream) {
    const unsigned char head[9] = {static_cast<unsigned char>(length >> 16),
                                   static_cast<unsigned char>(length >> 8),
                                   static_cast<unsigned char>(length),
                                   type,
                                   flags,
                                   static_cast<unsigned char>(stream >> 24),
                                   static_cast<unsigned char>(stream >> 16),
                                   static_cast<unsigned char>(stream >> 8),
                                   static_cast<unsigned char>(stream)};
    return std::string(reinterpret_cast<const char*>(head), sizeof head);
}

std::string be32(std::uint32_t v) {
    const char bytes[4] = {static_cast<char>(v >> 24), static_cast<char>(v >> 16),
                           static_cast<char>(v >> 8), static_cast<char>(v)};
    return std::string(bytes, 4);
}

std::string window_update(std::uint32_t stream, std::uint32_t increment) {
    return frame_head(4, 8, 0, stream) + be32(increment);
}

/// COUNT HTTP/2 GETs on streams 1, 3, ..., each read to its END_STREAM; the body bytes, or -1.
long long download_h2(Connection& connection, bool tls, const std::string& authority,
                      const std::string& path, int count) {
    constexpr std::uint32_t stream_window = 4u << 20;      // nector's defaults
    constexpr std::uint32_t connection_window = 32u << 20; //
    if (path.size() > 126 || authority.size() > 126) return failed("path too long");
    // The preface, SETTINGS (ENABLE_PUSH 0, INITIAL_WINDOW_SIZE) and the connection's window.
    std::string settings =
        std::string("\0\x02", 2) + be32(0) + std::string("\0\x04", 2) + be32(stream_window);
    const std::string preface = std::string("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n") +
                                frame_head(static_cast<std::uint32_t>(settings.size()), 4, 0, 0) +
                                settings + window_update(0, connection_window - 65535);
    if (!connection.write(preface)) return failed("cannot send the preface");
    // The request's header block: :method GET, :scheme, then :path and :authority as
    // literals without indexing (HPACK static table entries 2, 6/7, 4 and 1).
    std::string block = tls ? "\x82\x87" : "\x82\x86";
    block += '\x04';
    block += static_cast<char>(path.size());
    block += path;
    block += '\x01';
    block += static_cast<char>(authority.size());
    block += authority;

    std::vector<char> buffer(64 * 1024);
    unsigned char head[9];
    std::size_t head_got = 0;
    std::uint32_t left = 0; // payload bytes of the current frame still to come
    std::uint8_t type = 0, flags = 0;
    std::uint32_t stream = 0;
    std::string payload;                                // a control frame's payload
    std::uint64_t stream_read = 0, connection_read = 0; // not yet given back as window
    long long total = 0;
    for (int i = 0; i < count; ++i) {
        const std::uint32_t id = 2 * static_cast<std::uint32_t>(i) + 1;
        if (!connection.write(frame_head(static_cast<std::uint32_t>(block.size()), 1, 0x5, id) +
                              block)) {
            return failed("cannot send the request");
        }
        bool status_ok = false, ended = false;
        stream_read = 0;
        while (!ended) {
            const long n = connection.read(buffer.data(), buffer.size());
            if (n <= 0) return failed("the connection ended in the response");
            std::string replies;
            for (long at = 0; at < n;) {
                if (head_got < 9) {
                    const long take = std::min<long>(9 - static_cast<long>(head_got), n - at);
                    std::memcpy(head + head_got, buffer.data() + at,
                                static_cast<std::size_t>(take));
                    head_got += static_cast<std::size_t>(take);
                    at += take;
                    if (head_got < 9) break;
                    left = (std::uint32_t{head[0]} << 16) | (std::uint32_t{head[1]} << 8) | head[2];
                    type = head[3];
                    flags = head[4];
                    stream = ((std::uint32_t{head[5]} & 0x7f) << 24) |
                             (std::uint32_t{head[6]} << 16) | (std::uint32_t{head[7]} << 8) |
                             head[8];
                    payload.clear();
                    if (type == 0 && (flags & 0x8)) return failed("a padded DATA frame");
                } else {
                    const long take = std::min<long>(static_cast<long>(left), n - at);
                    if (type == 0) {
                        total += take;
                        stream_read += static_cast<std::uint64_t>(take);
                        connection_read += static_cast<std::uint64_t>(take);
                    } else {
                        payload.append(buffer.data() + at, static_cast<std::size_t>(take));
                    }
                    left -= static_cast<std::uint32_t>(take);
                    at += take;
                }
                if (head_got < 9 || left > 0) continue;
                head_got = 0; // a whole frame
                if (type == 0 && stream == id && (flags & 0x1)) {
                    ended = true;
                } else if (type == 1 && stream == id) {
                    // nginx sends ":status 200" as the static table's entry 8 first.
                    status_ok = !payload.empty() && static_cast<unsigned char>(payload[0]) == 0x88;
                    if (!status_ok) return failed("status other than 200");
                    if (flags & 0x1) return failed("a response without a body");
                } else if (type == 4 && !(flags & 0x1)) {
                    replies += frame_head(0, 4, 0x1, 0); // SETTINGS ACK
                } else if (type == 6 && !(flags & 0x1)) {
                    replies += frame_head(8, 6, 0x1, 0) + payload; // PING ACK
                } else if (type == 3 || type == 7) {
                    return failed("the server reset the stream or closed the connection");
                }
            }
            // The windows reopen once half of them has been read (nghttp2's rule).
            if (!ended && stream_read >= stream_window / 2) {
                replies += window_update(id, static_cast<std::uint32_t>(stream_read));
                stream_read = 0;
            }
            if (connection_read >= connection_window / 2) {
                replies += window_update(0, static_cast<std::uint32_t>(connection_read));
                connection_read = 0;
            }
            if (!replies.empty() && !connection.write(replies)) {
                return failed("cannot send a window update");
            }
        }
        if (!status_ok) return failed("no response head");
    }
    return total;
}

} // namespace

int main(int argc, char** argv) {
    if (argc < 2 || argc > 4) {
        std::fprintf(stderr, "usage: %s http[s]://127.0.0.1:PORT/PATH [count=10] [http1|h2]\n",
                     argv[0]);
        return 2;
    }
    const std::string_view mode = argc > 3 ? argv[3] : "http1";
    if (mode != "http1" && mode != "h2") {
        std::fprintf(stderr, "peer-recv-floor: the protocol is http1 or h2\n");
        return 2;
    }
    const bool h2 = mode == "h2";
    const int count = argc > 2 ? std::atoi(argv[2]) : 10;
    const auto target = floor_peer::parse_url("peer-recv-floor", argv[1]);
    if (!target || count <= 0) {
        if (target) std::fprintf(stderr, "peer-recv-floor: the count must be positive\n");
        return 2;
    }
    std::optional<Connection> connection;
    if (const int status = floor_peer::open_connection("peer-recv-floor", *target, h2, connection))
        return status;
    const long long total =
        h2 ? download_h2(*connection, target->tls, target->authority, target->path, count)
           : download_http1(*connection, target->authority, target->path, count);
    if (total < 0) return 1;
    std::printf("downloads %d of %d ok, %lld bytes (%s)\n", count, count, total,
                connection->tls_description("receive").c_str());
    return 0;
}
