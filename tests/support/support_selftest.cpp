// Proves the test infrastructure with plain blocking clients (Asio/Beast for HTTP/1.1, a small
// nghttp2 client and the curl tool for HTTP/2): TestServer's handler factories and connection
// operations (plain and TLS), H2TestServer's actions and knobs, the test PKI, nginx's ports,
// nghttpd and httpbin.
#include "support/h2_server.hpp"
#include "support/servers.hpp"
#include "support/test_server.hpp"

#include <gtest/gtest.h>

#include <boost/algorithm/string/case_conv.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>

#include <nghttp2/nghttp2.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <deque>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

extern char** environ;

namespace nector::test {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;
using Response = http::response<http::string_body>;

// --- A tiny blocking client -------------------------------------------------------------------

tcp::socket connect_to(asio::io_context& io, std::uint16_t port) {
    tcp::socket socket(io);
    socket.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    return socket;
}

std::string get_request(std::string_view target) {
    return "GET " + std::string(target) + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
}

template <class Stream>
Response read_response(Stream& stream, beast::flat_buffer& buffer) {
    http::response_parser<http::string_body> parser;
    parser.body_limit(std::uint64_t{16} << 20);
    http::read(stream, buffer, parser);
    return parser.release();
}

template <class Stream>
Response exchange(Stream& stream, beast::flat_buffer& buffer, std::string_view request) {
    asio::write(stream, asio::buffer(request));
    return read_response(stream, buffer);
}

/// Reads until the peer ends the stream; returns the bytes and the error that ended it.
template <class Stream>
std::pair<std::string, boost::system::error_code> read_to_end(Stream& stream) {
    std::string bytes;
    boost::system::error_code ec;
    char chunk[4096];
    for (;;) {
        const std::size_t n = stream.read_some(asio::buffer(chunk), ec);
        bytes.append(chunk, n);
        if (ec) return {bytes, ec};
    }
}

bool contains(std::string_view text, std::string_view part) {
    return text.find(part) != std::string_view::npos;
}

std::string file_text(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

enum class ClientCertificate { none, test_client };

/// A TLS client that trusts only the test CA and checks the host name with OpenSSL itself, so a
/// failed handshake reports why (SSL_get_verify_result).
class TlsClient {
public:
    explicit TlsClient(ClientCertificate client = ClientCertificate::none)
        : context_(ssl::context::tls_client) {
        const auto& certs = certificates();
        context_.set_verify_mode(ssl::verify_peer);
        context_.add_certificate_authority(asio::buffer(certs.ca_pem));
        if (client == ClientCertificate::test_client) {
            context_.use_certificate_chain_file(certs.client_cert.string());
            context_.use_private_key_file(certs.client_key.string(), ssl::context::pem);
        }
    }

    struct Handshake {
        boost::system::error_code error;
        long verify_result; // X509_V_OK or the X509_V_ERR_* that failed verification
    };

    /// Connects to 127.0.0.1:port and handshakes, expecting a certificate for `host` (a DNS
    /// name or an IP address).
    Handshake connect(std::uint16_t port, const std::string& host) {
        stream_ = std::make_unique<ssl::stream<tcp::socket>>(connect_to(io_, port), context_);
        X509_VERIFY_PARAM* param = SSL_get0_param(stream_->native_handle());
        boost::system::error_code not_ip;
        asio::ip::make_address(host, not_ip);
        if (not_ip) {
            X509_VERIFY_PARAM_set1_host(param, host.c_str(), 0);
        } else {
            X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str());
        }
        Handshake result{};
        stream_->handshake(ssl::stream_base::client, result.error);
        result.verify_result = SSL_get_verify_result(stream_->native_handle());
        return result;
    }

    ssl::stream<tcp::socket>& stream() { return *stream_; }

private:
    asio::io_context io_;
    ssl::context context_;
    std::unique_ptr<ssl::stream<tcp::socket>> stream_;
};

// --- A tiny blocking HTTP/2 client -----------------------------------------------------------

enum class Transport { h2c, tls };

/// One stream as the client saw it.
struct H2Response {
    int status{0};
    H2Fields headers;
    std::string body;
    H2Fields trailers;
    bool closed{false};
    std::uint32_t error_code{0}; ///< From on_stream_close: 0, or the RST_STREAM / GOAWAY code.

    std::optional<std::string> header(std::string_view name) const {
        for (const auto& [field, value] : headers) {
            if (field == name) return value;
        }
        return std::nullopt;
    }
};

/// An nghttp2 client session over a blocking socket (TLS: trusts the test CA, offers ALPN h2
/// only). Frames move only inside run_until().
class H2Client {
public:
    explicit H2Client(std::uint16_t port, Transport transport = Transport::h2c)
        : tls_(transport == Transport::tls) {
        if (tls_) {
            tls_context_.set_verify_mode(ssl::verify_peer);
            tls_context_.add_certificate_authority(asio::buffer(certificates().ca_pem));
        }
        stream_ = std::make_unique<ssl::stream<tcp::socket>>(connect_to(io_, port), tls_context_);
        stream_->next_layer().set_option(tcp::no_delay(true));
        if (tls_) {
            static const unsigned char h2[] = {2, 'h', '2'};
            SSL_set_alpn_protos(stream_->native_handle(), h2, sizeof h2);
            stream_->handshake(ssl::stream_base::client);
            const unsigned char* selected = nullptr;
            unsigned int length = 0;
            SSL_get0_alpn_selected(stream_->native_handle(), &selected, &length);
            if (selected != nullptr) alpn.assign(reinterpret_cast<const char*>(selected), length);
        }
        nghttp2_session_callbacks* callbacks = nullptr;
        nghttp2_session_callbacks_new(&callbacks);
        nghttp2_session_callbacks_set_on_header_callback(callbacks, on_header);
        nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks, on_data);
        nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, on_close);
        nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, on_frame);
        nghttp2_session_client_new(&session_, callbacks, this);
        nghttp2_session_callbacks_del(callbacks);
        nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, nullptr, 0);
    }

    ~H2Client() { nghttp2_session_del(session_); }
    H2Client(const H2Client&) = delete;
    H2Client& operator=(const H2Client&) = delete;

    /// Queues a request; the body, if any, goes in DATA frames.
    std::int32_t submit(const std::string& method, const std::string& path, std::string body = {}) {
        const std::string authority = "127.0.0.1";
        const std::string scheme = tls_ ? "https" : "http";
        const nghttp2_nv fields[] = {nv(":method", method), nv(":scheme", scheme),
                                     nv(":authority", authority), nv(":path", path)};
        auto& upload = uploads_.emplace_back(Upload{std::move(body), 0});
        nghttp2_data_provider provider{};
        provider.source.ptr = &upload;
        provider.read_callback = read_upload;
        const bool has_body = method == "POST" || method == "PUT";
        const std::int32_t id = nghttp2_submit_request(session_, nullptr, fields, std::size(fields),
                                                       has_body ? &provider : nullptr, nullptr);
        EXPECT_GT(id, 0) << nghttp2_strerror(id);
        return id;
    }

    void ping() { nghttp2_submit_ping(session_, NGHTTP2_FLAG_NONE, nullptr); }
    void reset(std::int32_t stream, H2Error error) {
        nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, stream,
                                  static_cast<std::uint32_t>(error));
    }
    void goaway(H2Error error) {
        nghttp2_submit_goaway(session_, NGHTTP2_FLAG_NONE, 0, static_cast<std::uint32_t>(error),
                              nullptr, 0);
    }

    /// Sends what is queued, then reads and answers frames until `done()` holds, the connection
    /// ends or 10 s pass; returns done().
    bool run_until(const std::function<bool()>& done) {
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        std::vector<std::uint8_t> buffer(64 * 1024);
        for (;;) {
            flush();
            if (done()) return true;
            if (eof) return false;
            std::optional<boost::system::error_code> result;
            std::size_t n = 0;
            auto on_read = [&](boost::system::error_code ec, std::size_t k) {
                result = ec;
                n = k;
            };
            if (tls_) {
                stream_->async_read_some(asio::buffer(buffer), on_read);
            } else {
                stream_->next_layer().async_read_some(asio::buffer(buffer), on_read);
            }
            io_.restart();
            while (!result && io_.run_one_until(deadline) > 0) {
            }
            if (!result) {
                stream_->next_layer().cancel();
                io_.restart();
                io_.run();
                return done();
            }
            if (*result) {
                eof = true;
                end_error = *result;
                continue;
            }
            if (nghttp2_session_mem_recv(session_, buffer.data(), n) < 0) eof = true;
        }
    }

    /// Runs until every stream in `ids` is closed.
    bool run_until_closed(const std::vector<std::int32_t>& ids) {
        return run_until([&] {
            for (const auto id : ids) {
                if (!responses[id].closed) return false;
            }
            return true;
        });
    }

    /// One request, run until its stream closes.
    H2Response fetch(const std::string& method, const std::string& path, std::string body = {}) {
        const auto id = submit(method, path, std::move(body));
        EXPECT_TRUE(run_until_closed({id})) << method << " " << path;
        return responses[id];
    }

    std::uint32_t remote_setting(nghttp2_settings_id id) const {
        return nghttp2_session_get_remote_settings(session_, id);
    }

    std::map<std::int32_t, H2Response> responses;
    std::vector<std::int32_t> close_order;
    int ping_acks{0};
    std::optional<std::pair<std::int32_t, std::uint32_t>> goaway_received; ///< last id, code
    bool eof{false};
    boost::system::error_code end_error; ///< What ended the connection, when a read did.
    std::string alpn;                    ///< The protocol ALPN selected (TLS only).

