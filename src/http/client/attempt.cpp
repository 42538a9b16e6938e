// The attempt layer: one exchange on a pooled connection (a lease from the pool, the wire
// exchange, one replay on a stale connection or a refused stream), the buffered body
// decoded, or a streamed body handed to the caller as a PendingBody.
#include "http/client/engine.hpp"

#include "http/codec/decode.hpp"
#include "http/errors/bridge.hpp"
#include "http/message/body.hpp"
#include "nector/transport/errors.hpp"

#include <chrono>
#include <string>

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

void Engine::decode(Response& response, std::string_view context) const {
    auto decoder = decoder_for(options, response, options.max_response_bytes, context);
    if (!decoder) return;
    std::string decoded;
    decoder->feed(response.body, decoded);
    decoder->finish(decoded);
    response.body = std::move(decoded);
}

PendingBody::PendingBody(std::shared_ptr<Engine> e, Lease l, std::unique_ptr<BodyReader> r,
                         std::unique_ptr<ContentDecoder> d, std::string c)
    : engine(std::move(e)),
      lease(std::move(l)),
      reader(std::move(r)),
      decoder(std::move(d)),
      context(std::move(c)) {}

PendingBody::~PendingBody() {
    reader.reset(); // before the end this abandons the transfer; the lease then closes
}

asio::awaitable<std::optional<std::string>> PendingBody::next(std::size_t max) {
    std::string out;
    while (!ended && out.empty()) {
        std::string raw;
        const bool more = co_await reader->read(raw, max);
        if (!more) {
            ended = true;
            trailers = reader->trailers();
            if (decoder) decoder->finish(out);
            lease.finish(reader->keep_alive());
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

asio::awaitable<void> Engine::exchange(const Prepared& p, bool& sent,
                                       std::unique_ptr<PendingBody>* stream, Response& response) {
    const std::string_view method = p.method;
    const Target& target = p.target;
    const std::string_view context = p.context;
    // A producer body goes out once: no replay of it.
    const bool replayable = !p.upload || p.upload->replayable();
    bool replayed_stale = false;
    bool replayed_refused = false;
    for (bool first = true;; first = false) {
        if (!first) response = Response{}; // a replay starts afresh
        const auto started = SteadyClock::now();
        Timings timings;
        // Most calls find a pooled connection: no coroutine for that.
        Lease lease = pool_->try_acquire(target.origin);
        if (!lease) lease = co_await pool_->acquire(target.origin, timings, context);
        const bool reused = lease.reused();
        Exchange ex{.method = method,
                    .target = &target,
                    .headers = &p.headers(),
                    .body = p.body,
                    .upload = p.upload,
                    .limits = &wire_limits_,
                    .context = context,
                    .response = response,
                    .stream = stream != nullptr};
        std::exception_ptr failure;
        sent = true; // from here on the server may have seen (part of) the request
        try {
            co_await lease->exchange(ex);
        } catch (const TransportError&) {
            failure = std::current_exception();
        }
        if (failure) {
            lease.release(false);
            // A reused keep-alive connection the server had already closed: nothing of the
            // request was processed, so an idempotent request is replayed once, fresh.
            if (replayable && reused && !replayed_stale && !ex.refused && !ex.response_started &&
                is_idempotent(method) && code_of(failure) == condition::network) {
                replayed_stale = true;
                ++metrics.replays;
                continue;
            }
            // HTTP/2 streams the server did not process (REFUSED_STREAM, or above a
            // GOAWAY's last stream id) are replayed once, whatever the method.
            if (replayable && ex.refused && !replayed_refused) {
                replayed_refused = true;
                ++metrics.replays;
                continue;
            }
            std::rethrow_exception(failure);
        }
        if (ex.body_reader) {
            const Response& r = ex.response;
            const bool redirect =
                options.follow_redirects && r.is_redirect() && r.headers.contains("Location");
            if (r.status < 400 && !redirect) { // the body streams to the caller
                timings.first_byte = r.timings.first_byte;
                timings.total = SteadyClock::now() - started;
                ex.response.timings = timings;
                *stream = std::make_unique<PendingBody>(
                    shared_from_this(), std::move(lease), std::move(ex.body_reader),
                    decoder_for(options, ex.response, options.max_decoded_bytes, context),
                    std::string(context));
                co_return;
            }
            // Read whole: it is retried, redirected or becomes a status error.
            for (;;) {
                const bool more = co_await ex.body_reader->read(ex.response.body, 64 * 1024);
                if (!more) break;
                if (ex.response.body.size() > options.max_response_bytes) {
                    throw_error(errc::body_too_large,
                                std::string(context) +
                                    ": reading the response: the body exceeds max_response_bytes");
                }
            }
            ex.keep_alive = ex.body_reader->keep_alive();
            ex.response.trailers = ex.body_reader->trailers();
        }
        lease.finish(ex.keep_alive);
        decode(ex.response, context);
        timings.first_byte = ex.response.timings.first_byte;
        timings.total = SteadyClock::now() - started;
        ex.response.timings = timings;
        co_return;
    }
}

} // namespace nector::http::detail
