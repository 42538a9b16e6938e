#include "http/engine.hpp"

#include "detail/base64.hpp"
#include "http/body.hpp"
#include "http/http1.hpp"
#include "http/tls.hpp"
#include "http/url.hpp"
#include "nector/http/errors.hpp"
#include "nector/transport/errors.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <openssl/ssl.h>

#include <array>
#include <chrono>
#include <string>

namespace nector::http::detail {
namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

constexpr auto nothrow = asio::as_tuple(asio::use_awaitable);

[[noreturn]] void bad_option(const std::string& what) {
    throw ConfigurationError(errc::invalid_configuration, "HTTPTransport options: " + what);
}

bool idempotent(std::string_view method) {
    for (std::string_view m : {"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"}) {
        if (m == method) return true;
    }
    return false;
}

// A plain function: jumping out of a catch block inside a coroutine corrupts GCC 12's
// exception state.
bool is_network_failure(const std::exception_ptr& e) {
    try {
        std::rethrow_exception(e);
    } catch (const TransportError& error) {
        return error.code() == condition::network;
    } catch (...) {
        return false;
    }
}

std::string basic_credentials(std::string_view userinfo) {
    return "Basic " + nector::detail::base64_encode(as_bytes(userinfo));
}

void validate(const Options& o) {
    if (!o.base_url.empty()) {
        try {
            (void)make_target(o.base_url, "");
        } catch (const TransportError& e) {
            bad_option(std::string("base_url: ") + e.what());
        }
    }
    const std::array<std::pair<const char*, Duration>, 4> phases{{{"connect", o.timeout.connect},
                                                                  {"read", o.timeout.read},
                                                                  {"write", o.timeout.write},
                                                                  {"pool", o.timeout.pool}}};
    for (const auto& [name, d] : phases) {
        if (d <= Duration::zero()) bad_option(std::string("timeout.") + name + " must be positive");
    }
    if (o.timeout.total < Duration::zero()) bad_option("timeout.total must not be negative");
    if (o.limits.max_connections == 0) bad_option("limits.max_connections must be at least 1");
    if (o.limits.max_connections_per_origin == 0) {
        bad_option("limits.max_connections_per_origin must be at least 1");
    }
    if (o.http2_prior_knowledge) {
        bad_option("http2_prior_knowledge needs the HTTP/2 engine, which this build lacks");
    }
    for (const auto& [name, value] : o.headers) {
        try {
            validate_header(name, value);
        } catch (const TransportError& e) {
            bad_option(std::string("headers: ") + e.what());
        }
    }
}

} // namespace

Engine::Engine(Options o) : options(std::move(o)) {
    validate(options);
    tls_ = make_tls_context(options);
}

void Engine::bind(asio::any_io_executor ex) {
    if (executor) return;
    executor = ex;
    pool_ = std::make_unique<Pool>(
        ex, options.limits, options.timeout.pool,
        [this](const Origin& origin, Timings& timings, std::string_view context) {
            return open(origin, timings, context);
        });
}

void Engine::close() noexcept {
    connected = false;
    completed.clear();
    if (pool_) pool_->close_all();
}

