#include "http/dialer/dialer.hpp"

#include "http/dialer/happy_eyeballs.hpp"
#include "http/dialer/socket_deadline.hpp"
#include "http/dialer/tls.hpp"
#include "http/dialer/tls_sessions.hpp"
#include "http/dialer/tunnel.hpp"
#include "http/errors/bridge.hpp"
#include "http/errors/fail_point.hpp"
#include "http/message/body.hpp"
#include "http/wire/http1.hpp"
#include "http/wire/http2.hpp"
#include "nector/transport/errors.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <string>
#include <string_view>
#include <vector>

namespace nector::http::detail {
namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;
using SteadyClock = std::chrono::steady_clock;

namespace {

constexpr auto nothrow = asio::as_tuple(asio::use_awaitable);

// "localhost" and the names under ".localhost" (RFC 6761 §6.3), however cased.
bool is_localhost(std::string_view host) {
    constexpr std::string_view name = "localhost";
    if (host.size() < name.size()) return false;
    const std::string_view tail = host.substr(host.size() - name.size());
    const bool ends = std::equal(tail.begin(), tail.end(), name.begin(), [](char a, char b) {
        return static_cast<char>(std::tolower(static_cast<unsigned char>(a))) == b;
    });
    return ends && (host.size() == name.size() || host[host.size() - name.size() - 1] == '.');
}

} // namespace

NetworkDialer::NetworkDialer(const Options& options, const WireLimits& limits)
    : options_(options), limits_(limits) {
    // (validate() has parsed every entry already.)
    for (const auto& entry : options_.resolve) resolve_.push_back(parse_resolve(entry));
    for (const auto& entry : options_.connect_to) connect_to_.push_back(parse_connect_to(entry));
    if (!options_.local_address.empty()) local_ = asio::ip::make_address(options_.local_address);
    proxies_ = proxies_of(options_.proxy, process_environment());
    const TlsOptions& t = options_.tls;
    if (!t.ca_file.empty() || !t.ca_pem.empty() || !t.cert_file.empty() || !t.key_file.empty() ||
        !t.cert_pem.empty() || !t.key_pem.empty()) {
        tls_ = make_tls_context(options_);
    }
}

bool NetworkDialer::expects_multiplexed(const Origin& origin) const noexcept {
    return options_.http2_prior_knowledge || (origin.tls && options_.http2);
}

asio::ssl::context& NetworkDialer::tls_context() {
    if (!tls_) tls_ = make_tls_context(options_);
    // Before the first TLS stream is made from the context: the store is not changed while
    // connections use it.
    if (!system_store_loaded_ && uses_system_store(options_)) {
        load_system_store(*tls_);
        system_store_loaded_ = true;
    }
    return *tls_;
}

asio::awaitable<std::vector<tcp::endpoint>> NetworkDialer::addresses(const std::string& host,
                                                                     std::uint16_t port,
                                                                     std::string_view context) {
    std::vector<tcp::endpoint> endpoints;
    boost::system::error_code parse_error;
    const auto address = asio::ip::make_address(host, parse_error);
    if (const ResolveEntry* entry = resolved(resolve_, host, port)) {
        for (const auto& a : entry->addresses) endpoints.emplace_back(a, port);
    } else if (!parse_error) {
        endpoints.emplace_back(address, port);
    } else if (is_localhost(host)) {
        // The loopback addresses, without asking DNS (RFC 6761 §6.3, as curl and browsers
        // do): a machine with no hosts entry for a name under .localhost reaches itself.
        endpoints.emplace_back(asio::ip::address_v4::loopback(), port);
        endpoints.emplace_back(asio::ip::address_v6::loopback(), port);
    } else {
        endpoints = co_await cached_lookup(host, port, context);
    }
    co_return endpoints;
}

asio::awaitable<std::vector<tcp::endpoint>> NetworkDialer::lookup(const std::string& host,
                                                                  std::uint16_t port,
                                                                  std::string_view context) {
    using namespace asio::experimental::awaitable_operators;
    auto ex = co_await asio::this_coro::executor;
    tcp::resolver resolver(ex);
    asio::steady_timer timer(ex, options_.timeout.connect);
    fail_point_timer(timer);
    ++lookups_made_;
    auto result = co_await (resolver.async_resolve(host, std::to_string(port), nothrow) ||
                            timer.async_wait(nothrow));
    if (result.index() == 1) {
        throw_error(errc::connect_timeout, std::string(context) + ": name lookup of \"" + host +
                                               "\" took longer than the connect timeout");
    }
    auto [ec, results] = std::get<0>(std::move(result));
    fail_point(ec);
    if (ec == asio::error::operation_aborted) {
        throw_error(errc::cancelled, std::string(context) + ": cancelled during name lookup");
    }
    if (ec) {
        throw_error(errc::name_resolution_failed, std::string(context) + ": name lookup of \"" +
                                                      host + "\" failed: " + ec.message());
    }
    std::vector<tcp::endpoint> endpoints;
    for (const auto& found : results) endpoints.push_back(found.endpoint());
    co_return endpoints;
}

asio::awaitable<std::vector<tcp::endpoint>> NetworkDialer::cached_lookup(const std::string& host,
                                                                         std::uint16_t port,
                                                                         std::string_view context) {
    const std::string key = host + ":" + std::to_string(port);
    const auto now = [this] { return options_.clock.now(); };
    for (;;) {
        if (const auto cached = dns_cache_.find(key);
            cached != dns_cache_.end() && now() < cached->second.expires) {
            co_return cached->second.endpoints;
        }
        const auto pending = lookups_.find(key);
        if (pending == lookups_.end()) break;
        // Another connection is looking the name up: its answer (or failure) is ours too.
        const std::shared_ptr<PendingLookup> shared = pending->second;
        auto woken = co_await shared->done.async_wait(nothrow); // when it ends
        (void)woken;
        if (!shared->finished) {
            throw_error(errc::cancelled, std::string(context) + ": cancelled during name lookup");
        }
        // Its caller was cancelled: that says nothing of this call, which looks up itself.
        if (shared->error && code_of(shared->error) == errc::cancelled) continue;
        if (shared->error) std::rethrow_exception(shared->error);
        co_return shared->endpoints;
    }
    auto shared = std::make_shared<PendingLookup>(co_await asio::this_coro::executor);
    lookups_.emplace(key, shared);
    try {
        shared->endpoints = co_await lookup(host, port, context);
    } catch (...) {
        shared->error = std::current_exception();
    }
    lookups_.erase(key);
    shared->finished = true;
    shared->done.cancel(); // wakes the connections that waited for it
    if (shared->error) std::rethrow_exception(shared->error);
    if (options_.dns_cache_ttl > Duration::zero()) {
        const auto at = now();
        std::erase_if(dns_cache_, [&](const auto& entry) { return entry.second.expires <= at; });
        dns_cache_[key] = CachedAddresses{shared->endpoints, at + options_.dns_cache_ttl};
    }
    co_return shared->endpoints;
}

namespace {

// What a connect needs but its coroutine frame need not hold (the frame of every connection
// being made counts in the memory of a burst of new connections): the candidates' choice
// and the error paths, as plain functions.

/// The endpoints a socket bound to `local` can reach: all without one, else those of its
/// family. Throws connection_failed when none is left.
std::vector<tcp::endpoint> candidates_of(const std::vector<tcp::endpoint>& endpoints,
                                         const std::optional<asio::ip::address>& local,
                                         const std::string& where, std::string_view context) {
    std::vector<tcp::endpoint> candidates;
    for (const auto& endpoint : endpoints) {
        if (!local || local->is_v4() == endpoint.address().is_v4()) candidates.push_back(endpoint);
    }
    if (candidates.empty()) {
        throw_error(
            errc::connection_failed,
            std::string(context) + ": connecting to " + where +
                (local ? std::string(": no address of the ") + (local->is_v4() ? "IPv4" : "IPv6") +
                             " family of the local address " + local->to_string()
                       : std::string(": no address")));
    }
    return candidates;
}

/// Opens `socket` for `endpoint` and binds it to `local` if set; throws connection_failed.
void open_socket(tcp::socket& socket, const tcp::endpoint& endpoint,
                 const std::optional<asio::ip::address>& local, const std::string& where,
                 std::string_view context) {
    boost::system::error_code error;
    socket.open(endpoint.protocol(), error);
    if (!error && local) socket.bind(tcp::endpoint(*local, 0), error);
    if (!error) return;
    socket.close(error);
    const std::string from = local ? " from the local address " + local->to_string() : "";
    throw_error(errc::connection_failed, std::string(context) + ": connecting to " + where +
                                             ": cannot open a socket" + from + ": " +
                                             error.message());
}

/// "host:port" of where a connection goes, and the origin's when connect_to sent it elsewhere.
std::string where_of(const Destination& to, const Origin& origin) {
    std::string where = to.host + ":" + std::to_string(to.port);
    if (to.host != origin.host || to.port != origin.port) {
        where += " (for " + origin.host + ":" + std::to_string(origin.port) + ")";
    }
    return where;
}

/// The error of a connect that failed with `last`.
[[noreturn]] void connect_failed(const boost::system::error_code& last, const std::string& where,
                                 std::string_view context) {
    const std::string detail = std::string(context) + ": connecting to " + where;
    switch (const errc code = errc_of_io(last, errc::connect_timeout)) {
        case errc::connect_timeout:
            throw_error(code, detail + ": no answer within the connect timeout");
        case errc::cancelled:
            throw_error(code, detail + ": cancelled");
        case errc::connection_refused:
            throw_error(code, detail + ": " + last.message());
        default: // a connect that fails otherwise did not get as far as a connection
            throw_error(errc::connection_failed, detail + ": " + last.message());
    }
}

} // namespace

// Not a coroutine: it only picks the coroutine that connects, so no frame of its own is
// kept while the connection is made.
asio::awaitable<PlainStream> NetworkDialer::connect(const std::vector<tcp::endpoint>& endpoints,
                                                    const std::string& where,
                                                    std::string_view context) {
    std::vector<tcp::endpoint> candidates = candidates_of(endpoints, local_, where, context);
    if (candidates.size() > 1) { // raced (Happy Eyeballs), not each waited out in turn
        return connect_racing(std::move(candidates), where, context);
    }
    return connect_one(candidates.front(), where, context);
}

asio::awaitable<PlainStream> NetworkDialer::connect_one(tcp::endpoint endpoint,
                                                        const std::string& where,
                                                        std::string_view context) {
    PlainStream stream(co_await asio::this_coro::executor);
    open_socket(stream, endpoint, local_, where, context);
    boost::system::error_code last;
    {
        const SocketDeadline deadline(stream, options_.timeout.connect);
        auto [ec] = co_await stream.async_connect(endpoint, nothrow);
        fail_point(ec);
        last = deadline.timed(ec);
    }
    if (last) {
        boost::system::error_code ignored;
        stream.close(ignored);
        connect_failed(last, where, context);
    }
    stream.set_option(tcp::no_delay(true));
    ++opened_;
    co_return stream;
}

asio::awaitable<PlainStream> NetworkDialer::connect_racing(std::vector<tcp::endpoint> candidates,
                                                           const std::string& where,
                                                           std::string_view context) {
    RaceResult race = co_await race_connect(
        interleave(candidates), options_.happy_eyeballs_delay, options_.timeout.connect,
        [&](tcp::socket& socket, const tcp::endpoint& endpoint) {
            open_socket(socket, endpoint, local_, where, context);
        });
    if (!race.socket) connect_failed(race.error, where, context);
    race.socket->set_option(tcp::no_delay(true));
    ++opened_;
    co_return std::move(*race.socket);
}

asio::awaitable<PlainStream> NetworkDialer::connect_unix(std::string_view context) {
    using unix_socket = asio::local::stream_protocol;
    const std::string& path = options_.unix_socket;
    // "@NAME": the abstract namespace, the name after a NUL byte.
    const unix_socket::endpoint endpoint(path.front() == '@' ? std::string(1, '\0') + path.substr(1)
                                                             : path);
    const std::string where = "the Unix socket \"" + printable(path) + "\"";
    unix_socket::socket socket(co_await asio::this_coro::executor);
    boost::system::error_code last;
    {
        const SocketDeadline deadline(socket, options_.timeout.connect);
        auto [ec] = co_await socket.async_connect(endpoint, nothrow);
        fail_point(ec);
        last = deadline.timed(ec);
    }
    if (last) connect_failed(last, where, context);
    // The wires run over a TCP socket type: the connected descriptor is handed to one. Reads,
    // writes, polls and close are the same calls on both; TCP options are not set on it.
    tcp::socket carrier(socket.get_executor());
    boost::system::error_code assign_error;
    carrier.assign(tcp::v4(), socket.release(), assign_error);
    if (assign_error) {
        throw_error(errc::connection_failed, std::string(context) + ": connecting to " + where +
                                                 ": " + assign_error.message());
    }
    ++opened_;
    co_return carrier;
}

asio::awaitable<std::shared_ptr<Connection>> NetworkDialer::dial(const Origin& origin,
                                                                 Timings& timings,
                                                                 std::string_view context) {
    if (!options_.unix_socket.empty()) {
        auto connection = co_await dial_unix(origin, timings, context);
        co_return connection;
    }
    if (const ProxyUrl* proxy = proxies_.route(origin)) {
        auto connection = co_await dial_proxied(origin, *proxy, timings, context);
        co_return connection;
    }
    const auto started = SteadyClock::now();
    // Where the connection goes (connect_to), and its addresses (resolve, else DNS).
    const Destination to = destination(connect_to_, origin.host, origin.port);
    const std::string where = where_of(to, origin);
    const std::vector<tcp::endpoint> endpoints = co_await addresses(to.host, to.port, context);
    timings.dns = SteadyClock::now() - started;
    const auto connect_started = SteadyClock::now();
    PlainStream stream = co_await connect(endpoints, where, context);
    timings.connect = SteadyClock::now() - connect_started;
    auto connection = co_await speak(std::move(stream), origin, timings, context);
    co_return connection;
}

asio::awaitable<std::shared_ptr<Connection>> NetworkDialer::dial_unix(const Origin& origin,
                                                                      Timings& timings,
                                                                      std::string_view context) {
    const auto started = SteadyClock::now();
    PlainStream stream = co_await connect_unix(context);
    timings.connect = SteadyClock::now() - started;
    auto connection = co_await speak(std::move(stream), origin, timings, context);
    co_return connection;
}

asio::awaitable<std::shared_ptr<Connection>> NetworkDialer::dial_proxied(const Origin& origin,
                                                                         const ProxyUrl& proxy,
                                                                         Timings& timings,
                                                                         std::string_view context) {
    // The proxy's addresses; the destination (connect_to applied) is the tunnel's.
    const auto started = SteadyClock::now();
    const Destination to = destination(connect_to_, origin.host, origin.port);
    const std::string where = "proxy " + proxy.display;
    const std::vector<tcp::endpoint> endpoints =
        co_await addresses(proxy.host, proxy.port, context);
    timings.dns = SteadyClock::now() - started;

    const auto connect_started = SteadyClock::now();
    PlainStream stream = co_await connect(endpoints, where, context);
    if (proxy.kind == ProxyUrl::Kind::http) {
        // http:// requests go to the proxy itself in absolute form; everything else (TLS,
        // HTTP/2 by prior knowledge) through a CONNECT tunnel.
        if (!origin.tls && !options_.http2_prior_knowledge) {
            timings.connect = SteadyClock::now() - connect_started;
            co_return make_http1_connection(std::move(stream), ProxyForward{proxy.authorization});
        }
        co_await http_tunnel(stream, proxy, to.host, to.port, options_.timeout.connect,
                             limits_.max_header_bytes, context);
    } else {
        std::string host = to.host;
        if (proxy.kind == ProxyUrl::Kind::socks5) { // resolved here: the first address
            const std::vector<tcp::endpoint> resolved =
                co_await addresses(to.host, to.port, context);
            host = resolved.front().address().to_string();
        }
        co_await socks5_tunnel(stream, proxy, host, to.port, options_.timeout.connect, context);
    }
    timings.connect = SteadyClock::now() - connect_started;
    auto connection = co_await speak(std::move(stream), origin, timings, context);
    co_return connection;
}

asio::awaitable<std::shared_ptr<Connection>> NetworkDialer::speak(PlainStream stream,
                                                                  const Origin& origin,
                                                                  Timings& timings,
                                                                  std::string_view context) {
    if (!origin.tls) {
        if (options_.http2_prior_knowledge) {
            co_return make_http2_connection(std::move(stream), limits_);
        }
        co_return make_http1_connection(std::move(stream));
    }
    const auto tls_started = SteadyClock::now();
    TlsStream tls(std::move(stream), tls_context());
    if (options_.tls.session_resumption) {
        if (!sessions_) sessions_ = std::make_shared<TlsSessions>();
        (void)sessions_->prepare(tls.native_handle(),
                                 origin.host + ":" + std::to_string(origin.port));
    }
    co_await tls_handshake(tls, origin.host, options_, context);
    timings.tls = SteadyClock::now() - tls_started;
    timings.tls_resumed = SSL_session_reused(tls.native_handle()) == 1;
    ++tls_handshakes_;
    if (timings.tls_resumed) ++tls_resumed_;
    if (negotiated_h2(tls)) co_return make_http2_connection(std::move(tls), limits_);
    co_return make_http1_connection(std::move(tls));
}

} // namespace nector::http::detail
