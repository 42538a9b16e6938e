#include "nector/http/stream_text.hpp"

#include "detail/utf8.hpp"
#include "nector/transport/errors.hpp"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <utility>

namespace nector::http {

namespace {

constexpr std::string_view byte_order_mark = "\xEF\xBB\xBF";
constexpr std::string_view replacement_character = "\xEF\xBF\xBD"; // U+FFFD

// Appends `text` to `out` with each invalid UTF-8 sequence replaced by U+FFFD, one per
// maximal subpart, as the WHATWG Encoding standard's UTF-8 decoder does. The decoder never
// consumes an ASCII byte as part of a bad sequence, so repairing line by line gives the same
// text as decoding the whole stream.
void append_repaired_utf8(std::string_view text, std::string& out) {
    const auto byte = [&](std::size_t i) { return static_cast<std::uint8_t>(text[i]); };
    const std::size_t n = text.size();
    std::size_t i = 0;
    while (i < n) {
        const std::uint8_t lead = byte(i);
        if (lead < 0x80) {
            out.push_back(text[i++]);
            continue;
        }
        std::size_t length = 0;
        std::uint8_t lower = 0x80; // the range of the second byte
        std::uint8_t upper = 0xBF;
        if (lead >= 0xC2 && lead <= 0xDF) {
            length = 2;
        } else if (lead >= 0xE0 && lead <= 0xEF) {
            length = 3;
            if (lead == 0xE0) lower = 0xA0; // overlong
            if (lead == 0xED) upper = 0x9F; // surrogates
        } else if (lead >= 0xF0 && lead <= 0xF4) {
            length = 4;
            if (lead == 0xF0) lower = 0x90; // overlong
            if (lead == 0xF4) upper = 0x8F; // above U+10FFFF
        } else {
            out.append(replacement_character);
            ++i;
            continue;
        }
        std::size_t seen = 1;
        while (seen < length && i + seen < n) {
            const std::uint8_t b = byte(i + seen);
            if (b < lower || b > upper) break;
            lower = 0x80;
            upper = 0xBF;
            ++seen;
        }
        if (seen == length) {
            out.append(text.substr(i, length));
        } else {
            out.append(replacement_character); // the byte that broke the sequence is reread
        }
        i += seen;
    }
}

// The decimal value of `digits` (ASCII digits only), saturated at milliseconds::max().
std::chrono::milliseconds parse_milliseconds(std::string_view digits) noexcept {
    using rep = std::chrono::milliseconds::rep;
    constexpr rep max = std::chrono::milliseconds::max().count();
    rep value = 0;
    for (const char c : digits) {
        const rep digit = c - '0';
        if (value > (max - digit) / 10) return std::chrono::milliseconds::max();
        value = value * 10 + digit;
    }
    return std::chrono::milliseconds(value);
}

bool all_ascii_digits(std::string_view text) noexcept {
    return std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

} // namespace

// --- LineSplitter ------------------------------------------------------------------------

void LineSplitter::check_length(std::size_t length) const {
    if (length > max_line_) {
        throw_error(errc::body_too_large,
                    "splitting a response body into lines: a line exceeds the maximum line "
                    "length of " +
                        std::to_string(max_line_) + " bytes");
    }
}

void LineSplitter::feed(std::string_view chunk, std::vector<std::string>& lines) {
    while (!chunk.empty()) {
        const std::size_t lf = chunk.find('\n');
        if (lf == std::string_view::npos) {
            // A final CR may be the first half of a CRLF, so it does not count yet.
            const std::size_t held = partial_.size() + chunk.size();
            check_length(chunk.back() == '\r' ? held - 1 : held);
            partial_.append(chunk);
            return;
        }
        const std::string_view rest = chunk.substr(0, lf);
        const bool crlf =
            rest.empty() ? !partial_.empty() && partial_.back() == '\r' : rest.back() == '\r';
        check_length(partial_.size() + rest.size() - static_cast<std::size_t>(crlf));
        if (partial_.empty()) {
            lines.emplace_back(rest.substr(0, rest.size() - static_cast<std::size_t>(crlf)));
        } else {
            partial_.append(rest);
            if (crlf) partial_.pop_back();
            lines.push_back(std::move(partial_));
            partial_.clear();
        }
        chunk.remove_prefix(lf + 1);
    }
}

std::optional<std::string> LineSplitter::finish() {
    if (partial_.empty()) return std::nullopt;
    std::string last = std::exchange(partial_, {});
    check_length(last.size()); // a final CR ends no CRLF: it counts now
    return last;
}

// --- SseDecoder --------------------------------------------------------------------------

void SseDecoder::check_line_length(std::size_t length) const {
    if (length > max_event_bytes_) {
        throw_error(errc::body_too_large,
                    "decoding a server-sent event stream: a line exceeds the maximum event "
                    "size of " +
                        std::to_string(max_event_bytes_) + " bytes");
    }
}

void SseDecoder::feed(std::string_view chunk, std::vector<ServerSentEvent>& events) {
    if (!bom_checked_) {
        // The mark may arrive split across chunks: hold its bytes until it is complete or
        // a byte differs.
        while (!chunk.empty() && bom_matched_ < byte_order_mark.size() &&
               chunk.front() == byte_order_mark[bom_matched_]) {
            ++bom_matched_;
            chunk.remove_prefix(1);
        }
        if (bom_matched_ < byte_order_mark.size() && chunk.empty()) return;
        bom_checked_ = true;
        if (bom_matched_ < byte_order_mark.size()) {
            decode(byte_order_mark.substr(0, bom_matched_), events); // a prefix only: data
        }
    }
    decode(chunk, events);
}

void SseDecoder::decode(std::string_view bytes, std::vector<ServerSentEvent>& events) {
    if (skip_lf_ && !bytes.empty()) {
        skip_lf_ = false;
        if (bytes.front() == '\n') bytes.remove_prefix(1);
    }
    while (!bytes.empty()) {
        const std::size_t end = bytes.find_first_of("\r\n");
        if (end == std::string_view::npos) {
            if (in_comment_) return;
            if (line_.empty() && bytes.front() == ':') {
                in_comment_ = true;
                return;
            }
            check_line_length(line_.size() + bytes.size());
            line_.append(bytes);
            return;
        }
        end_line(bytes.substr(0, end), events);
        if (bytes[end] == '\r') {
            if (end + 1 == bytes.size()) {
                skip_lf_ = true;
            } else if (bytes[end + 1] == '\n') {
                bytes.remove_prefix(1);
            }
        }
        bytes.remove_prefix(end + 1);
    }
}

// Ends the current line with `segment`, its last bytes.
void SseDecoder::end_line(std::string_view segment, std::vector<ServerSentEvent>& events) {
    if (in_comment_) {
        in_comment_ = false;
        return;
    }
    if (line_.empty()) {
        if (!segment.empty() && segment.front() == ':') return;
        check_line_length(segment.size());
        process_line(segment, events);
        return;
    }
    check_line_length(line_.size() + segment.size());
    line_.append(segment);
    process_line(line_, events);
    line_.clear();
}

void SseDecoder::process_line(std::string_view line, std::vector<ServerSentEvent>& events) {
    if (line.empty()) {
        dispatch(events);
        return;
    }
    if (line.front() == ':') return;
    if (nector::detail::find_invalid_utf8(line) != nector::detail::utf8_valid) {
        utf8_.clear();
        append_repaired_utf8(line, utf8_);
        line = utf8_;
    }
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) {
        process_field(line, {});
        return;
    }
    std::string_view value = line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    process_field(line.substr(0, colon), value);
}

void SseDecoder::process_field(std::string_view field, std::string_view value) {
    if (field == "event") {
        event_type_.assign(value);
    } else if (field == "data") {
        // The LF appended last is removed at dispatch, so it does not count.
        if (data_.size() + value.size() > max_event_bytes_) {
            throw_error(errc::body_too_large,
                        "decoding a server-sent event stream: an event's data exceeds the "
                        "maximum event size of " +
                            std::to_string(max_event_bytes_) + " bytes");
        }
        data_.append(value);
        data_.push_back('\n');
    } else if (field == "id") {
        if (value.find('\0') == std::string_view::npos) pending_id_.emplace(value);
    } else if (field == "retry") {
        if (!value.empty() && all_ascii_digits(value)) retry_ = parse_milliseconds(value);
    }
}

void SseDecoder::dispatch(std::vector<ServerSentEvent>& events) {
    // The standard copies its last event ID buffer into the last event ID string here; the
    // buffer only differs from the string when an id field came since the last dispatch.
    if (pending_id_) {
        last_event_id_.swap(*pending_id_);
        pending_id_.reset();
    }
    if (data_.empty()) {
        event_type_.clear();
        return;
    }
    data_.pop_back(); // the LF after the last data line
    ServerSentEvent event{.data = std::move(data_), .id = last_event_id_, .retry = retry_};
    if (!event_type_.empty()) event.event = std::move(event_type_);
    events.push_back(std::move(event));
    data_.clear();
    event_type_.clear();
}

void SseDecoder::finish() noexcept {
    bom_matched_ = 0;
    bom_checked_ = false;
    skip_lf_ = false;
    in_comment_ = false;
    line_.clear();
    data_.clear();
    event_type_.clear();
    // Browsers start the next stream's ID buffer from the ID of the last dispatched event.
    pending_id_.reset();
}

} // namespace nector::http