asio::awaitable<std::shared_ptr<Connection>> Engine::open(const Origin& origin, Timings& timings,
                                                          std::string_view context) {
    auto ex = co_await asio::this_coro::executor;
    const auto started = Clock::now();
    const std::string where = origin.host + ":" + std::to_string(origin.port);
    std::vector<tcp::endpoint> endpoints;
    boost::system::error_code parse_error;
    const auto address = asio::ip::make_address(origin.host, parse_error);
    if (!parse_error) {
        endpoints.emplace_back(address, origin.port);
    } else {
        using namespace asio::experimental::awaitable_operators;
        tcp::resolver resolver(ex);
        asio::steady_timer timer(ex, options.timeout.connect);
        auto result =
            co_await (resolver.async_resolve(origin.host, std::to_string(origin.port), nothrow) ||
                      timer.async_wait(nothrow));
        if (result.index() == 1) {
            throw_error(errc::connect_timeout, std::string(context) + ": name lookup of \"" +
                                                   origin.host +
                                                   "\" took longer than the connect timeout");
        }
        auto [ec, results] = std::get<0>(std::move(result));
        if (ec == asio::error::operation_aborted) {
            throw_error(errc::cancelled, std::string(context) + ": cancelled during name lookup");
        }
        if (ec) {
            throw_error(errc::name_resolution_failed, std::string(context) + ": name lookup of \"" +
                                                          origin.host +
                                                          "\" failed: " + ec.message());
        }
        for (const auto& entry : results) endpoints.push_back(entry.endpoint());
    }
    timings.dns = Clock::now() - started;

    const auto connect_started = Clock::now();
    beast::tcp_stream stream(ex);
    boost::system::error_code last;
    for (const auto& endpoint : endpoints) {
        stream.expires_after(options.timeout.connect);
        auto [ec] = co_await stream.async_connect(endpoint, nothrow);
        if (!ec) {
            last = {};
            break;
        }
        last = ec;
        stream.close();
        if (ec == asio::error::operation_aborted) break;
    }
    if (last) {
        const std::string detail = std::string(context) + ": connecting to " + where;
        if (last == beast::error::timeout) {
            throw_error(errc::connect_timeout, detail + ": no answer within the connect timeout");
        }
        if (last == asio::error::operation_aborted)
            throw_error(errc::cancelled, detail + ": cancelled");
        if (last == asio::error::connection_refused) {
            throw_error(errc::connection_refused, detail + ": " + last.message());
        }
        throw_error(errc::connection_failed, detail + ": " + last.message());
    }
    stream.expires_never();
    stream.socket().set_option(tcp::no_delay(true));
    timings.connect = Clock::now() - connect_started;

    if (!origin.tls) {
        co_return std::make_shared<Http1Connection<beast::tcp_stream>>(std::move(stream));
    }
    const auto tls_started = Clock::now();
    auto connection = std::make_shared<Http1Connection<TlsStream>>(std::move(stream), *tls_);
    co_await tls_handshake(connection->stream(), origin.host, options, context);
    timings.tls = Clock::now() - tls_started;
    co_return connection;
}

asio::awaitable<Response> Engine::exchange(std::string_view method, const Target& target,
                                           const Headers& headers, std::string_view body,
                                           std::string_view context) {
    for (int attempt = 0;; ++attempt) {
        const auto started = Clock::now();
        Timings timings;
        Lease lease = co_await pool_->acquire(target.origin, timings, context);
        const bool reused = lease->exchanges > 0;
        Exchange ex{.method = method,
                    .target = &target,
                    .headers = &headers,
                    .body = body,
                    .options = &options,
                    .context = context};
        std::exception_ptr failure;
        try {
            co_await lease->exchange(ex);
        } catch (const TransportError&) {
            failure = std::current_exception();
        }
        if (failure) {
            lease.release(false);
            // A reused keep-alive connection the server had already closed: nothing of the
            // request was processed, so an idempotent request is replayed once, fresh.
            if (reused && attempt == 0 && !ex.response_started && idempotent(method) &&
                is_network_failure(failure)) {
                continue;
            }
            std::rethrow_exception(failure);
        }
        ++lease->exchanges;
        lease.release(ex.keep_alive);
        timings.first_byte = ex.response.timings.first_byte;
        timings.total = Clock::now() - started;
        ex.response.timings = timings;
        co_return std::move(ex.response);
    }
}

