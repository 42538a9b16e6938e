// Proves the test infrastructure with plain blocking Asio/Beast clients: TestServer's handler
// factories and connection operations (plain and TLS), the test PKI, nginx's ports and httpbin.
#include "support/servers.hpp"
#include "support/test_server.hpp"

#include <gtest/gtest.h>

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

#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

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

TEST(Nginx, MissingBinaryThrowsNamingIt) {
    try {
        Nginx missing(certificates(), {.binary = "/nonexistent/nginx"});
        FAIL() << "started a missing nginx";
    } catch (const std::runtime_error& e) {
        EXPECT_TRUE(contains(e.what(), "/nonexistent/nginx")) << e.what();
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
