// Where connections go (docs/proxies-and-addressing.md): Options::resolve and
// Options::connect_to, as curl's --resolve and --connect-to, against the in-process servers.
// The URL's host stays the Host header, the TLS server name and the name the certificate is
// checked against.
#include "integration/client.hpp"
#include "support/servers.hpp"
#include "support/test_server.hpp"

#include <nector/transport/errors.hpp>

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace nector::test {
namespace {

const std::string ok = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

std::string port_of(const TestServer& s) { return std::to_string(s.port()); }

TEST(Addressing, ResolveSendsANameToTheGivenAddress) {
    TestServer server(TestServer::respond(ok));
    Options o;
    o.resolve = {"API.test:" + port_of(server) + ":127.0.0.1"}; // names compare case-insensitively
    EXPECT_EQ(fetch("http://api.test:" + port_of(server) + "/r", o).body, "ok");
    const auto seen = server.requests();
    ASSERT_EQ(seen.size(), 1u);
    EXPECT_EQ(seen[0].header("Host"), "api.test:" + port_of(server));
    EXPECT_EQ(seen[0].target, "/r");
}

TEST(Addressing, ResolveTriesItsAddressesInTurn) {
    // 127.0.0.2 is loopback too, but nothing listens there: refused, then the next address.
    TestServer server(TestServer::respond(ok));
    Options o;
    o.resolve = {"api.test:" + port_of(server) + ":127.0.0.2,127.0.0.1"};
    EXPECT_EQ(fetch("http://api.test:" + port_of(server) + "/", o).body, "ok");
    EXPECT_EQ(server.connections(), 1u);
}

TEST(Addressing, ResolveAppliesOnlyToItsHostAndPort) {
    // Entries for another port and another host come first; 127.0.0.2 refuses.
    TestServer server(TestServer::respond(ok));
    Options o;
    o.resolve = {"api.test:1:127.0.0.2", "other.test:" + port_of(server) + ":127.0.0.2",
                 "api.test:" + port_of(server) + ":127.0.0.1"};
    o.retry.max_retries = 0;
    EXPECT_EQ(fetch("http://api.test:" + port_of(server) + "/", o).body, "ok");
    EXPECT_EQ(server.connections(), 1u);
}

TEST(Addressing, ConnectToSendsTheConnectionElsewhere) {
    TestServer server(TestServer::respond(ok));
    Options o;
    o.connect_to = {"api.test:80:127.0.0.1:" + port_of(server)};
    EXPECT_EQ(fetch("http://api.test/c", o).body, "ok");
    const auto seen = server.requests();
    ASSERT_EQ(seen.size(), 1u);
    EXPECT_EQ(seen[0].header("Host"), "api.test"); // the URL's, not the connection's
}

TEST(Addressing, ConnectToWithAnyHostAndPortThenResolve) {
    // ":" + ":" matches every origin; the connect host is then resolved by `resolve`.
    TestServer server(TestServer::respond(ok));
    Options o;
    o.connect_to = {"::backend.test:" + port_of(server)};
    o.resolve = {"backend.test:" + port_of(server) + ":127.0.0.1"};
    EXPECT_EQ(fetch("http://one.test/", o).body, "ok");
    EXPECT_EQ(fetch("http://two.test:8080/", o).body, "ok");
    const auto seen = server.requests();
    ASSERT_EQ(seen.size(), 2u);
    EXPECT_EQ(seen[0].header("Host"), "one.test");
    EXPECT_EQ(seen[1].header("Host"), "two.test:8080");
}

TEST(Addressing, OverTlsTheCertificateIsCheckedAgainstTheUrlsHost) {
    const auto& pki = certificates();
    TestServer server(TestServer::respond(ok), TlsFiles{pki.server_cert, pki.server_key, ""});
    Options o;
    o.tls.ca_file = pki.ca_cert;
    o.retry.max_retries = 0;
    // The certificate names localhost: reached through connect_to, it is accepted for
    // https://localhost/ ...
    o.connect_to = {"localhost:443:127.0.0.1:" + port_of(server)};
    EXPECT_EQ(fetch("https://localhost/", o).body, "ok");
    // ... and refused for another name sent to the same server.
    o.connect_to = {"other.test:443:127.0.0.1:" + port_of(server)};
    const auto e = fetch_error<TransportError>("https://other.test/", o);
    ASSERT_TRUE(e);
    EXPECT_EQ(e->code(), errc::tls_hostname_mismatch) << e->what();
}

TEST(Addressing, ConnectionsComeFromTheLocalAddress) {
    // The server answers with the address it sees the client at; all of 127/8 is loopback.
    TestServer server([](TestConnection& c) -> asio::awaitable<void> {
        for (;;) {
            auto request = co_await c.read_request();
            if (!request) co_return;
            const std::string answer = http_response(200, c.peer_address());
            co_await c.write(answer);
        }
    });
    Options o;
    EXPECT_EQ(fetch(server.url("/"), o).body, "127.0.0.1");
    o.local_address = "127.0.0.2";
    EXPECT_EQ(fetch(server.url("/"), o).body, "127.0.0.2");
    // Through connect_to and resolve too.
    o.local_address = "127.0.0.3";
    o.resolve = {"api.test:" + port_of(server) + ":127.0.0.1"};
    EXPECT_EQ(fetch("http://api.test:" + port_of(server) + "/", o).body, "127.0.0.3");
}

TEST(Addressing, ALocalAddressOfAnotherFamilyConnectsNowhere) {
    TestServer server(TestServer::respond(ok));
    Options o;
    o.local_address = "::1";
    o.retry.max_retries = 0;
    const auto e = fetch_error<ConnectionError>(server.url("/"), o);
    ASSERT_TRUE(e);
    EXPECT_EQ(e->code(), errc::connection_failed);
    EXPECT_TRUE(contains(e->what(), "no address of the IPv6 family of the local address ::1"))
        << e->what();
    EXPECT_EQ(server.connections(), 0u);
    o.local_address = "not-an-address";
    try {
        HTTPTransport<> t(o);
        ADD_FAILURE() << "an invalid local address was accepted";
    } catch (const ConfigurationError& x) {
        EXPECT_TRUE(contains(x.what(), "local_address: \"not-an-address\"")) << x.what();
    }
}

TEST(Addressing, AnEntryThatCannotBeReadIsAConfigurationError) {
    const std::vector<std::pair<std::vector<std::string>, std::vector<std::string>>> bad{
        {{"api.test:80"}, {}},                // no address
        {{"api.test:80:not-an-address"}, {}}, // not an IP address
        {{"api.test:0:127.0.0.1"}, {}},       // port 0
        {{"api.test:x80:127.0.0.1"}, {}},     // not a port
        {{":80:127.0.0.1"}, {}},              // no host
        {{"[::1:80:127.0.0.1"}, {}},          // an unclosed bracket
        {{}, {"api.test:80"}},                // too few fields
        {{}, {"api.test:80::"}},              // nowhere to connect to
        {{}, {"api.test:80:back end:81"}},    // not a host
        {{}, {"api.test:80:backend:70000"}},  // port out of range
    };
    for (const auto& [resolve, connect_to] : bad) {
        Options o;
        o.resolve = resolve;
        o.connect_to = connect_to;
        const std::string which = resolve.empty() ? "connect_to" : "resolve";
        try {
            HTTPTransport<> t(o);
            ADD_FAILURE() << which << " accepted";
        } catch (const ConfigurationError& e) {
            EXPECT_TRUE(contains(e.what(), which + ": \"")) << e.what();
        }
    }
    // IPv6 in brackets, several addresses, empty fields where they may be empty: accepted.
    Options o;
    o.resolve = {"api.test:443:[::1],127.0.0.1", "[::1]:8080:127.0.0.1"};
    o.connect_to = {"::backend.test:", "api.test::[::1]:8443", "api.test:80:backend.test:"};
    EXPECT_NO_THROW(HTTPTransport<> t(o));
}

} // namespace
} // namespace nector::test
