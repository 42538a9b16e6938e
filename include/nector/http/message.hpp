// HttpMessage: one HTTP request as a message (TDS-4 §3.3).
#pragma once

#include "nector/transport/headers.hpp"
#include "nector/transport/protocol.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace nector::http {

/// Ordered name/value pairs; a name may repeat (query parameters, form fields).
using Fields = std::vector<std::pair<std::string, std::string>>;

/// One file of a multipart/form-data body.
struct File {
    std::string field;    ///< form field name
    std::string filename; ///< filename sent in Content-Disposition
    std::string content_type = "application/octet-stream";
    Bytes content;              ///< the bytes, when `path` is empty
    std::filesystem::path path; ///< a file to read at send time instead of `content`

    friend bool operator==(const File&, const File&) = default;
};

/// A request body made while it is sent: each call of `next` returns the next piece, or
/// nullopt at the end. Sent with Transfer-Encoding: chunked over HTTP/1.1 (or with
/// Content-Length when `size` is given, which must then be exact) and as DATA frames over
/// HTTP/2. It can be sent only once, so a request with a producer is never retried or
/// replayed, and a 307/308 redirect of it is returned rather than followed.
struct BodyProducer {
    std::function<boost::asio::awaitable<std::optional<std::string>>()> next;
    std::optional<std::uint64_t> size; ///< total bytes, when known

    explicit operator bool() const noexcept { return static_cast<bool>(next); }
    /// Producers cannot be compared: equal only when both are unset.
    friend bool operator==(const BodyProducer& a, const BodyProducer& b) noexcept {
        return !a && !b;
    }
};

/// An HTTP request. An aggregate, so designated initializers work:
///   HttpMessage{.method = "POST", .url = "/post", .json = body}
///
/// At most one body source may be set: `json`, `content`, `content_path`, `producer`, or
/// form data (`form` and/or `files`, sent urlencoded without files, multipart/form-data
/// with them); sending a message with two throws SerializationError. Files (`content_path`
/// and files with a `path`) are read piece by piece while the request is sent, never
/// whole into memory.
///
/// serialize()/deserialize() use the seed's envelope, {"headers":…,"payload":{"method",
/// "url","params","json","data","files","content_base64"}}, with bytes base64-encoded, so
/// every message round-trips exactly (docs/http-message.md).
struct HttpMessage {
    /// Content type of the serialized envelope (TDS-4: application/json).
    static constexpr std::string_view content_type = "application/json";
    /// Deepest JSON nesting deserialize() accepts, the envelope's own two levels included.
    static constexpr std::size_t max_depth = 64;

    std::string method = "GET";             ///< request method token; upper case by convention
    std::string url;                        ///< absolute, or relative to Options::base_url
    Headers headers;                        ///< merged over the transport's default headers
    Fields params;                          ///< query parameters, appended to the URL's own
    std::optional<boost::json::value> json; ///< a JSON body (application/json)
    Fields form;                            ///< form fields (urlencoded, or multipart with files)
    std::vector<File> files;                ///< multipart file parts
    std::optional<Bytes> content;           ///< a raw body
    /// A raw body read from this file while it is sent (its size is its Content-Length).
    std::filesystem::path content_path;
    /// A raw body made while it is sent; not serialized (serialize() refuses it).
    BodyProducer producer;

    /// The envelope as UTF-8 JSON bytes. Throws SerializationError naming the field when
    /// the message cannot be written as JSON: a NaN or infinity in json, or a string
    /// (method, url, a header, a field, a file's names or path, in json) that is not
    /// UTF-8. The method and headers are checked only when the message is sent.
    Bytes serialize() const;
    /// Parses an envelope; throws DeserializationError saying what is wrong and where
    /// (invalid JSON or UTF-8, nesting deeper than max_depth, a wrong type, bad base64).
    /// Missing fields take their defaults ("GET", "", empty, unset); unknown keys are
    /// ignored. Headers given as an object may have number or boolean values, which
    /// become their JSON text ("1.5", "true").
    static HttpMessage deserialize(std::span<const std::byte> data);

    /// The Message protocol's accessors: the headers, and the payload object of the
    /// envelope (method, url, params, …) as serialize() writes it.
    const Headers& get_headers() const noexcept { return headers; }
    boost::json::object get_payload() const;

    friend bool operator==(const HttpMessage&, const HttpMessage&) = default;
};

static_assert(Message<HttpMessage>);

} // namespace nector::http
