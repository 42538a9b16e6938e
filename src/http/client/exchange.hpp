// What the layers of one call hand each other (docs/architecture.md): the prepared request
// going down, the call's state beside it, and what comes back up, an Exchanged, which holds
// the response or the error that ended the attempt and, for a streamed call, the body still
// on its connection. Part of the client room.
#pragma once

#include "http/message/body.hpp"
#include "http/message/url.hpp"
#include "http/pool/pool.hpp"
#include "nector/http/message.hpp"
#include "nector/http/response.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <exception>
#include <memory>
#include <optional>
#include <string>

namespace nector::http::detail {

class ContentDecoder;

/// An operation's result or its exception, as a value: what races a timer with Asio's ||,
/// which waits for the first operation to *succeed* (one that throws must not win).
template <class Result>
struct Outcome {
    std::optional<Result> result;
    std::exception_ptr error;
};

template <class Result>
boost::asio::awaitable<Outcome<Result>> outcome_of(boost::asio::awaitable<Result> operation) {
    Outcome<Result> outcome;
    try {
        outcome.result = co_await std::move(operation);
    } catch (...) {
        outcome.error = std::current_exception();
    }
    co_return outcome;
}

/// A request ready for the wire: validated, URL resolved, headers merged, body encoded.
struct Prepared {
    std::string method;
    Target target;
    /// The headers to send: the transport's merged defaults themselves (no copy) until the
    /// request adds or changes one, then its own.
    const Headers& headers() const noexcept { return own_headers ? *own_headers : *defaults; }
    Headers& mutable_headers() {
        if (!own_headers) own_headers = *defaults;
        return *own_headers;
    }
    const Headers* defaults = nullptr;
    std::optional<Headers> own_headers;
    std::string body;
    std::shared_ptr<const UploadBody> upload; ///< instead of `body`: sent piece by piece
    std::string context;                      ///< "METHOD URL" for messages
};

/// One call's state, kept by its outermost frame and read by the layers below.
struct CallState {
    /// The response of the call's latest exchange, written by the attempt layer. It lives
    /// here, in the call's frame, rather than in each Exchanged: an attempt's coroutine
    /// frame then stays small enough for Asio's frame recycling (frames over 1020 bytes are
    /// allocated and freed each time: about 440 instructions a request, measured).
    /// Holds the transport's engine (and so its pool) while a streamed body is out.
    Response response;
    std::shared_ptr<const void> owner;
    std::chrono::steady_clock::time_point started;
    std::size_t attempts = 0;
    int status = 0;      ///< of the last response, 0 if none
    bool stream = false; ///< a final response's body is left on its connection
    bool hedge = false;  ///< a hedged attempt's: on a connection of its own
    std::string context; ///< "METHOD URL", once prepared
};

/// The body of a streamed response, still on its connection: its lease, the connection's
/// reader and the content decoder. Destroyed before the end, it abandons the transfer.
struct PendingBody {
    PendingBody(std::shared_ptr<const void> owner, Lease lease, std::unique_ptr<BodyReader> reader,
                std::unique_ptr<ContentDecoder> decoder, std::string context,
                std::size_t max_response_bytes);
    ~PendingBody();
    PendingBody(const PendingBody&) = delete;
    PendingBody& operator=(const PendingBody&) = delete;

    /// The next decoded bytes (at most about `max`), or nullopt at the end of the body.
    boost::asio::awaitable<std::optional<std::string>> next(std::size_t max);
    /// With no content decoder: the next bytes of the body straight into `into` (at least
    /// one while the body lasts), 0 at its end.
    boost::asio::awaitable<std::size_t> read_into(boost::asio::mutable_buffer into);

    std::shared_ptr<const void> owner; ///< keeps the pool the lease points into
    Lease lease;
    std::unique_ptr<BodyReader> reader;
    std::unique_ptr<ContentDecoder> decoder;
    std::string context;
    std::size_t max_response_bytes; ///< the bound of read_all()
    Headers trailers;               ///< once ended
    bool ended = false;
    /// Timeout::total's end for the call this body belongs to (set by the deadline layer):
    /// each read races it and loses with total_timeout. None without a total timeout.
    std::optional<std::chrono::steady_clock::time_point> deadline;
    Duration total{}; ///< Timeout::total, for the message

private:
    /// `read` (of the reader), racing the deadline.
    template <class T>
    boost::asio::awaitable<T> before_deadline(boost::asio::awaitable<T> read);
    /// After the last byte: the trailers, and the connection back to the pool.
    void end() noexcept;
};

/// What an attempt (and each layer above it) hands up: how it ended (a response, now in
/// CallState::response, or the transport error that ended it) and, for a streamed call's
/// final response, its body.
struct Exchanged {
    std::unique_ptr<PendingBody> body;
    std::exception_ptr error; ///< null: the attempt got a response
    bool sent = false;        ///< a request byte may have reached a server

    bool responded() const noexcept { return !error; }
};

/// A streamed call's result: the head, and the body left on its connection (null when the
/// body came whole: no body, or one read to be retried or redirected).
struct Streamed {
    Response head;
    std::unique_ptr<PendingBody> body;
};

} // namespace nector::http::detail
