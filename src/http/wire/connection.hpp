// The engine's seam: a connection carries exchanges. HTTP/1.1 connections carry one at a
// time; an HTTP/2 connection carries many concurrent ones behind the same interface. The
// wire room owns the protocols on a connected stream (http1.cpp, http2.cpp side by side);
// it may include codec/ and message/, never dialer/, pool/ or client/.
#pragma once

#include "http/message/body.hpp"
#include "http/message/url.hpp"
#include "nector/http/options.hpp"
#include "nector/http/response.hpp"
#include "nector/transport/headers.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>

#include <chrono>
#include <cstddef>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace nector::http::detail {

/// The rest of a response body, still on its connection (a streamed exchange).
class BodyReader {
public:
    /// Destroyed before the end of the body, it abandons the transfer: an HTTP/1.1
    /// connection is closed, an HTTP/2 stream reset (RST_STREAM CANCEL).
    virtual ~BodyReader() = default;
    /// Appends the next bytes of the body, at most `max`, to `out`; false (nothing
    /// appended) once the body has ended. Throws a nector exception (read timeout, the
    /// connection closed before the end of the body, a reset stream, cancellation).
    virtual boost::asio::awaitable<bool> read(std::string& out, std::size_t max) = 0;
    /// Reads the next bytes of the body into `into` (at least one while the body lasts);
    /// 0 once it has ended. Throws like read(). This one goes through read() and copies; a
    /// protocol that can put the bytes straight into `into` overrides it.
    virtual boost::asio::awaitable<std::size_t> read_into(boost::asio::mutable_buffer into) {
        if (into.size() == 0) co_return 0; // (read() takes at least a byte)
        std::string bytes;
        while (bytes.empty()) {
            if (!co_await read(bytes, into.size())) co_return 0;
        }
        std::memcpy(into.data(), bytes.data(), bytes.size());
        co_return bytes.size();
    }
    /// After the end: whether the connection may carry another exchange.
    virtual bool keep_alive() const noexcept = 0;
    /// After the end: trailer fields (HTTP/2), if any.
    virtual Headers trailers() const { return {}; }
};

/// What the wire needs of a transport's options: the per-phase timeouts and the caps on a
/// response. Made once per transport (WireLimits::of); connections copy what they keep.
struct WireLimits {
    Timeout timeout;                    ///< read and write (inactivity), connect
    std::size_t max_response_bytes = 0; ///< a buffered body's cap
    std::size_t max_header_bytes = 0;   ///< a response head's cap, in bytes
    std::size_t max_header_count = 0;   ///< a response head's cap, in fields
    Http2Settings http2;                ///< HTTP/2 connections only

    static WireLimits of(const Options& o) {
        return {.timeout = o.timeout,
                .max_response_bytes = o.max_response_bytes,
                .max_header_bytes = o.max_header_bytes,
                .max_header_count = o.max_header_count,
                .http2 = o.http2_settings};
    }
};

/// One request and, once exchange() returns, its response.
struct Exchange {
    std::string_view method;
    const Target* target = nullptr;
    const Headers* headers = nullptr; ///< final and validated; Host is added by the connection
    std::string_view body;
    /// Instead of `body`: a body sent piece by piece (files, a producer).
    std::shared_ptr<const UploadBody> upload;
    const WireLimits* limits = nullptr;
    std::string_view context; ///< "METHOD URL", the start of every error message

    Response& response;            ///< the caller's, empty at the start
    bool response_started = false; ///< a response byte arrived (no replay after that)
    bool keep_alive = false;       ///< the connection may carry another exchange
    /// The server did not process the request (HTTP/2 REFUSED_STREAM, or a stream above a
    /// GOAWAY's last stream id): it may be replayed whatever its method (RFC 9113 §8.7).
    bool refused = false;
    /// Streamed: exchange() returns once the response head has arrived and leaves the body
    /// to `body_reader` (unless the response has no body).
    bool stream = false;
    std::unique_ptr<BodyReader> body_reader;
};

class Connection {
public:
    virtual ~Connection() = default;

    /// Performs `ex`. Throws a nector exception naming the phase on failure; the
    /// connection is then closed. Cancellation closes the connection.
    virtual boost::asio::awaitable<void> exchange(Exchange& ex) = 0;
    /// Open and able to start another exchange now.
    virtual bool available() const noexcept = 0;
    /// Checked (once) before an idle connection is reused: false when something arrived
    /// while it was idle (unrequested bytes, or the server's close), so it must be closed.
    virtual bool quiet() noexcept { return true; }
    virtual bool is_open() const noexcept = 0;
    virtual void close() noexcept = 0;
    virtual Version version() const noexcept = 0;
    /// Carries concurrent exchanges (HTTP/2): the pool shares it instead of lending it out,
    /// and a failed exchange does not close it.
    virtual bool multiplexed() const noexcept { return false; }
    /// Exchanges in progress on a multiplexed connection.
    virtual std::size_t in_flight() const noexcept { return 0; }
    /// The peer's limits are known (HTTP/2: its SETTINGS arrived). Until then a multiplexed
    /// connection takes one exchange, and other requests wait for it rather than open more.
    virtual bool negotiated() const noexcept { return true; }

    /// Called (by a multiplexed connection) when it can take more exchanges than before, or
    /// closed itself: its SETTINGS arrived, or it failed. The pool wakes its waiters.
    std::function<void()> on_capacity;
};

} // namespace nector::http::detail
