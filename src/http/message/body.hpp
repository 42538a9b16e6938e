// Request-body encoding and request-line checks for the HTTP engines (internal). The message
// room owns URLs, bodies, header and method validation and the public message types' code;
// it includes only the public headers and src/detail/.
#pragma once

#include "nector/http/message.hpp"

#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace nector::http::detail {

/// An encoded request body.
struct EncodedBody {
    /// The Content-Type the body needs, or "" for a raw `content` body (the caller keeps
    /// the user's Content-Type header or picks a default).
    std::string content_type;
    std::string data; ///< the body bytes
};

/// The body of `m`, or nullopt when `m` has none (no json, no content, no form fields,
/// no files):
/// - json: "application/json", the value as Boost.JSON writes it;
/// - content: the bytes as they are, content_type "" (an engaged but empty content is an
///   empty body, not "no body");
/// - form without files: "application/x-www-form-urlencoded", as encode_query writes it;
/// - files (with or without form): "multipart/form-data; boundary=<boundary>" (RFC 7578):
///   the form fields, then the files, each part with a Content-Disposition naming it
///   (`"`, CR and LF in names and filenames escaped as %22, %0D, %0A, as browsers do)
///   and, for a file, its filename (the file's `filename`, else the last component of
///   its `path`) and its Content-Type (omitted when empty). A file with a non-empty
///   `path` is read from disk now, with blocking reads; its `content` is then ignored.
///
/// `boundary` must be 1 to 70 characters of RFC 2046's bchars not ending in a space
/// (make_boundary() gives one); it is used only for multipart bodies.
///
/// Throws SerializationError, naming the request (method and URL without credentials)
/// and the cause, when more than one body source is set (json, content, form/files), the
/// json holds NaN, infinity or a string that is not UTF-8, a file's content type holds a
/// control character, a file cannot be read (naming its path), or a part contains the
/// boundary delimiter.
std::optional<EncodedBody> encode_body(const HttpMessage& m, std::string_view boundary);

/// A request body sent piece by piece: files read while the request is sent (a
/// content_path, or multipart parts with a path) or a producer.
struct UploadBody {
    /// Bytes, or a file of `size` bytes.
    struct Segment {
        std::string bytes;
        std::filesystem::path path;
        std::uint64_t size = 0;
    };
    std::string content_type; ///< as EncodedBody::content_type
    std::vector<Segment> segments;
    BodyProducer producer;
    std::optional<std::uint64_t> size; ///< the Content-Length, when known
    /// Whether it can be sent again (a retry, a replay, a 307/308 redirect).
    bool replayable() const noexcept { return !producer; }
};

/// The body of `m` as an UploadBody when it must be sent piece by piece (a content_path, a
/// producer, or files with a path), else nullopt (encode_body() then applies). Files are
/// not read yet; their sizes are taken now. Throws SerializationError like encode_body()
/// (more than one body source, a file that cannot be read, naming its path). Multipart
/// parts read from disk are not checked for the boundary (a 32-character random one).
std::optional<UploadBody> encode_upload(const HttpMessage& m, std::string_view boundary);

/// Reads an UploadBody piece by piece. Files are read with read() into one buffer the
/// reader keeps (no allocation per piece), or handed whole to a sender that can give them
/// to the kernel (next_file(), for sendfile()).
class UploadReader {
public:
    /// `context` ("METHOD URL") starts every error message.
    UploadReader(std::shared_ptr<const UploadBody> body, std::string context);
    ~UploadReader();
    UploadReader(const UploadReader&) = delete;
    UploadReader& operator=(const UploadReader&) = delete;

    /// The next piece (a file's: at most 64 KiB), or nullopt at the end. The view stays
    /// valid until the next call. Throws SerializationError when a file cannot be read or no
    /// longer has the size it had when the request was prepared, or a producer made more or
    /// fewer bytes than its size; what a producer throws propagates.
    boost::asio::awaitable<std::optional<std::string_view>> next();

    /// A file to be sent whole by the caller: its descriptor (open, read from offset 0 by
    /// offset, never moved) and the size it had when the request was prepared.
    struct FileRegion {
        int fd = -1;
        std::uint64_t size = 0;
    };
    /// When the next piece would be the start of a file: that file, opened. The caller
    /// sends its `size` bytes itself, then calls file_sent(), or, when it cannot send it
    /// (a file the kernel cannot splice), calls next() instead, which reads it from its
    /// start. nullopt otherwise (bytes, a producer, the end). Throws SerializationError
    /// when the file cannot be opened.
    std::optional<FileRegion> next_file();
    /// The file of next_file() went out whole: throws SerializationError if it grew since
    /// the request was prepared, else moves on to the next segment.
    void file_sent();
    /// Throws the SerializationError of the current file ending before its size (a read
    /// of it found no more bytes).
    [[noreturn]] void file_shorter() const;
    /// Throws the SerializationError of a failed read of the current file (`error`: errno).
    [[noreturn]] void file_unreadable(int error) const;

private:
    std::string where() const;
    void open_file();
    void close_file() noexcept;

    std::shared_ptr<const UploadBody> body_;
    std::string context_;
    std::size_t segment_ = 0;
    int fd_ = -1;
    std::uint64_t file_offset_ = 0;
    std::string buffer_; // a file's piece, or a producer's
    std::uint64_t produced_ = 0;
};

/// A fresh multipart boundary: "nector-" and 32 random letters and digits. Thread-safe
/// (one engine per thread, seeded from std::random_device); not for cryptographic use.
std::string make_boundary();

/// `params` as application/x-www-form-urlencoded: "name=value" pairs in order, joined by
/// "&"; bytes outside RFC 3986's unreserved set (ALPHA, DIGIT, "-", ".", "_", "~") are
/// written %XX with upper-case hex, except the space, which is "+". "" when empty.
std::string encode_query(const Fields& params);

/// `url` without its fragment (fragments are never sent), with encode_query(params)
/// appended after "?" (or after "&" when `url` already has a query that does not end in
/// "?" or "&"). `url` itself is not re-encoded.
std::string append_query(std::string_view url, const Fields& params);

/// Throws TransportSpecificError (errc::invalid_method) naming `method`, escaped, unless
/// it is a non-empty RFC 9110 token.
void validate_method(std::string_view method);

/// Throws TransportSpecificError (errc::invalid_header) naming the header, escaped, unless
/// `name` is a non-empty RFC 9110 token and `value` holds no CR, LF, NUL or other control
/// character except HTAB. The value is never quoted in the message (it may be a secret).
void validate_header(std::string_view name, std::string_view value);

/// `text` for an error message (the caller adds quotes where it wants them): `"`, `\`,
/// control characters and bytes above 0x7E escaped (\", \\, \r, \n, \t, \xNN), and
/// cut after 100 bytes with "...".
std::string printable(std::string_view text);

/// printable(text) in double quotes, for an error message: `"a\"b"`.
std::string in_quotes(std::string_view text);

/// A reason phrase for a message: " Not Found" (printable()), or nothing when there is none
/// (HTTP/2, mock responses).
std::string reason_note(std::string_view reason);

/// `text` without leading and trailing spaces and tabs (HTTP's optional whitespace).
/// Inline: the response reader trims every header field with it.
inline std::string_view trim(std::string_view text) noexcept {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
    return text;
}

/// `text` with ASCII letters in lower case.
std::string lower(std::string_view text);

} // namespace nector::http::detail
