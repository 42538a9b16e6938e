// The redirect layer: whether a response is a redirect to follow, and the exchanges it
// leads to (method rewriting per RFC 9110, credentials dropped across origins, a bound on
// their number, the history kept).
#include "http/client/engine.hpp"

#include "http/message/body.hpp"
#include "http/message/url.hpp"
#include "nector/transport/errors.hpp"

#include <string>

namespace nector::http::detail {
namespace asio = boost::asio;

bool Engine::is_final(const Prepared& p, Response& response) const {
    response.method = p.method;
    response.url = p.target.url;
    if (!options.follow_redirects || !response.is_redirect()) return true;
    if (!response.headers.contains("Location")) return true;
    // A 307/308 resends the body: a producer's cannot be, so that response is final.
    const bool resends_body = response.status == 307 || response.status == 308;
    return resends_body && p.upload && !p.upload->replayable();
}

asio::awaitable<void> Engine::redirects(const Prepared& p, Response& response, bool& sent,
                                        std::unique_ptr<PendingBody>* stream) {
    // The first exchange sent the prepared request as it is; only a redirect copies it.
    std::optional<Prepared> redirected;
    const Prepared* current = &p;
    std::vector<Response> history;
    for (std::size_t redirects = 0;; ++redirects) {
        if (redirects > 0) {
            response = Response{};
            co_await exchange(*current, sent, stream, response);
            if (is_final(*current, response)) {
                response.history = std::move(history);
                co_return;
            }
        }
        const std::string location(*response.headers.get("Location"));
        if (redirects == options.max_redirects) {
            throw TransportSpecificError(errc::too_many_redirects,
                                         current->context + ": more than " +
                                             std::to_string(options.max_redirects) +
                                             " redirects (last to " + printable(location) + ")");
        }
        Target next = make_target("", resolve_location(current->target.url, location));
        if (!redirected) redirected = p;
        Prepared& r = *redirected;
        const int status = response.status;
        if ((status == 303 && r.method != "HEAD") ||
            ((status == 301 || status == 302) && r.method == "POST")) {
            r.method = "GET";
            r.body.clear();
            r.upload.reset();
            r.mutable_headers().erase("Content-Type");
        }
        if (!(next.origin == r.target.origin)) {
            r.mutable_headers().erase("Authorization");
            r.mutable_headers().erase("Cookie");
        }
        history.push_back(std::move(response));
        r.target = std::move(next);
        r.context = r.method + " " + r.target.url;
        current = &r;
    }
}

} // namespace nector::http::detail
