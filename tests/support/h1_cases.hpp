// HTTP/1.1 responses as field servers send them, each with what nector must make of it: the
// one reading of the bytes, or a refusal. docs/conformance.md is the table in words; the
// unit tests feed these to the response reader in pieces of every size, the integration
// tests serve them over TCP and TLS to request() and stream_response(), and the fuzz seed
// corpus (fuzz/corpus/http1_response) starts from them.
#pragma once

#include <nector/http/response.hpp>
#include <nector/transport/errors.hpp>

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace nector::test {

struct H1Case {
    std::string name;
    std::string bytes; ///< what the server sends, after which it closes the connection
    bool head = false; ///< the request is HEAD
    // Expected: an error (its code and a part of its message), or the response.
    std::optional<errc> error;
    std::string says;
    int status = 200;
    std::string reason = "OK";
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;  ///< present, with these values
    std::vector<std::string> absent;                           ///< header names not present
    std::vector<std::pair<std::string, std::string>> trailers; ///< exactly these
    bool keep_alive = true; ///< the connection could carry another exchange
};

inline H1Case accept(std::string name, std::string bytes, std::string body) {
    return {.name = std::move(name), .bytes = std::move(bytes), .body = std::move(body)};
}

inline H1Case refuse(std::string name, std::string bytes, std::string says,
                     errc code = errc::protocol_error) {
    return {
        .name = std::move(name), .bytes = std::move(bytes), .error = code, .says = std::move(says)};
}

inline std::vector<H1Case> h1_cases() {
    using namespace std::string_literals;
    const std::string ok = "HTTP/1.1 200 OK\r\n";
    const std::string chunked = ok + "Transfer-Encoding: chunked\r\n\r\n";
    std::vector<H1Case> c;
    auto add = [&c](H1Case x) -> H1Case& { return c.emplace_back(std::move(x)); };

    // --- accepted: one reading only ---------------------------------------------------------
    add(accept("crlf", ok + "Content-Length: 5\r\n\r\nhello", "hello"));
    add(accept("bare_lf", "HTTP/1.1 200 OK\nContent-Length: 5\nX-A: b\n\nhello", "hello"))
        .headers = {{"X-A", "b"}};
    add(accept("mixed_crlf_and_lf", "HTTP/1.1 200 OK\nContent-Length: 5\r\nX-A: b\n\r\nhello",
               "hello"));
    {
        auto& x = add(
            accept("no_reason_with_space", "HTTP/1.1 200 \r\nContent-Length: 2\r\n\r\nok", "ok"));
        x.reason = "";
    }
    {
        auto& x =
            add(accept("no_reason_no_space", "HTTP/1.1 200\r\nContent-Length: 2\r\n\r\nok", "ok"));
        x.reason = "";
    }
    {
        auto& x = add(accept("reason_obs_text",
                             "HTTP/1.1 200 \xc3\x87"
                             "a va \xff!\r\nContent-Length: 2\r\n\r\nok",
                             "ok"));
        x.reason =
            "\xc3\x87"
            "a va \xff!";
    }
    {
        auto& x = add(
            accept("status_unregistered", "HTTP/1.1 299 Odd\r\nContent-Length: 2\r\n\r\nok", "ok"));
        x.status = 299;
        x.reason = "Odd";
    }
    add(accept("chunked", chunked + "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", "hello world"))
        .absent = {"Content-Length"};
    add(accept("chunked_bare_lf",
               "HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n\n5\nhello\n6\n world\n0\n\n",
               "hello world"));
    add(accept("chunked_mixed_line_ends", chunked + "5\nhello\r\n6\r\n world\n0\n\r\n",
               "hello world"));
    add(accept("chunk_extensions",
               chunked + "5;name=value\r\nhello\r\n6 ; a ; b=\"q;u \\\"o\\\" ted\"\r\n world\r\n"
                         "0;last\r\n\r\n",
               "hello world"));
    add(accept("chunk_extensions_bare_lf", chunked + "5;x=1\nhello\n0;y\n\n", "hello"));
    add(accept("chunk_size_hex_and_zeros",
               chunked + "000A\r\n0123456789\r\n0000000000000000000001\r\n!\r\n0\r\n\r\n",
               "0123456789!"));
    add(accept("chunk_size_then_space", chunked + "5 \r\nhello\r\n0\r\n\r\n", "hello"));
    {
        auto& x =
            add(accept("trailers_kept_apart",
                       chunked + "5\r\nhello\r\n0\r\nX-Sum: 42\r\nX-Other:  b \r\n\r\n", "hello"));
        x.trailers = {{"X-Sum", "42"}, {"X-Other", "b"}};
        x.absent = {"X-Sum"};
    }
    add(accept("trailers_bare_lf", chunked + "5\nhello\n0\nX-Sum: 42\n\n", "hello")).trailers = {
        {"X-Sum", "42"}};
    add(accept("te_chunked_twice_in_a_list",
               ok + "Transfer-Encoding: chunked, chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", "hello"));
    add(accept("te_chunked_in_two_fields",
               ok + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"
                    "5\r\nhello\r\n0\r\n\r\n",
               "hello"));
    add(accept("te_case_and_identity",
               ok + "Transfer-Encoding: identity, Chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
               "hello"));
    add(accept("interim_100", "HTTP/1.1 100 Continue\r\n\r\n" + ok + "Content-Length: 2\r\n\r\nok",
               "ok"));
    {
        auto& x = add(accept("interim_102_103_100",
                             "HTTP/1.1 102 Processing\r\n\r\n"
                             "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n"
                             "HTTP/1.1 100 Continue\nX-I: 1\n\n" +
                                 ok + "Content-Length: 2\r\n\r\nok",
                             "ok"));
        x.absent = {"Link", "X-I"};
    }
    {
        auto& x = add(accept("no_content_204_with_length",
                             "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n", ""));
        x.status = 204;
        x.reason = "No Content";
    }
    {
        auto& x =
            add(accept("not_modified_304_with_chunked",
                       "HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n", ""));
        x.status = 304;
        x.reason = "Not Modified";
    }
    {
        auto& x = add(accept("head_with_length", ok + "Content-Length: 5\r\n\r\n", ""));
        x.head = true;
        x.headers = {{"Content-Length", "5"}};
    }
    add(accept("head_with_chunked", chunked, "")).head = true;
    add(accept("head_with_length_and_chunked",
               ok + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", ""))
        .head = true;
    add(accept("values_trimmed_and_empty",
               ok + "X-A: \t  v w \t\r\nX-Empty:\r\nX-Spaces:   \r\nContent-Length: 0\r\n\r\n", ""))
        .headers = {{"X-A", "v w"}, {"X-Empty", ""}, {"X-Spaces", ""}};
    add(accept("token_names", ok + "X-!#$%&'*+.^_`|~9: t\r\nContent-Length: 0\r\n\r\n", ""))
        .headers = {{"X-!#$%&'*+.^_`|~9", "t"}};
    add(accept("obs_fold_unfolded", ok + "X-Fold: a\r\n  b\r\n\tc\r\nContent-Length: 2\r\n\r\nok",
               "ok"))
        .headers = {{"X-Fold", "a b c"}};
    add(accept("equal_content_lengths", ok + "Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello",
               "hello"));
    add(accept("equal_content_lengths_in_a_list", ok + "Content-Length: 5, 005\r\n\r\nhello",
               "hello"));
    add(accept("content_length_zero", ok + "Content-Length: 0\r\n\r\n", ""));
    {
        auto& x =
            add(accept("http10_until_close", "HTTP/1.0 200 OK\r\nX-A: b\r\n\r\nhello", "hello"));
        x.keep_alive = false;
    }
    add(accept("http11_until_close", ok + "X-A: b\r\n\r\nhello\r\n0\r\n\r\n", "hello\r\n0\r\n\r\n"))
        .keep_alive = false;
    add(accept("connection_close",
               ok + "Connection: Keep-Alive, close\r\nContent-Length: 2\r\n\r\nok", "ok"))
        .keep_alive = false;
    add(accept("http10_keep_alive",
               "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok", "ok"));
    add(accept("http10_chunked_decoded_not_reused",
               "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n"
               "2\r\nok\r\n0\r\n\r\n",
               "ok"))
        .keep_alive = false;
    {
        std::string big_chunks;
        std::string big_body;
        for (int i = 0; i < 200; ++i) {
            const std::string piece(static_cast<std::size_t>(97 + i * 13),
                                    static_cast<char>('a' + i % 26));
            char size[16];
            std::snprintf(size, sizeof size, "%zx", piece.size());
            big_chunks += size + "\r\n"s + piece + "\r\n";
            big_body += piece;
        }
        add(accept("many_chunks", chunked + big_chunks + "0\r\n\r\n", big_body));
    }

    // --- refused: two readings possible, or not HTTP/1.x -------------------------------------
    add(refuse(
        "length_and_chunked",
        ok + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        "Content-Length and Transfer-Encoding together"));
    add(refuse("length_and_gzip_coding",
               ok + "Transfer-Encoding: gzip\r\nContent-Length: 5\r\n\r\nhello",
               "Content-Length and Transfer-Encoding together"));
    add(refuse("unknown_coding", ok + "Transfer-Encoding: foo, chunked\r\n\r\n0\r\n\r\n",
               "transfer coding \"foo\" is not supported"));
    add(refuse("gzip_coding_alone", ok + "Transfer-Encoding: gzip\r\n\r\nhello",
               "transfer coding \"gzip\" is not supported"));
    add(refuse("different_lengths", ok + "Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
               "two different Content-Length values"));
    add(refuse("different_lengths_in_a_list", ok + "Content-Length: 5, 6\r\n\r\nhello!",
               "two different Content-Length values"));
    add(refuse("length_not_a_number", ok + "Content-Length: five\r\n\r\nhello",
               "Content-Length \"five\" is not a length"));
    add(refuse("length_signed", ok + "Content-Length: +5\r\n\r\nhello", "is not a length"));
    add(refuse("length_with_inner_space", ok + "Content-Length: 5 5\r\n\r\nhello",
               "is not a length"));
    add(refuse("length_empty", ok + "Content-Length:\r\n\r\nhello", "is not a length"));
    add(refuse("length_overflows", ok + "Content-Length: 99999999999999999999999\r\n\r\nhello",
               "is not a length"));
    add(refuse("cr_without_lf_in_a_field", ok + "X-A: a\rb\r\nContent-Length: 0\r\n\r\n",
               "a CR not followed by LF"));
    add(refuse("cr_without_lf_ending_a_line", ok + "X-A: a\rContent-Length: 0\r\n\r\n",
               "a CR not followed by LF"));
    add(refuse("cr_in_status_line", "HTTP/1.1 200 O\rK\r\nContent-Length: 0\r\n\r\n",
               "a CR not followed by LF"));
    add(refuse("nul_in_a_value", ok + "X-A: a\0b\r\nContent-Length: 0\r\n\r\n"s,
               "a NUL byte in the response head"));
    add(refuse("space_before_colon", ok + "Content-Length : 5\r\n\r\nhello",
               "header field name \"Content-Length \" is not a token"));
    add(refuse("no_colon", ok + "Content-Length 5\r\n\r\nhello", "a header line without a colon"));
    add(refuse("empty_name", ok + ": x\r\nContent-Length: 0\r\n\r\n", "is not a token"));
    add(refuse("fold_before_first_field", ok + " X-A: b\r\nContent-Length: 0\r\n\r\n",
               "whitespace before the first header field"));
    add(refuse("chunk_size_not_hex", chunked + "zz\r\nhello\r\n0\r\n\r\n",
               "chunk size \"zz\" is not hexadecimal"));
    add(refuse("chunk_size_empty", chunked + "\r\nhello\r\n0\r\n\r\n", "is not hexadecimal"));
    add(refuse("chunk_size_negative", chunked + "-5\r\nhello\r\n0\r\n\r\n", "is not hexadecimal"));
    add(refuse("chunk_size_overflows", chunked + "10000000000000000\r\nhello\r\n0\r\n\r\n",
               "a chunk size that overflows 64 bits"));
    add(refuse("chunk_size_garbage", chunked + "5 x\r\nhello\r\n0\r\n\r\n",
               "chunk size followed by \"x\""));
    add(refuse("chunk_size_0x", chunked + "0x5\r\nhello\r\n0\r\n\r\n", "chunk size followed by"));
    add(refuse("chunk_data_too_long", chunked + "5\r\nhello!\r\n0\r\n\r\n",
               "chunk data is not followed by a line end"));
    add(refuse("chunk_data_bare_cr", chunked + "5\r\nhello\rX0\r\n\r\n",
               "a CR not followed by LF after chunk data"));
    add(refuse("chunk_extension_with_cr", chunked + "5;a=\rb\r\nhello\r\n0\r\n\r\n",
               "a CR or NUL in a chunk extension"));
    add(refuse("trailer_not_a_field", chunked + "5\r\nhello\r\n0\r\nnot a field\r\n\r\n",
               "a header line without a colon"));
    add(refuse("trailer_garbage", chunked + "5\r\nhello\r\n0\r\n\x01\x02\r\n\r\n"s,
               "a header line without a colon"));
    add(refuse("version_1_2", "HTTP/1.2 200 OK\r\nContent-Length: 0\r\n\r\n",
               "HTTP version \"HTTP/1.2\""));
    add(refuse("version_2", "HTTP/2 200 OK\r\nContent-Length: 0\r\n\r\n",
               "HTTP version \"HTTP/2\""));
    add(refuse("version_lower_case", "http/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
               "no status line"));
    add(refuse("http09_body", "<html>hello</html>", "no status line"));
    add(refuse("status_two_digits", "HTTP/1.1 20 OK\r\nContent-Length: 0\r\n\r\n",
               "status code \"20\" is not three digits"));
    add(refuse("status_four_digits", "HTTP/1.1 2000 OK\r\nContent-Length: 0\r\n\r\n",
               "status code \"2000\" is not three digits"));
    add(refuse("status_glued_to_reason", "HTTP/1.1 200OK\r\nContent-Length: 0\r\n\r\n",
               "is not three digits"));
    add(refuse("status_below_100", "HTTP/1.1 099 Low\r\nContent-Length: 0\r\n\r\n",
               "status code 099 is below 100"));
    add(refuse("no_status_code", "HTTP/1.1\r\nContent-Length: 0\r\n\r\n", "is not three digits"));
    add(refuse("head_too_large", ok + "X-Big: " + std::string(70000, 'b') + "\r\n\r\n",
               "the response head exceeds max_header_bytes (65536)"));
    {
        std::string many = ok;
        for (int i = 0; i < 300; ++i) many += "X-" + std::to_string(i) + ": v\r\n";
        add(refuse("too_many_fields", many + "Content-Length: 0\r\n\r\n",
                   "more header fields than max_header_count (256)"));
    }
    {
        std::string flood;
        for (int i = 0; i < 101; ++i) flood += "HTTP/1.1 100 Continue\r\n\r\n";
        add(refuse("interim_flood", flood + ok + "Content-Length: 0\r\n\r\n",
                   "more than 100 interim (1xx) responses"));
    }

    // --- cut short by the close: never a short success --------------------------------------
    add(refuse("length_body_cut", ok + "Content-Length: 10\r\n\r\nhello",
               "before the end of the body", errc::connection_closed));
    add(refuse("chunked_body_cut", chunked + "5\r\nhello\r\n6\r\n wo", "before the end of the body",
               errc::connection_closed));
    add(refuse("chunked_without_last_chunk", chunked + "5\r\nhello\r\n",
               "before the end of the body", errc::connection_closed));
    add(refuse("trailer_cut", chunked + "5\r\nhello\r\n0\r\nX-Sum: 4", "before the end of the body",
               errc::connection_closed));
    add(refuse("head_cut", ok + "Content-Length: 5\r\n", "before the end of the response head",
               errc::connection_closed));
    add(refuse("nothing", "", "the server closed the connection", errc::connection_closed));
    return c;
}

/// Checks that `r` is the reading `c` expects (an accepted case).
inline void expect_reading(const H1Case& c, const http::Response& r) {
    EXPECT_EQ(r.status, c.status);
    EXPECT_EQ(r.reason, c.reason);
    EXPECT_EQ(r.body, c.body);
    for (const auto& [name, value] : c.headers) EXPECT_EQ(r.headers.get(name), value);
    for (const auto& name : c.absent) EXPECT_FALSE(r.headers.contains(name)) << name;
    Headers trailers;
    for (const auto& [name, value] : c.trailers) trailers.add(name, value);
    EXPECT_EQ(r.trailers, trailers);
}

} // namespace nector::test
