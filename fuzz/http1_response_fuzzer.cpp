// The HTTP/1.1 response reader (src/http/wire/response_reader.cpp) on arbitrary response
// bytes, fed from memory as a connection feeds it: pieces of a size the input chooses, the
// bytes not used offered again with the next piece, a body room per call as a streamed body
// has, and the end of the connection after the last byte.
//
// Input: byte 0 (bit 0: the request was HEAD; the rest: the piece size), byte 1 (the body
// room per call), then the response bytes.
//
// Checked on every input: the reader throws only nector's typed errors, never uses more bytes
// than it is offered, and reads the bytes the same way (the same response, or the same
// error) whole as in pieces; a body never exceeds its cap.
#include "http/wire/response_reader.hpp"

#include <nector/transport/errors.hpp>

#include <cstdint>
#include <cstdlib>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

namespace {

using nector::http::Response;
using nector::http::detail::ReaderLimits;
using nector::http::detail::ResponseReader;

struct Outcome {
    std::optional<std::error_code> error;
    Response response;
    bool keep_alive = false;
    std::size_t leftover = 0;

    bool operator==(const Outcome& o) const {
        if (error != o.error) return false;
        if (error) return true; // refused alike (what was read before differs by piece)
        return response.status == o.response.status && response.reason == o.response.reason &&
               response.version == o.response.version && response.headers == o.response.headers &&
               response.body == o.response.body && response.trailers == o.response.trailers &&
               keep_alive == o.keep_alive && leftover == o.leftover;
    }
};

constexpr ReaderLimits limits{
    .max_header_bytes = 4096, .max_header_count = 32, .max_body = 1 << 20, .max_interim = 8};

Outcome read(std::string_view bytes, bool head, std::size_t piece, std::size_t room) {
    Outcome out;
    ResponseReader reader(out.response, head, limits, "GET http://fuzz.test/");
    std::string pending;
    std::size_t fed = 0;
    try {
        for (;;) {
            for (;;) {
                const std::size_t used =
                    reader.put(pending.data(), pending.size(), out.response.body, room);
                if (used > pending.size()) std::abort();
                pending.erase(0, used);
                if (used == 0 || reader.done()) break;
            }
            if (reader.done()) break;
            if (fed == bytes.size()) {
                reader.put_eof();
                break;
            }
            const std::size_t n = std::min(piece, bytes.size() - fed);
            pending.append(bytes.substr(fed, n));
            fed += n;
        }
        if (!reader.done()) std::abort(); // put_eof either ends the response or throws
        out.keep_alive = reader.keep_alive();
    } catch (const nector::TransportError& e) {
        out.error = e.code();
    }
    if (out.response.body.size() > *limits.max_body) std::abort();
    out.leftover = pending.size() + (bytes.size() - fed);
    return out;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2) return 0;
    const bool head = (data[0] & 1) != 0;
    const std::size_t piece = (data[0] >> 1) + 1u;
    const std::size_t room = data[1] + 1u;
    const std::string_view bytes(reinterpret_cast<const char*>(data) + 2, size - 2);
    constexpr std::size_t all = std::numeric_limits<std::size_t>::max();
    const Outcome whole = read(bytes, head, all, all);
    if (!(read(bytes, head, piece, all) == whole)) std::abort();
    if (!(read(bytes, head, piece, room) == whole)) std::abort();
    return 0;
}
