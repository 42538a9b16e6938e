// The HTTP/1.1 response reader on its own: every case of tests/support/h1_cases.hpp fed
// whole, a byte at a time, and in odd pieces with a small body room (as a streamed body
// reads), each giving the one expected reading or refusal.
#include "http/wire/response_reader.hpp"
#include "support/h1_cases.hpp"

#include <nector/transport/errors.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <limits>
#include <string>

namespace nector::test {
namespace {

using http::Response;
using http::detail::ReaderLimits;
using http::detail::ResponseReader;

struct Outcome {
    std::optional<errc> error;
    std::string message;
    Response response;
    bool keep_alive = false;
    std::size_t leftover = 0; ///< bytes after the end of the response, never used
};

/// Feeds `bytes` in pieces of `piece` bytes, the body room `room` a call, as a connection
/// does: what the reader does not use stays pending and is offered again with the next piece.
Outcome read(std::string_view bytes, bool head, std::size_t piece, std::size_t room,
             ReaderLimits limits = {.max_header_bytes = 65536, .max_header_count = 256}) {
    Outcome out;
    ResponseReader reader(out.response, head, limits, "GET http://example.test/");
    std::string pending;
    std::size_t fed = 0;
    try {
        for (;;) {
            for (;;) {
                const std::size_t used =
                    reader.put(pending.data(), pending.size(), out.response.body, room);
                EXPECT_LE(used, pending.size());
                pending.erase(0, used);
                if (used == 0 || reader.done()) break;
            }
            if (reader.done()) break;
            if (fed == bytes.size()) {
                reader.put_eof();
                break;
            }
            const std::size_t n = std::min(piece, bytes.size() - fed);
            pending.append(bytes.substr(fed, n));
            fed += n;
        }
        out.keep_alive = reader.keep_alive();
    } catch (const TransportError& e) {
        out.error = static_cast<errc>(e.code().value());
        out.message = e.what();
    }
    out.leftover = pending.size() + (bytes.size() - fed);
    return out;
}

void expect_case(const H1Case& c, const Outcome& o, const std::string& mode) {
    SCOPED_TRACE(c.name + ", " + mode);
    if (c.error) {
        ASSERT_TRUE(o.error) << "read as " << o.response.status << " with body \""
                             << o.response.body << "\"";
        EXPECT_EQ(*o.error, *c.error) << o.message;
        EXPECT_NE(o.message.find(c.says), std::string::npos) << o.message;
        EXPECT_EQ(o.message.rfind("GET http://example.test/: reading the response", 0), 0u)
            << o.message;
        return;
    }
    ASSERT_FALSE(o.error) << o.message;
    expect_reading(c, o.response);
    EXPECT_EQ(o.keep_alive, c.keep_alive);
    EXPECT_EQ(o.leftover, 0u);
}

class ResponseReaderCases : public ::testing::TestWithParam<H1Case> {};

TEST_P(ResponseReaderCases, OneReadingInPiecesOfAnySize) {
    const H1Case& c = GetParam();
    constexpr std::size_t all = std::numeric_limits<std::size_t>::max();
    expect_case(c, read(c.bytes, c.head, all, all), "whole");
    expect_case(c, read(c.bytes, c.head, 1, all), "a byte at a time");
    expect_case(c, read(c.bytes, c.head, 7, 3), "7-byte pieces, 3 body bytes a call");
    expect_case(c, read(c.bytes, c.head, 4096, 1), "4 KiB pieces, 1 body byte a call");
}

INSTANTIATE_TEST_SUITE_P(Http1, ResponseReaderCases, ::testing::ValuesIn(h1_cases()),
                         [](const auto& p) { return p.param.name; });

constexpr std::size_t all = std::numeric_limits<std::size_t>::max();

TEST(ResponseReader, BytesAfterTheResponseAreNeverUsed) {
    const Outcome o =
        read("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\n\r\nforged", false,
             all, all);
    ASSERT_FALSE(o.error) << o.message;
    EXPECT_EQ(o.response.body, "ok");
    EXPECT_EQ(o.leftover, 25u);
    const Outcome head = read("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", true, 1, all);
    EXPECT_EQ(head.response.body, "");
    EXPECT_EQ(head.leftover, 2u); // the connection closes these (http1.cpp)
}

TEST(ResponseReader, BodiesOverTheCapAreRefusedAsTheyAnnounceOrArrive) {
    const ReaderLimits limits{.max_header_bytes = 65536, .max_header_count = 256, .max_body = 4};
    for (const std::string_view bytes :
         {"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n",
          "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\n",
          "HTTP/1.1 200 OK\r\n\r\nhello"}) {
        const Outcome o = read(bytes, false, 1, all, limits);
        ASSERT_TRUE(o.error) << bytes;
        EXPECT_EQ(*o.error, errc::body_too_large);
        EXPECT_NE(o.message.find("max_response_bytes (4)"), std::string::npos) << o.message;
    }
    EXPECT_FALSE(
        read("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nfour", false, 1, all, limits).error);
}

TEST(ResponseReader, HeadAndChunkLinesAreBoundedWhateverTheyArriveIn) {
    const ReaderLimits limits{.max_header_bytes = 64, .max_header_count = 2};
    // A head that never ends is refused once it passes the cap, not when it ends.
    const std::string endless = "HTTP/1.1 200 OK\r\nX-A: " + std::string(100, 'a');
    const Outcome o = read(endless, false, 1, all, limits);
    ASSERT_TRUE(o.error);
    EXPECT_NE(o.message.find("max_header_bytes (64)"), std::string::npos) << o.message;
    EXPECT_GT(o.leftover, 0u); // refused before the last byte arrived
    const Outcome chunk =
        read("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;" + std::string(100, 'x'),
             false, 1, all, limits);
    ASSERT_TRUE(chunk.error);
    EXPECT_NE(chunk.message.find("a chunk-size line longer than max_header_bytes"),
              std::string::npos)
        << chunk.message;
    const Outcome trailer = read(
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n",
        false, 1, all, limits);
    ASSERT_TRUE(trailer.error);
    EXPECT_NE(trailer.message.find("max_header_count (2)"), std::string::npos) << trailer.message;
}

TEST(ResponseReader, ServerTextInMessagesIsEscaped) {
    const Outcome o = read("HTTP/1.1 200 OK\r\nX\x01\x7f\"\xff: v\r\n\r\n", false, all, all);
    ASSERT_TRUE(o.error);
    EXPECT_NE(o.message.find(R"(header field name "X\x01\x7F\"\xFF" is not a token)"),
              std::string::npos)
        << o.message;
}

TEST(ResponseReader, EveryLengthThatFitsIn64BitsIsALength) {
    const Outcome largest =
        read("HTTP/1.1 200 OK\r\nContent-Length: 18446744073709551615\r\n\r\nab", false, all, all);
    ASSERT_TRUE(largest.error);
    EXPECT_EQ(*largest.error, errc::connection_closed) << largest.message; // cut short
    EXPECT_EQ(largest.response.body, "ab");
    const Outcome over =
        read("HTTP/1.1 200 OK\r\nContent-Length: 18446744073709551616\r\n\r\nab", false, all, all);
    ASSERT_TRUE(over.error);
    EXPECT_EQ(*over.error, errc::protocol_error);
    EXPECT_NE(over.message.find("is not a length"), std::string::npos) << over.message;
}

TEST(ResponseReader, LengthBodiesCanBeReadPastTheReader) {
    Response r;
    const ReaderLimits limits{.max_header_bytes = 1024, .max_header_count = 8};
    ResponseReader reader(r, false, limits, "GET /");
    const std::string_view head = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nab";
    std::string body;
    EXPECT_EQ(reader.put(head.data(), head.size(), body, all), head.size());
    EXPECT_EQ(body, "ab");
    EXPECT_EQ(reader.length_remaining(), 8u);
    reader.skipped(5);
    EXPECT_EQ(reader.length_remaining(), 3u);
    EXPECT_FALSE(reader.done());
    reader.skipped(3);
    EXPECT_TRUE(reader.done());
    EXPECT_TRUE(reader.keep_alive());
}

} // namespace
} // namespace nector::test
