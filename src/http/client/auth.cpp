// The auth layer (auth.hpp).
#include "http/client/auth.hpp"

namespace nector::http::detail {
namespace asio = boost::asio;

std::string AuthLayer::key(const Origin& origin) {
    return (origin.tls ? "https://" : "http://") + origin.host + ":" + std::to_string(origin.port);
}

Prepared AuthLayer::answered(const Prepared& p, Known& known) const {
    Prepared out = p;
    ++known.nc;
    out.mutable_headers().set(
        "Authorization",
        digest_authorization(known.challenge, options_.auth.user, options_.auth.password, p.method,
                             p.target.target, known.nc, make_cnonce()));
    return out;
}

asio::awaitable<Exchanged> AuthLayer::operator()(const Prepared& p, CallState& call) {
    if (p.headers().contains("Authorization")) {
        Exchanged plain = co_await next_(p, call);
        co_return plain;
    }
    const std::string origin = key(p.target.origin);
    // A challenge of this origin answered before: answered again at once.
    std::optional<Prepared> sent;
    if (const auto found = known_.find(origin); found != known_.end()) {
        sent = answered(p, found->second);
    }
    const bool from_before = sent.has_value();
    const Prepared& first = from_before ? *sent : p;
    Exchanged x = co_await next_(first, call);
    const bool replayable = !p.upload || p.upload->replayable();
    // At most two answers in one call: a fresh challenge, then once more for a stale nonce.
    for (int answers = 0; answers < 2 && replayable; ++answers) {
        if (!x.responded() || call.response.status != 401) break;
        const auto challenge =
            parse_digest_challenge(call.response.headers.get_all("WWW-Authenticate"));
        if (!challenge) break;
        // Our answer refused: the credentials are wrong, unless the nonce had only gone
        // stale, or the answer was to an earlier call's challenge (its nonce may be gone).
        if (sent && !challenge->stale && !(from_before && answers == 0)) break;
        Known& known = known_[origin];
        known = Known{.challenge = *challenge, .nc = 0};
        sent = answered(p, known);
        x.body.reset(); // a streamed 401's body is not read: its connection is closed
        call.response = Response{};
        Exchanged again = co_await next_(*sent, call);
        x = std::move(again);
    }
    co_return x;
}

} // namespace nector::http::detail
