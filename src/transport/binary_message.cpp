#include "nector/transport/message/binary.hpp"

#include "detail/utf8.hpp"
#include "nector/transport/errors.hpp"

#include <array>
#include <string>

namespace nector {
namespace {

constexpr std::array<std::byte, 2> magic{std::byte{'N'}, std::byte{'B'}};
constexpr std::size_t preamble_size = 4;    // magic, version, flags
constexpr std::size_t min_header_bytes = 3; // name_len, one name byte, value_len

void put_varint(Bytes& out, std::uint64_t v) {
    while (v >= 0x80) {
        out.push_back(static_cast<std::byte>((v & 0x7F) | 0x80));
        v >>= 7;
    }
    out.push_back(static_cast<std::byte>(v));
}

std::size_t varint_size(std::uint64_t v) noexcept {
    std::size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        ++n;
    }
    return n;
}

void check_text(std::string_view what, std::string_view text) {
    if (const auto bad = detail::find_invalid_utf8(text); bad != detail::utf8_valid) {
        throw SerializationError("BinaryMessage::serialize: " + std::string(what) +
                                 " is not valid UTF-8 (byte " + std::to_string(bad) + ")");
    }
}

// Reads the framing, checking every length against what is left before using it.
class Reader {
public:
    explicit Reader(std::span<const std::byte> data) : data_(data) {}

    [[noreturn]] void fail(const std::string& reason) const {
        throw DeserializationError("BinaryMessage::deserialize: " + reason + " (at byte " +
                                   std::to_string(pos_) + " of " + std::to_string(data_.size()) +
                                   ")");
    }

    std::size_t left() const noexcept { return data_.size() - pos_; }

    std::byte byte(std::string_view what) {
        if (left() == 0) fail("truncated before the " + std::string(what));
        return data_[pos_++];
    }

    std::uint64_t varint(std::string_view what) {
        std::uint64_t value = 0;
        for (unsigned shift = 0;; shift += 7) {
            const auto b = std::to_integer<std::uint8_t>(byte(what));
            if (shift == 63 && b > 1) fail(std::string(what) + " overflows 64 bits");
            value |= static_cast<std::uint64_t>(b & 0x7F) << shift;
            if ((b & 0x80) == 0) {
                if (b == 0 && shift != 0) fail(std::string(what) + " is not in shortest form");
                return value;
            }
        }
    }

    std::uint64_t length(std::string_view what) {
        const std::uint64_t n = varint(what);
        if (n > left()) {
            fail(std::string(what) + " is " + std::to_string(n) + " but only " +
                 std::to_string(left()) + " bytes remain");
        }
        return n;
    }

    std::string_view text(std::string_view what) {
        const auto n = static_cast<std::size_t>(length(std::string(what) + " length"));
        const std::string_view view = as_string_view(data_.subspan(pos_, n));
        if (const auto bad = detail::find_invalid_utf8(view); bad != detail::utf8_valid) {
            pos_ += bad;
            fail(std::string(what) + " is not valid UTF-8");
        }
        pos_ += n;
        return view;
    }

    std::span<const std::byte> take(std::size_t n) {
        const auto view = data_.subspan(pos_, n);
        pos_ += n;
        return view;
    }

private:
    std::span<const std::byte> data_;
    std::size_t pos_ = 0;
};

} // namespace

Bytes BinaryMessage::serialize() const {
    std::size_t size = preamble_size + varint_size(headers_.size()) + varint_size(payload_.size()) +
                       payload_.size();
    for (const auto& [name, value] : headers_) {
        if (name.empty()) throw SerializationError("BinaryMessage::serialize: empty header name");
        check_text("header name \"" + name + "\"", name);
        check_text("value of header \"" + name + "\"", value);
        size += varint_size(name.size()) + name.size() + varint_size(value.size()) + value.size();
    }
    // (Made from the magic number, then grown: GCC 12 sees a false -Wstringop-overflow in
    // an insert into a freshly reserved vector.)
    Bytes out(magic.begin(), magic.end());
    out.reserve(size);
    out.push_back(std::byte{format_version});
    out.push_back(std::byte{0});
    put_varint(out, headers_.size());
    for (const auto& [name, value] : headers_) {
        put_varint(out, name.size());
        const auto n = as_bytes(name);
        out.insert(out.end(), n.begin(), n.end());
        put_varint(out, value.size());
        const auto v = as_bytes(value);
        out.insert(out.end(), v.begin(), v.end());
    }
    put_varint(out, payload_.size());
    out.insert(out.end(), payload_.begin(), payload_.end());
    return out;
}

BinaryMessage BinaryMessage::deserialize(std::span<const std::byte> data) {
    Reader in(data);
    if (in.byte("magic") != magic[0] || in.byte("magic") != magic[1]) {
        in.fail("not a nector binary message (magic is not \"NB\")");
    }
    if (const auto version = std::to_integer<unsigned>(in.byte("version"));
        version != format_version) {
        in.fail("unsupported format version " + std::to_string(version) + " (this build reads " +
                std::to_string(format_version) + ")");
    }
    if (in.byte("flags") != std::byte{0}) in.fail("reserved flags must be zero");

    const std::uint64_t count = in.varint("header count");
    if (count > in.left() / min_header_bytes) {
        in.fail("header count " + std::to_string(count) + " cannot fit in the " +
                std::to_string(in.left()) + " bytes left");
    }
    BinaryMessage message;
    message.headers_.reserve(static_cast<std::size_t>(count));
    for (std::uint64_t i = 0; i < count; ++i) {
        const std::string_view name = in.text("header name");
        if (name.empty()) in.fail("empty header name");
        const std::string_view value = in.text("header value");
        message.headers_.add(std::string(name), std::string(value));
    }
    const auto payload = in.take(static_cast<std::size_t>(in.length("payload length")));
    message.payload_.assign(payload.begin(), payload.end());
    if (in.left() != 0) {
        in.fail(std::to_string(in.left()) + " unexpected bytes after the payload");
    }
    return message;
}

} // namespace nector