asio::awaitable<Response> Engine::request(HttpMessage message) {
    auto self = shared_from_this();
    if (!connected || !executor) {
        throw_error(errc::not_connected, message.method + " " + redact(message.url) +
                                             ": transport not connected (call connect() first)");
    }
    if (options.timeout.total <= Duration::zero()) co_return co_await perform(std::move(message));

    using namespace asio::experimental::awaitable_operators;
    const std::string context = message.method + " " + redact(message.url);
    asio::steady_timer deadline(*executor, options.timeout.total);
    auto result = co_await (perform(std::move(message)) || deadline.async_wait(nothrow));
    if (result.index() == 1) {
        throw_error(errc::total_timeout, context + ": the call exceeded the total timeout");
    }
    co_return std::get<0>(std::move(result));
}

namespace {

// `e`'s message without the code's message that std::system_error appends.
std::string bare_message(const std::system_error& e) {
    std::string what = e.what();
    const std::string suffix = ": " + e.code().message();
    if (what.size() >= suffix.size() && what.ends_with(suffix))
        what.resize(what.size() - suffix.size());
    return what;
}

} // namespace

Engine::Prepared Engine::prepare(HttpMessage& message) const {
    std::string context = printable(message.method) + " " + printable(redact(message.url));
    try {
        validate_method(message.method);
        Prepared p{
            .method = message.method,
            .target = make_target(options.base_url, append_query(message.url, message.params))};
        context = p.method + " " + p.target.url;
        std::optional<EncodedBody> body = encode_body(message, make_boundary());
        p.headers = options.headers;
        for (const auto& [name, value] : message.headers) p.headers.set(name, value);
        p.headers.erase("Content-Length");
        p.headers.erase("Transfer-Encoding");
        if (body && !body->content_type.empty() && !p.headers.contains("Content-Type")) {
            p.headers.set("Content-Type", body->content_type);
        }
        if (!options.user_agent.empty() && !p.headers.contains("User-Agent")) {
            p.headers.set("User-Agent", options.user_agent);
        }
        if (!p.headers.contains("Accept")) p.headers.set("Accept", "*/*");
        if (!p.target.userinfo.empty() && !p.headers.contains("Authorization")) {
            p.headers.set("Authorization", basic_credentials(p.target.userinfo));
        }
        for (const auto& [name, value] : p.headers) validate_header(name, value);
        if (body) p.body = std::move(body->data);
        p.context = context;
        return p;
    } catch (const SerializationError&) {
        throw; // already says which request and body
    } catch (const TransportError& e) {
        std::rethrow_exception(make_exception(e.code(), context + ": " + bare_message(e)));
    }
}

asio::awaitable<Response> Engine::perform(HttpMessage message) {
    Prepared p = prepare(message);
    std::string method = std::move(p.method);
    Target target = std::move(p.target);
    Headers headers = std::move(p.headers);
    std::string payload = std::move(p.body);
    std::string context = std::move(p.context);

    std::vector<Response> history;
    for (std::size_t redirects = 0;; ++redirects) {
        Response response = co_await exchange(method, target, headers, payload, context);
        response.method = method;
        response.url = target.url;
        const auto location = response.headers.get("Location");
        if (!options.follow_redirects || !response.is_redirect() || !location) {
            response.history = std::move(history);
            if (options.raise_for_status && response.status >= 400) {
                std::rethrow_exception(make_http_exception(
                    status_error_code(response.status),
                    context + ": HTTP " + std::to_string(response.status) + " " + response.reason,
                    &response));
            }
            co_return response;
        }
        if (redirects == options.max_redirects) {
            throw TransportSpecificError(errc::too_many_redirects,
                                         context + ": more than " +
                                             std::to_string(options.max_redirects) +
                                             " redirects (last to " + std::string(*location) + ")");
        }
        Target next = make_target("", resolve_location(target.url, *location));
        const int status = response.status;
        if ((status == 303 && method != "HEAD") ||
            ((status == 301 || status == 302) && method == "POST")) {
            method = "GET";
            payload.clear();
            headers.erase("Content-Type");
        }
        if (!(next.origin == target.origin)) {
            headers.erase("Authorization");
            headers.erase("Cookie");
        }
        history.push_back(std::move(response));
        target = std::move(next);
        context = method + " " + target.url;
    }
}

} // namespace nector::http::detail
