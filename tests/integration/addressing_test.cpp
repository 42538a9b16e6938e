// Where connections go (docs/proxies-and-addressing.md): Options::resolve and
// Options::connect_to, as curl's --resolve and --connect-to, against the in-process servers.
// The URL's host stays the Host header, the TLS server name and the name the certificate is
// checked against.
#include "integration/client.hpp"
#include "support/fake_time.hpp"
#include "support/servers.hpp"
#include "support/test_server.hpp"
#include "support/unix_server.hpp"

#include <nector/transport/errors.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include <gtest/gtest.h>

#include <netdb.h>
#include <unistd.h>

#include <chrono>
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

TEST(Addressing, HappyEyeballsDoesNotWaitOutAnAddressThatNeverAnswers) {
    // 127.0.0.2:PORT listens with a backlog of one connection, already taken: the kernel
    // drops further SYNs, so a connect there never completes. The server is at
    // 127.0.0.1:PORT, listed second.
    TestServer server(TestServer::respond(ok));
    asio::io_context io;
    const asio::ip::tcp::endpoint hole(asio::ip::make_address("127.0.0.2"), server.port());
    asio::ip::tcp::acceptor blackhole(io, hole.protocol());
    blackhole.bind(hole);
    blackhole.listen(0);
    asio::ip::tcp::socket filler(io);
    filler.connect(hole);

    Options o;
    o.resolve = {"api.test:" + port_of(server) + ":127.0.0.2,127.0.0.1"};
    o.timeout.connect = std::chrono::seconds(20);
    o.retry.max_retries = 0;
    const auto started = std::chrono::steady_clock::now();
    EXPECT_EQ(fetch("http://api.test:" + port_of(server) + "/", o).body, "ok");
    const auto took = std::chrono::steady_clock::now() - started;
    // The second address was tried after the stagger, not after the 20 s connect timeout.
    EXPECT_GE(took, o.happy_eyeballs_delay);
    EXPECT_LT(took, std::chrono::seconds(5));
    EXPECT_EQ(server.connections(), 1u);
}

// `n` requests at once on one transport to `url`, each failing or not; its metrics after.
http::Metrics burst(Options o, std::string url, int n) {
    return run([](Options options, std::string u, int count) -> asio::awaitable<http::Metrics> {
        auto ex = co_await asio::this_coro::executor;
        HTTPTransport<> t(std::move(options));
        co_await t.connect();
        int left = count;
        asio::steady_timer all_done(ex, std::chrono::steady_clock::time_point::max());
        for (int i = 0; i < count; ++i) {
            asio::co_spawn(
                ex,
                [](HTTPTransport<>& transport, std::string target, int& remaining,
                   asio::steady_timer& done) -> asio::awaitable<void> {
                    HttpMessage m;
                    m.url = target;
                    try {
                        Response r = co_await transport.request(std::move(m));
                        (void)r;
                    } catch (const TransportError&) {
                    }
                    if (--remaining == 0) done.cancel();
                }(t, u, left, all_done),
                asio::detached);
        }
        auto waited = co_await all_done.async_wait(asio::as_tuple(asio::use_awaitable));
        (void)waited;
        http::Metrics m = t.metrics();
        co_await t.disconnect();
        co_return m;
    }(std::move(o), std::move(url), n));
}

TEST(Addressing, UnixSocketCarriesHttpAndTls) {
    // nginx listens on two Unix sockets: plain, and TLS with the localhost certificate.
    Options o;
    o.unix_socket = nginx().unix_socket().string();
    o.proxy.trust_env = false;
    EXPECT_EQ(fetch("http://api.test/hello.txt", o).body, "hello\n");
    EXPECT_EQ(fetch("http://api.test:8080/host", o).body, "api.test:8080"); // the URL's Host
    // One request after another on one transport: one connection, kept and reused.
    const http::Metrics m = run([](Options options) -> asio::awaitable<http::Metrics> {
        HTTPTransport<> t(std::move(options));
        co_await t.connect();
        for (int i = 0; i < 3; ++i) {
            HttpMessage message;
            message.url = "http://api.test/12b.txt";
            Response r = co_await t.request(std::move(message));
            EXPECT_EQ(r.body, std::string_view("hello world\n"));
        }
        http::Metrics metrics = t.metrics();
        co_await t.disconnect();
        co_return metrics;
    }(o));
    EXPECT_EQ(m.connections_opened, 1u);

    o.unix_socket = nginx().unix_tls_socket().string();
    o.tls.ca_file = certificates().ca_cert.string();
    EXPECT_EQ(fetch("https://localhost/hello.txt", o).body, "hello\n");
    // The certificate is still checked against the URL's host.
    o.retry.max_retries = 0;
    const auto e = fetch_error<TLSError>("https://other.test/hello.txt", o);
    ASSERT_TRUE(e);
    EXPECT_EQ(e->code(), errc::tls_hostname_mismatch) << e->what();
}

