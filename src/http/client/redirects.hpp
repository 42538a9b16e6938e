// The redirect layer: which responses are redirects to follow, and the exchanges they lead
// to through the layer below (method rewriting per RFC 9110, credentials dropped across
// origins, a bound on their number, the history kept). Part of the client room.
//
// Most responses are final, so the layer is entered only for a redirect to follow: the
// layer above asks is_final() of the first response, then, for a redirect, awaits follow().
// A call thus pays for this layer's coroutine frame (about 0.1 µs, see
// docs/architecture.md) only when it follows a redirect.
#pragma once

#include "http/client/exchange.hpp"
#include "http/client/intercept.hpp"
#include "nector/http/options.hpp"

#include <boost/asio/awaitable.hpp>

namespace nector::http::detail {

class RedirectLayer {
public:
    RedirectLayer(InterceptLayer& next, const Options& options) : next_(next), options_(options) {}

    /// Stamps `response` with the request's method and URL; true unless it is a redirect
    /// to follow.
    bool is_final(const Prepared& p, Response& response) const;
    /// The rest of a call whose first exchange, `first`, answered with a redirect to
    /// follow (in `call.response`): the exchanges it leads to, until a final response (its
    /// history kept), an error, or more than max_redirects.
    boost::asio::awaitable<Exchanged> follow(const Prepared& p, Exchanged first, CallState& call);

private:
    InterceptLayer& next_;
    const Options& options_;
};

} // namespace nector::http::detail
