// Failures that cannot change on a retry end the call at their first occurrence (one
// connection, no retry, no backoff): certificates, a TLS refusal, a request nector will
// not send, a server that does not speak HTTP. A network failure under the handshake is
// still retried. ALPN is offered whether HTTP/2 is on or off.
#include "integration/client.hpp"
#include "support/servers.hpp"
#include "support/test_server.hpp"

#include <nector/http/errors.hpp>

#include <gtest/gtest.h>

#include <chrono>

namespace nector::test {
namespace {

using namespace std::chrono_literals;

struct Tried {
    std::optional<errc> error;
    std::string message;
    int retries = 0;
    std::chrono::steady_clock::duration took{};
};

/// One call with the default retry policy (3 retries), its retries counted.
Tried call(const std::string& url, Options o = {}, Headers headers = {}) {
    Tried t;
    o.hooks.on_retry = [&t](const http::RetryEvent&) { ++t.retries; };
    o.retry.backoff_factor = 50ms; // a retry, if one happened, shows in `took`
    const auto start = std::chrono::steady_clock::now();
    try {
        HttpMessage m{.url = url, .headers = std::move(headers)};
        (void)fetch(std::move(o), std::move(m));
        ADD_FAILURE() << url << ": expected an error";
    } catch (const TransportError& e) {
        t.error = static_cast<errc>(e.code().value());
        t.message = e.what();
    }
    t.took = std::chrono::steady_clock::now() - start;
    return t;
}

TlsFiles files(const std::filesystem::path& cert, const std::filesystem::path& key,
               std::string alpn = "") {
    return {.certificate_chain = cert, .private_key = key, .alpn = std::move(alpn)};
}

Options trusting() {
    Options o;
    o.tls.ca_file = certificates().ca_cert.string();
    return o;
}

TestServer::Handler answer_ok() {
    return TestServer::respond("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
}

void expect_once(const Tried& t, errc code, std::string_view says, const TestServer& server) {
    ASSERT_TRUE(t.error);
    EXPECT_EQ(*t.error, code) << t.message;
    EXPECT_TRUE(contains(t.message, says)) << t.message;
    EXPECT_EQ(t.retries, 0) << t.message;
    EXPECT_EQ(server.connections(), 1u) << t.message;
    // No backoff was waited: well under the 50 ms of a first retry's mean.
    EXPECT_LT(t.took, 2s) << std::chrono::duration<double>(t.took).count() << " s";
}

TEST(FailFast, AnUntrustedCertificateIsNotRetried) {
    const auto& c = certificates();
    TestServer server(answer_ok(), files(c.server_cert, c.server_key));
    expect_once(call(server.url("/")), errc::tls_certificate_untrusted, "not trusted", server);
}

TEST(FailFast, ACertificateForAnotherNameIsNotRetried) {
    const auto& c = certificates();
    TestServer server(answer_ok(), files(c.wrong_host_cert, c.wrong_host_key));
    expect_once(call(server.url("/"), trusting()), errc::tls_hostname_mismatch,
                "not valid for \"127.0.0.1\"", server);
}

TEST(FailFast, AnExpiredCertificateIsNotRetried) {
    const auto& c = certificates();
    TestServer server(answer_ok(), files(c.expired_cert, c.expired_key));
    expect_once(call(server.url("/"), trusting()), errc::tls_certificate_expired, "expired",
                server);
}

TEST(FailFast, AnAlpnRefusalIsNamedAndNotRetried) {
    const auto& c = certificates();
    TestServer server(answer_ok(), files(c.server_cert, c.server_key, "h2"));
    expect_once(call(server.url("/"), trusting()), errc::tls_handshake_failed,
                "no application protocol", server);
    EXPECT_EQ(server.alpn_offers(), std::vector<std::string>{"http/1.1"});
}

TEST(FailFast, AlpnIsOfferedWithHttp2OnOrOff) {
    const auto& c = certificates();
    TestServer server(answer_ok(), files(c.server_cert, c.server_key, "http/1.1"));
    EXPECT_EQ(fetch(server.url("/"), trusting()).body, "ok");
    Options h2 = trusting();
    h2.http2 = true;
    const Response r = fetch(server.url("/"), h2);
    EXPECT_EQ(r.body, "ok");
    EXPECT_EQ(r.version, http::Version::http_1_1); // the server chose HTTP/1.1
    EXPECT_EQ(server.alpn_offers(), (std::vector<std::string>{"http/1.1", "h2,http/1.1"}));
}

TEST(FailFast, AServerThatDoesNotSpeakHttpIsNotRetried) {
    TestServer server([](TestConnection& c) -> asio::awaitable<void> {
        auto request = co_await c.read_request();
        if (!request) co_return;
        co_await c.write("SSH-2.0-OpenSSH_9.2p1\r\n");
    });
    expect_once(call(server.url("/")), errc::protocol_error, "no status line", server);
}

/// Reads whatever arrives and never answers.
TestServer::Handler silent() {
    return [](TestConnection& c) -> asio::awaitable<void> {
        for (;;) {
            const std::string got = co_await c.read_some_raw();
            if (got.empty()) co_return;
        }
    };
}

TEST(FailFast, AServerThatTakesH2ButNeverSpeaksItIsNotRetried) {
    const auto& c = certificates();
    TestServer server(silent(), files(c.server_cert, c.server_key, "h2"));
    Options o = trusting();
    o.http2 = true;
    o.timeout.read = 300ms;
    const Tried t = call(server.url("/"), o);
    expect_once(t, errc::protocol_error, "the server does not speak HTTP/2 (no SETTINGS", server);
    EXPECT_LT(t.took, 1s); // one read timeout, not four
}

TEST(FailFast, AnHttp11ReplyToThePrefaceIsNotRetried) {
    TestServer server([](TestConnection& c) -> asio::awaitable<void> {
        (void)co_await c.read_some_raw();
        co_await c.write("HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n");
    });
    Options o;
    o.http2_prior_knowledge = true;
    expect_once(call(server.url("/"), o), errc::protocol_error, "the server does not speak HTTP/2",
                server);
}

TEST(FailFast, ARequestNectorWillNotSendNeverConnects) {
    TestServer server(answer_ok());
    const Tried t = call(server.url("/"), {}, Headers{{"X-Bad", "a\r\nInjected: 1"}});
    ASSERT_TRUE(t.error);
    EXPECT_EQ(*t.error, errc::invalid_header) << t.message;
    EXPECT_EQ(t.retries, 0);
    EXPECT_EQ(server.connections(), 0u);
}

TEST(FailFast, AConnectionResetDuringTheHandshakeIsStillRetried) {
    // A plain server that resets whatever arrives: to an https:// client, a network failure
    // under the handshake, which may pass.
    TestServer server([](TestConnection& c) -> asio::awaitable<void> {
        (void)co_await c.read_some_raw();
        c.reset();
    });
    Options o;
    o.retry.max_retries = 2;
    const std::string url = "https://127.0.0.1:" + std::to_string(server.port()) + "/";
    const Tried t = call(url, o);
    ASSERT_TRUE(t.error);
    EXPECT_TRUE(*t.error == errc::connection_reset || *t.error == errc::connection_closed)
        << t.message;
    EXPECT_TRUE(contains(t.message, "during the handshake")) << t.message;
    EXPECT_EQ(t.retries, 2) << t.message;
    EXPECT_EQ(server.connections(), 3u);
}

} // namespace
} // namespace nector::test
