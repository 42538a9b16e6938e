// Security policies on redirects: no https → http downgrade unless asked for, credentials
// and a caller's Host never cross to another origin, userinfo never in a message.
#include "integration/client.hpp"
#include "support/servers.hpp"
#include "support/test_server.hpp"

#include <nector/http/errors.hpp>

#include <gtest/gtest.h>

#include <atomic>

namespace nector::test {
namespace {

std::string redirect_to(std::string_view location) {
    return "HTTP/1.1 302 Found\r\nLocation: " + std::string(location) +
           "\r\nContent-Length: 0\r\n\r\n";
}

const std::string ok = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

TEST(Security, AnHttpsToHttpRedirectIsRefusedUnlessAllowed) {
    TestServer plain(TestServer::respond(ok));
    const auto& c = certificates();
    TestServer secure(TestServer::respond(redirect_to(plain.url("/clear"))),
                      TlsFiles{.certificate_chain = c.server_cert, .private_key = c.server_key});
    Options o;
    o.tls.ca_file = c.ca_cert.string();
    const auto e = fetch_error<TransportSpecificError>(secure.url("/"), o);
    ASSERT_TRUE(e);
    EXPECT_EQ(e->code(), errc::insecure_redirect);
    EXPECT_EQ(e->code(), condition::client);
    EXPECT_TRUE(contains(e->what(), "302 redirect from https to http (" + plain.url("/clear")))
        << e->what();
    EXPECT_TRUE(contains(e->what(), "allow_insecure_redirects")) << e->what();
    EXPECT_EQ(plain.requests().size(), 0u); // nothing went out in the clear

    o.allow_insecure_redirects = true;
    const Response r = fetch(secure.url("/"), o);
    EXPECT_EQ(r.body, "ok");
    ASSERT_EQ(r.history.size(), 1u);
    EXPECT_EQ(plain.requests().size(), 1u);
}

TEST(Security, CredentialsAndACallersHostStayWithTheirOrigin) {
    TestServer other(TestServer::respond(ok));
    TestServer first(TestServer::sequence({redirect_to("/same"), redirect_to(other.url("/x"))}));
    HttpMessage m{.url = first.url("/start"),
                  .headers = {{"Authorization", "Bearer secret"},
                              {"Proxy-Authorization", "Basic cHJveHk6cGFzcw=="},
                              {"Cookie", "session=1"},
                              {"Host", "custom.test"},
                              {"X-Other", "kept"}}};
    EXPECT_EQ(fetch({}, std::move(m)).body, "ok");

    const auto same = first.requests();
    ASSERT_EQ(same.size(), 2u);
    EXPECT_EQ(same[1].target, "/same");
    EXPECT_EQ(same[1].header("Authorization"), "Bearer secret"); // the same origin
    EXPECT_EQ(same[1].header("Host"), "custom.test");

    const auto crossed = other.requests();
    ASSERT_EQ(crossed.size(), 1u);
    EXPECT_EQ(crossed[0].header("Authorization"), std::nullopt);
    EXPECT_EQ(crossed[0].header("Proxy-Authorization"), std::nullopt);
    EXPECT_EQ(crossed[0].header("Cookie"), std::nullopt);
    EXPECT_EQ(crossed[0].header("Host"), "127.0.0.1:" + std::to_string(other.port()));
    EXPECT_EQ(crossed[0].header("X-Other"), "kept");
}

TEST(Security, HeadersMarkedSensitiveStayWithTheirOrigin) {
    TestServer other(TestServer::respond(ok));
    TestServer first(TestServer::sequence({redirect_to("/same"), redirect_to(other.url("/x"))}));
    Options o;
    o.sensitive_headers = {"x-api-key"}; // names compare case-insensitively
    o.headers.set("X-Api-Key", "from-the-defaults");
    HttpMessage m{.url = first.url("/start"),
                  .headers = {{"X-Signature", "kept"}, {"X-API-KEY", "k-123"}}};
    EXPECT_EQ(fetch(o, std::move(m)).body, "ok");

    const auto same = first.requests();
    ASSERT_EQ(same.size(), 2u);
    EXPECT_EQ(same[1].header("X-Api-Key"), "k-123"); // the same origin
    const auto crossed = other.requests();
    ASSERT_EQ(crossed.size(), 1u);
    EXPECT_EQ(crossed[0].header("X-Api-Key"), std::nullopt);
    EXPECT_EQ(crossed[0].header("X-Signature"), "kept"); // not marked: kept, as curl does
}

TEST(Security, ASensitiveHeaderNameMustBeAFieldName) {
    Options o;
    o.sensitive_headers = {"X-Api-Key", "bad name"};
    try {
        HTTPTransport<> t(o);
        ADD_FAILURE() << "an invalid name was accepted";
    } catch (const ConfigurationError& e) {
        EXPECT_TRUE(contains(e.what(), "sensitive_headers")) << e.what();
    }
}

TEST(Security, UserinfoInALocationNeverReachesAMessage) {
    // Too many redirects, each to a Location with credentials:
    std::atomic<std::uint16_t> port{0};
    TestServer loop([&port](TestConnection& c) -> asio::awaitable<void> {
        for (;;) {
            auto request = co_await c.read_request();
            if (!request) co_return;
            const std::string answer = redirect_to(
                "http://user:hunter2@127.0.0.1:" + std::to_string(port.load()) + "/again");
            co_await c.write(answer);
        }
    });
    port = loop.port();
    Options o;
    o.max_redirects = 2;
    const auto e = fetch_error<TransportSpecificError>(loop.url("/"), o);
    ASSERT_TRUE(e);
    EXPECT_EQ(e->code(), errc::too_many_redirects);
    EXPECT_FALSE(contains(e->what(), "hunter2")) << e->what();
    EXPECT_TRUE(contains(e->what(), "/again")) << e->what();
    // The downgrade refusal, to a Location with credentials:
    const auto& c = certificates();
    TestServer secure(TestServer::respond(redirect_to("http://user:hunter2@127.0.0.1:1/x")),
                      TlsFiles{.certificate_chain = c.server_cert, .private_key = c.server_key});
    Options tls;
    tls.tls.ca_file = c.ca_cert.string();
    const auto d = fetch_error<TransportSpecificError>(secure.url("/"), tls);
    ASSERT_TRUE(d);
    EXPECT_EQ(d->code(), errc::insecure_redirect);
    EXPECT_FALSE(contains(d->what(), "hunter2")) << d->what();
    EXPECT_TRUE(contains(d->what(), "http://127.0.0.1:1/x")) << d->what();
}

} // namespace
} // namespace nector::test
