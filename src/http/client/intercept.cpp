// The intercept layer (intercept.hpp) and Next (nector/http/interceptor.hpp).
#include "http/client/intercept.hpp"

#include "http/errors/bridge.hpp"
#include "http/message/body.hpp"
#include "http/message/url.hpp"
#include "nector/transport/errors.hpp"

namespace nector::http {
namespace asio = boost::asio;

asio::awaitable<Response> Next::operator()(InterceptedRequest request) const {
    return chain_->next(index_, std::move(request));
}

namespace detail {

InterceptedRequest intercepted_request(const Prepared& p, const Options& options) {
    InterceptedRequest request{.method = p.method,
                               .url = p.target.url,
                               .headers = p.headers(),
                               .body = p.body,
                               .streamed_body = p.upload != nullptr};
    // The jar's cookies are part of what is sent: interceptors see (and may sign) them, and
    // the attempt layer then takes the Cookie field as the request's own.
    if (options.cookies) {
        if (const std::unique_ptr<Headers> cookied = with_cookies(options, p)) {
            request.headers = *cookied;
        }
    }
    return request;
}

namespace {

// `p` with what the interceptors changed in `request`, checked as a request's own would be.
Prepared changed(const Prepared& p, InterceptedRequest& request) {
    Prepared q = p;
    if (request.method != p.method) {
        validate_method(request.method);
        q.method = std::move(request.method);
    }
    if (request.url != p.target.url) q.target = make_target("", request.url);
    for (const auto& [name, value] : request.headers) validate_header(name, value);
    request.headers.erase("Content-Length"); // the wire's own
    request.headers.erase("Transfer-Encoding");
    q.own_headers = std::move(request.headers);
    if (request.streamed_body) {
        if (!request.body.empty()) {
            throw_error(errc::serialization_failed,
                        "an interceptor set a body on a request whose body streams from a file "
                        "or a producer");
        }
    } else {
        if (p.upload) q.upload = nullptr; // the interceptor dropped the streamed body
        q.body = std::move(request.body);
    }
    q.context = q.method + " " + q.target.url;
    return q;
}

} // namespace

asio::awaitable<Response> InterceptChain::next(std::size_t index, InterceptedRequest request) {
    const std::vector<Interceptor>& interceptors = options.hooks.interceptors;
    if (index < interceptors.size()) {
        Response r = co_await interceptors[index](std::move(request), make_next(index + 1));
        co_return r;
    }
    Prepared q;
    try {
        q = changed(p, request);
    } catch (const TransportError& e) {
        std::rethrow_exception(make_exception(e.code(), p.context + ": " + bare_message(e)));
    }
    body.reset(); // an earlier attempt's streamed body is dropped
    call.response = Response{};
    Exchanged x = co_await attempt(q, call);
    sent = sent || x.sent;
    if (x.error) std::rethrow_exception(x.error);
    body = std::move(x.body);
    co_return std::move(call.response);
}

asio::awaitable<Exchanged> InterceptLayer::intercepted(const Prepared& p, CallState& call) {
    InterceptChain chain(attempt_, options_, p, call);
    Exchanged out;
    try {
        InterceptedRequest request = intercepted_request(p, options_);
        Response r = co_await chain.next(0, std::move(request));
        if (!r.body.empty()) chain.body.reset(); // the interceptor's body replaces the stream
        call.response = std::move(r);
        out.body = std::move(chain.body);
    } catch (const ConfigurationError&) {
        throw; // the transport's own options
    } catch (const TransportError&) {
        out.error = std::current_exception();
    } // (Asio's operation_aborted, a cancelled call, propagates as it does below this layer)
    out.sent = chain.sent;
    co_return out;
}

} // namespace detail
} // namespace nector::http