private:
    struct Upload {
        std::string data;
        std::size_t sent;
    };

    static nghttp2_nv nv(std::string_view name, const std::string& value) {
        return {reinterpret_cast<std::uint8_t*>(const_cast<char*>(name.data())),
                reinterpret_cast<std::uint8_t*>(const_cast<char*>(value.data())), name.size(),
                value.size(), NGHTTP2_NV_FLAG_NONE};
    }

    void flush() {
        std::string out;
        for (;;) {
            const std::uint8_t* data = nullptr;
            const auto n = nghttp2_session_mem_send(session_, &data);
            if (n <= 0) break;
            out.append(reinterpret_cast<const char*>(data), static_cast<std::size_t>(n));
        }
        if (out.empty()) return;
        boost::system::error_code ec;
        if (tls_) {
            asio::write(*stream_, asio::buffer(out), ec);
        } else {
            asio::write(stream_->next_layer(), asio::buffer(out), ec);
        }
        if (ec) eof = true;
    }

    static ssize_t read_upload(nghttp2_session*, std::int32_t, std::uint8_t* buf,
                               std::size_t length, std::uint32_t* flags,
                               nghttp2_data_source* source, void*) {
        auto& upload = *static_cast<Upload*>(source->ptr);
        const std::size_t n = std::min(length, upload.data.size() - upload.sent);
        std::memcpy(buf, upload.data.data() + upload.sent, n);
        upload.sent += n;
        if (upload.sent == upload.data.size()) *flags |= NGHTTP2_DATA_FLAG_EOF;
        return static_cast<ssize_t>(n);
    }

    static int on_header(nghttp2_session*, const nghttp2_frame* frame, const std::uint8_t* name,
                         std::size_t name_length, const std::uint8_t* value,
                         std::size_t value_length, std::uint8_t, void* user_data) {
        auto& self = *static_cast<H2Client*>(user_data);
        auto& response = self.responses[frame->hd.stream_id];
        std::string field(reinterpret_cast<const char*>(name), name_length);
        std::string text(reinterpret_cast<const char*>(value), value_length);
        if (frame->headers.cat == NGHTTP2_HCAT_HEADERS && response.status != 0) {
            response.trailers.emplace_back(std::move(field), std::move(text));
        } else if (field == ":status") {
            response.status = std::stoi(text);
        } else {
            response.headers.emplace_back(std::move(field), std::move(text));
        }
        return 0;
    }

    static int on_data(nghttp2_session*, std::uint8_t, std::int32_t stream_id,
                       const std::uint8_t* data, std::size_t length, void* user_data) {
        auto& self = *static_cast<H2Client*>(user_data);
        self.responses[stream_id].body.append(reinterpret_cast<const char*>(data), length);
        return 0;
    }

    static int on_close(nghttp2_session*, std::int32_t stream_id, std::uint32_t error_code,
                        void* user_data) {
        auto& self = *static_cast<H2Client*>(user_data);
        auto& response = self.responses[stream_id];
        response.closed = true;
        response.error_code = error_code;
        self.close_order.push_back(stream_id);
        return 0;
    }

    static int on_frame(nghttp2_session*, const nghttp2_frame* frame, void* user_data) {
        auto& self = *static_cast<H2Client*>(user_data);
        if (frame->hd.type == NGHTTP2_PING && (frame->hd.flags & NGHTTP2_FLAG_ACK) != 0) {
            ++self.ping_acks;
        }
        if (frame->hd.type == NGHTTP2_GOAWAY) {
            self.goaway_received = {frame->goaway.last_stream_id, frame->goaway.error_code};
        }
        return 0;
    }

    asio::io_context io_;
    ssl::context tls_context_{ssl::context::tls_client};
    std::unique_ptr<ssl::stream<tcp::socket>> stream_;
    bool tls_;
    nghttp2_session* session_{nullptr};
    std::deque<Upload> uploads_; // stable addresses for the data providers
};

// --- The curl tool ----------------------------------------------------------------------------

/// Runs curl with `arguments` (prefixed with -sS), returning what it printed on stdout and
/// stderr. Throws std::runtime_error when curl cannot be started or fails.
std::string curl(const std::vector<std::string>& arguments) {
    std::vector<std::string> argv = {"curl", "-sS"};
    argv.insert(argv.end(), arguments.begin(), arguments.end());
    std::vector<char*> pointers;
    for (auto& arg : argv) pointers.push_back(arg.data());
    pointers.push_back(nullptr);
    int ends[2];
    if (::pipe2(ends, O_CLOEXEC) != 0) throw std::system_error(errno, std::generic_category());
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, ends[1], 1);
    posix_spawn_file_actions_adddup2(&actions, ends[1], 2);
    pid_t pid = -1;
    const int spawned = posix_spawnp(&pid, "curl", &actions, nullptr, pointers.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(ends[1]);
    std::string output;
    char buffer[4096];
    for (ssize_t n = 0; spawned == 0 && (n = ::read(ends[0], buffer, sizeof buffer)) != 0;) {
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) break;
        output.append(buffer, static_cast<std::size_t>(n));
    }
    ::close(ends[0]);
    if (spawned != 0) {
        throw std::runtime_error("cannot run curl (Debian package curl): " +
                                 std::string(std::strerror(spawned)));
    }
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        std::string command;
        for (const auto& arg : argv) command += arg + " ";
        throw std::runtime_error(command + "failed (wait status " + std::to_string(status) +
                                 "): " + output);
    }
    return output;
}

