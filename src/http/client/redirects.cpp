// The redirect layer (redirects.hpp).
#include "http/client/redirects.hpp"

#include "http/message/body.hpp"
#include "http/message/url.hpp"
#include "nector/transport/errors.hpp"

#include <algorithm>
#include <string>
#include <vector>

namespace nector::http::detail {
namespace asio = boost::asio;

bool RedirectLayer::is_final(const Prepared& p, Response& response) const {
    response.method = p.method;
    response.url = p.target.url;
    if (!options_.follow_redirects || !response.is_redirect()) return true;
    if (!response.headers.contains("Location")) return true;
    // A 307/308 resends the body: a producer's cannot be, so that response is final.
    const bool resends_body = response.status == 307 || response.status == 308;
    return resends_body && p.upload && !p.upload->replayable();
}

asio::awaitable<Exchanged> RedirectLayer::follow(const Prepared& p, Exchanged first,
                                                 CallState& call) {
    // The first exchange sent the prepared request as it is; only a redirect copies it.
    Prepared r = p;
    Exchanged current = std::move(first);
    std::vector<Response> history;
    for (std::size_t redirects = 0;; ++redirects) {
        Response& response = call.response;
        const std::string location(*response.headers.get("Location"));
        // Two different Locations: two places to go, and no way to say which the server
        // meant (equal ones are one).
        const auto locations = response.headers.get_all("Location");
        if (std::any_of(locations.begin(), locations.end(),
                        [&](std::string_view l) { return l != location; })) {
            current.error = std::make_exception_ptr(TransportSpecificError(
                errc::protocol_error, r.context + ": a " + std::to_string(response.status) +
                                          " redirect with " + std::to_string(locations.size()) +
                                          " different Location fields (first to " +
                                          printable(redact(location)) + ")"));
            co_return current;
        }
        if (redirects == options_.max_redirects) {
            current.error = std::make_exception_ptr(TransportSpecificError(
                errc::too_many_redirects,
                r.context + ": more than " + std::to_string(options_.max_redirects) +
                    " redirects (last to " + printable(redact(location)) + ")"));
            co_return current;
        }
        std::optional<Target> next;
        try {
            next = make_target("", resolve_location(r.target.url, location));
        } catch (const TransportError&) {
            current.error = std::current_exception();
        }
        if (!next) co_return current;
        const int status = response.status;
        if (r.target.origin.tls && !next->origin.tls && !options_.allow_insecure_redirects) {
            current.error = std::make_exception_ptr(TransportSpecificError(
                errc::insecure_redirect,
                r.context + ": a " + std::to_string(status) + " redirect from https to http (" +
                    printable(redact(next->url)) +
                    ") is refused (set allow_insecure_redirects to follow it)"));
            co_return current;
        }
        if ((status == 303 && r.method != "HEAD") ||
            ((status == 301 || status == 302) && r.method == "POST")) {
            r.method = "GET";
            r.body.clear();
            r.upload.reset();
            r.mutable_headers().erase("Content-Type");
        }
        if (!(next->origin == r.target.origin)) {
            // Credentials and a Host of the caller's are for the origin they were set for.
            r.mutable_headers().erase("Authorization");
            r.mutable_headers().erase("Proxy-Authorization");
            r.mutable_headers().erase("Cookie");
            r.mutable_headers().erase("Host");
            for (const auto& name : options_.sensitive_headers) r.mutable_headers().erase(name);
        }
        history.push_back(std::move(response));
        response = Response{};
        r.target = std::move(*next);
        r.context = r.method + " " + r.target.url;
        current = co_await next_(r, call);
        current.sent = true; // the first exchange was sent
        if (!current.responded() || is_final(r, call.response)) {
            if (current.responded()) call.response.history = std::move(history);
            co_return current;
        }
    }
}

} // namespace nector::http::detail
