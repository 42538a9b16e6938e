#include "nector/testing/test_server.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/address_v4.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/socket_base.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/string_body.hpp>

#include <openssl/ssl.h>

#include <algorithm>
#include <cctype>
#include <exception>
#include <stdexcept>
#include <system_error>

namespace nector::testing {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using boost::system::error_code;
using tcp = asio::ip::tcp;

namespace {

constexpr std::size_t header_limit = std::size_t{1} << 20;
constexpr std::uint64_t body_limit = std::uint64_t{1} << 30;
constexpr std::size_t read_chunk = 64 * 1024;
constexpr auto tls_close_grace = std::chrono::seconds(1);

bool iequals(std::string_view a, std::string_view b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
        return std::tolower(static_cast<unsigned char>(x)) ==
               std::tolower(static_cast<unsigned char>(y));
    });
}

// End of stream before a request began: TCP FIN, or TLS without / with close_notify.
bool is_end_of_stream(const error_code& ec) {
    return ec == asio::error::eof || ec == asio::ssl::error::stream_truncated;
}

std::string version_string(unsigned version) {
    return "HTTP/" + std::to_string(version / 10) + "." + std::to_string(version % 10);
}

} // namespace

std::optional<std::string> RecordedRequest::header(std::string_view name) const {
    for (const auto& [field, value] : headers) {
        if (iequals(field, name)) return value;
    }
    return std::nullopt;
}

// --- TestConnection ---------------------------------------------------------------------------

TestConnection::TestConnection(TestServer& server, tcp::socket socket,
                               asio::ssl::context& tls_context, bool tls, std::size_t index)
    : server_(server), stream_(std::move(socket), tls_context), tls_(tls), index_(index) {}

TestConnection::~TestConnection() = default;

asio::awaitable<void> TestConnection::handshake() {
    co_await stream_.async_handshake(asio::ssl::stream_base::server, asio::use_awaitable);
}

asio::awaitable<std::pair<error_code, std::size_t>> TestConnection::read_some(
    asio::mutable_buffer buffer) {
    if (tls_) {
        auto [ec, n] =
            co_await stream_.async_read_some(buffer, asio::as_tuple(asio::use_awaitable));
        co_return std::pair{ec, n};
    }
    auto [ec, n] =
        co_await stream_.next_layer().async_read_some(buffer, asio::as_tuple(asio::use_awaitable));
    co_return std::pair{ec, n};
}

asio::awaitable<std::optional<RecordedRequest>> TestConnection::read_request() {
    http::request_parser<http::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(header_limit));
    parser.body_limit(body_limit);
    parser.eager(true);
    std::string raw;
    std::string chunk(read_chunk, '\0');
    for (;;) {
        if (!pending_.empty()) {
            error_code ec;
            const std::size_t used = parser.put(asio::buffer(pending_), ec);
            raw.append(pending_, 0, used);
            pending_.erase(0, used);
            if (ec && ec != http::error::need_more) throw boost::system::system_error(ec);
            if (parser.is_done()) break;
            // The parser wants whole heads: read more when it took nothing or took everything.
            if (used > 0 && !pending_.empty()) continue;
        }
        auto [ec, n] = co_await read_some(asio::buffer(chunk));
        if (is_end_of_stream(ec)) {
            if (raw.empty() && pending_.empty()) co_return std::nullopt;
            throw boost::system::system_error(http::error::partial_message);
        }
        if (ec) throw boost::system::system_error(ec);
        pending_.append(chunk, 0, n);
    }

    auto& message = parser.get();
    RecordedRequest request;
    request.method = std::string(message.method_string());
    request.target = std::string(message.target());
    request.version = version_string(message.version());
    for (const auto& field : message) {
        request.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    }
    request.body = std::move(message.body());
    request.raw = std::move(raw);
    request.connection = index_;
    server_.record(request);
    co_return request;
}

asio::awaitable<void> TestConnection::write(std::string_view bytes) {
    if (tls_) {
        co_await asio::async_write(stream_, asio::buffer(bytes), asio::use_awaitable);
    } else {
        co_await asio::async_write(stream_.next_layer(), asio::buffer(bytes), asio::use_awaitable);
    }
}

asio::awaitable<void> TestConnection::delay(std::chrono::steady_clock::duration duration) {
    asio::steady_timer timer(stream_.get_executor(), duration);
    co_await timer.async_wait(asio::use_awaitable);
}

asio::awaitable<std::string> TestConnection::read_some_raw() {
    if (!pending_.empty()) co_return std::exchange(pending_, std::string());
    std::string chunk(read_chunk, '\0');
    auto [ec, n] = co_await read_some(asio::buffer(chunk));
    if (is_end_of_stream(ec)) co_return std::string();
    if (ec) throw boost::system::system_error(ec);
    chunk.resize(n);
    co_return chunk;
}

void TestConnection::close() {
    if (closed_) return;
    closed_ = true;
    if (tls_) {
        // close_notify needs the event loop; the spawned task keeps this connection alive.
        asio::co_spawn(
            stream_.get_executor(),
            [self = shared_from_this()]() { return self->graceful_close(); }, asio::detached);
        return;
    }
    error_code ignored;
    stream_.next_layer().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.next_layer().close(ignored);
}

