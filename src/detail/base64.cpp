#include "detail/base64.hpp"

#include <array>
#include <cstdint>

namespace nector::detail {
namespace {

constexpr std::string_view alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr std::uint8_t invalid = 0xFF;

constexpr std::array<std::uint8_t, 256> make_decode_table() {
    std::array<std::uint8_t, 256> table{};
    table.fill(invalid);
    for (std::size_t i = 0; i < alphabet.size(); ++i) {
        table[static_cast<unsigned char>(alphabet[i])] = static_cast<std::uint8_t>(i);
    }
    return table;
}

constexpr std::array<std::uint8_t, 256> decode_table = make_decode_table();

std::uint8_t sextet(char c) noexcept { return decode_table[static_cast<unsigned char>(c)]; }

} // namespace

std::string base64_encode(std::span<const std::byte> data) {
    std::string out;
    out.reserve((data.size() + 2) / 3 * 4);
    std::size_t i = 0;
    for (; i + 3 <= data.size(); i += 3) {
        const auto n = std::to_integer<std::uint32_t>(data[i]) << 16 |
                       std::to_integer<std::uint32_t>(data[i + 1]) << 8 |
                       std::to_integer<std::uint32_t>(data[i + 2]);
        out += alphabet[n >> 18];
        out += alphabet[n >> 12 & 0x3F];
        out += alphabet[n >> 6 & 0x3F];
        out += alphabet[n & 0x3F];
    }
    if (const std::size_t rest = data.size() - i; rest > 0) {
        std::uint32_t n = std::to_integer<std::uint32_t>(data[i]) << 16;
        if (rest == 2) n |= std::to_integer<std::uint32_t>(data[i + 1]) << 8;
        out += alphabet[n >> 18];
        out += alphabet[n >> 12 & 0x3F];
        out += rest == 2 ? alphabet[n >> 6 & 0x3F] : '=';
        out += '=';
    }
    return out;
}

std::optional<Bytes> base64_decode(std::string_view text) {
    if (text.size() % 4 != 0) return std::nullopt;
    std::size_t padding = 0;
    if (!text.empty() && text.back() == '=') padding = text[text.size() - 2] == '=' ? 2 : 1;
    Bytes out;
    out.reserve(text.size() / 4 * 3 - padding);
    const std::size_t full = padding == 0 ? text.size() : text.size() - 4;
    for (std::size_t i = 0; i < full; i += 4) {
        const std::uint8_t a = sextet(text[i]), b = sextet(text[i + 1]), c = sextet(text[i + 2]),
                           d = sextet(text[i + 3]);
        if ((a | b | c | d) == invalid) return std::nullopt;
        const std::uint32_t n = std::uint32_t{a} << 18 | std::uint32_t{b} << 12 |
                                std::uint32_t{c} << 6 | std::uint32_t{d};
        out.push_back(static_cast<std::byte>(n >> 16));
        out.push_back(static_cast<std::byte>(n >> 8 & 0xFF));
        out.push_back(static_cast<std::byte>(n & 0xFF));
    }
    if (padding > 0) {
        const std::string_view last = text.substr(full);
        const std::uint8_t a = sextet(last[0]), b = sextet(last[1]);
        const std::uint8_t c = padding == 1 ? sextet(last[2]) : std::uint8_t{0};
        if ((a | b | c) == invalid) return std::nullopt;
        // Non-canonical: bits below the last encoded byte must be zero (RFC 4648 §3.5).
        if (padding == 2 ? (b & 0x0F) != 0 : (c & 0x03) != 0) return std::nullopt;
        const std::uint32_t n =
            std::uint32_t{a} << 18 | std::uint32_t{b} << 12 | std::uint32_t{c} << 6;
        out.push_back(static_cast<std::byte>(n >> 16));
        if (padding == 1) out.push_back(static_cast<std::byte>(n >> 8 & 0xFF));
    }
    return out;
}

} // namespace nector::detail
