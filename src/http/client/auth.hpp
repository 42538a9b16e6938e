// The auth layer: HTTP Digest (RFC 7616) between the retry and attempt layers. A request
// answered 401 with a Digest challenge is sent once more with the answer (once more again
// when the server says the nonce was stale); the challenge is kept per origin, so the next
// requests to it answer at once, counting nc up. Basic and Bearer need no layer: the
// preparer adds them as default headers. Part of the client room.
//
// An around layer only when Options::auth is digest: otherwise the retry layer calls the
// attempt layer directly and a call pays nothing for it.
#pragma once

#include "http/client/exchange.hpp"
#include "http/client/intercept.hpp"
#include "http/message/digest.hpp"
#include "nector/http/options.hpp"

#include <boost/asio/awaitable.hpp>

#include <optional>
#include <string>
#include <unordered_map>

namespace nector::http::detail {

class AuthLayer {
public:
    AuthLayer(InterceptLayer& next, const Options& options) : next_(next), options_(options) {}

    /// Whether calls go through this layer (Options::auth is digest).
    bool active() const noexcept { return options_.auth.scheme == AuthScheme::digest; }

    /// One attempt of `p` with Digest answers as the layer's comment says. A request that
    /// carries its own Authorization, or a body that cannot be sent again, is left alone.
    boost::asio::awaitable<Exchanged> operator()(const Prepared& p, CallState& call);

private:
    struct Known {
        DigestChallenge challenge;
        std::uint32_t nc = 0; ///< nonce count: answers sent for this challenge
    };
    /// `p` with an Authorization answering `known`'s challenge (counting it).
    Prepared answered(const Prepared& p, Known& known) const;
    static std::string key(const Origin& origin);

    InterceptLayer& next_;
    const Options& options_;
    std::unordered_map<std::string, Known> known_; ///< by origin
};

} // namespace nector::http::detail
