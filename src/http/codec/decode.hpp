// Streaming decoding of HTTP content codings (Content-Encoding) for the engines (internal).
// The codec room owns body decoding and text streams over bodies; it may include message/.
#pragma once

#include <cstddef>
#include <exception>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace nector::http::detail {

/// The Accept-Encoding value nector sends by default: "gzip, deflate, br, zstd", every
/// coding ContentDecoder decodes.
std::string_view accept_encoding() noexcept;

class DecodeStage; // one coding's decoder (decode.cpp)

/// Decodes a response body as it arrives, for the codings of a Content-Encoding value.
///
/// The value is a comma-separated list of the codings the server applied, in the order it
/// applied them (RFC 9110 §8.4), so they are decoded in reverse. Tokens are
/// case-insensitive; "identity" and empty list elements are ignored. Several
/// Content-Encoding fields must be joined with ", " first. The codings:
/// - gzip (and its alias x-gzip): zlib inflate with gzip wrapping. Concatenated gzip
///   members (RFC 1952 §2.2, what `gzip -c a b` writes) decode to the concatenation.
/// - deflate: officially zlib-wrapped (RFC 1950), but some servers send raw deflate
///   (RFC 1951). The first two bytes decide: a valid zlib header (CM 8, CINFO <= 7, header
///   checksum a multiple of 31) means zlib, anything else raw. (curl and the browsers reach
///   the same result by trying one form and falling back to the other on an error; the
///   check decides before any output, so nothing decoded has to be taken back.) No raw
///   stream a real encoder writes starts like a zlib header: it would need a non-final
///   stored block with non-zero padding bits.
/// - br: Brotli (RFC 7932), windows of up to 16 MiB (no large-window extension).
/// - zstd: Zstandard (RFC 8878); concatenated frames and skippable frames are accepted.
///   A frame that needs a window of more than 8 MiB is refused: RFC 9659 forbids encoders
///   to write such frames for the zstd content coding, and bounding the window bounds the
///   decoder's memory.
///
/// Trailing data: bytes after the end of a complete stream are an error (protocol_error,
/// "unexpected data after the end of the <coding> stream"), as in curl, which fails the
/// transfer when any byte follows a gzip trailer. nector accepts only what the formats
/// themselves define as a continuation: further gzip members (curl refuses even those)
/// and further zstd frames.
///
/// Memory is bounded whatever the input: besides the bytes it appends to the caller's
/// output, each coding holds one working buffer of buffer_size bytes and its library's
/// state (zlib's 32 KiB window, Brotli's window of at most 16 MiB, zstd's of at most
/// 8 MiB). A value may stack at most max_codings codings (curl's limit since
/// CVE-2022-32206: every stage costs memory, and a server can list many).
///
/// Not thread-safe: one decoder belongs to one response.
class ContentDecoder {
public:
    /// Bytes each coding decodes at a time (its working buffer).
    static constexpr std::size_t buffer_size = std::size_t{16} * 1024;
    /// Most codings one Content-Encoding value may stack ("identity" does not count).
    static constexpr std::size_t max_codings = 5;

    /// A decoder for `content_encoding`, or nullptr when there is nothing to decode (an
    /// empty value, or "identity" only).
    ///
    /// `max_decoded` is the most decoded bytes the body may have; feed() and finish() throw
    /// TransportSpecificError (errc::body_too_large) before appending a byte beyond it, so
    /// a small compressed body that decodes to gigabytes (a decompression bomb) costs no
    /// more than `max_decoded` bytes of output. `context` says what was being done, e.g.
    /// "GET https://example.com/a: reading the response body" (credentials redacted by the
    /// caller); every error message starts with it, and it may be empty.
    ///
    /// Throws TransportSpecificError (errc::protocol_error) naming the first coding nector
    /// does not decode, e.g. `Content-Encoding "compress" is not supported (nector decodes
    /// gzip, deflate, br, zstd)`, or when the value lists more than max_codings codings.
    static std::unique_ptr<ContentDecoder> make(std::string_view content_encoding,
                                                std::size_t max_decoded,
                                                std::string_view context = {});

    ContentDecoder(const ContentDecoder&) = delete;
    ContentDecoder& operator=(const ContentDecoder&) = delete;
    ~ContentDecoder();

    /// Decodes `input`, the next bytes of the body (any split, including empty or one byte
    /// at a time), and appends what it decodes to `out`. `input` is not kept.
    ///
    /// Throws TransportSpecificError: errc::protocol_error naming the coding and the
    /// library's reason when the input is corrupt or data follows the end of a stream;
    /// errc::body_too_large when the decoded body would exceed `max_decoded` (the bytes
    /// appended before the throw are within the limit). Once it has thrown, every later
    /// feed() or finish() throws the same exception again. Throws std::logic_error after
    /// finish().
    void feed(std::string_view input, std::string& out);

    /// The end of the body: appends any last decoded bytes to `out`, then throws
    /// TransportSpecificError (errc::protocol_error) naming the coding if its stream is
    /// incomplete (a truncated body). A body with no bytes at all (e.g. a HEAD response or
    /// a 204 that kept the header) decodes to nothing without error. Throws like feed()
    /// otherwise; calling it a second time does nothing.
    void finish(std::string& out);

    /// The decoded bytes appended to the outputs so far.
    std::size_t decoded_size() const noexcept { return decoded_; }

private:
    class Output;

    ContentDecoder(std::size_t max_decoded, std::string where);
    // Runs `step`, remembering what it throws so that later calls rethrow it.
    template <class Step>
    void guarded(Step&& step);

    // In decoding order: the server's last coding first.
    std::vector<std::unique_ptr<DecodeStage>> stages_;
    std::size_t max_decoded_;
    std::size_t decoded_ = 0;
    // "<context>: decoding the response body (Content-Encoding "...")", for messages.
    std::string where_;
    std::exception_ptr failure_;
    bool finished_ = false;
};

} // namespace nector::http::detail
