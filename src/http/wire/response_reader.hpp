// The HTTP/1.1 response reader: RFC 9112 framing for a client, lenient where only one
// reading is possible and strict where two are (docs/conformance.md has the table). No I/O:
// bytes go in, the head goes into a Response and body bytes into a string, so buffered and
// streamed bodies, the connection and the fuzz target all use this one reader.
#pragma once

#include "nector/http/response.hpp"
#include "nector/transport/headers.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace nector::http::detail {

/// What one response may hold.
struct ReaderLimits {
    std::size_t max_header_bytes = 0; ///< a head (and a trailer section, a chunk-size line)
    std::size_t max_header_count = 0; ///< fields in a head (and in a trailer section)
    /// A buffered body's cap (Options::max_response_bytes); none for a streamed body.
    std::optional<std::uint64_t> max_body;
    /// Interim (1xx) responses skipped before the final one, at most.
    std::size_t max_interim = 100;
};

/// Reads one response (after any interim ones) from bytes fed to it in pieces of any size.
/// Errors are thrown as nector exceptions whose message starts with `context`: a malformed
/// or ambiguous response is TransportSpecificError (protocol_error), a body over
/// ReaderLimits::max_body BodyTooLargeError, a response cut short by the end of the
/// connection connection_closed.
class ResponseReader {
public:
    /// The head goes into `response` (status, reason, version, headers; trailers into
    /// `response.trailers`). `head_request`: the response has no body whatever it says.
    ResponseReader(Response& response, bool head_request, const ReaderLimits& limits,
                   std::string_view context) noexcept
        : response_(&response), limits_(limits), context_(context), head_request_(head_request) {}

    /// From now on trailer fields go into `response` and error messages start with
    /// `context` (a streamed body outlives the exchange's own).
    void rebind(Response& response, std::string_view context) noexcept {
        response_ = &response;
        context_ = context;
    }

    /// Reads from `data`; returns how many bytes it used. A head, a chunk-size line or a
    /// trailer section is used only once it is complete: the caller keeps the bytes not
    /// used and offers them again with more behind them. Body bytes are appended to `body`,
    /// at most `room` of them. Bytes after the end of the response are never used.
    std::size_t put(const char* data, std::size_t size, std::string& body, std::size_t room);

    /// The connection ended (after the bytes fed so far): ends a body delimited by the end
    /// of the connection; throws connection_closed when nothing arrived or the response was
    /// cut short.
    void put_eof();

    bool started() const noexcept { return started_; }
    bool head_done() const noexcept { return state_ > State::head; }
    bool done() const noexcept { return state_ == State::done; }
    bool chunked() const noexcept { return chunked_; }
    /// After the head: whether the connection may carry another exchange after this
    /// response (persistent per its version and Connection, and not ended by the close).
    bool keep_alive() const noexcept { return keep_alive_; }
    /// The body bytes still to come of a Content-Length body, none for other framings.
    std::optional<std::uint64_t> length_remaining() const noexcept {
        if (state_ != State::length) return std::nullopt;
        return remaining_;
    }
    /// `n` bytes of a Content-Length body were read past the reader (at most
    /// length_remaining()).
    void skipped(std::uint64_t n) noexcept;

private:
    enum class State : unsigned char {
        head,        // status line and fields
        length,      // Content-Length body
        chunk_size,  // a chunk-size line
        chunk_data,  // chunk data
        chunk_end,   // the line end after chunk data
        trailer,     // the trailer section
        until_close, // a body delimited by the end of the connection
        done,
    };

    std::size_t put_head(const char* data, std::size_t size);
    std::size_t put_chunk_size(const char* data, std::size_t size);
    std::size_t put_trailer(const char* data, std::size_t size);
    std::size_t put_body(const char* data, std::size_t size, std::string& body, std::size_t& room,
                         std::uint64_t limit);
    void parse_head(std::string_view head);
    /// Adds the fields of `text` (lines up to an empty one) to `out`; `framing`: the head's,
    /// whose Content-Length, Transfer-Encoding and Connection are noted.
    void parse_fields(std::string_view text, Headers& out, bool framing);
    void note_framing(std::string_view name, std::string_view value);
    void frame(); // chooses the body's framing once the head is read
    void check_body_size(std::uint64_t more) const;
    /// Refuses a NUL, or a CR not before LF, anywhere in a head or trailer section.
    void check_bytes(std::string_view section, std::string_view where) const;
    [[noreturn]] void malformed(std::string_view what) const;

    Response* response_;
    ReaderLimits limits_;
    std::string_view context_;
    bool head_request_;
    State state_ = State::head;
    bool started_ = false;
    bool chunked_ = false;
    bool keep_alive_ = false;
    std::size_t scanned_ = 0;      // head or trailer bytes known to hold no end yet
    std::size_t interim_ = 0;      // interim responses skipped
    std::uint64_t remaining_ = 0;  // of a Content-Length body, or of a chunk
    std::uint64_t body_bytes_ = 0; // body bytes so far
    int version_minor_ = 1;
    // What the head's framing fields said (read while the fields are added).
    std::optional<std::uint64_t> content_length_;
    bool has_content_length_ = false;
    bool has_transfer_encoding_ = false;
    bool close_ = false;
    bool keep_alive_token_ = false;
    std::string framing_error_; // the first thing wrong with them
};

} // namespace nector::http::detail
