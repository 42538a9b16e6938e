// HTTP/1.1 responses as field servers send them (tests/support/h1_cases.hpp), served with
// their exact bytes by the in-process server over TCP and TLS: request() and
// stream_response() must each give the case's one reading or its refusal, and the same as
// each other; a connection is reused only after a response that ended cleanly.
#include "integration/client.hpp"
#include "support/h1_cases.hpp"
#include "support/servers.hpp"
#include "support/test_server.hpp"

#include <nector/http/errors.hpp>

#include <gtest/gtest.h>

#include <charconv>
#include <memory>

namespace nector::test {
namespace {

using namespace std::chrono_literals;
using http::ResponseStream;

const std::vector<H1Case>& cases() {
    static const std::vector<H1Case> all = h1_cases();
    return all;
}

/// Serves "/N" with case N's bytes, then closes the connection (what a case's bytes do
/// not delimit, the close does).
TestServer::Handler serve_cases() {
    return [](TestConnection& c) -> asio::awaitable<void> {
        auto request = co_await c.read_request();
        if (!request) co_return;
        std::size_t n = 0;
        std::from_chars(request->target.data() + 1, request->target.data() + request->target.size(),
                        n);
        co_await c.write(cases().at(n).bytes);
        c.close();
    };
}

TestServer& plain_server() {
    static TestServer server(serve_cases());
    return server;
}

TestServer& tls_server() {
    static TestServer server(serve_cases(),
                             TlsFiles{.certificate_chain = certificates().server_cert,
                                      .private_key = certificates().server_key});
    return server;
}

Options options() {
    Options o;
    o.retry.max_retries = 0;
    o.timeout.read = 20s; // a case that hangs fails, it does not stall the suite
    o.tls.ca_file = certificates().ca_cert.string();
    return o;
}

struct Outcome {
    std::optional<errc> error;
    std::string message;
    Response response;
};

asio::awaitable<Outcome> buffered(std::string url, bool head) {
    Outcome out;
    try {
        HttpMessage m{.method = head ? "HEAD" : "GET", .url = std::move(url)};
        out.response = co_await request_once(options(), std::move(m));
    } catch (const TransportError& e) {
        out.error = static_cast<errc>(e.code().value());
        out.message = e.what();
    }
    co_return out;
}

asio::awaitable<Outcome> streamed(std::string url, bool head) {
    Outcome out;
    try {
        HTTPTransport<> t(options());
        co_await t.connect();
        HttpMessage m{.method = head ? "HEAD" : "GET", .url = std::move(url)};
        ResponseStream s = co_await t.stream(std::move(m));
        std::string body;
        for (;;) {
            auto chunk = co_await s.next();
            if (!chunk) break;
            body += *chunk;
        }
        out.response = s.response();
        out.response.body = std::move(body);
        co_await t.disconnect();
    } catch (const TransportError& e) {
        out.error = static_cast<errc>(e.code().value());
        out.message = e.what();
    }
    co_return out;
}

void expect_case(const H1Case& c, const Outcome& o, const std::string& how) {
    SCOPED_TRACE(c.name + " by " + how);
    if (c.error) {
        ASSERT_TRUE(o.error) << "read as " << o.response.status << " with body \""
                             << o.response.body << "\"";
        EXPECT_EQ(*o.error, *c.error) << o.message;
        EXPECT_TRUE(contains(o.message, c.says)) << o.message;
        return;
    }
    ASSERT_FALSE(o.error) << o.message;
    expect_reading(c, o.response);
}

class Conformance : public ::testing::TestWithParam<std::size_t> {};

TEST_P(Conformance, RequestAndStreamReadTheSameBytesTheSameWayOverTcpAndTls) {
    const H1Case& c = cases()[GetParam()];
    const std::string path = "/" + std::to_string(GetParam());
    for (TestServer* server : {&plain_server(), &tls_server()}) {
        const std::string url = server->url(path);
        const Outcome a = run(buffered(url, c.head));
        const Outcome b = run(streamed(url, c.head));
        expect_case(c, a, "request() from " + url);
        expect_case(c, b, "stream_response() from " + url);
        // The differential check: the same reading, or the same refusal.
        EXPECT_EQ(a.error, b.error) << a.message << " / " << b.message;
        EXPECT_EQ(a.response.status, b.response.status);
        EXPECT_EQ(a.response.headers, b.response.headers);
        EXPECT_EQ(a.response.body, b.response.body);
        EXPECT_EQ(a.response.trailers, b.response.trailers);
    }
}

INSTANTIATE_TEST_SUITE_P(Http1, Conformance, ::testing::Range<std::size_t>(0, h1_cases().size()),
                         [](const auto& p) { return cases()[p.param].name; });

/// Two requests on one transport, against a server that answers every request with the
/// case's bytes and keeps its connections open: the second goes on the first's connection
/// only when the first response ended cleanly.
TEST(ConformanceReuse, AConnectionIsReusedOnlyAfterAResponseThatEndedCleanly) {
    for (const H1Case& c : cases()) {
        // Cases that end at the close cannot be answered on a connection left open.
        const bool ends_at_close = c.error ? *c.error != errc::protocol_error : !c.keep_alive;
        if (ends_at_close) continue;
        SCOPED_TRACE(c.name);
        TestServer server(TestServer::respond(c.bytes));
        std::vector<Outcome> outcomes;
        run([&]() -> asio::awaitable<void> {
            HTTPTransport<> t(options());
            co_await t.connect();
            for (int i = 0; i < 2; ++i) {
                Outcome o;
                try {
                    HttpMessage m{.method = c.head ? "HEAD" : "GET", .url = server.url("/")};
                    o.response = co_await t.request(std::move(m));
                } catch (const TransportError& e) {
                    o.error = static_cast<errc>(e.code().value());
                    o.message = e.what();
                }
                outcomes.push_back(std::move(o));
            }
            co_await t.disconnect();
        }());
        ASSERT_EQ(outcomes.size(), 2u);
        expect_case(c, outcomes[0], "the first request");
        expect_case(c, outcomes[1], "the second request");
        EXPECT_EQ(server.connections(), c.error ? 2u : 1u);
    }
}

TEST(ConformanceReuse, BytesAfterA204OrAHeadResponseCloseTheConnection) {
    for (const auto& [head, bytes] : std::vector<std::pair<bool, std::string>>{
             {false, "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\nhello"},
             {true, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"},
             {false, "HTTP/1.1 304 Not Modified\r\n\r\nHTTP/1.1 200 OK\r\n\r\n"}}) {
        SCOPED_TRACE(bytes);
        TestServer server(TestServer::respond(bytes));
        run([&]() -> asio::awaitable<void> {
            HTTPTransport<> t(options());
            co_await t.connect();
            for (int i = 0; i < 2; ++i) {
                HttpMessage m{.method = head ? "HEAD" : "GET", .url = server.url("/")};
                const Response r = co_await t.request(std::move(m));
                EXPECT_EQ(r.body, "");
            }
            co_await t.disconnect();
        }());
        EXPECT_EQ(server.connections(), 2u); // what followed the response was never read
    }
}

TEST(ConformanceRedirects, TwoDifferentLocationsAreRefusedEqualOnesFollowed) {
    TestServer target(TestServer::respond("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"));
    const std::string to = target.url("/a");
    TestServer twice(TestServer::respond("HTTP/1.1 302 Found\r\nLocation: " + to +
                                         "\r\nLocation: " + to + "\r\nContent-Length: 0\r\n\r\n"));
    EXPECT_EQ(fetch(twice.url("/"), options()).body, "ok");
    TestServer two(TestServer::respond("HTTP/1.1 302 Found\r\nLocation: " + to +
                                       "\r\nLocation: /elsewhere\r\nContent-Length: 0\r\n\r\n"));
    const auto e = fetch_error<TransportSpecificError>(two.url("/"), options());
    ASSERT_TRUE(e);
    EXPECT_EQ(e->code(), errc::protocol_error);
    EXPECT_TRUE(contains(e->what(), "302 redirect with 2 different Location fields")) << e->what();
    EXPECT_EQ(target.requests().size(), 1u); // the ambiguous redirect was not followed
    Options no_follow = options();
    no_follow.follow_redirects = false;
    EXPECT_EQ(fetch(two.url("/"), no_follow).status, 302); // not followed: returned as is
}

} // namespace
} // namespace nector::test
