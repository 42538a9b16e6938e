// Incremental text decoders for streamed response bodies: LineSplitter (lines ended by LF or
// CRLF) and SseDecoder (a text/event-stream, as browsers' EventSource reads it). Pure logic:
// no I/O; feed them the body's bytes as they arrive, in chunks of any size.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nector::http {

/// Splits a byte stream into lines.
///
/// A line ends at LF; one CR just before the LF belongs to the terminator (CRLF), even when
/// the CR and the LF arrive in different chunks. A CR anywhere else is data: this is the
/// rule of HTTP-based line protocols and of Python requests' `iter_lines`, not
/// `str.splitlines` (httpx), which also ends lines at a lone CR. Lines are bytes, returned
/// as received: no UTF-8 check, no transcoding.
///
/// Memory is bounded: the splitter holds at most the current partial line, and fails as soon
/// as that partial line is longer than the limit, without waiting for its end.
///
/// Not thread-safe: one splitter belongs to one stream.
class LineSplitter {
public:
    /// `max_line` is the most bytes a line may have, its terminator not counted. Default
    /// 1 MiB.
    explicit LineSplitter(std::size_t max_line = std::size_t{1} << 20) : max_line_(max_line) {}

    /// Splits `chunk`, the next bytes of the stream (any size, empty included), and appends
    /// each line it completes to `lines`, without its terminator. The bytes of a line not
    /// yet ended are kept for the next call. `chunk` is not kept.
    ///
    /// Throws TransportSpecificError (errc::body_too_large) as soon as a line has more than
    /// max_line bytes ("splitting a response body into lines: a line exceeds the maximum
    /// line length of N bytes"). Lines completed earlier in the same chunk have been
    /// appended to `lines` by then; the splitter must not be used after it throws.
    void feed(std::string_view chunk, std::vector<std::string>& lines);

    /// Ends the stream: returns the last line if the stream did not end with a terminator
    /// (a final lone CR stays part of it), or nullopt if nothing is left. Afterwards the
    /// splitter is empty and can split another stream. Throws as feed() does when that last
    /// line has more than max_line bytes.
    std::optional<std::string> finish();

    /// Bytes held of the line not yet ended (a CR that may start a CRLF included).
    std::size_t buffered() const noexcept { return partial_.size(); }

private:
    void check_length(std::size_t length) const;

    std::size_t max_line_;
    std::string partial_;
};

/// One event of a text/event-stream. Plain data: copy, move and compare freely.
struct ServerSentEvent {
    /// The event type: the last `event` field of the event, or "message" when it had none
    /// (or an empty one).
    std::string event = "message";
    /// The `data` fields' values joined with LF.
    std::string data;
    /// The last event ID in effect when the event was dispatched: set by an `id` field of
    /// this event or of an earlier one (possibly in an earlier stream; see SseDecoder).
    std::string id;
    /// The reconnection time in effect when the event was dispatched: the value of the last
    /// valid `retry` field seen so far, in this event or before it; nullopt when there was
    /// none (the client then uses its default).
    std::optional<std::chrono::milliseconds> retry;

    bool operator==(const ServerSentEvent&) const = default;
};

