// Interceptors: layers of the user's own in a transport's stack (as OkHttp's interceptors
// and tower's layers), and the mock handler that answers in place of the network (as httpx's
// MockTransport). docs/blocking-and-interceptors.md and docs/testing.md say more.
#pragma once

#include "nector/http/message.hpp"
#include "nector/http/response.hpp"
#include "nector/transport/headers.hpp"

#include <boost/asio/awaitable.hpp>

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

namespace nector::http {

namespace detail {
struct InterceptChain;
} // namespace detail

/// A request as it goes to the wire: its URL resolved against base_url (credentials
/// removed), its headers merged with the transport's defaults (Authorization, Cookie and
/// Digest answers included; Host, Content-Length and Transfer-Encoding are the wire's own),
/// its body encoded.
struct InterceptedRequest {
    std::string method;
    std::string url;
    /// What is sent: an interceptor may add, change or remove fields (a signature, a
    /// trace id). A field the wire owns is refused as a request's own would be.
    Headers headers;
    /// The encoded body (JSON, form, multipart or content); empty when there is none or
    /// when it streams from a file or a producer (then `streamed_body` is set).
    std::string body;
    bool streamed_body = false;
};

/// The layers below an interceptor: the next interceptor, then the wire (or the mock
/// handler). Calling it sends the request and returns the response to it, whatever its
/// status (the status errors are thrown above every interceptor); a transport error (a
/// refused connection, a timeout, a malformed response) is thrown. It may be called more
/// than once (a retry of one's own): each call is a new exchange, and the response of an
/// earlier call is then final (for a streamed call, its body is dropped).
class Next {
public:
    boost::asio::awaitable<Response> operator()(InterceptedRequest request) const;

private:
    friend struct detail::InterceptChain;
    Next(detail::InterceptChain& chain, std::size_t index) : chain_(&chain), index_(index) {}
    detail::InterceptChain* chain_;
    std::size_t index_;
};

/// A layer of one's own: sees each exchange's final request (each redirect hop, retry and
/// Digest answer is an exchange of its own), passes it on through `next` (or answers it
/// itself) and returns the response, which it may change. What it throws ends the exchange
/// as a transport error of that type would (a nector error is retried per the retry
/// policy, like the wire's; any other exception is a bug and propagates to the caller).
///
/// For a streamed call, the response `next` returns has its status and headers and an
/// empty body, which streams to the caller when the interceptor returns a response with
/// an empty body; returning one with a body replaces the streamed body with it.
using Interceptor =
    std::function<boost::asio::awaitable<Response>(InterceptedRequest request, Next next)>;

/// Answers each exchange in place of the network: receives the final request as an
/// HttpMessage (`method`; `url` absolute; `headers` as InterceptedRequest's; the encoded
/// body in `content`, read whole even from a file or a producer, nullopt when there is
/// none) and returns the response (status, headers and body; a body is decoded per its
/// Content-Encoding as a server's would be), or throws a transport error (e.g.
/// ConnectionTimeoutError) as the wire would. The layers above it (interceptors,
/// redirects, retries, the circuit breaker, the status errors, streaming) work as they do
/// over a network; no connection is made.
using MockHandler = std::function<Response(const HttpMessage& request)>;

} // namespace nector::http
