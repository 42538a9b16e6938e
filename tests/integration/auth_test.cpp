// Credentials (docs/auth-and-cookies.md): Options::auth (Basic, Bearer, Digest) and the
// basic_auth()/bearer_auth() header values, against httpbin's auth endpoints (an independent
// implementation of RFC 7617, 6750 and 7616) and the in-process server for what httpbin
// cannot show (the number of exchanges, a stale nonce, redirects to another origin).
#include "integration/client.hpp"
#include "support/servers.hpp"
#include "support/test_server.hpp"

#include <nector/http/errors.hpp>
#include <nector/transport/errors.hpp>

#include <boost/json/value.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <string>

namespace nector::test {
namespace json = boost::json;
namespace {

using http::Auth;

Options bin(Auth auth = {}) {
    Options o;
    o.base_url = httpbin().url("/");
    o.auth = std::move(auth);
    o.retry.max_retries = 0;
    return o;
}

TEST(Auth, BasicFromOptions) {
    const Response r = fetch("/basic-auth/ada/s3cret", bin(Auth::basic("ada", "s3cret")));
    EXPECT_EQ(r.json().at("authenticated"), json::value(true));
    EXPECT_EQ(r.json().at("user"), json::value("ada"));
    // A user and password alone mean Basic (AuthScheme::automatic), as httpx's auth=(u, p).
    Options o = bin();
    o.auth.user = "ada";
    o.auth.password = "s3cret";
    EXPECT_EQ(fetch("/basic-auth/ada/s3cret", o).status, 200);
    const auto e = fetch_error<http::HTTPUnauthorizedError>("/basic-auth/ada/other", o);
    ASSERT_TRUE(e);
    EXPECT_FALSE(contains(e->what(), "s3cret")) << e->what();
}

TEST(Auth, BearerFromOptions) {
    const Response r = fetch("/bearer", bin(Auth::bearer("t0ken")));
    EXPECT_EQ(r.json().at("token"), json::value("t0ken"));
    Options o = bin();
    o.auth.token = "t0ken"; // automatic: a token means Bearer
    EXPECT_EQ(fetch("/bearer", o).json().at("token"), json::value("t0ken"));
    EXPECT_TRUE(fetch_error<http::HTTPUnauthorizedError>("/bearer", bin()));
}

TEST(Auth, HeaderValuesForOneRequest) {
    HttpMessage m;
    m.url = "/basic-auth/ada/s3cret";
    m.headers.set("Authorization", http::basic_auth("ada", "s3cret"));
    EXPECT_EQ(fetch(bin(), m).status, 200);
    EXPECT_EQ(http::basic_auth("Aladdin", "open sesame"), "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
    m.url = "/bearer";
    // (httpbin takes the token with lstrip("Bearer "): one starting with none of those
    // letters comes back whole.)
    m.headers.set("Authorization", http::bearer_auth("xyz"));
    EXPECT_EQ(fetch(bin(), m).json().at("token"), json::value("xyz"));
}

TEST(Auth, DigestAgainstHttpbin) {
    for (const std::string algorithm : {"MD5", "SHA-256", "SHA-512"}) {
        SCOPED_TRACE(algorithm);
        const Response r =
            fetch("/digest-auth/auth/ada/s3cret/" + algorithm, bin(Auth::digest("ada", "s3cret")));
        EXPECT_EQ(r.status, 200);
        EXPECT_EQ(r.json().at("authenticated"), json::value(true));
    }
    // Wrong credentials: the challenge is answered once, then its 401 is the answer.
    const auto e = fetch_error<http::HTTPUnauthorizedError>("/digest-auth/auth/ada/other/MD5",
                                                            bin(Auth::digest("ada", "s3cret")));
    ASSERT_TRUE(e);
    EXPECT_FALSE(contains(e->what(), "s3cret")) << e->what();
}

// A Digest server of the test's own: it counts requests, challenges those without a Digest
// Authorization, and then, as `stale_first` says, calls the first answer stale once.
struct DigestServer {
    explicit DigestServer(bool stale_first = false)
        : server([this, stale_first](TestConnection& c) -> asio::awaitable<void> {
              for (;;) {
                  auto request = co_await c.read_request();
                  if (!request) co_return;
                  ++requests;
                  const std::string auth(request->header("Authorization").value_or(""));
                  if (auth.rfind("Digest ", 0) == 0) {
                      std::lock_guard lock(mutex);
                      last = auth;
                  }
                  const bool stale = stale_first && !auth.empty() && !staled.exchange(true);
                  if (auth.rfind("Digest ", 0) != 0 || stale) {
                      const std::string challenge =
                          std::string("Digest realm=\"test\", qop=\"auth\", nonce=\"n") +
                          std::to_string(requests.load()) + "\", algorithm=SHA-256" +
                          (stale ? ", stale=true" : "");
                      const std::string answer =
                          "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: " + challenge +
                          "\r\nContent-Length: 0\r\n\r\n";
                      co_await c.write(answer);
                      continue;
                  }
                  const std::string ok = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
                  co_await c.write(ok);
              }
          }) {}

    std::string last_authorization() {
        std::lock_guard lock(mutex);
        return last;
    }

    std::atomic<int> requests{0};
    std::atomic<bool> staled{false};
    std::mutex mutex;
    std::string last; ///< the last Digest Authorization received
    TestServer server;
};

// `calls` GETs of `url` on one transport.
void calls(Options o, const std::string& url, int n) {
    run([](Options options, std::string u, int count) -> asio::awaitable<void> {
        HTTPTransport<> t(std::move(options));
        co_await t.connect();
        for (int i = 0; i < count; ++i) {
            HttpMessage m;
            m.url = u;
            Response r = co_await t.request(std::move(m));
            EXPECT_EQ(r.body, std::string_view("ok"));
        }
        co_await t.disconnect();
    }(std::move(o), url, n));
}

TEST(Auth, DigestAnswersAKnownChallengeAtOnce) {
    DigestServer d;
    Options o;
    o.auth = Auth::digest("ada", "s3cret");
    calls(o, d.server.url("/a?x=1"), 3);
    // The first call: the challenge, then the answer; the next two: the answer at once.
    EXPECT_EQ(d.requests.load(), 4);
    EXPECT_TRUE(contains(d.last_authorization(), "nc=00000003")) << d.last_authorization();
    EXPECT_TRUE(contains(d.last_authorization(), "uri=\"/a?x=1\"")) << d.last_authorization();
    EXPECT_TRUE(contains(d.last_authorization(), "algorithm=SHA-256")) << d.last_authorization();
}

TEST(Auth, DigestAnswersAStaleNonceOnceMore) {
    DigestServer d(true);
    Options o;
    o.auth = Auth::digest("ada", "s3cret");
    calls(o, d.server.url("/"), 1);
    EXPECT_EQ(d.requests.load(), 3); // challenge, answer called stale, answer to the new nonce
    EXPECT_TRUE(contains(d.last_authorization(), "nonce=\"n2\"")) << d.last_authorization();
}

TEST(Auth, CredentialsStayWithTheirOrigin) {
    // The first server redirects to the second (another port: another origin).
    TestServer second(TestServer::respond("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"));
    TestServer first(TestServer::respond("HTTP/1.1 302 Found\r\nLocation: " + second.url("/there") +
                                         "\r\nContent-Length: 0\r\n\r\n"));
    Options o;
    o.auth = Auth::bearer("t0ken");
    EXPECT_EQ(fetch(first.url("/here"), o).body, "ok");
    ASSERT_EQ(first.requests().size(), 1u);
    EXPECT_EQ(first.requests()[0].header("Authorization"), "Bearer t0ken");
    ASSERT_EQ(second.requests().size(), 1u);
    EXPECT_FALSE(second.requests()[0].header("Authorization").has_value());
}

TEST(Auth, AUrlsCredentialsWinForTheirRequest) {
    TestServer server(TestServer::respond("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"));
    Options o;
    o.auth = Auth::bearer("t0ken");
    const std::string url =
        "http://url:pw@127.0.0.1:" + std::to_string(server.port()) + "/"; // url:pw
    EXPECT_EQ(fetch(url, o).body, "ok");
    EXPECT_EQ(server.requests()[0].header("Authorization"), http::basic_auth("url", "pw"));
}

TEST(Auth, BadCredentialsAreAConfigurationError) {
    const auto refused = [](Auth a) {
        Options o;
        o.auth = std::move(a);
        try {
            HTTPTransport<> t(o);
        } catch (const ConfigurationError& e) {
            return std::string(e.what());
        }
        return std::string("accepted");
    };
    EXPECT_TRUE(contains(refused(Auth::basic("a:b", "c")), "cannot hold ':'"));
    EXPECT_TRUE(contains(refused(Auth::bearer("two words")), "one word"));
    EXPECT_TRUE(contains(refused(Auth::digest("", "x")), "digest needs a user"));
    EXPECT_TRUE(contains(refused(Auth::basic("a", "line\r\nbreak")), "control characters"));
    Auth both;
    both.user = "a";
    both.token = "t";
    EXPECT_TRUE(contains(refused(both), "set auth.scheme to say which"));
}

} // namespace
} // namespace nector::test
