// The intercept layer: the user's interceptors (Options::hooks.interceptors) around each
// exchange, between the layers that make exchanges (retry, redirects, auth) and the attempt
// layer. Each interceptor sees the exchange's final request as an InterceptedRequest and
// passes it on through Next; the last Next makes the attempt with what the interceptors
// changed (method, URL, headers, body). Part of the client room.
//
// A frame only with interceptors: otherwise operator() hands the attempt layer's coroutine
// straight up, and a call pays nothing for this layer.
#pragma once

#include "http/client/exchange.hpp"
#include "http/client/hedge.hpp"
#include "nector/http/interceptor.hpp"
#include "nector/http/options.hpp"

#include <boost/asio/awaitable.hpp>

#include <cstddef>
#include <memory>

namespace nector::http::detail {

class InterceptLayer {
public:
    InterceptLayer(HedgeLayer& attempt, const Options& options)
        : attempt_(attempt), options_(options) {}

    /// One exchange of `p`: through the interceptors when there are any, else the attempt
    /// layer's. A transport error comes back in the Exchanged, as the attempt layer's does.
    boost::asio::awaitable<Exchanged> operator()(const Prepared& p, CallState& call) {
        if (options_.hooks.interceptors.empty()) return attempt_(p, call);
        return intercepted(p, call);
    }

private:
    friend struct InterceptChain;
    boost::asio::awaitable<Exchanged> intercepted(const Prepared& p, CallState& call);

    HedgeLayer& attempt_; ///< the hedge layer, or through it the attempt layer
    const Options& options_;
};

/// One exchange's way down the interceptors (what Next points into).
struct InterceptChain {
    InterceptChain(HedgeLayer& a, const Options& o, const Prepared& request, CallState& c)
        : attempt(a), options(o), p(request), call(c) {}

    /// Interceptor `index`, or past the last, the attempt of `request`.
    boost::asio::awaitable<Response> next(std::size_t index, InterceptedRequest request);
    Next make_next(std::size_t index) { return Next(*this, index); }

    HedgeLayer& attempt;
    const Options& options;
    const Prepared& p;
    CallState& call;
    std::unique_ptr<PendingBody> body; ///< the latest attempt's streamed body
    bool sent = false;                 ///< a request byte may have reached a server
};

/// `p` as an interceptor sees it (with a cookie jar, its Cookie field included).
InterceptedRequest intercepted_request(const Prepared& p, const Options& options);

} // namespace nector::http::detail