TEST(Addressing, UnixSocketFailuresNameTheSocket) {
    Options o;
    o.retry.max_retries = 0;
    o.unix_socket = "/nonexistent/nector.sock";
    const auto missing = fetch_error<ConnectionError>("http://api.test/", o);
    ASSERT_TRUE(missing);
    EXPECT_EQ(missing->code(), errc::connection_failed);
    EXPECT_TRUE(contains(missing->what(), "the Unix socket \"/nonexistent/nector.sock\""))
        << missing->what();
    // An abstract socket nobody listens on: refused.
    o.unix_socket = "@nector-test-nobody-" + std::to_string(::getpid());
    const auto refused = fetch_error<ConnectionRefusedError>("http://api.test/", o);
    ASSERT_TRUE(refused);
    o.unix_socket = std::string(200, 'x');
    EXPECT_THROW(HTTPTransport<> t(o), ConfigurationError);
}

TEST(Addressing, AnAbstractUnixSocket) {
    // "@NAME": Linux's abstract namespace, as curl's --abstract-unix-socket.
    AbstractUnixServer server("nector-test", [](auto& s, const std::string&) {
        const std::string answer = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
        asio::write(s, asio::buffer(answer));
    });
    Options o;
    o.unix_socket = server.socket_option();
    EXPECT_EQ(fetch("http://api.test/", o).body, "ok");
}

// The machine's own host name, which must resolve (in /etc/hosts) for the DNS cache tests:
// "localhost" and literal addresses never reach DNS.
std::string host_name() {
    char name[256] = {};
    EXPECT_EQ(::gethostname(name, sizeof name - 1), 0);
    addrinfo* found = nullptr;
    const int error = ::getaddrinfo(name, nullptr, nullptr, &found);
    EXPECT_EQ(error, 0) << "this test needs the machine's host name \"" << name
                        << "\" to resolve: " << ::gai_strerror(error);
    if (found) ::freeaddrinfo(found);
    return name;
}

TEST(Addressing, ABurstOfNewConnectionsLooksTheNameUpOnce) {
    // Nothing listens on the port: every request needs a connection of its own.
    const std::string url = "http://" + host_name() + ":" + std::to_string(closed_port()) + "/";
    Options o;
    o.retry.max_retries = 0;
    o.proxy.trust_env = false;
    const http::Metrics m = burst(o, url, 8);
    EXPECT_EQ(m.requests, 8u);
    EXPECT_EQ(m.name_lookups, 1u);
}

TEST(Addressing, TheDnsCacheKeepsAddressesForItsLifetime) {
    const std::string url = "http://" + host_name() + ":" + std::to_string(closed_port()) + "/";
    FakeClock clock;
    Options o;
    o.retry.max_retries = 0;
    o.clock = clock.clock();
    o.proxy.trust_env = false;
    const auto lookups_after = [&](int calls, auto between) {
        return run([](Options options, std::string u, int n,
                      decltype(between) step) -> asio::awaitable<std::uint64_t> {
            HTTPTransport<> t(std::move(options));
            co_await t.connect();
            for (int i = 0; i < n; ++i) {
                if (i > 0) step();
                HttpMessage m;
                m.url = u;
                try {
                    Response r = co_await t.request(std::move(m));
                    (void)r;
                } catch (const TransportError&) {
                }
            }
            const std::uint64_t lookups = t.metrics().name_lookups;
            co_await t.disconnect();
            co_return lookups;
        }(o, url, calls, between));
    };
    EXPECT_EQ(lookups_after(3, [] {}), 1u); // refused each time, looked up once
    EXPECT_EQ(lookups_after(3, [&] { clock.advance(std::chrono::seconds(29)); }),
              1u); // 58 s in all
    EXPECT_EQ(lookups_after(3, [&] { clock.advance(std::chrono::seconds(61)); }), 3u);
    o.dns_cache_ttl = http::Duration::zero();
    EXPECT_EQ(lookups_after(3, [] {}), 3u);
}

} // namespace
} // namespace nector::test