// --- http_response ----------------------------------------------------------------------------

TEST(HttpResponse, BuildsStatusLineHeadersAndContentLength) {
    EXPECT_EQ(http_response(200, "hello"), "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello");
    EXPECT_EQ(http_response(404, "", {{"X-A", "1"}, {"X-B", "2"}}),
              "HTTP/1.1 404 Not Found\r\nX-A: 1\r\nX-B: 2\r\nContent-Length: 0\r\n\r\n");
    EXPECT_EQ(http_response(200, "x", {}, "Fine"),
              "HTTP/1.1 200 Fine\r\nContent-Length: 1\r\n\r\nx");
    EXPECT_EQ(http_response(597, "x"), "HTTP/1.1 597 \r\nContent-Length: 1\r\n\r\nx");
}

TEST(HttpResponse, LeavesFramingToCallerOrStatus) {
    EXPECT_EQ(http_response(204, ""), "HTTP/1.1 204 No Content\r\n\r\n");
    EXPECT_EQ(http_response(200, "3\r\nabc\r\n0\r\n\r\n", {{"transfer-encoding", "chunked"}}),
              "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n");
    EXPECT_EQ(http_response(200, "abc", {{"Content-Length", "10"}}),
              "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
}

// --- TestServer -------------------------------------------------------------------------------

TEST(TestServer, RespondAnswersPipelinedRequestsAndRecordsThem) {
    TestServer server(TestServer::respond(http_response(200, "hi", {{"X-Test", "yes"}})));
    EXPECT_EQ(server.url("/a"), "http://127.0.0.1:" + std::to_string(server.port()) + "/a");
    EXPECT_EQ(server.url("a"), server.url("/a"));

    asio::io_context io;
    auto socket = connect_to(io, server.port());
    const std::string first = "GET /one HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Custom: Value\r\n\r\n";
    const std::string second =
        "POST /two?x=1 HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\n\r\nhello";
    asio::write(socket, asio::buffer(first + second));
    beast::flat_buffer buffer;
    const auto r1 = read_response(socket, buffer);
    const auto r2 = read_response(socket, buffer);
    EXPECT_EQ(r1.result_int(), 200u);
    EXPECT_EQ(r1.body(), "hi");
    EXPECT_EQ(r1["X-Test"], "yes");
    EXPECT_EQ(r2.body(), "hi");

    ASSERT_TRUE(server.wait_for_requests(2, 5s));
    const auto requests = server.requests();
    ASSERT_EQ(requests.size(), 2u);
    EXPECT_EQ(requests[0].method, "GET");
    EXPECT_EQ(requests[0].target, "/one");
    EXPECT_EQ(requests[0].version, "HTTP/1.1");
    EXPECT_EQ(requests[0].header("x-custom"), "Value");
    EXPECT_EQ(requests[0].header("HOST"), "127.0.0.1");
    EXPECT_FALSE(requests[0].header("missing").has_value());
    EXPECT_EQ(requests[0].raw, first);
    EXPECT_EQ(requests[0].body, "");
    EXPECT_EQ(requests[1].method, "POST");
    EXPECT_EQ(requests[1].target, "/two?x=1");
    EXPECT_EQ(requests[1].body, "hello");
    EXPECT_EQ(requests[1].raw, second);
    EXPECT_EQ(requests[1].connection, 0u);
    ASSERT_EQ(requests[1].headers.size(), 2u);
    EXPECT_EQ(requests[1].headers[1].first, "Content-Length");
    EXPECT_EQ(server.connections(), 1u);
    EXPECT_TRUE(server.errors().empty());
}

TEST(TestServer, RecordsAChunkedBodyDecodedAndItsRawBytesExactly) {
    TestServer server(TestServer::respond(http_response(200, "")));
    asio::io_context io;
    auto socket = connect_to(io, server.port());
    const std::string request =
        "PUT /up HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
        "3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n";
    beast::flat_buffer buffer;
    EXPECT_EQ(exchange(socket, buffer, request).result_int(), 200u);
    const auto requests = server.requests();
    ASSERT_EQ(requests.size(), 1u);
    EXPECT_EQ(requests[0].body, "abcdefg");
    EXPECT_EQ(requests[0].raw, request);
}

TEST(TestServer, SequenceCountsRequestsAcrossConnectionsThenRepeatsTheLast) {
    EXPECT_THROW(TestServer::sequence({}), std::invalid_argument);
    TestServer server(
        TestServer::sequence({http_response(200, "first"), http_response(201, "second")}));
    asio::io_context io;
    std::vector<std::string> bodies;
    for (int i = 0; i < 3; ++i) {
        auto socket = connect_to(io, server.port());
        beast::flat_buffer buffer;
        bodies.push_back(exchange(socket, buffer, get_request("/")).body());
    }
    // A fourth on the third connection's successor, twice on one connection.
    auto socket = connect_to(io, server.port());
    beast::flat_buffer buffer;
    const auto fourth = exchange(socket, buffer, get_request("/"));
    EXPECT_EQ(fourth.result_int(), 201u);
    bodies.push_back(fourth.body());
    bodies.push_back(exchange(socket, buffer, get_request("/")).body());
    EXPECT_EQ(bodies, (std::vector<std::string>{"first", "second", "second", "second", "second"}));
    EXPECT_EQ(server.connections(), 4u);
    const auto requests = server.requests();
    ASSERT_EQ(requests.size(), 5u);
    for (std::size_t i = 0; i < 4; ++i) EXPECT_EQ(requests[i].connection, i);
    EXPECT_EQ(requests[4].connection, 3u);
}

TEST(TestServer, IndexNumbersConnectionsInAcceptOrder) {
    TestServer server([](TestConnection& connection) -> asio::awaitable<void> {
        for (;;) {
            const auto request = co_await connection.read_request();
            if (!request) co_return;
            const std::string response = http_response(200, std::to_string(connection.index()));
            co_await connection.write(response);
        }
    });
    asio::io_context io;
    for (int i = 0; i < 3; ++i) {
        auto socket = connect_to(io, server.port());
        beast::flat_buffer buffer;
        EXPECT_EQ(exchange(socket, buffer, get_request("/")).body(), std::to_string(i));
    }
}

TEST(TestServer, DelayHoldsTheResponseOnATimer) {
    constexpr auto pause = 200ms;
    const std::string ok = http_response(200, "late");
    TestServer server([&ok, pause](TestConnection& connection) -> asio::awaitable<void> {
        const auto request = co_await connection.read_request();
        if (!request) co_return;
        co_await connection.delay(pause);
        co_await connection.write(ok);
    });
    asio::io_context io;
    auto socket = connect_to(io, server.port());
    beast::flat_buffer buffer;
    const auto start = std::chrono::steady_clock::now();
    EXPECT_EQ(exchange(socket, buffer, get_request("/")).body(), "late");
    EXPECT_GE(std::chrono::steady_clock::now() - start, pause);
}

TEST(TestServer, CloseDeliversWhatWasWrittenThenEndOfStream) {
    const std::string truncated = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc";
    TestServer server([&truncated](TestConnection& connection) -> asio::awaitable<void> {
        const auto request = co_await connection.read_request();
        if (!request) co_return;
        co_await connection.write(truncated);
        connection.close();
    });
    asio::io_context io;
    auto socket = connect_to(io, server.port());
    asio::write(socket, asio::buffer(get_request("/")));
    const auto [bytes, error] = read_to_end(socket);
    EXPECT_EQ(bytes, truncated);
    EXPECT_EQ(error, asio::error::eof);
    EXPECT_TRUE(server.errors().empty());
}

TEST(TestServer, ResetMakesThePeerSeeConnectionReset) {
    TestServer server([](TestConnection& connection) -> asio::awaitable<void> {
        const auto request = co_await connection.read_request();
        if (request) connection.reset();
    });
    asio::io_context io;
    auto socket = connect_to(io, server.port());
    asio::write(socket, asio::buffer(get_request("/")));
    const auto [bytes, error] = read_to_end(socket);
    EXPECT_EQ(bytes, "");
    EXPECT_EQ(error, asio::error::connection_reset);
}

TEST(TestServer, ReadSomeRawSeesExactBytesIncludingWhatFollowsARequest) {
    // Echoes the 8 bytes that follow the first request, whatever they are.
    TestServer server([](TestConnection& connection) -> asio::awaitable<void> {
        const auto request = co_await connection.read_request();
        if (!request) co_return;
        std::string rest;
        while (rest.size() < 8) {
            const std::string chunk = co_await connection.read_some_raw();
            if (chunk.empty()) break;
            rest += chunk;
        }
        co_await connection.write(rest);
    });
    asio::io_context io;
    auto socket = connect_to(io, server.port());
    const std::string after("\0\x01\xff not", 8);
    asio::write(socket, asio::buffer(get_request("/") + after));
    std::string echoed(8, '?');
    asio::read(socket, asio::buffer(echoed));
    EXPECT_EQ(echoed, after);
}

TEST(TestServer, RecordsWhatAHandlerThrowsAndClosesTheConnection) {
    TestServer server(TestServer::respond(http_response(200, "")));
    asio::io_context io;
    auto socket = connect_to(io, server.port());
    asio::write(socket, asio::buffer(std::string_view("NOT AN HTTP REQUEST\r\n\r\n")));
    const auto [bytes, error] = read_to_end(socket);
    EXPECT_EQ(bytes, "");
    EXPECT_EQ(error, asio::error::eof);
    const auto errors = server.errors();
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_TRUE(contains(errors[0], "connection 0: ")) << errors[0];
    EXPECT_TRUE(server.requests().empty());
}

TEST(TestServer, WaitForRequestsReturnsFalseAfterTheTimeout) {
    TestServer server(TestServer::respond(http_response(200, "")));
    EXPECT_FALSE(server.wait_for_requests(1, 50ms));
    EXPECT_EQ(server.connections(), 0u);
}

TEST(TestServer, DestructionClosesConnectionsAndAbandonsPendingDelays) {
    auto server =
        std::make_unique<TestServer>([](TestConnection& connection) -> asio::awaitable<void> {
            const auto request = co_await connection.read_request();
            if (!request) co_return;
            co_await connection.delay(std::chrono::hours(1));
        });
    asio::io_context io;
    auto socket = connect_to(io, server->port());
    asio::write(socket, asio::buffer(get_request("/")));
    ASSERT_TRUE(server->wait_for_requests(1, 5s));
    server.reset();
    const auto [bytes, error] = read_to_end(socket);
    EXPECT_EQ(bytes, "");
    EXPECT_EQ(error, asio::error::eof);
}

TEST(TestServer, TlsModeRunsTheSameHandlerAfterTheHandshake) {
    const auto& certs = certificates();
    TestServer server(
        TestServer::respond(http_response(200, "secure")),
        TlsFiles{.certificate_chain = certs.server_cert, .private_key = certs.server_key});
    EXPECT_EQ(server.url("/x"), "https://127.0.0.1:" + std::to_string(server.port()) + "/x");
    TlsClient client;
    const auto handshake = client.connect(server.port(), "localhost");
    ASSERT_FALSE(handshake.error) << handshake.error.message();
    beast::flat_buffer buffer;
    const auto response = exchange(client.stream(), buffer, get_request("/tls"));
    EXPECT_EQ(response.body(), "secure");
    const auto requests = server.requests();
    ASSERT_EQ(requests.size(), 1u);
    EXPECT_EQ(requests[0].target, "/tls");
    EXPECT_EQ(requests[0].raw, get_request("/tls"));
}

TEST(TestServer, TlsCloseSendsCloseNotify) {
    const auto& certs = certificates();
    const std::string goodbye = http_response(200, "bye", {{"Connection", "close"}});
    TestServer server(
        [&goodbye](TestConnection& connection) -> asio::awaitable<void> {
            const auto request = co_await connection.read_request();
            if (!request) co_return;
            co_await connection.write(goodbye);
            connection.close();
        },
        TlsFiles{.certificate_chain = certs.server_cert, .private_key = certs.server_key});
    TlsClient client;
    ASSERT_FALSE(client.connect(server.port(), "127.0.0.1").error);
    asio::write(client.stream(), asio::buffer(get_request("/")));
    const auto [bytes, error] = read_to_end(client.stream());
    EXPECT_EQ(bytes, goodbye);
    // A close_notify reads as eof; a TCP close without one would be stream_truncated.
    EXPECT_EQ(error, asio::error::eof) << error.message();
}

// --- H2TestServer -----------------------------------------------------------------------------

/// curl over h2c with prior knowledge: "BODY|HTTP_VERSION".
std::string curl_h2c(const std::string& url, const std::vector<std::string>& extra = {}) {
    std::vector<std::string> arguments = {"--http2-prior-knowledge", "-w", "|%{http_version}"};
    arguments.insert(arguments.end(), extra.begin(), extra.end());
    arguments.push_back(url);
    return curl(arguments);
}

TEST(H2TestServer, AnswersCurlOverH2cAndRecordsTheRequest) {
    H2TestServer server;
    EXPECT_EQ(server.url("/a"), "http://127.0.0.1:" + std::to_string(server.port()) + "/a");
    EXPECT_EQ(server.url("a"), server.url("/a"));
    EXPECT_EQ(curl_h2c(server.url("/get?x=1")), "hello\n|2");
    EXPECT_EQ(curl_h2c(server.url("/post"), {"-H", "X-Custom: Value", "--data-binary", "abc"}),
              "abc|2");

    const auto requests = server.requests();
    ASSERT_EQ(requests.size(), 2u);
    EXPECT_EQ(requests[0].method, "GET");
    EXPECT_EQ(requests[0].scheme, "http");
    EXPECT_EQ(requests[0].authority, "127.0.0.1:" + std::to_string(server.port()));
    EXPECT_EQ(requests[0].path, "/get?x=1");
    EXPECT_EQ(requests[0].stream_id, 1);
    EXPECT_EQ(requests[0].connection, 0u);
    EXPECT_TRUE(requests[0].body.empty());
    EXPECT_EQ(requests[1].method, "POST");
    EXPECT_EQ(requests[1].body, "abc");
    EXPECT_EQ(requests[1].header("X-CUSTOM"), "Value");
    EXPECT_EQ(requests[1].connection, 1u);
    for (const auto& [name, value] : requests[1].headers) {
        EXPECT_FALSE(name.starts_with(":")) << name;
        EXPECT_EQ(name, boost::algorithm::to_lower_copy(name));
    }
    EXPECT_EQ(server.connections_accepted(), 2u);
    EXPECT_TRUE(server.errors().empty());
}

TEST(H2TestServer, RespondsWithHeadersBodyAndTrailers) {
    H2TestServer server([](const H2Request& request) {
        H2Action action = H2Action::respond(201, "payload " + request.path, {{"x-answer", "42"}});
        action.trailers = {{"x-checksum", "abc"}, {"x-more", "1"}};
        return action;
    });
    H2Client client(server.port());
    const auto response = client.fetch("GET", "/t");
    EXPECT_EQ(response.status, 201);
    EXPECT_EQ(response.body, "payload /t");
    EXPECT_EQ(response.header("x-answer"), "42");
    EXPECT_EQ(response.header("content-length"), "10");
    EXPECT_EQ(response.trailers, (H2Fields{{"x-checksum", "abc"}, {"x-more", "1"}}));
    EXPECT_EQ(response.error_code, NGHTTP2_NO_ERROR);
    // Trailers after an empty body, and no automatic content-length when asked.
    H2TestServer bare([](const H2Request&) {
        return H2Action{.status = 204, .trailers = {{"x-t", "v"}}, .content_length = false};
    });
    H2Client bare_client(bare.port());
    const auto empty = bare_client.fetch("GET", "/");
    EXPECT_EQ(empty.status, 204);
    EXPECT_EQ(empty.body, "");
    EXPECT_FALSE(empty.header("content-length").has_value());
    EXPECT_EQ(empty.trailers, (H2Fields{{"x-t", "v"}}));
}

TEST(H2TestServer, RefusesResetsIgnoresAndRecordsTheClientsResets) {
    H2TestServer server([](const H2Request& request) {
        if (request.path == "/refuse") return H2Action::refuse();
        if (request.path == "/reset") return H2Action::reset(H2Error::enhance_your_calm);
        return H2Action::ignore();
    });
    H2Client client(server.port());
    const auto refused = client.submit("GET", "/refuse");
    const auto reset = client.submit("GET", "/reset");
    const auto ignored = client.submit("GET", "/ignore");
    ASSERT_TRUE(client.run_until_closed({refused, reset}));
    EXPECT_EQ(client.responses[refused].error_code, NGHTTP2_REFUSED_STREAM);
    EXPECT_EQ(client.responses[refused].status, 0);
    EXPECT_EQ(client.responses[reset].error_code, NGHTTP2_ENHANCE_YOUR_CALM);
    EXPECT_FALSE(client.responses[ignored].closed);

    ASSERT_TRUE(server.wait_for_requests(3, 5s));
    client.reset(ignored, H2Error::cancel);
    client.run_until([] { return true; }); // sends the RST_STREAM
    ASSERT_TRUE(server.wait_for_resets(1, 5s));
    const auto resets = server.resets_received();
    ASSERT_EQ(resets.size(), 1u);
    EXPECT_EQ(resets[0].stream_id, ignored);
    EXPECT_EQ(resets[0].error, H2Error::cancel);
    EXPECT_EQ(resets[0].connection, 0u);
}

TEST(H2TestServer, GoawayAnnouncesTheLastStreamAndLeavesLaterOnesUnanswered) {
    // batch = 3: all three streams are open before the handler runs, in stream-id order.
    H2TestServer server(
        [](const H2Request& request) {
            if (request.path == "/goaway") {
                return H2Action{.kind = H2Action::Kind::goaway,
                                .body = request.path,
                                .answer_after_goaway = true};
            }
            return H2Action::respond(200, request.path);
        },
        {.batch = 3});
    H2Client client(server.port());
    const auto first = client.submit("GET", "/first");
    const auto middle = client.submit("GET", "/goaway");
    const auto last = client.submit("GET", "/last");
    ASSERT_TRUE(client.run_until_closed({first, middle, last}));
    ASSERT_TRUE(client.goaway_received.has_value());
    EXPECT_EQ(client.goaway_received->first, middle);
    EXPECT_EQ(client.goaway_received->second, NGHTTP2_NO_ERROR);
    EXPECT_EQ(client.responses[first].body, "/first");
    EXPECT_EQ(client.responses[middle].status, 200);
    EXPECT_EQ(client.responses[middle].body, "/goaway");
    // nghttp2's client closes streams above last_stream_id itself, as refused.
    EXPECT_EQ(client.responses[last].status, 0);
    EXPECT_EQ(client.responses[last].error_code, NGHTTP2_REFUSED_STREAM);
    // With nothing left, the server closes the connection.
    EXPECT_FALSE(client.run_until([] { return false; }));
    EXPECT_TRUE(client.eof);
}

TEST(H2TestServer, GoawayCanNameAnEarlierStreamAndAnErrorCode) {
    H2TestServer server(
        [](const H2Request& request) {
            if (request.path == "/goaway") {
                return H2Action{.kind = H2Action::Kind::goaway,
                                .error = H2Error::enhance_your_calm,
                                .last_stream_id = 0,
                                .answer_after_goaway = true};
            }
            return H2Action::respond(200);
        },
        {.batch = 2});
    H2Client client(server.port());
    const auto goaway = client.submit("GET", "/goaway");
    const auto other = client.submit("GET", "/other");
    ASSERT_TRUE(client.run_until_closed({goaway, other}));
    ASSERT_TRUE(client.goaway_received.has_value());
    EXPECT_EQ(client.goaway_received->first, 0);
    EXPECT_EQ(client.goaway_received->second, NGHTTP2_ENHANCE_YOUR_CALM);
    EXPECT_EQ(client.responses[goaway].status, 0); // above last_stream_id: not answered
    EXPECT_EQ(client.responses[other].status, 0);
}

TEST(H2TestServer, BatchHoldsRequestsUntilEnoughArePending) {
    struct Calls {
        std::mutex mutex;
        std::vector<std::int32_t> stream_ids;
        std::vector<std::int32_t> get() {
            std::lock_guard lock(mutex);
            return stream_ids;
        }
    };
    auto calls = std::make_shared<Calls>();
    H2TestServer server(
        [calls](const H2Request& request) {
            std::lock_guard lock(calls->mutex);
            calls->stream_ids.push_back(request.stream_id);
            return H2Action::respond(200, request.path);
        },
        {.batch = 2});
    H2Client client(server.port());
    const auto a = client.submit("GET", "/a");
    client.run_until([] { return true; });
    ASSERT_TRUE(server.wait_for_requests(1, 5s));
    // The ping is read after /a was, so its answer proves /a's read has been handled.
    client.ping();
    ASSERT_TRUE(client.run_until([&] { return client.ping_acks == 1; }));
    EXPECT_TRUE(calls->get().empty());
    EXPECT_FALSE(client.responses[a].closed);

    const auto b = client.submit("GET", "/b");
    ASSERT_TRUE(client.run_until_closed({a, b}));
    EXPECT_EQ(client.responses[a].body, "/a");
    EXPECT_EQ(client.responses[b].body, "/b");
    EXPECT_EQ(calls->get(), (std::vector<std::int32_t>{a, b}));
}

TEST(H2TestServer, DelayHoldsOnlyItsOwnStream) {
    constexpr auto pause = 200ms;
    H2TestServer server([pause](const H2Request& request) {
        H2Action action = H2Action::respond(200, request.path);
        if (request.path == "/slow") action.delay = pause;
        return action;
    });
    H2Client client(server.port());
    const auto start = std::chrono::steady_clock::now();
    const auto slow = client.submit("GET", "/slow");
    const auto fast = client.submit("GET", "/fast");
    ASSERT_TRUE(client.run_until_closed({slow, fast}));
    EXPECT_GE(std::chrono::steady_clock::now() - start, pause);
    EXPECT_EQ(client.close_order, (std::vector<std::int32_t>{fast, slow}));
    EXPECT_EQ(client.responses[slow].body, "/slow");
}

TEST(H2TestServer, AnnouncesItsSettingsAndHonoursFlowControl) {
    H2TestServer server({}, {.max_concurrent_streams = 1, .initial_window_size = 1000});
    H2Client client(server.port());
    ASSERT_TRUE(client.run_until(
        [&] { return client.remote_setting(NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS) == 1; }));
    EXPECT_EQ(client.remote_setting(NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE), 1000u);
    // nghttp2's client keeps the second and third streams queued until a slot frees; each
    // 5000-byte upload needs WINDOW_UPDATEs past the 1000-byte window.
    std::vector<std::int32_t> ids;
    for (int i = 0; i < 3; ++i) ids.push_back(client.submit("POST", "/up", std::string(5000, 'a')));
    ASSERT_TRUE(client.run_until_closed(ids));
    for (const auto id : ids) EXPECT_EQ(client.responses[id].body.size(), 5000u);
    EXPECT_EQ(server.requests().size(), 3u);
    EXPECT_TRUE(server.errors().empty());
}

TEST(H2TestServer, CountsPingsAndAnswersThemUnlessTold) {
    H2TestServer answering;
    H2Client client(answering.port());
    client.ping();
    ASSERT_TRUE(client.run_until([&] { return client.ping_acks == 1; }));
    EXPECT_EQ(answering.pings_received(), 1u);

    H2TestServer silent({}, {.answer_pings = false});
    H2Client ignored(silent.port());
    ignored.ping();
    // nghttp2 would queue a PING ACK ahead of the response, so none before it means none at all.
    const auto response = ignored.fetch("GET", "/");
    EXPECT_EQ(response.status, 200);
    EXPECT_EQ(ignored.ping_acks, 0);
    EXPECT_EQ(silent.pings_received(), 1u);
    EXPECT_TRUE(silent.wait_for_pings(1, 5s));
}

TEST(H2TestServer, RecordsTheClientsGoaway) {
    H2TestServer server;
    H2Client client(server.port());
    EXPECT_EQ(client.fetch("GET", "/").status, 200);
    client.goaway(H2Error::no_error);
    // After GOAWAY both ways with no stream open, the server closes the connection.
    EXPECT_FALSE(client.run_until([] { return false; }));
    EXPECT_TRUE(client.eof);
    ASSERT_TRUE(server.wait_for_goaways(1, 5s));
    const auto goaways = server.goaways_received();
    ASSERT_EQ(goaways.size(), 1u);
    EXPECT_EQ(goaways[0].last_stream_id, 0);
    EXPECT_EQ(goaways[0].error, H2Error::no_error);
}

TEST(H2TestServer, CloseDropsTheConnectionWithoutAnswering) {
    H2TestServer server([](const H2Request&) { return H2Action::close(); });
    H2Client client(server.port());
    const auto id = client.submit("GET", "/");
    EXPECT_FALSE(client.run_until_closed({id}));
    EXPECT_TRUE(client.eof);
    EXPECT_FALSE(client.goaway_received.has_value());
    EXPECT_EQ(client.responses[id].status, 0);
}

TEST(H2TestServer, AHandlerThatThrowsResetsTheStreamAndIsRecorded) {
    H2TestServer server([](const H2Request&) -> H2Action { throw std::runtime_error("boom"); });
    H2Client client(server.port());
    const auto response = client.fetch("GET", "/");
    EXPECT_EQ(response.error_code, NGHTTP2_INTERNAL_ERROR);
    const auto errors = server.errors();
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_TRUE(contains(errors[0], "connection 0: stream 1: handler threw: boom")) << errors[0];
}

TEST(H2TestServer, TlsNegotiatesH2WithAlpn) {
    H2TestServer server({}, {.tls = h2_tls_files()});
    EXPECT_EQ(server.url("/x"), "https://127.0.0.1:" + std::to_string(server.port()) + "/x");
    H2Client client(server.port(), Transport::tls);
    EXPECT_EQ(client.alpn, "h2");
    EXPECT_EQ(client.fetch("POST", "/", "secure").body, "secure");
    const auto ca = certificates().ca_cert.string();
    EXPECT_EQ(curl({"--cacert", ca, "-w", "|%{http_version}", server.url("/")}), "hello\n|2");
    // A client that offers only HTTP/1.1 is turned away during the handshake.
    EXPECT_THROW(curl({"--cacert", ca, "--http1.1", server.url("/")}), std::runtime_error);
    EXPECT_EQ(server.requests().size(), 2u);
    // After GOAWAY both ways, the server ends TLS with close_notify (read as end of stream).
    client.goaway(H2Error::no_error);
    EXPECT_FALSE(client.run_until([] { return false; }));
    EXPECT_EQ(client.end_error, asio::error::eof) << client.end_error.message();
    EXPECT_TRUE(server.wait_for_goaways(1, 5s));
}

TEST(H2TestServer, DestructionClosesConnectionsAndAbandonsPendingDelays) {
    auto server = std::make_unique<H2TestServer>(
        [](const H2Request&) { return H2Action{.delay = std::chrono::hours(1)}; });
    H2Client client(server->port());
    const auto id = client.submit("GET", "/");
    client.run_until([] { return true; });
    ASSERT_TRUE(server->wait_for_requests(1, 5s));
    server.reset();
    EXPECT_FALSE(client.run_until_closed({id}));
    EXPECT_TRUE(client.eof);
}

TEST(H2TestServer, RejectsInvalidOptions) {
    EXPECT_THROW(H2TestServer({}, {.batch = 0}), std::invalid_argument);
    EXPECT_THROW(H2TestServer({}, {.initial_window_size = 0x80000000u}), std::invalid_argument);
}

// --- Certificates and TempDir -----------------------------------------------------------------

TEST(Certificates, AreGeneratedOnceAsPemFiles) {
    const auto& certs = certificates();
    EXPECT_EQ(&certs, &certificates());
    EXPECT_TRUE(contains(certs.ca_pem, "-----BEGIN CERTIFICATE-----"));
    EXPECT_EQ(file_text(certs.ca_cert), certs.ca_pem);
    for (const auto& path : {certs.ca_key, certs.server_cert, certs.server_key,
                             certs.wrong_host_cert, certs.wrong_host_key, certs.expired_cert,
                             certs.expired_key, certs.client_cert, certs.client_key}) {
        EXPECT_TRUE(contains(file_text(path), "-----BEGIN ")) << path;
    }
}

TEST(TempDir, IsRemovedWithItsContents) {
    std::filesystem::path path;
    {
        TempDir dir("nector-selftest");
        path = dir.path();
        EXPECT_TRUE(path.string().starts_with("/tmp/nector-selftest-"));
        std::ofstream(path / "file") << "x";
        ASSERT_TRUE(std::filesystem::exists(path / "file"));
    }
    EXPECT_FALSE(std::filesystem::exists(path));
}

// --- nginx ------------------------------------------------------------------------------------

TEST(Nginx, ServesTheDocrootOverHttpOnInheritedSockets) {
    auto& server = nginx();
    EXPECT_EQ(&server, &nginx());
    asio::io_context io;
    auto socket = connect_to(io, server.http_port());
    beast::flat_buffer buffer;

    const auto hello = exchange(socket, buffer, get_request("/hello.txt"));
    EXPECT_EQ(hello.result_int(), 200u);
    EXPECT_EQ(hello.body(), "hello\n");
    EXPECT_EQ(hello[http::field::content_type], "text/plain");
    EXPECT_EQ(exchange(socket, buffer, get_request("/12b.txt")).body().size(), 12u);
    const auto big = exchange(socket, buffer, get_request("/1m.bin"));
    ASSERT_EQ(big.body().size(), std::size_t{1} << 20);
    for (std::size_t i = 0; i < big.body().size(); i += 4099) {
        ASSERT_EQ(static_cast<unsigned char>(big.body()[i]), i % 251) << i;
    }
    EXPECT_EQ(exchange(socket, buffer, get_request("/status/418")).result_int(), 418u);
    EXPECT_EQ(exchange(socket, buffer, get_request("/status/503")).result_int(), 503u);
    const auto redirect = exchange(socket, buffer, get_request("/redirect"));
    EXPECT_EQ(redirect.result_int(), 302u);
    EXPECT_TRUE(redirect[http::field::location].ends_with("/hello.txt"));
    EXPECT_EQ(exchange(socket, buffer, get_request("/absent")).result_int(), 404u);

    EXPECT_EQ(file_text(server.docroot() / "hello.txt"), "hello\n");
    EXPECT_EQ(server.url("/hello.txt"),
              "http://127.0.0.1:" + std::to_string(server.http_port()) + "/hello.txt");
    // The sockets bound by this process were adopted, not re-bound by nginx.
    const std::string log = file_text(server.error_log());
    EXPECT_TRUE(contains(log, "using inherited sockets")) << log;
    EXPECT_FALSE(contains(log, "[emerg]") || contains(log, "[alert]") || contains(log, "[crit]"))
        << log;
}

TEST(Nginx, HttpsPortPresentsACertificateForLocalhostAndTheLoopbackAddress) {
    for (const std::string host : {"localhost", "127.0.0.1"}) {
        TlsClient client;
        const auto handshake = client.connect(nginx().https_port(), host);
        ASSERT_FALSE(handshake.error) << host << ": " << handshake.error.message();
        EXPECT_EQ(handshake.verify_result, X509_V_OK);
        beast::flat_buffer buffer;
        EXPECT_EQ(exchange(client.stream(), buffer, get_request("/hello.txt")).body(), "hello\n");
    }
}

TEST(Nginx, WrongHostPortFailsHostNameVerificationOnly) {
    TlsClient client;
    const auto handshake = client.connect(nginx().wrong_host_port(), "localhost");
    EXPECT_TRUE(handshake.error);
    EXPECT_EQ(handshake.verify_result, X509_V_ERR_HOSTNAME_MISMATCH);
    TlsClient matching;
    const auto accepted = matching.connect(nginx().wrong_host_port(), "wrong.example");
    EXPECT_FALSE(accepted.error) << accepted.error.message();
}

TEST(Nginx, ExpiredPortFailsWithCertificateExpired) {
    TlsClient client;
    const auto handshake = client.connect(nginx().expired_port(), "localhost");
    EXPECT_TRUE(handshake.error);
    EXPECT_EQ(handshake.verify_result, X509_V_ERR_CERT_HAS_EXPIRED);
}

TEST(Nginx, MtlsPortAnswersOnlyAClientWithACertificateFromTheTestCa) {
    TlsClient anonymous;
    ASSERT_FALSE(anonymous.connect(nginx().mtls_port(), "localhost").error);
    beast::flat_buffer buffer;
    EXPECT_EQ(exchange(anonymous.stream(), buffer, get_request("/hello.txt")).result_int(), 400u);

    TlsClient authenticated(ClientCertificate::test_client);
    ASSERT_FALSE(authenticated.connect(nginx().mtls_port(), "localhost").error);
    beast::flat_buffer buffer2;
    const auto response = exchange(authenticated.stream(), buffer2, get_request("/hello.txt"));
    EXPECT_EQ(response.result_int(), 200u);
    EXPECT_EQ(response.body(), "hello\n");
}

TEST(Nginx, H2PortNegotiatesHttp2AndServesTheDocroot) {
    auto& server = nginx();
    EXPECT_EQ(server.h2_url("/a"), "https://127.0.0.1:" + std::to_string(server.h2_port()) + "/a");
    const auto ca = certificates().ca_cert.string();
    EXPECT_EQ(curl({"--cacert", ca, "-w", "|%{http_version}", server.h2_url("/hello.txt")}),
              "hello\n|2");
    // ALPN still offers http/1.1 for clients that want it.
    EXPECT_EQ(
        curl({"--cacert", ca, "--http1.1", "-w", "|%{http_version}", server.h2_url("/hello.txt")}),
        "hello\n|1.1");

    H2Client client(server.h2_port(), Transport::tls);
    EXPECT_EQ(client.alpn, "h2");
    const auto big = client.fetch("GET", "/1m.bin");
    EXPECT_EQ(big.status, 200);
    ASSERT_EQ(big.body.size(), std::size_t{1} << 20);
    for (std::size_t i = 0; i < big.body.size(); i += 4099) {
        ASSERT_EQ(static_cast<unsigned char>(big.body[i]), i % 251) << i;
    }
    EXPECT_EQ(client.fetch("GET", "/status/503").status, 503);
    // add_trailer works with `return`: a trailing HEADERS frame.
    const auto trailers = client.fetch("GET", "/trailers");
    EXPECT_EQ(trailers.body, "body\n");
    EXPECT_EQ(trailers.header("content-type"), "text/plain");
    EXPECT_EQ(trailers.trailers, (H2Fields{{"x-checksum", "abc"}}));
}

TEST(Nginx, H2cPortSpeaksHttp2WithPriorKnowledge) {
    auto& server = nginx();
    EXPECT_EQ(server.h2c_url("/a"), "http://127.0.0.1:" + std::to_string(server.h2c_port()) + "/a");
    EXPECT_EQ(curl_h2c(server.h2c_url("/12b.txt")), "hello world\n|2");
    H2Client client(server.h2c_port());
    EXPECT_EQ(client.fetch("GET", "/hello.txt").body, "hello\n");
    EXPECT_EQ(client.fetch("GET", "/trailers").trailers, (H2Fields{{"x-checksum", "abc"}}));
    EXPECT_EQ(client.fetch("GET", "/redirect").status, 302);
    EXPECT_EQ(client.fetch("POST", "/hello.txt", "x").status, 405); // no echo in nginx
}

TEST(Nginx, OtherPortsStayHttp11) {
    auto& server = nginx();
    const auto ca = certificates().ca_cert.string();
    // curl offers h2 by ALPN over TLS; nginx picks http/1.1 there.
    EXPECT_EQ(curl({"--cacert", ca, "-w", "|%{http_version}", server.https_url("/hello.txt")}),
              "hello\n|1.1");
    // A client offering h2 only is refused during the handshake (no_application_protocol).
    EXPECT_THROW(H2Client(server.https_port(), Transport::tls), boost::system::system_error);
    EXPECT_EQ(curl({"-w", "|%{http_version}", server.url("/hello.txt")}), "hello\n|1.1");
}

TEST(Nginx, TrailersOverHttp11MakeTheResponseChunked) {
    asio::io_context io;
    auto socket = connect_to(io, nginx().http_port());
    asio::write(socket,
                asio::buffer(std::string_view(
                    "GET /trailers HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")));
    const auto [bytes, error] = read_to_end(socket);
    EXPECT_TRUE(contains(bytes, "Transfer-Encoding: chunked\r\n")) << bytes;
    EXPECT_TRUE(contains(bytes, "\r\n5\r\nbody\n\r\n0\r\nx-checksum: abc\r\n\r\n")) << bytes;
}

TEST(Nginx, MissingBinaryThrowsNamingIt) {
    try {
        Nginx missing(certificates(), {.binary = "/nonexistent/nginx"});
        FAIL() << "started a missing nginx";
    } catch (const std::runtime_error& e) {
        EXPECT_TRUE(contains(e.what(), "/nonexistent/nginx")) << e.what();
    }
}

// --- nghttpd ----------------------------------------------------------------------------------

TEST(Nghttpd, TlsPortServesHttp2WithTrailersAndEchoesUploads) {
    auto& server = nghttpd();
    EXPECT_EQ(&server, &nghttpd());
    EXPECT_EQ(server.tls_url("/a"),
              "https://127.0.0.1:" + std::to_string(server.tls_port()) + "/a");
    const auto ca = certificates().ca_cert.string();
    EXPECT_EQ(curl({"--cacert", ca, "-w", "|%{http_version}", server.tls_url("/hello.txt")}),
              "hello\n|2");

    H2Client client(server.tls_port(), Transport::tls);
    EXPECT_EQ(client.alpn, "h2");
    const auto hello = client.fetch("GET", "/hello.txt");
    EXPECT_EQ(hello.status, 200);
    EXPECT_EQ(hello.body, "hello\n");
    EXPECT_EQ(hello.header("trailer"), "x-trailer");
    EXPECT_EQ(hello.trailers, (H2Fields{{"x-trailer", "yes"}}));
    const auto echo = client.fetch("POST", "/anything", "posted");
    EXPECT_EQ(echo.status, 200);
    EXPECT_EQ(echo.body, "posted");
    EXPECT_EQ(echo.header("nghttpd-response"), "echo");
    EXPECT_EQ(client.fetch("GET", "/1m.bin").body.size(), std::size_t{1} << 20);
    EXPECT_EQ(client.fetch("GET", "/absent").status, 404);
    EXPECT_TRUE(contains(file_text(server.tls_log()), "IPv4: listen 127.0.0.1:0"));
}

TEST(Nghttpd, H2cPortServesHttp2WithPriorKnowledge) {
    auto& server = nghttpd();
    EXPECT_NE(server.h2c_port(), server.tls_port());
    EXPECT_EQ(server.h2c_url("/a"), "http://127.0.0.1:" + std::to_string(server.h2c_port()) + "/a");
    EXPECT_EQ(curl_h2c(server.h2c_url("/12b.txt")), "hello world\n|2");
    EXPECT_EQ(curl_h2c(server.h2c_url("/echo"), {"--data-binary", "abc"}), "abc|2");
    H2Client client(server.h2c_port());
    const auto hello = client.fetch("GET", "/hello.txt");
    EXPECT_EQ(hello.body, "hello\n");
    EXPECT_TRUE(hello.trailers.empty());
    EXPECT_EQ(file_text(server.docroot() / "12b.txt"), "hello world\n");
}

TEST(Nghttpd, MissingBinaryThrowsNamingIt) {
    try {
        Nghttpd missing(certificates(), {.binary = "/nonexistent/nghttpd"});
        FAIL() << "started a missing nghttpd";
    } catch (const std::runtime_error& e) {
        EXPECT_TRUE(contains(e.what(), "/nonexistent/nghttpd")) << e.what();
    }
}

TEST(Nghttpd, ABinaryThatExitsThrowsWithItsOutput) {
    try {
        // `false` ignores its arguments and exits 1 without printing a listen line.
        Nghttpd broken(certificates(), {.binary = "/bin/false"});
        FAIL() << "started /bin/false as nghttpd";
    } catch (const std::runtime_error& e) {
        EXPECT_TRUE(contains(e.what(), "did not start: it exited")) << e.what();
    }
}

// --- httpbin ----------------------------------------------------------------------------------

TEST(Httpbin, AnswersGet) {
    auto& server = httpbin();
    EXPECT_EQ(server.url("/get"), "http://127.0.0.1:" + std::to_string(server.port()) + "/get");
    asio::io_context io;
    auto socket = connect_to(io, server.port());
    beast::flat_buffer buffer;
    const auto response = exchange(socket, buffer, get_request("/get?probe=1"));
    EXPECT_EQ(response.result_int(), 200u);
    EXPECT_EQ(response[http::field::content_type], "application/json");
    EXPECT_TRUE(contains(response.body(), "\"probe\"")) << response.body();
}

TEST(Httpbin, DelayDoesNotHoldUpOtherRequests) {
    auto& server = httpbin();
    asio::io_context io;
    auto slow = connect_to(io, server.port());
    asio::write(slow, asio::buffer(get_request("/delay/1")));
    auto fast = connect_to(io, server.port());
    beast::flat_buffer buffer;
    EXPECT_EQ(exchange(fast, buffer, get_request("/get")).result_int(), 200u);
    // A server serving one request at a time would have answered /delay/1 first.
    EXPECT_EQ(slow.available(), 0u) << "/get waited for /delay/1";
    beast::flat_buffer slow_buffer;
    EXPECT_EQ(read_response(slow, slow_buffer).result_int(), 200u);
}

TEST(Httpbin, MissingPythonThrowsNamingIt) {
    try {
        Httpbin missing({.python = "/nonexistent/python3"});
        FAIL() << "started a missing python";
    } catch (const std::runtime_error& e) {
        EXPECT_TRUE(contains(e.what(), "/nonexistent/python3")) << e.what();
    }
}

TEST(Httpbin, LauncherThatExitsThrowsWithItsOutput) {
    TempDir dir("nector-selftest");
    const auto launcher = dir.path() / "broken.py";
    std::ofstream(launcher) << "import sys\nsys.exit('no httpbin in this launcher')\n";
    try {
        Httpbin broken({.launcher = launcher});
        FAIL() << "started a broken launcher";
    } catch (const std::runtime_error& e) {
        EXPECT_TRUE(contains(e.what(), "no httpbin in this launcher")) << e.what();
    }
}

} // namespace
} // namespace nector::test
