// MockTransport<M>: an in-memory transport driven by a handler, for tests of code that
// uses a transport (like httpx's MockTransport). No I/O.
#pragma once

#include "nector/transport/errors.hpp"
#include "nector/transport/protocol.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/json/value.hpp>

#include <cstddef>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

namespace nector {

/// Options of MockTransport, shared by every message type.
struct MockOptions {
    /// When set, connect() throws the exception this code maps to (throw_error), e.g.
    /// errc::connection_refused → ConnectionRefusedError. Default: connect succeeds.
    std::error_code connect_error{};
    /// Most replies held for receive(); a send() whose reply would exceed it throws
    /// TransportSpecificError (queue_full). 0 means no limit. Default 0.
    std::size_t max_pending = 0;
};

/// MockOptions from a JSON object: {"connect_error": "<errc name>" | null,
/// "max_pending": <non-negative integer>}; absent keys keep `defaults`. Throws
/// ConfigurationError naming the key for an unknown key or a bad value.
MockOptions mock_options_from_json(const boost::json::value& config, MockOptions defaults = {});

/// An in-memory Transport<M>. send() hands each message to the handler; a reply the
/// handler returns is queued, and receive() yields queued replies in order (nullopt when
/// none is queued). Messages cross the mock as bytes, serialized and deserialized as a
/// wire would carry them, so a message that cannot be serialized fails here too.
///
/// Errors: send/receive before connect() (or after disconnect()) throw ConnectionError
/// (not_connected); an exception the handler throws propagates from send(), so a test
/// can script failures by throwing, e.g., ConnectionTimeoutError.
/// Not thread-safe: use one transport from one strand or thread.
template <Message M>
class MockTransport {
public:
    using message_type = M;
    using Handler = std::function<std::optional<M>(const M&)>;

    explicit MockTransport(Handler handler, MockOptions options = {})
        : handler_(std::move(handler)), options_(options) {}

    /// Idempotent. Throws per MockOptions::connect_error.
    boost::asio::awaitable<void> connect() {
        if (options_.connect_error) {
            throw_error(options_.connect_error, "MockTransport::connect");
        }
        connected_ = true;
        co_return;
    }

    /// Idempotent. Drops replies not yet received.
    boost::asio::awaitable<void> disconnect() {
        connected_ = false;
        pending_.clear();
        co_return;
    }

    boost::asio::awaitable<void> send(M message) {
        require_connected("send");
        M delivered = M::deserialize(message.serialize());
        std::optional<M> reply = handler_ ? handler_(delivered) : std::nullopt;
        sent_.push_back(std::move(delivered));
        if (reply) {
            if (options_.max_pending != 0 && pending_.size() >= options_.max_pending) {
                throw TransportSpecificError(
                    errc::queue_full, "MockTransport::send: " + std::to_string(pending_.size()) +
                                          " replies already pending (max_pending)");
            }
            pending_.push_back(reply->serialize());
        }
        co_return;
    }

    boost::asio::awaitable<std::optional<M>> receive() {
        require_connected("receive");
        if (pending_.empty()) co_return std::nullopt;
        Bytes bytes = std::move(pending_.front());
        pending_.pop_front();
        co_return M::deserialize(bytes);
    }

    bool is_connected() const noexcept { return connected_; }
    /// Every message send() delivered to the handler, in order.
    const std::vector<M>& sent() const noexcept { return sent_; }
    /// Replies waiting for receive().
    std::size_t pending() const noexcept { return pending_.size(); }

private:
    void require_connected(const char* operation) const {
        if (!connected_) {
            throw ConnectionError(errc::not_connected, std::string("MockTransport::") + operation);
        }
    }

    Handler handler_;
    MockOptions options_;
    bool connected_ = false;
    std::deque<Bytes> pending_;
    std::vector<M> sent_;
};

/// Makes MockTransports sharing one handler (TransportFactory).
template <Message M>
class MockTransportFactory {
public:
    using message_type = M;
    using transport_type = MockTransport<M>;

    explicit MockTransportFactory(typename MockTransport<M>::Handler handler,
                                  MockOptions defaults = {})
        : handler_(std::move(handler)), defaults_(defaults) {}

    MockTransport<M> create_transport() const { return MockTransport<M>(handler_, defaults_); }
    /// `config` as for mock_options_from_json, over this factory's defaults.
    MockTransport<M> create_transport(const boost::json::value& config) const {
        return MockTransport<M>(handler_, mock_options_from_json(config, defaults_));
    }

private:
    typename MockTransport<M>::Handler handler_;
    MockOptions defaults_;
};

} // namespace nector