asio::awaitable<void> TestConnection::graceful_close() {
    using namespace asio::experimental::awaitable_operators;
    asio::steady_timer grace(stream_.get_executor(), tls_close_grace);
    // async_shutdown sends close_notify, then waits for the peer's; the timer bounds the wait.
    co_await (stream_.async_shutdown(asio::as_tuple(asio::use_awaitable)) ||
              grace.async_wait(asio::as_tuple(asio::use_awaitable)));
    error_code ignored;
    stream_.next_layer().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.next_layer().close(ignored);
}

void TestConnection::reset() {
    if (closed_) return;
    closed_ = true;
    error_code ignored;
    stream_.next_layer().set_option(asio::socket_base::linger(true, 0), ignored);
    stream_.next_layer().close(ignored);
}

std::string TestConnection::peer_address() const {
    boost::system::error_code ec;
    const auto endpoint = stream_.lowest_layer().remote_endpoint(ec);
    return ec ? std::string() : endpoint.address().to_string();
}

void TestConnection::cut() {
    if (closed_) return;
    closed_ = true;
    error_code ignored;
    stream_.next_layer().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.next_layer().close(ignored);
}

void TestConnection::abort() noexcept {
    closed_ = true;
    error_code ignored;
    stream_.next_layer().close(ignored);
}

// --- TestServer -------------------------------------------------------------------------------

TestServer::TestServer(Handler handler) : TestServer(std::move(handler), nullptr) {}

TestServer::TestServer(Handler handler, const TlsFiles& tls)
    : TestServer(std::move(handler), &tls) {}

TestServer::TestServer(Handler handler, const TlsFiles* tls)
    : handler_(std::move(handler)),
      tls_(tls != nullptr),
      tls_context_(asio::ssl::context::tls_server),
      acceptor_(io_) {
    if (!handler_) throw std::invalid_argument("TestServer: empty handler");
    if (tls != nullptr) {
        tls_context_.set_options(asio::ssl::context::default_workarounds |
                                 asio::ssl::context::no_sslv2 | asio::ssl::context::no_sslv3);
        tls_context_.use_certificate_chain_file(tls->certificate_chain.string());
        tls_context_.use_private_key_file(tls->private_key.string(), asio::ssl::context::pem);
        alpn_ = tls->alpn;
        // Records every offer; selects TlsFiles::alpn when set and offered, refuses the
        // handshake when it is set and not offered.
        SSL_CTX_set_alpn_select_cb(
            tls_context_.native_handle(),
            [](SSL*, const unsigned char** out, unsigned char* out_size, const unsigned char* in,
               unsigned int in_size, void* arg) -> int {
                auto* self = static_cast<TestServer*>(arg);
                std::string offer;
                int chosen = -1;
                for (unsigned int i = 0; i < in_size;) {
                    const unsigned int n = in[i];
                    const std::string protocol(reinterpret_cast<const char*>(in + i + 1), n);
                    if (!offer.empty()) offer += ',';
                    offer += protocol;
                    if (chosen < 0 && !self->alpn_.empty() && protocol == self->alpn_) {
                        chosen = static_cast<int>(i);
                    }
                    i += n + 1;
                }
                {
                    const std::lock_guard lock(self->mutex_);
                    self->alpn_offers_.push_back(offer);
                }
                if (self->alpn_.empty()) return SSL_TLSEXT_ERR_NOACK;
                if (chosen < 0) return SSL_TLSEXT_ERR_ALERT_FATAL;
                *out = in + chosen + 1;
                *out_size = in[chosen];
                return SSL_TLSEXT_ERR_OK;
            },
            this);
    }
    const tcp::endpoint endpoint(asio::ip::address_v4::loopback(), 0);
    acceptor_.open(endpoint.protocol());
    acceptor_.set_option(tcp::acceptor::reuse_address(true));
    acceptor_.bind(endpoint);
    acceptor_.listen();
    port_ = acceptor_.local_endpoint().port();
    asio::co_spawn(io_, accept_loop(), asio::detached);
    thread_ = std::thread([this] { io_.run(); });
}

TestServer::~TestServer() {
    asio::post(io_, [this] {
        stopping_ = true;
        error_code ignored;
        acceptor_.close(ignored);
        for (const auto& weak : live_) {
            if (auto connection = weak.lock()) connection->abort();
        }
        // Handlers may be in delay() or anywhere else: their frames are destroyed with io_.
        io_.stop();
    });
    thread_.join();
}

std::string TestServer::url(std::string_view path) const {
    std::string result = tls_ ? "https://127.0.0.1:" : "http://127.0.0.1:";
    result += std::to_string(port_);
    if (path.empty() || path.front() != '/') result += '/';
    result += path;
    return result;
}

std::vector<RecordedRequest> TestServer::requests() const {
    std::lock_guard lock(mutex_);
    return requests_;
}