/// Decodes a text/event-stream incrementally, following the WHATWG HTML standard's "event
/// stream interpretation" (§9.2.5-9.2.6, https://html.spec.whatwg.org/multipage/
/// server-sent-events.html#event-stream-interpretation), so it yields the events a browser's
/// EventSource fires:
/// - The stream is UTF-8. One byte order mark at its very start is skipped (a second one,
///   or one later, is data). Invalid UTF-8 is replaced with U+FFFD, as the standard's
///   "UTF-8 decode" does, so every string the decoder returns is valid UTF-8.
/// - Lines end with CRLF, LF or a lone CR (unlike LineSplitter), also when the CR and the
///   LF of a CRLF arrive in different chunks. A line that ends with CR is processed at once.
/// - A line starting with ':' is a comment and is ignored. Otherwise the field name runs to
///   the first ':' and the value follows it, without one leading space; a line without ':'
///   is a field name with an empty value. Field names are case-sensitive:
///   - `event` sets the event type;
///   - `data` appends the value and an LF to the event's data (`data` alone appends an
///     empty line);
///   - `id` sets the last event ID, unless the value contains a NUL byte (then the field
///     is ignored); an empty value clears it. The ID stays in effect for later events until
///     another `id` field changes it;
///   - `retry` sets the reconnection time to the value in milliseconds if it is one or more
///     ASCII digits, and is ignored otherwise (an empty value too, as in browsers); values
///     too large for std::chrono::milliseconds saturate at milliseconds::max();
///   - any other field is ignored.
/// - A blank line dispatches the event: if the data is empty (no `data` field), nothing is
///   dispatched, but the event's `id` still updates last_event_id(). Otherwise the data
///   loses its final LF and the event is appended with its type, data, ID and reconnection
///   time. The type and data are reset for the next event; the ID is not.
/// - An event not ended by a blank line when the stream ends is discarded (finish()).
///
/// Memory is bounded by `max_event_bytes`: a line (comments excepted: they are skipped
/// without being stored) and an event's data may not exceed it.
///
/// Not thread-safe: one decoder belongs to one event source.
class SseDecoder {
public:
    /// `max_event_bytes` is the most bytes a line may have (its terminator not counted) and
    /// the most bytes of data an event may carry (the LFs between its `data` lines counted).
    /// Default 1 MiB.
    explicit SseDecoder(std::size_t max_event_bytes = std::size_t{1} << 20)
        : max_event_bytes_(max_event_bytes) {}

    /// Decodes `chunk`, the next bytes of the stream (any size, empty included), and appends
    /// each event it completes to `events`. Partial lines and events are kept for the next
    /// call. `chunk` is not kept.
    ///
    /// Throws TransportSpecificError (errc::body_too_large) as soon as a line or an event's
    /// data would exceed max_event_bytes ("decoding a server-sent event stream: a line
    /// exceeds ..." or "...: an event's data exceeds the maximum event size of N bytes").
    /// Events completed earlier in the same chunk have been appended to `events` by then; the
    /// decoder must not be used after it throws.
    void feed(std::string_view chunk, std::vector<ServerSentEvent>& events);

    /// Ends the stream: discards the partial line and the partial event (as the standard
    /// requires, an event not followed by a blank line is never dispatched, and an `id`
    /// field in it does not count). last_event_id() and retry() are kept, so the same decoder
    /// can decode the stream of a reconnection, starting with its byte order mark check,
    /// as EventSource does.
    void finish() noexcept;

    /// The last event ID: the ID in effect at the last blank line, whether or not that line
    /// dispatched an event (send it as Last-Event-ID when reconnecting, unless it is empty).
    const std::string& last_event_id() const noexcept { return last_event_id_; }

    /// The reconnection time: the value of the last valid `retry` field, or nullopt.
    std::optional<std::chrono::milliseconds> retry() const noexcept { return retry_; }

private:
    void decode(std::string_view bytes, std::vector<ServerSentEvent>& events);
    void end_line(std::string_view segment, std::vector<ServerSentEvent>& events);
    void process_line(std::string_view line, std::vector<ServerSentEvent>& events);
    void process_field(std::string_view field, std::string_view value);
    void dispatch(std::vector<ServerSentEvent>& events);
    void check_line_length(std::size_t length) const;

    std::size_t max_event_bytes_;
    std::size_t bom_matched_ = 0;           // bytes of the byte order mark seen at the start
    bool bom_checked_ = false;              // the start of the stream has been checked for a BOM
    bool skip_lf_ = false;                  // the last line ended with CR: an LF next completes it
    bool in_comment_ = false;               // skipping the rest of a comment line
    std::string line_;                      // the line not yet ended
    std::string utf8_;                      // a line with invalid UTF-8, repaired
    std::string data_;                      // the data buffer
    std::string event_type_;                // the event type buffer
    std::optional<std::string> pending_id_; // the last event ID buffer, if it differs from
                                            // last_event_id_ (an id field since dispatch)
    std::string last_event_id_;             // the last event ID string
    std::optional<std::chrono::milliseconds> retry_;
};

} // namespace nector::http
