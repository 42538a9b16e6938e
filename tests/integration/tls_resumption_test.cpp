// TLS session resumption (docs/proxies-and-addressing.md): sessions nginx gives (its
// session tickets are on by default) are kept per host and port and offered on the next
// connection, over HTTP/1.1 and HTTP/2, TLS 1.2 and 1.3.
#include "integration/client.hpp"
#include "support/servers.hpp"

#include <nector/http/metrics.hpp>

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace nector::test {
namespace {

struct Handshakes {
    std::vector<bool> resumed; ///< each response's timings.tls_resumed
    http::Metrics metrics;
};

// `n` requests to `url` on one transport, each on a new connection (the transport is
// disconnected and connected again between them: its pool closes every connection, its
// dialer and so its sessions stay).
Handshakes fresh_connections(Options o, const std::string& url, int n) {
    return run([](Options options, std::string u, int count) -> asio::awaitable<Handshakes> {
        HTTPTransport<> t(std::move(options));
        Handshakes out;
        for (int i = 0; i < count; ++i) {
            co_await t.connect();
            HttpMessage m;
            m.url = u;
            Response r = co_await t.request(std::move(m));
            EXPECT_EQ(r.body, std::string_view("hello\n"));
            out.resumed.push_back(r.timings.tls_resumed);
            co_await t.disconnect();
        }
        out.metrics = t.metrics();
        co_return out;
    }(std::move(o), url, n));
}

Options tls_options() {
    Options o;
    o.tls.ca_file = certificates().ca_cert.string();
    o.proxy.trust_env = false;
    return o;
}

TEST(TlsResumption, Http11ResumesAfterTheFirstHandshake) {
    const Handshakes r = fresh_connections(tls_options(), nginx().https_url("/hello.txt"), 3);
    EXPECT_EQ(r.resumed, (std::vector<bool>{false, true, true}));
    EXPECT_EQ(r.metrics.tls_handshakes, 3u);
    EXPECT_EQ(r.metrics.tls_resumed, 2u);
    EXPECT_EQ(r.metrics.connections_opened, 3u);
}

TEST(TlsResumption, Http2ResumesToo) {
    Options o = tls_options();
    o.http2 = true;
    const Handshakes r = fresh_connections(o, nginx().h2_url("/hello.txt"), 2);
    EXPECT_EQ(r.resumed, (std::vector<bool>{false, true}));
}

TEST(TlsResumption, SessionsAreKeptPerHostAndPort) {
    // A session of one port is not offered to another: the first handshake to each is full.
    Options o = tls_options();
    const Handshakes a = fresh_connections(o, nginx().https_url("/hello.txt"), 1);
    EXPECT_EQ(a.resumed, (std::vector<bool>{false}));
    // h2_port() serves the same certificate; without Options::http2 it speaks HTTP/1.1.
    const std::string other =
        "https://127.0.0.1:" + std::to_string(nginx().h2_port()) + "/hello.txt";
    const std::vector<std::string> urls{nginx().https_url("/hello.txt"), other,
                                        nginx().https_url("/hello.txt")};
    const Handshakes r =
        run([](Options options, std::vector<std::string> list) -> asio::awaitable<Handshakes> {
            HTTPTransport<> t(std::move(options));
            Handshakes out;
            for (const std::string& url : list) {
                co_await t.connect();
                HttpMessage m;
                m.url = url;
                Response response = co_await t.request(std::move(m));
                out.resumed.push_back(response.timings.tls_resumed);
                co_await t.disconnect();
            }
            co_return out;
        }(o, urls));
    EXPECT_EQ(r.resumed, (std::vector<bool>{false, false, true}));
}

TEST(TlsResumption, CanBeTurnedOff) {
    Options o = tls_options();
    o.tls.session_resumption = false;
    const Handshakes r = fresh_connections(o, nginx().https_url("/hello.txt"), 2);
    EXPECT_EQ(r.resumed, (std::vector<bool>{false, false}));
    EXPECT_EQ(r.metrics.tls_resumed, 0u);
}

} // namespace
} // namespace nector::test
