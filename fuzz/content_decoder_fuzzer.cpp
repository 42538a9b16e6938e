// The content decoders (src/http/codec/decode.cpp), stacked as a Content-Encoding value
// stacks them, with a cap on the decoded size, fed whole and in pieces.
//
// Input: byte 0 picks the Content-Encoding value (codings() below), byte 1 the piece size,
// then the body as the server sent it.
//
// Checked on every input: only nector's typed errors (protocol_error for a corrupt or
// truncated body, body_too_large past the cap); never more decoded bytes than the cap; the
// same bytes, or the same error, whole as in pieces.
#include "http/codec/decode.hpp"

#include <nector/transport/errors.hpp>

#include <array>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

namespace {

using nector::http::detail::ContentDecoder;

constexpr std::array<std::string_view, 12> codings{
    "gzip",           "deflate",      "br",
    "zstd",           "x-gzip",       "gzip, br",
    "deflate, gzip",  "zstd, gzip",   "br, zstd, gzip",
    "identity, gzip", "GZIP,,  Zstd", "gzip, gzip, gzip, gzip, gzip"};

constexpr std::size_t cap = std::size_t{1} << 20;

struct Outcome {
    std::optional<std::error_code> error;
    std::string body;
};

Outcome decode(std::string_view coding, std::string_view input, std::size_t piece) {
    Outcome out;
    try {
        auto decoder = ContentDecoder::make(coding, cap, "GET http://fuzz.test/");
        if (!decoder) std::abort(); // every value above names at least one coding
        for (std::size_t at = 0; at < input.size(); at += piece)
            decoder->feed(input.substr(at, piece), out.body);
        decoder->finish(out.body);
        if (decoder->decoded_size() != out.body.size()) std::abort();
    } catch (const nector::TransportError& e) {
        out.error = e.code();
        if (e.code() != nector::errc::protocol_error && e.code() != nector::errc::body_too_large)
            std::abort();
    }
    if (out.body.size() > cap) std::abort();
    return out;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2) return 0;
    const std::string_view coding = codings[data[0] % codings.size()];
    const std::size_t piece = std::size_t{data[1]} % 64 + 1;
    const std::string_view body(reinterpret_cast<const char*>(data + 2), size - 2);
    const Outcome whole = decode(coding, body, body.empty() ? 1 : body.size());
    const Outcome split = decode(coding, body, piece);
    if (whole.error != split.error) std::abort();
    // Refused alike; what was decoded before the refusal may differ by piece.
    if (!whole.error && whole.body != split.body) std::abort();
    return 0;
}
