// The HTTP/1.1 response reader (response_reader.hpp). Each rule is in docs/conformance.md
// with its RFC section; the comments here say only how.
#include "http/wire/response_reader.hpp"

#include "http/message/body.hpp"
#include "nector/transport/errors.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <limits>

namespace nector::http::detail {
namespace {

constexpr std::size_t npos = std::string_view::npos;

/// RFC 9110 §5.6.2 tchar.
constexpr std::array<bool, 256> token_table = [] {
    std::array<bool, 256> t{};
    for (int c = '0'; c <= '9'; ++c) t[static_cast<std::size_t>(c)] = true;
    for (int c = 'a'; c <= 'z'; ++c) t[static_cast<std::size_t>(c)] = true;
    for (int c = 'A'; c <= 'Z'; ++c) t[static_cast<std::size_t>(c)] = true;
    for (const char c : std::string_view("!#$%&'*+-.^_`|~"))
        t[static_cast<unsigned char>(c)] = true;
    return t;
}();

bool is_token_char(char c) noexcept { return token_table[static_cast<unsigned char>(c)]; }
bool is_space(char c) noexcept { return c == ' ' || c == '\t'; }

char lower(char c) noexcept { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; }

/// `s` equals `lower_word` (lower case) ignoring case.
bool iequals(std::string_view s, std::string_view lower_word) noexcept {
    if (s.size() != lower_word.size()) return false;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (lower(s[i]) != lower_word[i]) return false;
    }
    return true;
}

int hex_value(char c) noexcept {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/// Calls f(element) for each element of a comma-separated list, trimmed (empty ones too).
template <class F>
void for_each_element(std::string_view list, F&& f) {
    for (;;) {
        const std::size_t comma = list.find(',');
        f(trim(list.substr(0, comma)));
        if (comma == npos) return;
        list.remove_prefix(comma + 1);
    }
}

/// The end (one past the empty line) of a section of lines that ends in an empty line, when
/// `data` holds it; npos otherwise, with `scanned` moved to where the next search starts.
/// A section that is only the empty line is found by the caller.
std::size_t section_end(const char* data, std::size_t size, std::size_t& scanned) noexcept {
    std::size_t at = scanned;
    while (at < size) {
        const void* found = std::memchr(data + at, '\n', size - at);
        if (found == nullptr) {
            scanned = size;
            return npos;
        }
        const auto p = static_cast<std::size_t>(static_cast<const char*>(found) - data);
        if (p + 1 >= size || (data[p + 1] == '\r' && p + 2 >= size)) {
            scanned = p; // look at this line end again once more has arrived
            return npos;
        }
        if (data[p + 1] == '\n') return p + 2;
        if (data[p + 1] == '\r' && data[p + 2] == '\n') return p + 3;
        at = p + 1;
    }
    scanned = size;
    return npos;
}

/// The next line of `text` (without its LF or CRLF), removed from `text`.
std::string_view next_line(std::string_view& text) noexcept {
    const std::size_t lf = text.find('\n');
    std::string_view line = text.substr(0, lf);
    text.remove_prefix(lf == npos ? text.size() : lf + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    return line;
}

} // namespace

void ResponseReader::malformed(std::string_view what) const {
    throw_error(
        errc::protocol_error,
        std::string(context_) + ": reading the response: malformed response: " + std::string(what));
}

void ResponseReader::check_body_size(std::uint64_t more) const {
    if (!limits_.max_body || more <= *limits_.max_body - std::min(body_bytes_, *limits_.max_body)) {
        return;
    }
    throw_error(errc::body_too_large, std::string(context_) +
                                          ": reading the response: the body exceeds "
                                          "max_response_bytes (" +
                                          std::to_string(*limits_.max_body) + ")");
}

void ResponseReader::skipped(std::uint64_t n) noexcept {
    body_bytes_ += n;
    remaining_ -= std::min(n, remaining_);
    if (remaining_ == 0) state_ = State::done;
}

std::size_t ResponseReader::put(const char* data, std::size_t size, std::string& body,
                                std::size_t room) {
    if (size > 0) started_ = true;
    std::size_t used = 0;
    while (used < size && state_ != State::done) {
        const char* at = data + used;
        const std::size_t left = size - used;
        std::size_t n = 0;
        switch (state_) {
            case State::head:
                n = put_head(at, left);
                break;
            case State::length:
                n = put_body(at, left, body, room, remaining_);
                remaining_ -= n;
                if (remaining_ == 0) state_ = State::done;
                break;
            case State::chunk_size:
                n = put_chunk_size(at, left);
                break;
            case State::chunk_data:
                n = put_body(at, left, body, room, remaining_);
                remaining_ -= n;
                if (remaining_ == 0) state_ = State::chunk_end;
                break;
            case State::chunk_end:
                if (at[0] == '\n') {
                    n = 1;
                } else if (at[0] == '\r' && left >= 2 && at[1] == '\n') {
                    n = 2;
                } else if (at[0] != '\r') {
                    malformed("chunk data is not followed by a line end");
                } else if (left >= 2) {
                    malformed("a CR not followed by LF after chunk data");
                }
                if (n > 0) state_ = State::chunk_size;
                break;
            case State::trailer:
                n = put_trailer(at, left);
                break;
            case State::until_close:
                n = put_body(at, left, body, room, std::numeric_limits<std::uint64_t>::max());
                break;
            case State::done:
                break;
        }
        if (n == 0) break;
        used += n;
    }
    return used;
}

std::size_t ResponseReader::put_body(const char* data, std::size_t size, std::string& body,
                                     std::size_t& room, std::uint64_t limit) {
    const auto n = static_cast<std::size_t>(
        std::min<std::uint64_t>(limit, std::min<std::uint64_t>(size, room)));
    if (n == 0) return 0;
    room -= n;
    if (state_ == State::until_close) check_body_size(n);
    body.append(data, n);
    body_bytes_ += n;
    return n;
}

void ResponseReader::put_eof() {
    switch (state_) {
        case State::done:
            return;
        case State::until_close:
            state_ = State::done;
            return;
        case State::head:
            throw_error(errc::connection_closed,
                        std::string(context_) + ": reading the response: the server closed " +
                            (started_ ? "the connection before the end of the response head"
                                      : "the connection"));
        default:
            throw_error(errc::connection_closed,
                        std::string(context_) +
                            ": reading the response: the server closed the connection before "
                            "the end of the body");
    }
}

std::size_t ResponseReader::put_head(const char* data, std::size_t size) {
    // Not a status line (an HTTP/0.9 body, another protocol): refused at its first bytes,
    // not after waiting for a line end that may never come.
    constexpr std::string_view prefix = "HTTP/";
    if (std::memcmp(data, prefix.data(), std::min(size, prefix.size())) != 0) {
        malformed("no status line (the response starts with \"" +
                  printable(std::string_view(data, std::min<std::size_t>(size, 16))) + "\")");
    }
    const std::size_t end = section_end(data, size, scanned_);
    if (end == npos && size <= limits_.max_header_bytes) return 0;
    if (end == npos || end > limits_.max_header_bytes) {
        throw_error(errc::protocol_error,
                    std::string(context_) +
                        ": reading the response: the response head exceeds max_header_bytes (" +
                        std::to_string(limits_.max_header_bytes) + ")");
    }
    scanned_ = 0;
    parse_head(std::string_view(data, end));
    const int status = response_->status;
    if (status < 200 && status != 101) {
        if (++interim_ > limits_.max_interim) {
            malformed("more than " + std::to_string(limits_.max_interim) +
                      " interim (1xx) responses");
        }
        return end; // an interim response: the final one follows
    }
    frame();
    return end;
}

void ResponseReader::check_bytes(std::string_view section, std::string_view where) const {
    if (section.find('\0') != npos) malformed("a NUL byte in the " + std::string(where));
    for (std::size_t cr = section.find('\r'); cr != npos; cr = section.find('\r', cr + 1)) {
        if (cr + 1 >= section.size() || section[cr + 1] != '\n') {
            malformed("a CR not followed by LF in the " + std::string(where));
        }
    }
}

void ResponseReader::parse_head(std::string_view head) {
    check_bytes(head, "response head");
    std::string_view rest = head;
    const std::string_view line = next_line(rest);

    // HTTP-version SP 3DIGIT [ SP reason-phrase ] (the space before an empty reason optional)
    const std::string_view version = line.substr(0, line.find_first_of(" \t"));
    if (version == "HTTP/1.1") {
        version_minor_ = 1;
    } else if (version == "HTTP/1.0") {
        version_minor_ = 0;
    } else {
        malformed("HTTP version \"" + printable(version) + "\" (only HTTP/1.0 and 1.1 are read)");
    }
    std::string_view after = line.substr(version.size());
    const std::size_t code_at = after.find_first_not_of(" \t");
    after.remove_prefix(code_at == npos ? after.size() : code_at);
    const std::size_t code_end = std::min(after.find_first_of(" \t"), after.size());
    const std::string_view code = after.substr(0, code_end);
    if (code.size() != 3 ||
        !std::all_of(code.begin(), code.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        malformed("status code \"" + printable(code) + "\" is not three digits");
    }
    const int status = (code[0] - '0') * 100 + (code[1] - '0') * 10 + (code[2] - '0');
    if (status < 100) malformed("status code " + std::string(code) + " is below 100");
    response_->status = status;
    response_->version = version_minor_ == 0 ? Version::http_1_0 : Version::http_1_1;
    const std::string_view reason = after.substr(std::min(code_end + 1, after.size()));
    response_->reason.assign(reason.data(), reason.size());

    // An interim response's fields are not the final one's.
    response_->headers.clear();
    response_->headers.reserve(16);
    content_length_.reset();
    framing_error_.clear();
    has_content_length_ = has_transfer_encoding_ = close_ = keep_alive_token_ = chunked_ = false;

    if (!rest.empty() && is_space(rest.front())) {
        malformed("whitespace before the first header field");
    }
    parse_fields(rest, response_->headers, true);
}

void ResponseReader::parse_fields(std::string_view text, Headers& out, bool framing) {
    std::size_t count = 0;
    std::string_view name;
    std::string_view value;
    std::string folded; // a value continued on obs-fold lines, unfolded
    bool pending = false;
    bool is_folded = false;
    const auto flush = [&] {
        if (!pending) return;
        ++count;
        if (count > limits_.max_header_count) {
            throw_error(errc::protocol_error, std::string(context_) +
                                                  ": reading the response: more header fields than "
                                                  "max_header_count (" +
                                                  std::to_string(limits_.max_header_count) + ")");
        }
        if (framing) note_framing(name, is_folded ? std::string_view(folded) : value);
        out.add(std::string(name), is_folded ? std::move(folded) : std::string(value));
        folded.clear();
        pending = is_folded = false;
    };
    while (!text.empty()) {
        const std::string_view line = next_line(text);
        if (line.empty()) break; // the end of the section
        if (is_space(line.front())) {
            // obs-fold (RFC 9112 §5.2): a user agent replaces it with a space.
            if (!pending) malformed("a continuation line with no header field before it");
            if (!is_folded) {
                folded.assign(value);
                is_folded = true;
            }
            const std::string_view piece = trim(line);
            if (!piece.empty()) {
                if (!folded.empty()) folded += ' ';
                folded.append(piece);
            }
            continue;
        }
        flush();
        const std::size_t colon = line.find(':');
        if (colon == npos) {
            malformed("a header line without a colon (\"" + printable(line) + "\")");
        }
        name = line.substr(0, colon);
        if (name.empty() || !std::all_of(name.begin(), name.end(), is_token_char)) {
            malformed("header field name \"" + printable(name) + "\" is not a token");
        }
        value = trim(line.substr(colon + 1));
        pending = true;
    }
    flush();
}

void ResponseReader::note_framing(std::string_view name, std::string_view value) {
    const auto record = [this](std::string what) {
        if (framing_error_.empty()) framing_error_ = std::move(what);
    };
    if (iequals(name, "content-length")) {
        has_content_length_ = true;
        for_each_element(value, [&](std::string_view element) {
            std::uint64_t n = 0;
            bool ok = !element.empty();
            for (const char c : element) {
                constexpr std::uint64_t top = std::numeric_limits<std::uint64_t>::max();
                if (c < '0' || c > '9' || n > (top - static_cast<std::uint64_t>(c - '0')) / 10) {
                    ok = false;
                    break;
                }
                n = n * 10 + static_cast<std::uint64_t>(c - '0');
            }
            if (!ok) {
                record("Content-Length \"" + printable(value) + "\" is not a length");
            } else if (content_length_ && *content_length_ != n) {
                record("two different Content-Length values");
            } else {
                content_length_ = n;
            }
        });
    } else if (iequals(name, "transfer-encoding")) {
        has_transfer_encoding_ = true;
        for_each_element(value, [&](std::string_view coding) {
            if (coding.empty() || iequals(coding, "identity")) return;
            if (iequals(coding, "chunked")) {
                chunked_ = true; // repeated: decoded once
            } else {
                record("transfer coding \"" + printable(coding) + "\" is not supported");
            }
        });
    } else if (iequals(name, "connection")) {
        for_each_element(value, [&](std::string_view option) {
            if (iequals(option, "close")) close_ = true;
            if (iequals(option, "keep-alive")) keep_alive_token_ = true;
        });
    }
}

void ResponseReader::frame() {
    const int status = response_->status;
    const bool persistent = !close_ && (version_minor_ == 1 || keep_alive_token_);
    if (head_request_ || status == 204 || status == 304 || status == 101) {
        // No body, whatever Content-Length or Transfer-Encoding say.
        chunked_ = false;
        keep_alive_ = persistent && status != 101;
        state_ = State::done;
        return;
    }
    if (has_transfer_encoding_ && has_content_length_) {
        malformed("Content-Length and Transfer-Encoding together");
    }
    if (!framing_error_.empty()) malformed(framing_error_);
    if (chunked_) {
        // Chunked in an HTTP/1.0 response: decoded, but its framing is not trusted for a
        // next response.
        keep_alive_ = persistent && version_minor_ == 1;
        state_ = State::chunk_size;
        return;
    }
    if (content_length_) {
        check_body_size(*content_length_);
        keep_alive_ = persistent;
        remaining_ = *content_length_;
        state_ = remaining_ == 0 ? State::done : State::length;
        return;
    }
    keep_alive_ = false;
    state_ = State::until_close;
}

std::size_t ResponseReader::put_chunk_size(const char* data, std::size_t size) {
    // Searched from where the last look stopped: a line trickling in a byte at a time is
    // scanned once, not once per byte.
    const std::size_t from = std::min(scanned_, size);
    const void* found = std::memchr(data + from, '\n', size - from);
    const std::size_t end =
        found == nullptr ? npos : static_cast<std::size_t>(static_cast<const char*>(found) - data);
    scanned_ = end == npos ? size : 0;
    if (end == npos ? size > limits_.max_header_bytes : end > limits_.max_header_bytes) {
        malformed("a chunk-size line longer than max_header_bytes (" +
                  std::to_string(limits_.max_header_bytes) + ")");
    }
    if (end == npos) return 0;
    std::string_view line(data, end);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    std::uint64_t n = 0;
    std::size_t i = 0;
    for (; i < line.size(); ++i) {
        const int digit = hex_value(line[i]);
        if (digit < 0) break;
        if (n > (std::numeric_limits<std::uint64_t>::max() >> 4)) {
            malformed("a chunk size that overflows 64 bits");
        }
        n = (n << 4) | static_cast<std::uint64_t>(digit);
    }
    if (i == 0) malformed("chunk size \"" + printable(line) + "\" is not hexadecimal");
    while (i < line.size() && is_space(line[i])) ++i;
    if (i < line.size()) {
        // chunk-ext (RFC 9112 §7.1.1): read past, whatever it says.
        if (line[i] != ';') {
            malformed("chunk size followed by \"" + printable(line.substr(i)) + "\"");
        }
        const std::string_view ext = line.substr(i);
        if (ext.find('\r') != npos || ext.find('\0') != npos) {
            malformed("a CR or NUL in a chunk extension");
        }
    }
    if (n == 0) {
        state_ = State::trailer;
        scanned_ = 0;
    } else {
        check_body_size(n);
        remaining_ = n;
        state_ = State::chunk_data;
    }
    return end + 1;
}

std::size_t ResponseReader::put_trailer(const char* data, std::size_t size) {
    std::size_t end = npos;
    if (data[0] == '\n') {
        end = 1;
    } else if (data[0] == '\r') {
        if (size < 2) return 0;
        if (data[1] == '\n') end = 2;
    }
    if (end == npos) end = section_end(data, size, scanned_);
    if (end == npos && size <= limits_.max_header_bytes) return 0;
    if (end == npos || end > limits_.max_header_bytes) {
        malformed("a trailer section longer than max_header_bytes (" +
                  std::to_string(limits_.max_header_bytes) + ")");
    }
    const std::string_view section(data, end);
    check_bytes(section, "trailer section");
    if (!section.empty() && is_space(section.front())) {
        malformed("a continuation line with no trailer field before it");
    }
    parse_fields(section, response_->trailers, false);
    state_ = State::done;
    return end;
}

} // namespace nector::http::detail
