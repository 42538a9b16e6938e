// ResponseStream: a response whose body is read as it arrives (TDS-4 §5.1 stream_response).
#pragma once

#include "nector/http/response.hpp"
#include "nector/http/stream_text.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/error.hpp>
#include <boost/system/error_code.hpp>

#include <cstddef>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace nector::http {

namespace detail {
class Core;
struct PendingBody;
/// The error code an exception thrown while streaming stands for (eof for none).
boost::system::error_code stream_error_code(const std::exception_ptr& e);
} // namespace detail

/// A response whose status and headers have arrived and whose body is read on demand,
/// chunk by chunk (HTTPTransport::stream_response).
///
/// Backpressure: bytes are read from the network only as the body is read, so a slow
/// reader holds the server back (HTTP/1.1: the socket is not read; HTTP/2: the stream's
/// flow-control window is not reopened). What is buffered stays bounded by a socket read
/// (HTTP/1.1) or Http2Settings::stream_window (HTTP/2).
///
/// Leaving early: destroying the stream before the end abandons the transfer (HTTP/1.1:
/// the connection is closed; HTTP/2: the stream is reset with CANCEL, the connection
/// stays). After the end the connection goes back to the pool.
///
/// Bodies are decoded (gzip, deflate, br, zstd) unless Options::decode_content is false;
/// the decoded size is bounded by Options::max_decoded_bytes.
///
/// The stream is also an Asio AsyncReadStream (async_read_some), so boost::asio::async_read and
/// friends compose with it. Destroy it before the io_context it runs on. Not thread-safe.
class ResponseStream {
public:
    ResponseStream(ResponseStream&&) noexcept;
    ResponseStream& operator=(ResponseStream&&) noexcept;
    ~ResponseStream();

    /// Status, headers, version, URL, history and timings (to the head); the body is empty
    /// (it streams), and trailers appear once the body has ended.
    const Response& response() const noexcept { return head_; }
    int status() const noexcept { return head_.status; }
    const Headers& headers() const noexcept { return head_.headers; }

    /// The next chunk of the body, or nullopt at its end. Throws like request(): a body cut
    /// short is a ConnectionError (connection_closed), a stall past Timeout::read a
    /// ConnectionTimeoutError, a reset HTTP/2 stream a TransportSpecificError.
    boost::asio::awaitable<std::optional<std::string>> next();
    /// Reads the next bytes of the body into `buffer` (at least one while the body lasts);
    /// 0 at its end. Throws like next(). For bulk transfers: with no content decoding, an
    /// HTTP/1.1 body of known length goes from the socket straight into `buffer`, with no
    /// copy (and no allocation, unless Timeout::total is set: each read then races the
    /// call's deadline on a timer of its own); other bodies are copied in. Do not mix it
    /// with lines() or events().
    boost::asio::awaitable<std::size_t> read_some(boost::asio::mutable_buffer buffer);
    /// The rest of the body; TransportSpecificError (body_too_large) beyond
    /// Options::max_response_bytes.
    boost::asio::awaitable<std::string> read_all();
    /// The whole body has been read.
    bool done() const noexcept;

    /// The body's lines, read as they arrive (see LineSplitter: LF or CRLF ends a line, the
    /// terminator is removed, a last line without one is returned too). A line longer than
    /// `max_line` bytes throws TransportSpecificError (body_too_large). Refers to this
    /// stream: use it while the stream lives, and do not mix it with next().
    class Lines {
    public:
        /// The next line, or nullopt at the end of the body.
        boost::asio::awaitable<std::optional<std::string>> next();

    private:
        friend class ResponseStream;
        Lines(ResponseStream& stream, std::size_t max_line)
            : stream_(&stream), splitter_(max_line) {}
        ResponseStream* stream_;
        LineSplitter splitter_;
        std::deque<std::string> ready_;
        bool ended_ = false;
    };
    Lines lines(std::size_t max_line = std::size_t{1} << 20) { return {*this, max_line}; }

    /// The body as a Server-Sent Events stream (text/event-stream, decoded per the WHATWG
    /// rules by SseDecoder). An event or line larger than `max_event_bytes` throws
    /// TransportSpecificError (body_too_large). Refers to this stream, like lines().
    class Events {
    public:
        /// The next event, or nullopt at the end of the body (an unfinished last event is
        /// dropped, as the specification says).
        boost::asio::awaitable<std::optional<ServerSentEvent>> next();
        /// The last event id seen (for a reconnection's Last-Event-ID).
        const std::string& last_event_id() const noexcept { return decoder_.last_event_id(); }

    private:
        friend class ResponseStream;
        Events(ResponseStream& stream, std::size_t max_event_bytes)
            : stream_(&stream), decoder_(max_event_bytes) {}
        ResponseStream* stream_;
        SseDecoder decoder_;
        std::deque<ServerSentEvent> ready_;
        bool ended_ = false;
    };
    Events events(std::size_t max_event_bytes = std::size_t{1} << 20) {
        return {*this, max_event_bytes};
    }

    // AsyncReadStream.
    using executor_type = boost::asio::any_io_executor;
    executor_type get_executor() const noexcept { return executor_; }
    /// Reads some body bytes into `buffers`; completes with (error_code, bytes), with
    /// boost::asio::error::eof at the end of the body. Supports terminal cancellation.
    template <class MutableBufferSequence, class Token>
    auto async_read_some(const MutableBufferSequence& buffers, Token&& token) {
        std::vector<boost::asio::mutable_buffer> spans;
        for (auto it = boost::asio::buffer_sequence_begin(buffers);
             it != boost::asio::buffer_sequence_end(buffers); ++it) {
            spans.emplace_back(*it);
        }
        return boost::asio::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
            [this](auto handler, std::vector<boost::asio::mutable_buffer> b) {
                boost::asio::co_spawn(
                    executor_, read_some_into(std::move(b)),
                    [h = std::move(handler)](const std::exception_ptr& e, std::size_t n) mutable {
                        boost::system::error_code ec;
                        if (e) ec = detail::stream_error_code(e);
                        if (!e && n == 0) ec = boost::asio::error::eof;
                        std::move(h)(ec, n);
                    });
            },
            token, std::move(spans));
    }

private:
    friend class detail::Core; // the one maker: HTTPTransport::stream_response
    ResponseStream(Response head, std::unique_ptr<detail::PendingBody> body,
                   boost::asio::any_io_executor executor);

    /// Body bytes into `buffers` (read_some() into the first non-empty one); 0 at the end of
    /// the body.
    boost::asio::awaitable<std::size_t> read_some_into(
        std::vector<boost::asio::mutable_buffer> buffers);

    Response head_;
    std::unique_ptr<detail::PendingBody> body_;
    boost::asio::any_io_executor executor_;
    std::string buffered_; ///< read from the body but not yet handed out
    std::size_t offset_ = 0;
};

} // namespace nector::http
