// Splitting a body into lines (LineSplitter) and decoding a text/event-stream (SseDecoder),
// fed whole and in pieces.
//
// Input: byte 0 the size limit (0: the default 1 MiB, else 1..255 bytes), byte 1 the piece
// size, then the body.
//
// Checked on every input: only nector's typed error (body_too_large); no line longer than the
// limit; the same lines, events, last event ID and retry time, or the same error, whole as in
// pieces.
#include <nector/http/stream_text.hpp>
#include <nector/transport/errors.hpp>

#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace {

using nector::http::LineSplitter;
using nector::http::ServerSentEvent;
using nector::http::SseDecoder;

struct Lines {
    bool failed = false;
    std::vector<std::string> lines;
    bool operator==(const Lines&) const = default;
};

struct Events {
    bool failed = false;
    std::vector<ServerSentEvent> events;
    std::string last_id;
    std::optional<std::chrono::milliseconds> retry;
};

void check_typed(const nector::TransportError& e) {
    if (e.code() != nector::errc::body_too_large) std::abort();
}

Lines split(std::string_view body, std::size_t piece, std::size_t limit) {
    Lines out;
    LineSplitter splitter(limit);
    try {
        for (std::size_t at = 0; at < body.size(); at += piece)
            splitter.feed(body.substr(at, piece), out.lines);
        if (auto last = splitter.finish()) out.lines.push_back(std::move(*last));
    } catch (const nector::TransportError& e) {
        check_typed(e);
        out.failed = true;
        out.lines.clear(); // what came before the refusal may differ by piece
    }
    for (const auto& line : out.lines)
        if (line.size() > limit) std::abort();
    return out;
}

Events events(std::string_view body, std::size_t piece, std::size_t limit) {
    Events out;
    SseDecoder decoder(limit);
    try {
        for (std::size_t at = 0; at < body.size(); at += piece)
            decoder.feed(body.substr(at, piece), out.events);
        decoder.finish();
    } catch (const nector::TransportError& e) {
        check_typed(e);
        out.failed = true;
        out.events.clear();
        return out;
    }
    for (const auto& event : out.events)
        if (event.data.size() > limit) std::abort();
    out.last_id = decoder.last_event_id();
    out.retry = decoder.retry();
    return out;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2) return 0;
    const std::size_t limit = data[0] == 0 ? std::size_t{1} << 20 : data[0];
    const std::size_t piece = std::size_t{data[1]} % 32 + 1;
    const std::string_view body(reinterpret_cast<const char*>(data + 2), size - 2);
    const std::size_t all = body.empty() ? 1 : body.size();
    if (split(body, all, limit) != split(body, piece, limit)) std::abort();
    const Events whole = events(body, all, limit);
    const Events pieces = events(body, piece, limit);
    if (whole.failed != pieces.failed || whole.events != pieces.events ||
        whole.last_id != pieces.last_id || whole.retry != pieces.retry)
        std::abort();
    return 0;
}
