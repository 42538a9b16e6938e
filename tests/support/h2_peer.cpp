#include "support/h2_peer.hpp"

#include <boost/system/system_error.hpp>

#include <stdexcept>

namespace nector::test::h2 {
namespace asio = boost::asio;

namespace {

constexpr std::string_view preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

void put32(std::string& out, std::uint32_t v) {
    out.push_back(static_cast<char>((v >> 24) & 0xff));
    out.push_back(static_cast<char>((v >> 16) & 0xff));
    out.push_back(static_cast<char>((v >> 8) & 0xff));
    out.push_back(static_cast<char>(v & 0xff));
}

/// An HPACK integer with a 7-bit prefix and the first byte's high bit clear (no Huffman).
void put_length(std::string& out, std::size_t n) {
    if (n < 127) {
        out.push_back(static_cast<char>(n));
        return;
    }
    out.push_back(static_cast<char>(127));
    n -= 127;
    while (n >= 128) {
        out.push_back(static_cast<char>((n & 0x7f) | 0x80));
        n >>= 7;
    }
    out.push_back(static_cast<char>(n));
}

std::uint32_t get24(std::string_view b) {
    return (static_cast<std::uint32_t>(static_cast<std::uint8_t>(b[0])) << 16) |
           (static_cast<std::uint32_t>(static_cast<std::uint8_t>(b[1])) << 8) |
           static_cast<std::uint32_t>(static_cast<std::uint8_t>(b[2]));
}

std::uint32_t get32(std::string_view b) {
    return (static_cast<std::uint32_t>(static_cast<std::uint8_t>(b[0])) << 24) |
           (get24(b.substr(1)));
}

} // namespace

std::string frame_header(std::uint32_t length, std::uint8_t type, std::uint8_t flags,
                         std::uint32_t stream) {
    std::string out;
    out.push_back(static_cast<char>((length >> 16) & 0xff));
    out.push_back(static_cast<char>((length >> 8) & 0xff));
    out.push_back(static_cast<char>(length & 0xff));
    out.push_back(static_cast<char>(type));
    out.push_back(static_cast<char>(flags));
    put32(out, stream & 0x7fffffffu);
    return out;
}

std::string frame(std::uint8_t type, std::uint8_t flags, std::uint32_t stream,
                  std::string_view payload) {
    std::string out = frame_header(static_cast<std::uint32_t>(payload.size()), type, flags, stream);
    out.append(payload);
    return out;
}

std::string hpack(const Fields& fields) {
    std::string out;
    for (const auto& [name, value] : fields) {
        out.push_back('\0'); // literal field without indexing, new name
        put_length(out, name.size());
        out.append(name);
        put_length(out, value.size());
        out.append(value);
    }
    return out;
}

std::string headers_frame(std::uint32_t stream, const Fields& fields, bool end_of_stream) {
    const auto flags = static_cast<std::uint8_t>(end_headers | (end_of_stream ? end_stream : 0));
    return frame(headers, flags, stream, hpack(fields));
}

std::string settings_frame(const std::vector<std::pair<std::uint16_t, std::uint32_t>>& values) {
    std::string payload;
    for (const auto& [id, value] : values) {
        payload.push_back(static_cast<char>(id >> 8));
        payload.push_back(static_cast<char>(id & 0xff));
        put32(payload, value);
    }
    return frame(settings, 0, 0, payload);
}

std::string window_update_frame(std::uint32_t stream, std::uint32_t increment) {
    std::string payload;
    put32(payload, increment);
    return frame(window_update, 0, stream, payload);
}

std::string goaway_frame(std::uint32_t last_stream, std::uint32_t error) {
    std::string payload;
    put32(payload, last_stream);
    put32(payload, error);
    return frame(goaway, 0, 0, payload);
}

std::string ping_frame(std::uint64_t opaque, bool is_ack) {
    std::string payload;
    put32(payload, static_cast<std::uint32_t>(opaque >> 32));
    put32(payload, static_cast<std::uint32_t>(opaque));
    return frame(ping, is_ack ? ack : 0, 0, payload);
}

asio::awaitable<void> Peer::open() {
    while (buffer_.size() < preface.size()) {
        std::string more = co_await connection_.read_some_raw();
        if (more.empty()) throw std::runtime_error("the client closed before its preface");
        buffer_ += more;
    }
    if (std::string_view(buffer_).substr(0, preface.size()) != preface)
        throw std::runtime_error("the client did not send the HTTP/2 preface");
    buffer_.erase(0, preface.size());
    co_await send(frame(settings, 0, 0));
}

asio::awaitable<std::optional<Frame>> Peer::next() {
    for (;;) {
        if (buffer_.size() >= 9) {
            const std::uint32_t length = get24(buffer_);
            if (buffer_.size() >= 9 + length) {
                Frame f;
                f.type = static_cast<std::uint8_t>(buffer_[3]);
                f.flags = static_cast<std::uint8_t>(buffer_[4]);
                f.stream = get32(std::string_view(buffer_).substr(5)) & 0x7fffffffu;
                f.payload = buffer_.substr(9, length);
                buffer_.erase(0, 9 + length);
                received_.push_back(f);
                co_return f;
            }
        }
        std::string more;
        try {
            more = co_await connection_.read_some_raw();
        } catch (const boost::system::system_error&) {
            more.clear(); // a reset or a cut TLS stream: the end, as far as frames go
        }
        if (more.empty()) co_return std::nullopt;
        buffer_ += more;
    }
}

asio::awaitable<std::uint32_t> Peer::read_request() {
    for (;;) {
        std::optional<Frame> f = co_await next();
        if (!f) co_return 0;
        if (f->type == settings && !(f->flags & ack)) {
            co_await send(frame(settings, ack, 0));
            continue;
        }
        const bool ends = (f->flags & end_stream) != 0;
        if ((f->type == headers || f->type == data) && ends) co_return f->stream;
    }
}

asio::awaitable<std::optional<std::uint32_t>> Peer::read_until_closed() {
    std::optional<std::uint32_t> code;
    for (;;) {
        std::optional<Frame> f = co_await next();
        if (!f) co_return code;
        if (f->type == goaway && f->payload.size() >= 8)
            code = get32(std::string_view(f->payload).substr(4));
    }
}

asio::awaitable<void> Peer::send(std::string bytes) { co_await connection_.write(bytes); }

} // namespace nector::test::h2
