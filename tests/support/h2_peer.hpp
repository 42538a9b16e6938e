// A raw-frame HTTP/2 server side for hostile-server tests: it speaks HTTP/2 by hand over a
// TestConnection (plain or TLS with ALPN "h2"), so a test can send what nghttp2's server API
// will not: malformed frames, a header block that never ends, floods, a window overflow, a
// reused stream id, DATA on a closed stream, a reset in the middle of a frame.
//
// HPACK blocks are built from literal fields without indexing and without Huffman coding, so a
// test spells every byte it sends.
#pragma once

#include "support/test_server.hpp"

#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace nector::test::h2 {

/// Frame types (RFC 9113 §6).
enum Type : std::uint8_t {
    data = 0x0,
    headers = 0x1,
    priority = 0x2,
    rst_stream = 0x3,
    settings = 0x4,
    push_promise = 0x5,
    ping = 0x6,
    goaway = 0x7,
    window_update = 0x8,
    continuation = 0x9,
};

/// Frame flags.
enum Flag : std::uint8_t {
    end_stream = 0x1,
    ack = 0x1,
    end_headers = 0x4,
    padded = 0x8,
};

/// One frame as received.
struct Frame {
    std::uint8_t type = 0;
    std::uint8_t flags = 0;
    std::uint32_t stream = 0;
    std::string payload;
};

using Fields = std::vector<std::pair<std::string, std::string>>;

/// A frame header announcing `length` payload bytes (the payload is not included).
std::string frame_header(std::uint32_t length, std::uint8_t type, std::uint8_t flags,
                         std::uint32_t stream);

/// A whole frame: its header (length from `payload`) and `payload`.
std::string frame(std::uint8_t type, std::uint8_t flags, std::uint32_t stream,
                  std::string_view payload = {});

/// An HPACK block of literal fields (never indexed, no Huffman), in order.
std::string hpack(const Fields& fields);

/// A HEADERS frame of `fields` (":status" first when a response), END_HEADERS set.
std::string headers_frame(std::uint32_t stream, const Fields& fields, bool end_of_stream);

/// A SETTINGS frame with the given (identifier, value) pairs.
std::string settings_frame(const std::vector<std::pair<std::uint16_t, std::uint32_t>>& values = {});

/// WINDOW_UPDATE of `increment` on `stream` (0: the connection).
std::string window_update_frame(std::uint32_t stream, std::uint32_t increment);

/// GOAWAY with `last_stream` and `error`.
std::string goaway_frame(std::uint32_t last_stream, std::uint32_t error);

/// A PING with eight bytes of `opaque`.
std::string ping_frame(std::uint64_t opaque, bool is_ack = false);

/// The server side of one HTTP/2 connection, driven by a test's handler coroutine.
///
/// GCC 12: name a co_await result before testing it (see TestServer::Handler).
class Peer {
public:
    explicit Peer(TestConnection& connection) : connection_(connection) {}

    /// Reads the client's connection preface, then sends the server's SETTINGS (empty).
    /// Throws std::runtime_error when the preface is wrong or missing.
    boost::asio::awaitable<void> open();

    /// The next whole frame from the client, or nullopt at the end of the stream (a reset or
    /// a TLS stream cut short also end it).
    boost::asio::awaitable<std::optional<Frame>> next();

    /// Reads frames until one request has arrived whole (its HEADERS and, unless they ended
    /// the stream, DATA up to END_STREAM); acknowledges the client's SETTINGS on the way.
    /// Returns the request's stream id, or 0 when the client ended the connection first.
    boost::asio::awaitable<std::uint32_t> read_request();

    /// Reads and drops frames until the client ends the connection; returns the GOAWAY the
    /// client sent on the way, if any (its error code).
    boost::asio::awaitable<std::optional<std::uint32_t>> read_until_closed();

    /// Writes `bytes` as given. Throws boost::system::system_error when the client has gone.
    boost::asio::awaitable<void> send(std::string bytes);

    /// Frames read so far, in order (SETTINGS, HEADERS, ... GOAWAY).
    const std::vector<Frame>& received() const { return received_; }

private:
    TestConnection& connection_;
    std::string buffer_;
    std::vector<Frame> received_;
};

} // namespace nector::test::h2
