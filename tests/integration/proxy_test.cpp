// Proxies (docs/proxies-and-addressing.md) against Debian's tinyproxy (HTTP: absolute-form
// requests, CONNECT tunnels, BasicAuth) and dante (SOCKS5), both started by the tests on
// free loopback ports, in front of nginx and the in-process test server.
#include "integration/client.hpp"
#include "support/servers.hpp"
#include "support/test_server.hpp"

#include <nector/transport/errors.hpp>

#include <boost/asio/ip/tcp.hpp>

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

namespace nector::test {
namespace {

using http::Version;

// Options that use `proxy` for both schemes and ignore the environment.
Options through(const std::string& proxy) {
    Options o;
    o.proxy.all = proxy;
    o.proxy.trust_env = false;
    o.tls.ca_file = certificates().ca_cert.string();
    return o;
}

// How many lines of `log` contain `part`.
std::size_t count(const std::string& log, const std::string& part) {
    std::size_t n = 0;
    for (auto at = log.find(part); at != std::string::npos; at = log.find(part, at + 1)) ++n;
    return n;
}

// Sets an environment variable for one test, restoring the old value after it.
class ScopedEnv {
public:
    ScopedEnv(const char* name, const std::string& value) : name_(name) {
        if (const char* old = std::getenv(name)) old_ = old;
        ::setenv(name, value.c_str(), 1);
    }
    ~ScopedEnv() {
        if (old_) {
            ::setenv(name_, old_->c_str(), 1);
        } else {
            ::unsetenv(name_);
        }
    }
    ScopedEnv(const ScopedEnv&) = delete;
    ScopedEnv& operator=(const ScopedEnv&) = delete;

private:
    const char* name_;
    std::optional<std::string> old_;
};

// Two requests on one transport; the metrics after them.
http::Metrics twice(Options o, const std::string& url, std::string* body = nullptr) {
    return run(
        [](Options options, std::string u, std::string* out) -> asio::awaitable<http::Metrics> {
            HTTPTransport<> t(std::move(options));
            co_await t.connect();
            HttpMessage m;
            m.url = u;
            Response first = co_await t.request(m);
            Response second = co_await t.request(m);
            if (out) *out = first.body + second.body;
            http::Metrics metrics = t.metrics();
            co_await t.disconnect();
            co_return metrics;
        }(std::move(o), url, body));
}

TEST(Proxy, HttpRequestsGoToTheProxyInAbsoluteForm) {
    Tinyproxy& proxy = tinyproxy();
    const std::string url = nginx().url("/hello.txt");
    std::string body;
    const http::Metrics m = twice(through(proxy.url()), url, &body);
    EXPECT_EQ(body, "hello\nhello\n");
    // tinyproxy answers forwarded requests with "Connection: close": no reuse to see here
    // (tunnels are reused: HttpsGoesThroughAConnectTunnel).
    EXPECT_EQ(m.connections_opened, 2u);
    const std::string log = proxy.log();
    EXPECT_GE(count(log, "GET " + url + " HTTP/1.1"), 2u) << log;
}

TEST(Proxy, TheProxyForwardsTheRequestsHeaders) {
    // tinyproxy adds Via to what it forwards: the in-process server sees both.
    TestServer server(TestServer::respond("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"));
    HttpMessage m;
    m.url = "http://127.0.0.1:" + std::to_string(server.port()) + "/p?q=1";
    m.headers.set("X-Mine", "yes");
    EXPECT_EQ(fetch(through(tinyproxy().url()), m).body, "ok");
    const auto seen = server.requests();
    ASSERT_EQ(seen.size(), 1u);
    EXPECT_EQ(seen[0].target, "/p?q=1");
    EXPECT_EQ(seen[0].header("X-Mine"), "yes");
    EXPECT_TRUE(contains(seen[0].header("Via").value_or(""), "tinyproxy"));
}

TEST(Proxy, HttpsGoesThroughAConnectTunnel) {
    Tinyproxy& proxy = tinyproxy();
    const std::string destination = "127.0.0.1:" + std::to_string(nginx().https_port());
    const std::size_t before = count(proxy.log(), "CONNECT " + destination + " HTTP/1.1");
    std::string body;
    const http::Metrics m = twice(through(proxy.url()), nginx().https_url("/hello.txt"), &body);
    EXPECT_EQ(body, "hello\nhello\n");
    EXPECT_EQ(m.connections_opened, 1u);
    EXPECT_EQ(count(proxy.log(), "CONNECT " + destination + " HTTP/1.1"), before + 1);
}

TEST(Proxy, Http2IsNegotiatedInsideTheTunnel) {
    Options o = through(tinyproxy().url());
    o.http2 = true;
    const Response r = fetch(nginx().h2_url("/hello.txt"), o);
    EXPECT_EQ(r.version, Version::http_2);
    EXPECT_EQ(r.body, "hello\n");
}

TEST(Proxy, H2cWithPriorKnowledgeGoesThroughATunnel) {
    // The server speaks first over h2c (its SETTINGS): the tunnel's answer is read to its
    // blank line and not a byte further, or those bytes would be lost.
    Options o = through(tinyproxy().url());
    o.http2_prior_knowledge = true;
    const std::string destination = "127.0.0.1:" + std::to_string(nginx().h2c_port());
    const Response r = fetch(nginx().h2c_url("/hello.txt"), o);
    EXPECT_EQ(r.version, Version::http_2);
    EXPECT_EQ(r.body, "hello\n");
    EXPECT_GE(count(tinyproxy().log(), "CONNECT " + destination), 1u);
}

TEST(Proxy, TheHostNameIsCheckedInsideTheTunnel) {
    const auto e = fetch_error<TLSError>(
        "https://127.0.0.1:" + std::to_string(nginx().wrong_host_port()) + "/",
        through(tinyproxy().url()));
    ASSERT_TRUE(e);
    EXPECT_EQ(e->code(), errc::tls_hostname_mismatch) << e->what();
}

TEST(Proxy, BasicAuthCredentialsFromTheProxyUrl) {
    Tinyproxy& proxy = tinyproxy_with_auth();
    EXPECT_EQ(fetch(nginx().url("/hello.txt"), through(proxy.url(true))).body, "hello\n");
    EXPECT_EQ(fetch(nginx().https_url("/hello.txt"), through(proxy.url(true))).body, "hello\n");
}

TEST(Proxy, AConnectRefusedForCredentialsIsAProxyError) {
    Tinyproxy& proxy = tinyproxy_with_auth();
    Options o = through(proxy.url());
    o.retry.max_retries = 0;
    const auto e = fetch_error<ProxyError>(nginx().https_url("/hello.txt"), o);
    ASSERT_TRUE(e);
    EXPECT_EQ(e->code(), errc::proxy_failed);
    const std::string what = e->what();
    EXPECT_TRUE(contains(what, "proxy " + proxy.url())) << what;
    EXPECT_TRUE(contains(what, "407")) << what;
    EXPECT_TRUE(contains(what, "wants credentials")) << what;

    // Wrong credentials: refused too (tinyproxy says 401), and the password is in no message.
    o = through("http://nector:wrong-secret@127.0.0.1:" + std::to_string(proxy.port()));
    o.retry.max_retries = 0;
    const auto wrong = fetch_error<ProxyError>(nginx().https_url("/hello.txt"), o);
    ASSERT_TRUE(wrong);
    EXPECT_TRUE(contains(wrong->what(), "refused the proxy URL's credentials")) << wrong->what();
    EXPECT_FALSE(contains(wrong->what(), "wrong-secret")) << wrong->what();
}

TEST(Proxy, AnHttpRequestRefusedForCredentialsIsTheProxysResponse) {
    // In absolute form the proxy's 407 is the response, as curl returns it.
    Options o = through(tinyproxy_with_auth().url());
    o.raise_for_status = false;
    EXPECT_EQ(fetch(nginx().url("/hello.txt"), o).status, 407);
}

TEST(Proxy, AConnectToAClosedPortIsAProxyErrorWithTheStatus) {
    Options o = through(tinyproxy().url());
    o.retry.max_retries = 0;
    const std::uint16_t port = closed_port();
    const auto e = fetch_error<ProxyError>("https://127.0.0.1:" + std::to_string(port) + "/", o);
    ASSERT_TRUE(e);
    const std::string what = e->what();
    EXPECT_TRUE(contains(what, "CONNECT 127.0.0.1:" + std::to_string(port))) << what;
    EXPECT_TRUE(contains(what, "the proxy answered 5")) << what; // tinyproxy: 500
}

TEST(Proxy, AProxyThatRefusesTheConnectionIsNamed) {
    const std::string proxy = "http://127.0.0.1:" + std::to_string(closed_port());
    Options o = through(proxy);
    o.retry.max_retries = 0;
    const auto e = fetch_error<ConnectionRefusedError>(nginx().url("/hello.txt"), o);
    ASSERT_TRUE(e);
    EXPECT_TRUE(contains(e->what(), "connecting to proxy " + proxy)) << e->what();
}

TEST(Proxy, AProxyThatNeverAnswersConnectTimesOut) {
    // A listening socket nobody accepts on: the TCP connect succeeds (the kernel's backlog),
    // CONNECT goes unanswered.
    asio::io_context io;
    asio::ip::tcp::acceptor silent(io, {asio::ip::address_v4::loopback(), 0});
    Options o = through("http://127.0.0.1:" + std::to_string(silent.local_endpoint().port()));
    o.timeout.connect = std::chrono::milliseconds(200);
    o.retry.max_retries = 0;
    const auto e = fetch_error<ConnectionTimeoutError>("https://127.0.0.1:1/", o);
    ASSERT_TRUE(e);
    EXPECT_EQ(e->code(), errc::connect_timeout);
    EXPECT_TRUE(contains(e->what(), "through proxy http://127.0.0.1:")) << e->what();
}

TEST(Proxy, NoProxyReachesMatchingHostsDirectly) {
    // The proxy refuses connections: only a direct request can succeed.
    const std::string proxy = "http://127.0.0.1:" + std::to_string(closed_port());
    for (const std::string list : {"127.0.0.1", "127.0.0.0/8", "*", "example.test, 127.0.0.1"}) {
        Options o = through(proxy);
        o.proxy.no_proxy = list;
        EXPECT_EQ(fetch(nginx().url("/hello.txt"), o).body, "hello\n") << list;
    }
    Options o = through(proxy);
    o.proxy.no_proxy = "localhost";
    const std::string url =
        "http://localhost:" + std::to_string(nginx().http_port()) + "/hello.txt";
    EXPECT_EQ(fetch(url, o).body, "hello\n");
    o.proxy.no_proxy = "10.0.0.0/8,other.test";
    o.retry.max_retries = 0;
    EXPECT_TRUE(fetch_error<ConnectionRefusedError>(url, o)); // not listed: the proxy
}

TEST(Proxy, TheSchemesOwnProxyWinsOverAll) {
    // https:// through the refusing "all" would fail; its own field names tinyproxy.
    Options o = through("http://127.0.0.1:" + std::to_string(closed_port()));
    o.proxy.https = tinyproxy().url();
    EXPECT_EQ(fetch(nginx().https_url("/hello.txt"), o).body, "hello\n");
    o.retry.max_retries = 0;
    EXPECT_TRUE(fetch_error<ConnectionRefusedError>(nginx().url("/hello.txt"), o));
}

TEST(Proxy, EnvironmentVariablesAreReadWhenTrustEnvIsOn) {
    Tinyproxy& proxy = tinyproxy();
    const std::string url = nginx().url("/12b.txt");
    const std::string line = "GET " + url + " HTTP/1.1";
    const ScopedEnv http_proxy("http_proxy", proxy.url());
    const ScopedEnv no_proxy("no_proxy", "");
    const std::size_t before = count(proxy.log(), line);
    EXPECT_EQ(fetch(url).body, "hello world\n"); // trust_env is on by default
    EXPECT_EQ(count(proxy.log(), line), before + 1);

    Options off;
    off.proxy.trust_env = false;
    EXPECT_EQ(fetch(url, off).body, "hello world\n");
    EXPECT_EQ(count(proxy.log(), line), before + 1); // direct

    {
        const ScopedEnv bypass("NO_PROXY", "127.0.0.1");
        EXPECT_EQ(fetch(url).body, "hello world\n");
        EXPECT_EQ(count(proxy.log(), line), before + 1); // NO_PROXY: direct
    }
    Options mine;
    mine.proxy.https = "http://127.0.0.1:" + std::to_string(closed_port());
    EXPECT_EQ(fetch(url, mine).body, "hello world\n"); // a field set: no variable is read
    EXPECT_EQ(count(proxy.log(), line), before + 1);
}

TEST(Proxy, ABadProxyVariableIsAConfigurationError) {
    const ScopedEnv bad("https_proxy", "ftp://proxy.test:21");
    try {
        HTTPTransport<> t{Options{}};
        ADD_FAILURE() << "a transport was made";
    } catch (const ConfigurationError& e) {
        EXPECT_TRUE(contains(e.what(), "environment variable https_proxy")) << e.what();
        EXPECT_TRUE(contains(e.what(), "\"ftp://proxy.test:21\"")) << e.what();
    }
}

TEST(Proxy, Socks5ThroughDante) {
    Dante& proxy = dante();
    EXPECT_EQ(fetch(nginx().url("/hello.txt"), through(proxy.url())).body, "hello\n");
    Options o = through(proxy.url());
    o.http2 = true;
    const Response r = fetch(nginx().h2_url("/hello.txt"), o);
    EXPECT_EQ(r.version, Version::http_2);
    EXPECT_EQ(r.body, "hello\n");
    EXPECT_TRUE(contains(proxy.log(), "127.0.0.1." + std::to_string(nginx().h2_port())))
        << proxy.log();
}

TEST(Proxy, Socks5hLetsTheProxyResolveTheName) {
    // "localhost" goes to dante as a name (address type 3); dante resolves it.
    Dante& proxy = dante();
    const std::string url =
        "https://localhost:" + std::to_string(nginx().https_port()) + "/hello.txt";
    EXPECT_EQ(fetch(url, through(proxy.url(true))).body, "hello\n");
    EXPECT_TRUE(contains(proxy.log(), "localhost." + std::to_string(nginx().https_port())))
        << proxy.log();
}

TEST(Proxy, ASocksRefusalIsAProxyError) {
    Options o = through(dante().url());
    o.retry.max_retries = 0;
    const std::uint16_t port = closed_port();
    const auto e = fetch_error<ProxyError>("http://127.0.0.1:" + std::to_string(port) + "/", o);
    ASSERT_TRUE(e);
    const std::string what = e->what();
    EXPECT_TRUE(contains(what, "SOCKS5 connect to 127.0.0.1:" + std::to_string(port))) << what;
    EXPECT_TRUE(contains(what, "through proxy " + dante().url())) << what;
    EXPECT_TRUE(contains(what, "connection refused")) << what;
}

} // namespace
} // namespace nector::test
