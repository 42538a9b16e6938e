// The attempt layer (attempt.hpp) and the streamed body it may hand up (PendingBody).
#include "http/client/attempt.hpp"

#include "http/client/breaker.hpp"
#include "http/codec/decode.hpp"
#include "http/errors/bridge.hpp"
#include "http/errors/fail_point.hpp"
#include "http/message/body.hpp"
#include "nector/transport/errors.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <string>
#include <variant>

namespace nector::http::detail {
namespace asio = boost::asio;
using SteadyClock = std::chrono::steady_clock;

namespace {

// The response's Content-Encoding (several fields joined), or empty.
std::string content_encoding(const Response& r) {
    std::string joined;
    for (const std::string_view value : r.headers.get_all("Content-Encoding")) {
        if (!joined.empty()) joined += ", ";
        joined += value;
    }
    return joined;
}

std::unique_ptr<ContentDecoder> decoder_for(const Options& options, const Response& r,
                                            std::size_t limit, std::string_view context) {
    if (!options.decode_content) return nullptr;
    const std::string coding = content_encoding(r);
    if (coding.empty()) return nullptr;
    return ContentDecoder::make(coding, limit,
                                std::string(context) + ": reading the response body");
}

} // namespace

void AttemptLayer::decode(Response& response, std::string_view context) const {
    auto decoder = decoder_for(options_, response, options_.max_response_bytes, context);
    if (!decoder) return;
    std::string decoded;
    decoder->feed(response.body, decoded);
    decoder->finish(decoded);
    response.body = std::move(decoded);
}

PendingBody::PendingBody(std::shared_ptr<const void> o, Lease l, std::unique_ptr<BodyReader> r,
                         std::unique_ptr<ContentDecoder> d, std::string c, std::size_t max)
    : owner(std::move(o)),
      lease(std::move(l)),
      reader(std::move(r)),
      decoder(std::move(d)),
      context(std::move(c)),
      max_response_bytes(max) {}

PendingBody::~PendingBody() {
    reader.reset(); // before the end this abandons the transfer; the lease then closes
}

asio::awaitable<std::optional<std::string>> PendingBody::next(std::size_t max) {
    std::string out;
    while (!ended && out.empty()) {
        std::string raw;
        // (No frame of its own without a deadline: a body is read many times a call.)
        bool more = false;
        if (deadline) {
            more = co_await before_deadline(reader->read(raw, max));
        } else {
            more = co_await reader->read(raw, max);
        }
        if (!more) {
            // Ended before the decoder's last step (end() says so again): a truncated
            // encoding throws there, leaving the body ended but its lease unfinished, so the
            // connection is closed with the body.
            ended = true;
            if (decoder) decoder->finish(out);
            end();
            break;
        }
        if (decoder) {
            decoder->feed(raw, out);
        } else {
            out = std::move(raw);
        }
    }
    if (out.empty()) co_return std::nullopt;
    co_return out;
}

asio::awaitable<std::size_t> PendingBody::read_into(asio::mutable_buffer into) {
    if (ended || into.size() == 0) co_return 0;
    std::size_t n = 0;
    if (deadline) {
        n = co_await before_deadline(reader->read_into(into));
    } else {
        n = co_await reader->read_into(into);
    }
    if (n == 0) end();
    co_return n;
}

void PendingBody::end() noexcept {
    ended = true;
    try {
        trailers = reader->trailers();
    } catch (...) { // no memory for a copy of them: the body itself is whole
    }
    lease.finish(reader->keep_alive());
}

template <class T>
asio::awaitable<T> PendingBody::before_deadline(asio::awaitable<T> read) {
    const auto total_timeout = [this] {
        throw_error(errc::total_timeout, context +
                                             ": reading the response body: the call exceeded "
                                             "the total timeout of " +
                                             seconds(total));
    };
    if (std::chrono::steady_clock::now() >= *deadline) total_timeout();
    using namespace asio::experimental::awaitable_operators;
    asio::steady_timer timer(co_await asio::this_coro::executor, *deadline);
    fail_point_timer(timer);
    auto result = co_await (outcome_of(std::move(read)) ||
                            timer.async_wait(asio::as_tuple(asio::use_awaitable)));
    if (result.index() == 1) total_timeout(); // the read was cancelled: the body is abandoned
    Outcome<T> outcome = std::get<0>(std::move(result));
    if (outcome.error) std::rethrow_exception(outcome.error);
    co_return *outcome.result;
}

std::unique_ptr<Headers> with_cookies(const Options& options, const Prepared& p) {
    if (p.headers().contains("Cookie")) return nullptr; // the request's own
    std::string cookies = options.cookies->header_for(p.target.origin.host, p.target.target,
                                                      p.target.origin.tls, options.clock.wall());
    if (cookies.empty()) return nullptr;
    auto headers = std::make_unique<Headers>(p.headers());
    headers->set("Cookie", std::move(cookies));
    return headers;
}

void AttemptLayer::keep_cookies(const Prepared& p, const Response& response) const {
    for (const std::string_view field : response.headers.get_all("Set-Cookie")) {
        (void)options_.cookies->store(p.target.origin.host, p.target.target, p.target.origin.tls,
                                      field, options_.clock.wall());
    }
}

asio::awaitable<Exchanged> AttemptLayer::mocked(const Prepared& p, const Headers& headers,
                                                CallState& call) {
    Exchanged result;
    HttpMessage request{.method = p.method, .url = p.target.url, .headers = headers};
    const auto started = SteadyClock::now();
    try {
        if (p.upload) {
            std::string body;
            UploadReader reader(p.upload, p.context);
            for (;;) {
                const std::optional<std::string_view> piece = co_await reader.next();
                if (!piece) break;
                body += *piece;
            }
            request.content = to_bytes(body);
        } else if (!p.body.empty()) {
            request.content = to_bytes(p.body);
        }
        result.sent = true;
        call.response = options_.hooks.mock(request);
        if (call.response.body.size() > options_.max_response_bytes) {
            throw_error(errc::body_too_large,
                        p.context + ": the mock's response body exceeds max_response_bytes");
        }
        if (options_.cookies) keep_cookies(p, call.response);
        decode(call.response, p.context);
        call.response.timings.total = SteadyClock::now() - started;
    } catch (const ConfigurationError&) {
        throw;
    } catch (const TransportError&) {
        result.error = std::current_exception();
    }
    co_return result;
}

asio::awaitable<Exchanged> AttemptLayer::operator()(const Prepared& p, CallState& call) {
    const std::string_view method = p.method;
    const Target& target = p.target;
    const std::string_view context = p.context;
    // A producer body goes out once: no replay of it.
    const bool replayable = !p.upload || p.upload->replayable();
    bool replayed_stale = false;
    bool replayed_refused = false;
    Exchanged result;
    // With a cookie jar: the request's headers and its cookies (a pointer: the frame stays
    // small for calls without one).
    const std::unique_ptr<Headers> cookied = options_.cookies ? with_cookies(options_, p) : nullptr;
    if (options_.hooks.mock) {
        const Headers& headers = cookied ? *cookied : p.headers();
        Exchanged answered = co_await mocked(p, headers, call);
        co_return answered;
    }
    Response& response = call.response; // empty: the layers above start each attempt afresh
    for (bool first = true;; first = false) {
        if (!first) response = Response{}; // a replay starts afresh
        const auto started = SteadyClock::now();
        Timings timings;
        Lease lease;
        std::exception_ptr failure;
        Exchange ex{.method = method,
                    .target = &target,
                    .headers = cookied ? cookied.get() : &p.headers(),
                    .body = p.body,
                    .upload = p.upload,
                    .limits = &limits_,
                    .context = context,
                    .response = response,
                    .stream = call.stream};
        try {
            // Most calls find a pooled connection: no coroutine for that.
            lease = pool_.try_acquire(target.origin, call.hedge);
            if (!lease) {
                lease = co_await pool_.acquire(target.origin, timings, context, call.hedge);
            }
            // From here on the server may have seen (part of) the request.
            result.sent = true;
            co_await lease->exchange(ex);
        } catch (const ConfigurationError&) {
            throw; // the transport's own options (the system CA store unreadable)
        } catch (const TransportError&) {
            failure = std::current_exception();
        }
        if (failure) {
            const bool reused = lease && lease.reused();
            lease.release(false);
            // A reused keep-alive connection the server had already closed: nothing of the
            // request was processed, so an idempotent request is replayed once, fresh.
            if (replayable && reused && !replayed_stale && !ex.refused && !ex.response_started &&
                is_idempotent(method) && code_of(failure) == condition::network) {
                replayed_stale = true;
                ++metrics_.replays;
                continue;
            }
            // HTTP/2 streams the server did not process (REFUSED_STREAM, or above a
            // GOAWAY's last stream id) are replayed once, whatever the method.
            if (replayable && ex.refused && !replayed_refused) {
                replayed_refused = true;
                ++metrics_.replays;
                continue;
            }
            result.error = std::move(failure);
            co_return result;
        }
        if (options_.cookies) keep_cookies(p, response);
        try {
            if (ex.body_reader) {
                const bool redirect = options_.follow_redirects && response.is_redirect() &&
                                      response.headers.contains("Location");
                if (response.status < 400 && !redirect) { // the body streams to the caller
                    timings.first_byte = response.timings.first_byte;
                    timings.total = SteadyClock::now() - started;
                    response.timings = timings;
                    result.body = std::make_unique<PendingBody>(
                        call.owner, std::move(lease), std::move(ex.body_reader),
                        decoder_for(options_, response, options_.max_decoded_bytes, context),
                        std::string(context), options_.max_response_bytes);
                    co_return result;
                }
                // Read whole: it is retried, redirected or becomes a status error.
                for (;;) {
                    const bool more =
                        co_await ex.body_reader->read(response.body, std::size_t{64} * 1024);
                    if (!more) break;
                    if (response.body.size() > options_.max_response_bytes) {
                        throw_error(errc::body_too_large, std::string(context) +
                                                              ": reading the response: the body "
                                                              "exceeds max_response_bytes");
                    }
                }
                ex.keep_alive = ex.body_reader->keep_alive();
                response.trailers = ex.body_reader->trailers();
            }
            lease.finish(ex.keep_alive);
            decode(response, context);
        } catch (const TransportError&) {
            failure = std::current_exception();
        }
        if (failure) {
            result.error = std::move(failure);
            co_return result;
        }
        timings.first_byte = response.timings.first_byte;
        timings.total = SteadyClock::now() - started;
        response.timings = timings;
        co_return result;
    }
}

} // namespace nector::http::detail