std::size_t TestServer::connections() const {
    std::lock_guard lock(mutex_);
    return connections_;
}

std::vector<std::string> TestServer::errors() const {
    std::lock_guard lock(mutex_);
    return errors_;
}

bool TestServer::wait_for_requests(std::size_t count,
                                   std::chrono::steady_clock::duration timeout) const {
    std::unique_lock lock(mutex_);
    return requests_changed_.wait_for(lock, timeout, [&] { return requests_.size() >= count; });
}

void TestServer::record(RecordedRequest request) {
    {
        std::lock_guard lock(mutex_);
        requests_.push_back(std::move(request));
    }
    requests_changed_.notify_all();
}

std::vector<std::string> TestServer::alpn_offers() const {
    const std::lock_guard lock(mutex_);
    return alpn_offers_;
}

void TestServer::record_error(std::size_t connection, std::string_view what) {
    if (stopping_) return;
    std::lock_guard lock(mutex_);
    errors_.push_back("connection " + std::to_string(connection) + ": " + std::string(what));
}

asio::awaitable<void> TestServer::accept_loop() {
    for (;;) {
        auto [ec, socket] = co_await acceptor_.async_accept(asio::as_tuple(asio::use_awaitable));
        if (ec == asio::error::operation_aborted || !acceptor_.is_open()) co_return;
        if (ec) continue; // e.g. a connection reset while queued
        std::size_t index = 0;
        {
            std::lock_guard lock(mutex_);
            index = connections_++;
        }
        std::shared_ptr<TestConnection> connection(
            new TestConnection(*this, std::move(socket), tls_context_, tls_, index));
        std::erase_if(live_, [](const auto& weak) { return weak.expired(); });
        live_.push_back(connection);
        asio::co_spawn(io_, serve(std::move(connection)), asio::detached);
    }
}

asio::awaitable<void> TestServer::serve(std::shared_ptr<TestConnection> connection) {
    if (tls_) {
        try {
            co_await connection->handshake();
        } catch (const std::exception& e) {
            record_error(connection->index_, std::string("TLS handshake: ") + e.what());
            connection->abort();
            co_return;
        }
    }
    try {
        co_await handler_(*connection);
    } catch (const std::exception& e) {
        record_error(connection->index_, e.what());
    }
    if (connection->closed_) co_return;
    connection->closed_ = true;
    if (connection->tls_) {
        co_await connection->graceful_close();
    } else {
        error_code ignored;
        connection->stream_.next_layer().shutdown(tcp::socket::shutdown_send, ignored);
        connection->stream_.next_layer().close(ignored);
    }
}

namespace {

asio::awaitable<void> respond_each(TestConnection& connection, std::string raw_response) {
    // GCC 12 miscompiles a co_await whose temporary is tested in a condition: name it first.
    for (;;) {
        const auto request = co_await connection.read_request();
        if (!request) co_return;
        co_await connection.write(raw_response);
    }
}

asio::awaitable<void> respond_in_sequence(TestConnection& connection,
                                          std::shared_ptr<const std::vector<std::string>> responses,
                                          std::shared_ptr<std::size_t> next) {
    for (;;) {
        const auto request = co_await connection.read_request();
        if (!request) co_return;
        const std::size_t n = std::min((*next)++, responses->size() - 1);
        co_await connection.write((*responses)[n]);
    }
}

} // namespace

TestServer::Handler TestServer::respond(std::string raw_response) {
    // Each call copies the response into the coroutine frame: nothing refers to the closure.
    return [raw = std::move(raw_response)](TestConnection& connection) {
        return respond_each(connection, raw);
    };
}

TestServer::Handler TestServer::sequence(std::vector<std::string> raw_responses) {
    if (raw_responses.empty()) throw std::invalid_argument("TestServer::sequence: no responses");
    auto responses = std::make_shared<const std::vector<std::string>>(std::move(raw_responses));
    // Handlers all run on the server thread, so the shared counter needs no lock.
    auto next = std::make_shared<std::size_t>(0);
    return [responses, next](TestConnection& connection) {
        return respond_in_sequence(connection, responses, next);
    };
}

std::string http_response(int status, std::string_view body,
                          std::vector<std::pair<std::string, std::string>> headers,
                          std::string_view reason) {
    std::string phrase(reason);
    if (phrase.empty() && status >= 0) {
        const auto code = http::int_to_status(static_cast<unsigned>(status));
        if (code != http::status::unknown) phrase = std::string(http::obsolete_reason(code));
    }
    std::string out = "HTTP/1.1 " + std::to_string(status) + " " + phrase + "\r\n";
    bool framed = false;
    for (const auto& [name, value] : headers) {
        framed = framed || iequals(name, "Content-Length") || iequals(name, "Transfer-Encoding");
        out += name + ": " + value + "\r\n";
    }
    const bool bodiless = (status >= 100 && status < 200) || status == 204 || status == 304;
    if (!framed && !bodiless) out += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    out += "\r\n";
    out += body;
    return out;
}

} // namespace nector::testing
