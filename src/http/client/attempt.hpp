// The attempt layer, the bottom of a call: one exchange on a pooled connection (a lease
// from the pool, the wire exchange, one replay on a stale connection or a refused stream),
// the buffered body decoded, or a streamed body handed up in the Exchanged; or, with
// Options::hooks.mock, the mock handler's answer instead of the network. Part of the client
// room.
#pragma once

#include <memory>

#include "http/client/exchange.hpp"
#include "http/wire/connection.hpp"
#include "nector/http/metrics.hpp"
#include "nector/http/options.hpp"

#include <boost/asio/awaitable.hpp>

namespace nector::http::detail {

/// With Options::cookies: `p`'s headers with the Cookie field its URL matches, or null when
/// none matches or the request sets Cookie itself (the intercept layer's request, too).
std::unique_ptr<Headers> with_cookies(const Options& options, const Prepared& p);

class AttemptLayer {
public:
    AttemptLayer(Pool& pool, const Options& options, const WireLimits& limits, Metrics& metrics)
        : pool_(pool), options_(options), limits_(limits), metrics_(metrics) {}

    /// One exchange of `p`. A transport error comes back in the Exchanged, not thrown
    /// (ConfigurationError excepted: the transport's own options are at fault).
    boost::asio::awaitable<Exchanged> operator()(const Prepared& p, CallState& call);

private:
    /// Options::hooks.mock's answer to `p` (sent with `headers`), in place of the network.
    boost::asio::awaitable<Exchanged> mocked(const Prepared& p, const Headers& headers,
                                             CallState& call);
    /// Decodes a whole buffered body per its Content-Encoding (when decode_content is on),
    /// bounded by max_response_bytes.
    void decode(Response& response, std::string_view context) const;
    /// With Options::cookies: the response's Set-Cookie fields stored.
    void keep_cookies(const Prepared& p, const Response& response) const;

    Pool& pool_;
    const Options& options_;
    const WireLimits& limits_;
    Metrics& metrics_;
};

} // namespace nector::http::detail
