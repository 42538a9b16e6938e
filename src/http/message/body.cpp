#include "http/message/body.hpp"

#include "http/message/url.hpp"

#include "detail/json_check.hpp"
#include "nector/transport/errors.hpp"

#include <boost/json/serialize.hpp>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstddef>
#include <fstream>
#include <random>
#include <system_error>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

namespace nector::http::detail {
namespace json = boost::json;
namespace {

constexpr std::string_view hex_digits = "0123456789ABCDEF";

bool is_alnum(char c) noexcept {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

// RFC 3986 unreserved.
bool is_unreserved(char c) noexcept {
    return is_alnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

// RFC 9110 tchar.
bool is_tchar(char c) noexcept {
    return is_alnum(c) || std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool is_token(std::string_view text) noexcept {
    if (text.empty()) return false;
    for (const char c : text) {
        if (!is_tchar(c)) return false;
    }
    return true;
}

// The offset of the first character a field value may not hold (controls other than
// HTAB, and DEL), or npos.
std::size_t find_control(std::string_view value) noexcept {
    for (std::size_t i = 0; i < value.size(); ++i) {
        const auto c = static_cast<unsigned char>(value[i]);
        if ((c < 0x20 && c != '\t') || c == 0x7F) return i;
    }
    return std::string_view::npos;
}

std::string control_name(char c) {
    switch (c) {
        case '\r':
            return "CR";
        case '\n':
            return "LF";
        case '\0':
            return "NUL";
        default:
            return "control character " + printable(std::string_view(&c, 1));
    }
}

void append_urlencoded(std::string& out, std::string_view text) {
    for (const char c : text) {
        if (is_unreserved(c)) {
            out += c;
        } else if (c == ' ') {
            out += '+';
        } else {
            const auto byte = static_cast<unsigned char>(c);
            out += '%';
            out += hex_digits[byte >> 4];
            out += hex_digits[byte & 0x0F];
        }
    }
}

// A multipart name or filename, escaped as browsers do (WHATWG HTML, "multipart/form-data
// encoding algorithm") so that it cannot end the quoted string or the header line.
void append_disposition_value(std::string& out, std::string_view text) {
    for (const char c : text) {
        switch (c) {
            case '"':
                out += "%22";
                break;
            case '\r':
                out += "%0D";
                break;
            case '\n':
                out += "%0A";
                break;
            default:
                out += c;
        }
    }
}

// What encode_body was doing, for its error messages.
[[noreturn]] void fail(const HttpMessage& m, const std::string& reason) {
    throw SerializationError("encoding the request body of " + printable(m.method) + " " +
                             printable(redact(m.url)) + ": " + reason);
}

std::string joined(const std::vector<std::string_view>& names) {
    std::string out;
    for (std::size_t i = 0; i < names.size(); ++i) {
        if (i > 0) out += i + 1 == names.size() ? " and " : ", ";
        out += names[i];
    }
    return out;
}

// Appends the file at `path` to `out`.
void append_file(std::string& out, const std::filesystem::path& path, const HttpMessage& m,
                 std::size_t index) {
    const auto where = [&] {
        return "files[" + std::to_string(index) + "] path \"" + printable(path.string()) + "\"";
    };
    std::ifstream in(path, std::ios::binary);
    if (!in.is_open()) {
        const int error = errno;
        fail(m, "cannot open " + where() + ": " + std::generic_category().message(error));
    }
    std::error_code size_error;
    if (const auto size = std::filesystem::file_size(path, size_error); !size_error) {
        out.reserve(out.size() + static_cast<std::size_t>(size) + 256);
    }
    constexpr std::size_t chunk = std::size_t{64} * 1024;
    while (in) {
        const std::size_t old = out.size();
        out.resize(old + chunk);
        in.read(out.data() + old, static_cast<std::streamsize>(chunk));
        out.resize(old + static_cast<std::size_t>(in.gcount()));
    }
    // read() stops with eofbit at the end; badbit means a read failed (e.g. EISDIR).
    if (in.bad() || !in.eof()) {
        const int error = errno;
        fail(m, "cannot read " + where() + ": " + std::generic_category().message(error));
    }
}

// The fields, then the files, as multipart/form-data (RFC 7578).
std::string encode_multipart(const HttpMessage& m, std::string_view boundary) {
    const std::string delimiter = "--" + std::string(boundary);
    std::string out;
    // Refuses a part whose bytes (from `start` on) would end it early.
    const auto check_part = [&](std::size_t start, const std::string& what) {
        if (std::string_view(out).substr(start).find(delimiter) != std::string_view::npos) {
            fail(m, what + " contains the multipart boundary \"" + printable(boundary) + "\"");
        }
    };
    for (std::size_t i = 0; i < m.form.size(); ++i) {
        const auto& [name, value] = m.form[i];
        out += delimiter;
        out += "\r\nContent-Disposition: form-data; name=\"";
        append_disposition_value(out, name);
        out += "\"\r\n\r\n";
        const std::size_t start = out.size();
        out += value;
        check_part(start, "form[" + std::to_string(i) + "] value");
        out += "\r\n";
    }
    for (std::size_t i = 0; i < m.files.size(); ++i) {
        const File& file = m.files[i];
        if (const auto bad = find_control(file.content_type); bad != std::string_view::npos) {
            fail(m, "files[" + std::to_string(i) + "].content_type contains " +
                        control_name(file.content_type[bad]) + " at byte " + std::to_string(bad));
        }
        out += delimiter;
        out += "\r\nContent-Disposition: form-data; name=\"";
        append_disposition_value(out, file.field);
        out += "\"; filename=\"";
        append_disposition_value(out, file.filename.empty() && !file.path.empty()
                                          ? file.path.filename().string()
                                          : file.filename);
        out += "\"\r\n";
        if (!file.content_type.empty()) {
            out += "Content-Type: ";
            out += file.content_type;
            out += "\r\n";
        }
        out += "\r\n";
        const std::size_t start = out.size();
        if (file.path.empty()) {
            out += as_string_view(file.content);
        } else {
            append_file(out, file.path, m, i);
        }
        check_part(start, "files[" + std::to_string(i) + "] content");
        out += "\r\n";
    }
    out += delimiter;
    out += "--\r\n";
    return out;
}

} // namespace

namespace {

// Refuses a message with more than one body source.
void check_one_source(const HttpMessage& m) {
    const bool has_form = !m.form.empty() || !m.files.empty();
    std::vector<std::string_view> sources;
    if (m.json) sources.emplace_back("json");
    if (m.content) sources.emplace_back("content");
    if (!m.content_path.empty()) sources.emplace_back("content_path");
    if (m.producer) sources.emplace_back("producer");
    if (has_form) {
        sources.emplace_back(m.files.empty() ? "form" : m.form.empty() ? "files" : "form/files");
    }
    if (sources.size() > 1) {
        fail(m, "more than one body source is set (" + joined(sources) +
                    "); set at most one of json, content, content_path, producer, or form/files");
    }
}

// The size of the file at `path`, for the SerializationError of `what`.
std::uint64_t size_of(const HttpMessage& m, const std::filesystem::path& path,
                      const std::string& what) {
    std::error_code ec;
    const auto status = std::filesystem::status(path, ec);
    if (ec || !std::filesystem::is_regular_file(status)) {
        fail(m, "cannot read " + what + " \"" + printable(path.string()) +
                    "\": " + (ec ? ec.message() : std::string("not a regular file")));
    }
    const auto size = std::filesystem::file_size(path, ec);
    if (ec)
        fail(m, "cannot read " + what + " \"" + printable(path.string()) + "\": " + ec.message());
    return size;
}

} // namespace

std::optional<UploadBody> encode_upload(const HttpMessage& m, std::string_view boundary) {
    const bool path_files =
        std::any_of(m.files.begin(), m.files.end(), [](const File& f) { return !f.path.empty(); });
    if (m.content_path.empty() && !m.producer && !path_files) return std::nullopt;
    check_one_source(m);
    UploadBody body;
    if (m.producer) {
        body.producer = m.producer;
        body.size = m.producer.size;
        return body;
    }
    if (!m.content_path.empty()) {
        const auto size = size_of(m, m.content_path, "content_path");
        body.segments.push_back({.path = m.content_path, .size = size});
        body.size = size;
        return body;
    }
    // Multipart with files from disk: the text around them, and the files by reference.
    HttpMessage text_only = m;
    std::vector<std::size_t> disk;
    for (std::size_t i = 0; i < text_only.files.size(); ++i) {
        if (text_only.files[i].path.empty()) continue;
        disk.push_back(i);
        // A placeholder no real part contains; replaced by the file below.
        text_only.files[i].content = to_bytes("\x01nector-file\x01");
        text_only.files[i].path.clear();
        if (text_only.files[i].filename.empty()) {
            text_only.files[i].filename = m.files[i].path.filename().string();
        }
    }
    const std::string encoded = encode_multipart(text_only, boundary);
    std::size_t from = 0;
    std::uint64_t total = 0;
    for (const std::size_t i : disk) {
        const std::size_t at = encoded.find("\x01nector-file\x01", from);
        body.segments.push_back({.bytes = encoded.substr(from, at - from)});
        const auto size = size_of(m, m.files[i].path, "files[" + std::to_string(i) + "] path");
        body.segments.push_back({.path = m.files[i].path, .size = size});
        total += (at - from) + size;
        from = at + std::string_view("\x01nector-file\x01").size();
    }
    body.segments.push_back({.bytes = encoded.substr(from)});
    total += encoded.size() - from;
    body.content_type = "multipart/form-data; boundary=" + std::string(boundary);
    body.size = total;
    return body;
}

UploadReader::UploadReader(std::shared_ptr<const UploadBody> body, std::string context)
    : body_(std::move(body)), context_(std::move(context)) {}

UploadReader::~UploadReader() { close_file(); }

std::string UploadReader::where() const {
    return context_ + ": reading the request body from \"" +
           printable(body_->segments[segment_].path.string()) + "\"";
}

void UploadReader::open_file() {
    fd_ = ::open(body_->segments[segment_].path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) file_unreadable(errno);
    file_offset_ = 0;
}

void UploadReader::close_file() noexcept {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
}

void UploadReader::file_shorter() const {
    throw SerializationError(where() + ": the file is shorter than when the request was prepared");
}

void UploadReader::file_unreadable(int error) const {
    throw SerializationError(where() + ": " + std::generic_category().message(error));
}

std::optional<UploadReader::FileRegion> UploadReader::next_file() {
    const UploadBody& b = *body_;
    if (b.producer || fd_ >= 0) return std::nullopt;
    while (segment_ < b.segments.size() && b.segments[segment_].path.empty() &&
           b.segments[segment_].bytes.empty()) {
        ++segment_;
    }
    if (segment_ == b.segments.size() || b.segments[segment_].path.empty()) return std::nullopt;
    open_file();
    return FileRegion{fd_, b.segments[segment_].size};
}

void UploadReader::file_sent() {
    // The file must end where its size said (it may not have grown meanwhile).
    char extra = 0;
    const auto offset = static_cast<off_t>(body_->segments[segment_].size);
    ssize_t n = 0;
    do {
        n = ::pread(fd_, &extra, 1, offset);
    } while (n < 0 && errno == EINTR);
    if (n < 0) file_unreadable(errno);
    if (n > 0) throw SerializationError(where() + ": the file grew while it was being sent");
    close_file();
    ++segment_;
}

boost::asio::awaitable<std::optional<std::string_view>> UploadReader::next() {
    const UploadBody& b = *body_;
    if (b.producer) {
        std::optional<std::string> piece = co_await b.producer.next();
        if (piece) produced_ += piece->size();
        if (b.size && (piece ? produced_ > *b.size : produced_ != *b.size)) {
            throw SerializationError(context_ + ": the body producer made " +
                                     std::to_string(produced_) + (piece ? "+" : "") +
                                     " bytes but declared " + std::to_string(*b.size));
        }
        if (!piece) co_return std::nullopt;
        buffer_ = std::move(*piece);
        co_return std::string_view(buffer_);
    }
    while (segment_ < b.segments.size()) {
        const UploadBody::Segment& seg = b.segments[segment_];
        if (seg.path.empty()) {
            ++segment_;
            if (seg.bytes.empty()) continue;
            co_return std::string_view(seg.bytes);
        }
        if (fd_ < 0) open_file();
        if (file_offset_ == seg.size) {
            file_sent();
            continue;
        }
        constexpr std::size_t piece_size = std::size_t{64} * 1024;
        if (buffer_.size() < piece_size) buffer_.resize(piece_size); // once: no zero-fill after
        const auto want =
            static_cast<std::size_t>(std::min<std::uint64_t>(seg.size - file_offset_, piece_size));
        const ssize_t n = ::pread(fd_, buffer_.data(), want, static_cast<off_t>(file_offset_));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) file_unreadable(errno);
        if (n == 0) file_shorter();
        file_offset_ += static_cast<std::uint64_t>(n);
        co_return std::string_view(buffer_.data(), static_cast<std::size_t>(n));
    }
    co_return std::nullopt;
}

std::optional<EncodedBody> encode_body(const HttpMessage& m, std::string_view boundary) {
    check_one_source(m);
    if (m.json) {
        std::string path = "json";
        if (nector::detail::find_non_finite(*m.json, path)) {
            fail(m, printable(path) + " is NaN or infinite, which JSON cannot represent");
        }
        if (nector::detail::find_non_utf8(*m.json, path)) {
            fail(m, printable(path) + " is not valid UTF-8, which JSON text must be");
        }
        return EncodedBody{.content_type = "application/json", .data = json::serialize(*m.json)};
    }
    if (m.content)
        return EncodedBody{.content_type = "", .data = std::string(as_string_view(*m.content))};
    if (!m.files.empty()) {
        return EncodedBody{.content_type = "multipart/form-data; boundary=" + std::string(boundary),
                           .data = encode_multipart(m, boundary)};
    }
    if (!m.form.empty()) {
        return EncodedBody{.content_type = "application/x-www-form-urlencoded",
                           .data = encode_query(m.form)};
    }
    return std::nullopt;
}

std::string make_boundary() {
    static constexpr std::string_view chars =
        "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    thread_local std::mt19937_64 engine = [] {
        std::random_device device;
        std::seed_seq seed{device(), device(), device(), device(),
                           device(), device(), device(), device()};
        return std::mt19937_64(seed);
    }();
    std::uniform_int_distribution<std::size_t> pick(0, chars.size() - 1);
    std::string boundary = "nector-";
    for (int i = 0; i < 32; ++i) boundary += chars[pick(engine)];
    return boundary;
}

std::string encode_query(const Fields& params) {
    std::string out;
    for (const auto& [name, value] : params) {
        if (!out.empty()) out += '&';
        append_urlencoded(out, name);
        out += '=';
        append_urlencoded(out, value);
    }
    return out;
}

std::string append_query(std::string_view url, const Fields& params) {
    url = url.substr(0, url.find('#'));
    std::string out(url);
    if (params.empty()) return out;
    if (url.find('?') == std::string_view::npos) {
        out += '?';
    } else if (url.back() != '?' && url.back() != '&') {
        out += '&';
    }
    out += encode_query(params);
    return out;
}

void validate_method(std::string_view method) {
    if (!is_token(method)) {
        throw_error(errc::invalid_method, "invalid HTTP method \"" + printable(method) +
                                              "\": a method must be a non-empty token (RFC 9110)");
    }
}

void validate_header(std::string_view name, std::string_view value) {
    if (!is_token(name)) {
        throw_error(errc::invalid_header,
                    "invalid HTTP header \"" + printable(name) +
                        "\": a header name must be a non-empty token (RFC 9110)");
    }
    if (const auto bad = find_control(value); bad != std::string_view::npos) {
        throw_error(errc::invalid_header, "invalid HTTP header \"" + printable(name) +
                                              "\": its value contains " + control_name(value[bad]) +
                                              " at byte " + std::to_string(bad));
    }
}

// Built by appending: GCC 12 at -O2 warns (-Wrestrict, a false positive, GCC bug 105329)
// where a literal is prepended to a temporary string with `"x" + std::string`.
std::string reason_note(std::string_view reason) {
    std::string note;
    if (!reason.empty()) note.append(" ").append(printable(reason));
    return note;
}

std::string in_quotes(std::string_view text) {
    std::string out = "\"";
    out.append(printable(text)).append("\"");
    return out;
}

std::string printable(std::string_view text) {
    constexpr std::size_t limit = 100;
    std::string out;
    for (const char c : text.substr(0, limit)) {
        const auto byte = static_cast<unsigned char>(c);
        switch (c) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\r':
                out += "\\r";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\t':
                out += "\\t";
                break;
            default:
                if (byte < 0x20 || byte >= 0x7F) {
                    out += "\\x";
                    out += hex_digits[byte >> 4];
                    out += hex_digits[byte & 0x0F];
                } else {
                    out += c;
                }
        }
    }
    if (text.size() > limit) out += "...";
    return out;
}

std::string lower(std::string_view text) {
    std::string out(text);
    for (char& c : out) {
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
    return out;
}

} // namespace nector::http::detail
