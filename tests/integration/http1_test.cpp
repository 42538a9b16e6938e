// HTTPTransport over HTTP/1.1 against the in-process test server: exact bytes, faults,
// pool behaviour, redirects, errors, cancellation.
#include "integration/client.hpp"
#include "support/arrival.hpp"
#include "support/servers.hpp"
#include "support/test_server.hpp"

#include <nector/http/transport.hpp>
#include <nector/transport/message/json.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json/parse.hpp>

#include <gtest/gtest.h>

#include <boost/asio/read.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>

#include <array>
#include <atomic>
#include <future>
#include <set>
#include <thread>

namespace nector::test {
namespace asio = boost::asio;
namespace json = boost::json;
namespace {

using namespace std::chrono_literals;
using http::HTTPStatusError;

std::string ok(std::string_view body = "ok") { return http_response(200, body); }

// A redirect response (a function, so that coroutines need no braced list: see
// tests/support/run.hpp on GCC 12).
std::string redirect(int status, std::string location) {
    return http_response(status, "", {{"Location", std::move(location)}});
}

TEST(Http1, SendsTheRequestItDescribes) {
    TestServer server(TestServer::respond(ok()));
    HttpMessage m{.method = "GET",
                  .url = "/path/x?q=1",
                  .headers = {{"X-Custom", "v"}},
                  .params = {{"a", "1"}, {"a", "2"}, {"b", "x y"}}};
    const Response r = fetch({.base_url = server.url("/")}, m);
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "ok");
    EXPECT_EQ(r.version, http::Version::http_1_1);
    const auto seen = server.requests();
    ASSERT_EQ(seen.size(), 1u);
    EXPECT_EQ(seen[0].method, "GET");
    EXPECT_EQ(seen[0].target, "/path/x?q=1&a=1&a=2&b=x+y");
    EXPECT_EQ(seen[0].header("Host"), "127.0.0.1:" + std::to_string(server.port()));
    EXPECT_EQ(seen[0].header("User-Agent"), "nector");
    EXPECT_EQ(seen[0].header("x-custom"), "v");
    EXPECT_FALSE(seen[0].header("Content-Length").has_value());
    EXPECT_FALSE(seen[0].header("Content-Type").has_value());
}

TEST(Http1, DefaultHeadersMergeWithMessageHeaders) {
    TestServer server(TestServer::respond(ok()));
    HttpMessage m{.url = "/", .headers = {{"x-token", "message"}, {"User-Agent", "custom/1"}}};
    (void)fetch({.base_url = server.url(), .headers = {{"X-Token", "default"}, {"X-Default", "d"}}},
                m);
    const auto seen = server.requests().at(0);
    EXPECT_EQ(seen.header("X-Token"), "message");
    EXPECT_EQ(seen.header("X-Default"), "d");
    EXPECT_EQ(seen.header("User-Agent"), "custom/1");
}

TEST(Http1, AHeaderTheMessageRepeatsIsSentEachTime) {
    TestServer server(TestServer::respond(ok()));
    HttpMessage m{.url = "/", .headers = {{"X-A", "1"}, {"Accept", "text/plain"}, {"x-a", "2"}}};
    (void)fetch({.base_url = server.url(), .headers = {{"X-A", "default"}}}, m);
    const auto seen = server.requests().at(0); // named: a range-for keeps no temporary alive
    std::vector<std::string> values;
    std::size_t accepts = 0;
    for (const auto& [name, value] : seen.headers) {
        if (iequals(name, "X-A")) values.push_back(value);
        if (iequals(name, "Accept")) ++accepts;
    }
    EXPECT_EQ(values, (std::vector<std::string>{"1", "2"}));
    EXPECT_EQ(accepts, 1u); // the default Accept replaced, not repeated
}

TEST(Http1, PostsJsonFormAndRawBodies) {
    TestServer server(TestServer::respond(ok()));
    const std::string base = server.url();
    (void)fetch({.base_url = base},
                {.method = "POST", .url = "/j", .json = boost::json::parse(R"({"a":[1,2]})")});
    (void)fetch({.base_url = base},
                {.method = "POST", .url = "/f", .form = {{"k", "v w"}, {"k", "&"}}});
    (void)fetch({.base_url = base}, {.method = "PUT",
                                     .url = "/c",
                                     .headers = {{"Content-Type", "text/plain"}},
                                     .content = to_bytes("raw")});
    (void)fetch({.base_url = base}, {.method = "POST", .url = "/empty"});
    const auto seen = server.requests();
    ASSERT_EQ(seen.size(), 4u);
    EXPECT_EQ(seen[0].body, R"({"a":[1,2]})");
    EXPECT_EQ(seen[0].header("Content-Type"), "application/json");
    EXPECT_EQ(seen[0].header("Content-Length"), "11");
    EXPECT_EQ(seen[1].body, "k=v+w&k=%26");
    EXPECT_EQ(seen[1].header("Content-Type"), "application/x-www-form-urlencoded");
    EXPECT_EQ(seen[2].method, "PUT");
    EXPECT_EQ(seen[2].body, "raw");
    EXPECT_EQ(seen[2].header("Content-Type"), "text/plain");
    EXPECT_EQ(seen[3].header("Content-Length"), "0");
}

TEST(Http1, MultipartUploadCarriesFieldsAndFiles) {
    TestServer server(TestServer::respond(ok()));
    (void)fetch({.base_url = server.url()}, {.method = "POST",
                                             .url = "/upload",
                                             .form = {{"note", "hi"}},
                                             .files = {{.field = "file",
                                                        .filename = "a.txt",
                                                        .content_type = "text/plain",
                                                        .content = to_bytes("file body")}}});
    const auto seen = server.requests().at(0);
    const auto type = seen.header("Content-Type").value_or("");
    ASSERT_TRUE(contains(type, "multipart/form-data; boundary=")) << type;
    EXPECT_TRUE(contains(seen.body, "name=\"note\"\r\n\r\nhi\r\n"));
    EXPECT_TRUE(contains(seen.body, "name=\"file\"; filename=\"a.txt\""));
    EXPECT_TRUE(contains(seen.body, "Content-Type: text/plain\r\n\r\nfile body\r\n"));
}

TEST(Http1, KeepAliveReusesOneConnection) {
    TestServer server(TestServer::respond(ok()));
    run([&]() -> asio::awaitable<void> {
        HTTPTransport<> t({.base_url = server.url()});
        co_await t.connect();
        for (int i = 0; i < 5; ++i) (void)co_await t.get("/n");
    }());
    EXPECT_EQ(server.requests().size(), 5u);
    EXPECT_EQ(server.connections(), 1u);
}

TEST(Http1, ConnectionCloseIsHonoured) {
    TestServer server(TestServer::respond(http_response(200, "x", {{"Connection", "close"}})));
    run([&]() -> asio::awaitable<void> {
        HTTPTransport<> t({.base_url = server.url()});
        co_await t.connect();
        for (int i = 0; i < 3; ++i) EXPECT_EQ((co_await t.get("/")).body, "x");
    }());
    EXPECT_EQ(server.connections(), 3u);
}

TEST(Http1, ConcurrentSendsAreReceivedInCompletionOrder) {
    // Five requests, each on its own connection, answered once all five have arrived, last
    // first, each answer only after the client has read the one before (it closes the
    // connection on `Connection: close`): completions come in reverse, by events alone.
    struct Turns {
        int arrived = 0;
        int next = -1; // whose turn it is to answer
        std::array<asio::steady_timer*, 5> waiting{};
        void give(int i) {
            next = i;
            if (i >= 0 && waiting[static_cast<std::size_t>(i)]) {
                waiting[static_cast<std::size_t>(i)]->cancel();
            }
        }
    };
    auto turns = std::make_shared<Turns>();
    TestServer server([turns](TestConnection& c) -> asio::awaitable<void> {
        auto request = co_await c.read_request();
        if (!request) co_return;
        const int i = std::stoi(request->target.substr(1));
        asio::steady_timer turn(co_await asio::this_coro::executor,
                                asio::steady_timer::time_point::max());
        turns->waiting[static_cast<std::size_t>(i)] = &turn;
        if (++turns->arrived == 5) turns->give(4);
        while (turns->next != i) {
            co_await turn.async_wait(asio::as_tuple(asio::use_awaitable));
        }
        turns->waiting[static_cast<std::size_t>(i)] = nullptr;
        const Bytes reply = JsonMessage({{"n", i}}, i * 10).serialize();
        std::vector<std::pair<std::string, std::string>> close;
        close.emplace_back("Connection", "close");
        const std::string answer = http_response(200, as_string_view(reply), std::move(close));
        co_await c.write(answer);
        [[maybe_unused]] auto end = co_await c.read_request(); // nullopt: the client closed
        turns->give(i - 1);
    });
    asio::io_context io;
    HTTPTransport<JsonMessage> t(io.get_executor(), {.base_url = server.url()});
    asio::co_spawn(io, t.connect(), asio::detached);
    io.run();
    io.restart();
    int sent = 0;
    for (int i = 0; i < 5; ++i) {
        JsonMessage m({}, {{"method", "GET"}, {"url", "/" + std::to_string(i)}});
        asio::co_spawn(io, t.send(std::move(m)), [&](std::exception_ptr e) {
            EXPECT_FALSE(e);
            ++sent;
        });
    }
    io.run(); // returns when all five exchanges have completed
    ASSERT_EQ(sent, 5);
    std::vector<int> order;
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
            while (auto reply = co_await t.receive()) {
                order.push_back(static_cast<int>(reply->payload().as_int64()));
            }
        },
        asio::detached);
    io.restart();
    io.run();
    EXPECT_EQ(order, (std::vector<int>{40, 30, 20, 10, 0}));
    EXPECT_EQ(server.connections(), 5u);
}

TEST(Http1, GenericMessagesArePostedAsTheirBytes) {
    TestServer server(
        TestServer::respond(http_response(200, R"({"headers":{},"payload":"pong"})")));
    run([&]() -> asio::awaitable<void> {
        HTTPTransport<JsonMessage> t({.base_url = server.url("/rpc")});
        co_await t.connect();
        JsonMessage ping({{"X-Id", 7}}, "ping");
        co_await t.send(std::move(ping));
        auto reply = co_await t.receive();
        NECTOR_CO_ASSERT(reply.has_value());
        EXPECT_EQ(reply->payload(), json::value("pong"));
    }());
    const auto seen = server.requests().at(0);
    EXPECT_EQ(seen.method, "POST");
    EXPECT_EQ(seen.target, "/rpc/");
    EXPECT_EQ(seen.header("X-Id"), "7"); // non-string header values are stringified
    EXPECT_EQ(seen.header("Content-Type"), "application/json");
    EXPECT_EQ(seen.body, R"({"headers":{"X-Id":7},"payload":"ping"})");
}

struct StatusCase {
    int status;
    errc code;
    const char* type;
};

class Http1Status : public ::testing::TestWithParam<StatusCase> {};

TEST_P(Http1Status, MapsToItsTypedError) {
    const auto [status, code, type] = GetParam();
    TestServer server(TestServer::respond(http_response(status, "why")));
    try {
        (void)fetch(server.url("/s"));
        FAIL() << "no exception for " << status;
    } catch (const HTTPStatusError& e) {
        EXPECT_EQ(e.code(), code);
        EXPECT_EQ(e.status_code(), status);
        EXPECT_EQ(e.response().body, "why");
        EXPECT_TRUE(contains(e.what(), "GET " + server.url("/s"))) << e.what();
        const std::string actual = typeid(e).name();
        EXPECT_TRUE(contains(actual, type)) << actual;
        if (status < 500) {
            EXPECT_NE(dynamic_cast<const http::HTTPClientError*>(&e), nullptr);
        } else {
            EXPECT_NE(dynamic_cast<const http::HTTPServerError*>(&e), nullptr);
        }
    }
}

INSTANTIATE_TEST_SUITE_P(
    Codes, Http1Status,
    ::testing::Values(StatusCase{401, errc::http_unauthorized, "HTTPUnauthorizedError"},
                      StatusCase{403, errc::http_forbidden, "HTTPForbiddenError"},
                      StatusCase{404, errc::http_not_found, "HTTPNotFoundError"},
                      StatusCase{408, errc::http_request_timeout, "HTTPTimeoutError"},
                      StatusCase{429, errc::http_too_many_requests, "HTTPTooManyRequestsError"},
                      StatusCase{418, errc::http_client_error, "HTTPClientError"},
                      StatusCase{500, errc::http_server_error, "HTTPServerError"},
                      StatusCase{503, errc::http_server_error, "HTTPServerError"}));

TEST(Http1, RaiseForStatusCanBeLeftToTheCaller) {
    TestServer server(TestServer::respond(http_response(404, "nope")));
    const Response r = fetch(server.url(), {.raise_for_status = false});
    EXPECT_EQ(r.status, 404);
    EXPECT_EQ(r.body, "nope");
    EXPECT_THROW(r.raise_for_status(), http::HTTPNotFoundError);
}

TEST(Http1, FollowsRedirectsKeepingHistory) {
    TestServer server([](TestConnection& c) -> asio::awaitable<void> {
        while (auto request = co_await c.read_request()) {
            if (request->target == "/a") {
                co_await c.write(redirect(302, "b?x=1"));
            } else if (request->target == "/b?x=1") {
                co_await c.write(redirect(301, "/c"));
            } else {
                co_await c.write(http_response(200, "at " + request->target));
            }
        }
    });
    const Response r = fetch(server.url("/a"));
    EXPECT_EQ(r.body, "at /c");
    EXPECT_EQ(r.url, server.url("/c"));
    ASSERT_EQ(r.history.size(), 2u);
    EXPECT_EQ(r.history[0].status, 302);
    EXPECT_EQ(r.history[0].url, server.url("/a"));
    EXPECT_EQ(r.history[1].status, 301);
    const Response raw = fetch(server.url("/a"), {.follow_redirects = false});
    EXPECT_EQ(raw.status, 302);
    EXPECT_EQ(raw.headers.get("Location"), "b?x=1");
}

TEST(Http1, RedirectMethodRules) {
    TestServer server([](TestConnection& c) -> asio::awaitable<void> {
        while (auto request = co_await c.read_request()) {
            const std::string t = request->target;
            if (t.starts_with("/r")) {
                co_await c.write(redirect(std::stoi(t.substr(2)), "/done"));
            } else {
                co_await c.write(http_response(200, request->method + " " + request->body));
            }
        }
    });
    const auto post = [&](int status) {
        return fetch({}, {.method = "POST",
                          .url = server.url("/r" + std::to_string(status)),
                          .content = to_bytes("data")})
            .body;
    };
    EXPECT_EQ(post(303), "GET ");
    EXPECT_EQ(post(302), "GET ");
    EXPECT_EQ(post(301), "GET ");
    EXPECT_EQ(post(307), "POST data");
    EXPECT_EQ(post(308), "POST data");
    EXPECT_EQ(
        fetch({}, {.method = "PUT", .url = server.url("/r302"), .content = to_bytes("d")}).body,
        "PUT d");
    const auto requests = server.requests();
    const auto redirected = std::find_if(requests.begin(), requests.end(), [](const auto& r) {
        return r.target == "/done" && r.method == "GET";
    });
    ASSERT_NE(redirected, requests.end());
    EXPECT_FALSE(redirected->header("Content-Type").has_value());
    EXPECT_FALSE(redirected->header("Content-Length").has_value());
}

TEST(Http1, TooManyRedirectsIsAnError) {
    TestServer server(TestServer::respond(http_response(302, "", {{"Location", "/loop"}})));
    const auto e = fetch_error<TransportSpecificError>(server.url("/loop"), {.max_redirects = 3});
    ASSERT_TRUE(e);
    EXPECT_EQ(e->code(), errc::too_many_redirects);
    EXPECT_EQ(server.requests().size(), 4u);
}

TEST(Http1, CredentialsAreDroppedAcrossOrigins) {
    TestServer other(TestServer::respond(ok("other")));
    TestServer server(TestServer::respond(http_response(302, "", {{"Location", other.url("/x")}})));
    HttpMessage m{
        .url = server.url("/"),
        .headers = {{"Authorization", "Bearer secret"}, {"Cookie", "s=1"}, {"X-Keep", "k"}}};
    EXPECT_EQ(fetch({}, m).body, "other");
    const auto first = server.requests().at(0);
    EXPECT_EQ(first.header("Authorization"), "Bearer secret");
    const auto second = other.requests().at(0);
    EXPECT_FALSE(second.header("Authorization").has_value());
    EXPECT_FALSE(second.header("Cookie").has_value());
    EXPECT_EQ(second.header("X-Keep"), "k");
}

TEST(Http1, SameOriginRedirectKeepsCredentials) {
    TestServer server([](TestConnection& c) -> asio::awaitable<void> {
        while (auto request = co_await c.read_request()) {
            // Not a ?: inside co_await: GCC 12 destroys its temporaries twice.
            std::string reply =
                request->target == "/"
                    ? redirect(302, "/next")
                    : http_response(200, request->header("Authorization").value_or("-"));
            co_await c.write(reply);
        }
    });
    HttpMessage m{.url = server.url("/"), .headers = {{"Authorization", "Bearer secret"}}};
    EXPECT_EQ(fetch({}, m).body, "Bearer secret");
}

TEST(Http1, UserinfoBecomesBasicAuthAndIsRedacted) {
    TestServer server(TestServer::respond(ok()));
    const std::string url = "http://user:pa%3Ass@127.0.0.1:" + std::to_string(server.port()) + "/x";
    const Response r = fetch(url);
    EXPECT_EQ(server.requests().at(0).header("Authorization"), "Basic dXNlcjpwYTpzcw==");
    EXPECT_FALSE(contains(r.url, "pa")) << r.url;
}

struct BadRequestCase {
    const char* name;
    HttpMessage message;
    errc code;
};

class Http1BadRequest : public ::testing::TestWithParam<BadRequestCase> {};

TEST_P(Http1BadRequest, IsRefusedBeforeAnyByteIsSent) {
    TestServer server(TestServer::respond(ok()));
    HttpMessage m = GetParam().message;
    if (!m.url.starts_with("http") && !m.url.starts_with("ftp") && m.url != "relative") {
        m.url = server.url(m.url);
    }
    try {
        (void)fetch({}, m);
        FAIL() << "accepted";
    } catch (const TransportError& e) {
        EXPECT_EQ(e.code(), GetParam().code) << e.what();
        const std::string what = e.what();
        EXPECT_EQ(what.find('\r'), std::string::npos);
        EXPECT_EQ(what.find('\n'), std::string::npos);
    }
    EXPECT_EQ(server.connections(), 0u);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, Http1BadRequest,
    ::testing::Values(
        BadRequestCase{"crlf_value",
                       {.url = "/", .headers = {{"X-A", "v\r\nInjected: 1"}}},
                       errc::invalid_header},
        BadRequestCase{
            "lf_value", {.url = "/", .headers = {{"X-A", "v\nx"}}}, errc::invalid_header},
        BadRequestCase{"nul_value",
                       {.url = "/", .headers = {{"X-A", std::string("v\0x", 3)}}},
                       errc::invalid_header},
        BadRequestCase{"bad_name", {.url = "/", .headers = {{"X A", "v"}}}, errc::invalid_header},
        BadRequestCase{"empty_name", {.url = "/", .headers = {{"", "v"}}}, errc::invalid_header},
        BadRequestCase{"method_space", {.method = "GE T", .url = "/"}, errc::invalid_method},
        BadRequestCase{"method_crlf", {.method = "GET\r\n", .url = "/"}, errc::invalid_method},
        BadRequestCase{"method_empty", {.method = "", .url = "/"}, errc::invalid_method},
        BadRequestCase{"trace_with_body",
                       {.method = "TRACE", .url = "/", .content = to_bytes("x")},
                       errc::invalid_method},
        BadRequestCase{"scheme", {.url = "ftp://127.0.0.1/"}, errc::invalid_url},
        BadRequestCase{"no_host", {.url = "http:///path"}, errc::invalid_url},
        BadRequestCase{"bad_port", {.url = "http://127.0.0.1:99999/"}, errc::invalid_url},
        BadRequestCase{"garbage", {.url = "http://exa mple.com/"}, errc::invalid_url},
        BadRequestCase{"relative_no_base", {.url = "relative"}, errc::invalid_url},
        BadRequestCase{"two_bodies",
                       {.method = "POST", .url = "/", .json = 1, .content = to_bytes("x")},
                       errc::serialization_failed}),
    [](const auto& p) { return std::string(p.param.name); });

TEST(Http1, RefusedConnectionIsConnectionRefusedError) {
    std::uint16_t port = 0;
    {
        TestServer gone(TestServer::respond(ok()));
        port = gone.port();
    }
    const auto e =
        fetch_error<ConnectionRefusedError>("http://127.0.0.1:" + std::to_string(port) + "/");
    ASSERT_TRUE(e);
    EXPECT_EQ(e->code(), errc::connection_refused);
    EXPECT_TRUE(contains(e->what(), "connecting to 127.0.0.1:" + std::to_string(port)));
}

TEST(Http1, UnknownHostIsConnectionError) {
    const auto e = fetch_error<ConnectionError>("http://no-such-host.invalid/");
    ASSERT_TRUE(e);
    EXPECT_EQ(e->code(), errc::name_resolution_failed);
}

TEST(Http1, ConnectTimeoutNamesThePhase) {
    // A listener whose accept queue is full: the kernel drops further SYNs, so a connect
    // gets no answer at all.
    asio::io_context io;
    asio::ip::tcp::acceptor listener(io);
    const asio::ip::tcp::endpoint any(asio::ip::make_address("127.0.0.1"), 0);
    listener.open(any.protocol());
    listener.bind(any);
    listener.listen(0);
    const auto endpoint = listener.local_endpoint();
    std::vector<asio::ip::tcp::socket> fillers;
    for (int i = 0; i < 4; ++i) {
        // Asio starts the non-blocking connect at initiation; `io` never runs its handler.
        fillers.emplace_back(io).async_connect(endpoint, [](boost::system::error_code) {});
    }
    const auto e = fetch_error<ConnectionTimeoutError>(
        "http://127.0.0.1:" + std::to_string(endpoint.port()) + "/",
        {.timeout = {.connect = 200ms}});
    ASSERT_TRUE(e);
    EXPECT_EQ(e->code(), errc::connect_timeout);
    EXPECT_TRUE(contains(e->what(), "connecting to 127.0.0.1")) << e->what();
}

TEST(Http1, SpeaksIpv6) {
    // A one-shot server on [::1]: reads one request head, answers, closes. A machine where
    // ::1 is unusable fails this test, and only this test.
    asio::io_context io;
    asio::ip::tcp::acceptor listener(io);
    boost::system::error_code ec;
    const asio::ip::tcp::endpoint v6(asio::ip::make_address("::1"), 0);
    if (listener.open(v6.protocol(), ec) || listener.bind(v6, ec) || listener.listen(1, ec)) {
        FAIL() << "cannot listen on [::1]: " << ec.message();
    }
    std::thread server([&] {
        boost::system::error_code error;
        auto socket = listener.accept(error);
        if (error) return;
        std::string head;
        char c = 0;
        while (!head.ends_with("\r\n\r\n") && asio::read(socket, asio::buffer(&c, 1), error) == 1)
            head += c;
        asio::write(socket, asio::buffer(http_response(200, head.substr(0, head.find('\r')))),
                    error);
    });
    const std::string url =
        "http://[::1]:" + std::to_string(listener.local_endpoint().port()) + "/v6";
    std::optional<Response> r;
    try {
        r = fetch(url);
    } catch (const std::exception& e) {
        ADD_FAILURE() << url << ": " << e.what();
        asio::ip::tcp::socket poke(io); // wakes the server's accept, then closes
        poke.connect(listener.local_endpoint(), ec);
    }
    server.join();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->body, "GET /v6 HTTP/1.1");
}

TEST(Http1, IdleConnectionsExpire) {
    TestServer server(TestServer::respond(ok()));
    run([&]() -> asio::awaitable<void> {
        HTTPTransport<> t({.base_url = server.url(), .limits = {.idle_timeout = 50ms}});
        co_await t.connect();
        (void)co_await t.get("/");
        // The thing under test is the passage of time: let the idle connection age.
        asio::steady_timer age(co_await asio::this_coro::executor, 150ms);
        co_await age.async_wait(asio::use_awaitable);
        (void)co_await t.get("/");
    }());
    EXPECT_EQ(server.connections(), 2u);
}

TEST(Http1, SharedByThreadsThroughAStrand) {
    TestServer server(TestServer::respond(ok()));
    asio::io_context io;
    auto strand = asio::make_strand(io);
    HTTPTransport<> t(strand, {.base_url = server.url(), .limits = {.max_connections = 8}});
    std::atomic<int> succeeded = 0;
    asio::co_spawn(strand, t.connect(), [&](std::exception_ptr e) {
        ASSERT_FALSE(e);
        for (int i = 0; i < 40; ++i) {
            asio::co_spawn(strand, t.get("/" + std::to_string(i)),
                           [&](std::exception_ptr f, Response r) {
                               if (!f && r.status == 200) ++succeeded;
                           });
        }
    });
    std::thread second([&] { io.run(); });
    io.run();
    second.join();
    EXPECT_EQ(succeeded, 40);
    EXPECT_LE(server.connections(), 8u);
}

TEST(Http1, ReadTimeoutNamesThePhase) {
    TestServer server([](TestConnection& c) -> asio::awaitable<void> {
        while (auto request = co_await c.read_request()) co_await c.delay(5s);
    });
    const auto e = fetch_error<ConnectionTimeoutError>(server.url(), {.timeout = {.read = 100ms}});
    ASSERT_TRUE(e);
    EXPECT_EQ(e->code(), errc::read_timeout);
    EXPECT_TRUE(contains(e->what(), "reading the response")) << e->what();
}

TEST(Http1, ReadTimeoutIsInactivityNotTotal) {
    // 12 bytes 40 ms apart: 480 ms in all, longer than the read timeout, and never near
    // 400 ms of silence (a margin that holds on a loaded machine).
    TestServer server([](TestConnection& c) -> asio::awaitable<void> {
        while (auto request = co_await c.read_request()) {
            co_await c.write("HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n");
            for (int i = 0; i < 12; ++i) {
                co_await c.delay(40ms);
                co_await c.write("x");
            }
        }
    });
    EXPECT_EQ(fetch(server.url(), {.timeout = {.read = 400ms}}).body, std::string(12, 'x'));
}

TEST(Http1, TotalTimeoutBoundsTheWholeCall) {
    TestServer server([](TestConnection& c) -> asio::awaitable<void> {
        while (auto r = co_await c.read_request()) {
            co_await c.delay(80ms);
            co_await c.write(redirect(302, "/again"));
        }
    });
    const auto e = fetch_error<ConnectionTimeoutError>(
        server.url(), {.timeout = {.read = 1s, .total = 300ms}, .max_redirects = 100});
    ASSERT_TRUE(e);
    EXPECT_EQ(e->code(), errc::total_timeout);
    EXPECT_LE(server.requests().size(), 5u);
}

TEST(Http1, PoolTimeoutWhenEveryConnectionIsBusy) {
    TestServer server([](TestConnection& c) -> asio::awaitable<void> {
        while (auto request = co_await c.read_request()) {
            co_await c.delay(400ms);
            co_await c.write(http_response(200, "slow"));
        }
    });
    asio::io_context io;
    HTTPTransport<> t(io.get_executor(),
                      {.base_url = server.url(),
                       .timeout = {.pool = 100ms},
                       .limits = {.max_connections = 1},
                       .retry = {.max_retries = 0}}); // pool timeouts are retried by default
    asio::co_spawn(io, t.connect(), asio::detached);
    std::string first;
    std::exception_ptr second;
    asio::co_spawn(io, t.get("/1"), [&](std::exception_ptr e, Response r) {
        EXPECT_FALSE(e);
        first = r.body;
    });
    asio::co_spawn(io, t.get("/2"), [&](std::exception_ptr e, Response) { second = e; });
    io.run();
    EXPECT_EQ(first, "slow");
    ASSERT_TRUE(second);
    try {
        std::rethrow_exception(second);
    } catch (const ConnectionTimeoutError& e) {
        EXPECT_EQ(e.code(), errc::pool_timeout);
        EXPECT_TRUE(contains(e.what(), "pool")) << e.what();
    }
    EXPECT_EQ(server.connections(), 1u);
}

TEST(Http1, WaitersGetTheConnectionWhenItFrees) {
    TestServer server([](TestConnection& c) -> asio::awaitable<void> {
        while (auto r = co_await c.read_request()) {
            co_await c.delay(20ms);
            co_await c.write(http_response(200, r->target));
        }
    });
    asio::io_context io;
    HTTPTransport<> t(io.get_executor(),
                      {.base_url = server.url(), .limits = {.max_connections_per_origin = 2}});
    asio::co_spawn(io, t.connect(), asio::detached);
    std::set<std::string> bodies;
    for (int i = 0; i < 8; ++i) {
        asio::co_spawn(io, t.get("/" + std::to_string(i)), [&](std::exception_ptr e, Response r) {
            EXPECT_FALSE(e);
            bodies.insert(r.body);
        });
    }
    io.run();
    EXPECT_EQ(bodies.size(), 8u);
    EXPECT_EQ(server.connections(), 2u);
}

TEST(Http1, StaleKeepAliveConnectionIsReplayedOnceForIdempotentRequests) {
    // Answers one request per connection, then closes without saying so when the next
    // request arrives (a keep-alive timeout meeting the request: a closed connection seen
    // before the request goes out is not reused at all).
    TestServer server([](TestConnection& c) -> asio::awaitable<void> {
        if (auto request = co_await c.read_request())
            co_await c.write(http_response(200, std::to_string(c.index())));
        (void)co_await c.read_request();
        c.close();
    });
    run([&]() -> asio::awaitable<void> {
        HTTPTransport<> t({.base_url = server.url()});
        co_await t.connect();
        EXPECT_EQ((co_await t.get("/")).body, "0");
        // The pooled connection is dead now; the replay goes to connection 1.
        EXPECT_EQ((co_await t.get("/")).body, "1");
        HttpMessage post{.method = "POST", .url = "/", .content = to_bytes("x")};
        try {
            (void)co_await t.request(std::move(post));
            ADD_FAILURE() << "a POST on a stale connection must not be replayed";
        } catch (const ConnectionError& e) {
            EXPECT_EQ(e.code(), condition::network) << e.what();
        }
    }());
    EXPECT_EQ(server.connections(), 2u);
}

TEST(Http1, TruncatedBodyIsAnErrorNotAShortBody) {
    TestServer server([](TestConnection& c) -> asio::awaitable<void> {
        if (auto request = co_await c.read_request())
            co_await c.write("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten b");
        c.close();
    });
    const auto e = fetch_error<ConnectionError>(server.url());
    ASSERT_TRUE(e);
    EXPECT_EQ(e->code(), errc::connection_closed);
    EXPECT_TRUE(contains(e->what(), "before the end of the body")) << e->what();
}

TEST(Http1, BodyInPiecesIsReadWholeAndTheConnectionReused) {
    // The body's first bytes come with the head; the rest, in later writes, is read past
    // the parser to the exact Content-Length, so the next response starts where it should.
    std::string body;
    for (int i = 0; body.size() < 300 * 1024; ++i) body += std::to_string(i) + ",";
    TestServer server([&](TestConnection& c) -> asio::awaitable<void> {
        if (!co_await c.read_request()) co_return;
        const std::string head =
            "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n";
        co_await c.write(head + body.substr(0, 1000));
        co_await c.write(std::string_view(body).substr(1000, 100 * 1024));
        co_await c.write(std::string_view(body).substr(1000 + 100 * 1024));
        if (!co_await c.read_request()) co_return;
        co_await c.write("HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecond");
    });
    run([&]() -> asio::awaitable<void> {
        HTTPTransport<> t({.base_url = server.url()});
        co_await t.connect();
        const auto first = co_await t.get("/");
        EXPECT_TRUE(first.body == body) << "got " << first.body.size() << " bytes";
        EXPECT_EQ((co_await t.get("/")).body, "second");
    }());
    EXPECT_EQ(server.connections(), 1u);
}

TEST(Http1, ResetIsConnectionError) {
    TestServer server([](TestConnection& c) -> asio::awaitable<void> {
        if (auto request = co_await c.read_request()) c.reset();
    });
    const auto e = fetch_error<ConnectionError>(server.url());
    ASSERT_TRUE(e);
    EXPECT_EQ(e->code(), condition::network);
}

TEST(Http1, MalformedResponseIsProtocolError) {
    TestServer server(TestServer::respond("HTTP/1.1 abc nonsense\r\n\r\n"));
    const auto e = fetch_error<TransportSpecificError>(server.url());
    ASSERT_TRUE(e);
    EXPECT_EQ(e->code(), errc::protocol_error);
    EXPECT_TRUE(contains(e->what(), "malformed response")) << e->what();
}

TEST(Http1, OversizedBodyIsRefused) {
    TestServer server(TestServer::respond(http_response(200, std::string(1000, 'x'))));
    const auto e = fetch_error<TransportSpecificError>(server.url(), {.max_response_bytes = 100});
    ASSERT_TRUE(e);
    EXPECT_EQ(e->code(), errc::body_too_large);
}

TEST(Http1, HeadReadsNoBody) {
    TestServer server(TestServer::respond("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n"));
    run([&]() -> asio::awaitable<void> {
        HTTPTransport<> t({.base_url = server.url()});
        co_await t.connect();
        for (int i = 0; i < 2; ++i) {
            const Response r = co_await t.head("/");
            EXPECT_EQ(r.body, "");
            EXPECT_EQ(r.headers.get("Content-Length"), "1000");
        }
    }());
    EXPECT_EQ(server.connections(), 1u);
}

TEST(Http1, ResponseWithoutLengthReadsToClose) {
    TestServer server([](TestConnection& c) -> asio::awaitable<void> {
        if (auto request = co_await c.read_request())
            co_await c.write("HTTP/1.1 200 OK\r\n\r\nuntil close");
        c.close();
    });
    EXPECT_EQ(fetch(server.url()).body, "until close");
}

TEST(Http1, InterimResponsesAreSkipped) {
    TestServer server(
        TestServer::respond("HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n" + ok("final")));
    EXPECT_EQ(fetch(server.url()).body, "final");
}

TEST(Http1, ChunkedResponsesAndRepeatedHeaders) {
    TestServer server(
        TestServer::respond("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nSet-Cookie: "
                            "a=1\r\nset-cookie: b=2\r\n\r\n"
                            "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"));
    const Response r = fetch(server.url());
    EXPECT_EQ(r.body, "abcde");
    EXPECT_EQ(r.headers.get_all("Set-Cookie"), (std::vector<std::string_view>{"a=1", "b=2"}));
    EXPECT_GT(r.timings.total.count(), 0);
    EXPECT_GE(r.timings.total, r.timings.first_byte);
}

TEST(Http1, CancellationAbortsAndClosesTheConnection) {
    std::atomic<Arrival*> arrival{nullptr};
    TestServer server([&](TestConnection& c) -> asio::awaitable<void> {
        while (auto r = co_await c.read_request()) {
            if (r->target == "/slow") {
                arrival.load()->signal();
                co_await c.delay(10s);
            }
            co_await c.write(ok("fast"));
        }
    });
    run([&]() -> asio::awaitable<void> {
        using namespace asio::experimental::awaitable_operators;
        HTTPTransport<> t({.base_url = server.url()});
        co_await t.connect();
        Arrival slow_arrived(co_await asio::this_coro::executor);
        arrival = &slow_arrived;
        // Cancelled once the server has the request.
        auto result = co_await (t.get("/slow") || slow_arrived.wait());
        EXPECT_EQ(result.index(), 1u);
        EXPECT_EQ((co_await t.get("/fast")).body, "fast");
    }());
    EXPECT_EQ(server.connections(), 2u); // the cancelled exchange's connection was closed
}

TEST(Http1, AsyncRequestCompletesWithErrorCodeAndResponse) {
    TestServer server([](TestConnection& c) -> asio::awaitable<void> {
        while (auto r = co_await c.read_request()) {
            std::string reply = r->target == "/missing" ? http_response(404, "gone") : ok("here");
            co_await c.write(reply);
        }
    });
    asio::io_context io;
    HTTPTransport<> t(io.get_executor(), {.base_url = server.url()});
    std::vector<std::pair<std::error_code, Response>> results;
    asio::co_spawn(io, t.connect(), [&](std::exception_ptr) {
        for (const char* path : {"/ok", "/missing"}) {
            t.async_request({.url = path}, [&](std::error_code ec, Response r) {
                results.emplace_back(ec, std::move(r));
            });
        }
    });
    io.run();
    ASSERT_EQ(results.size(), 2u);
    std::sort(results.begin(), results.end(),
              [](const auto& a, const auto& b) { return a.second.status < b.second.status; });
    EXPECT_FALSE(results[0].first);
    EXPECT_EQ(results[0].second.body, "here");
    EXPECT_EQ(results[1].first, errc::http_not_found);
    EXPECT_EQ(results[1].second.body, "gone");
}

TEST(Http1, LifecycleErrorsAndIdempotence) {
    TestServer server(TestServer::respond(ok()));
    run([&]() -> asio::awaitable<void> {
        HTTPTransport<> t({.base_url = server.url()});
        try {
            (void)co_await t.get("/");
            ADD_FAILURE() << "request before connect";
        } catch (const ConnectionError& e) {
            EXPECT_EQ(e.code(), errc::not_connected);
        }
        co_await t.connect();
        co_await t.connect();
        EXPECT_EQ((co_await t.get("/")).body, "ok");
        co_await t.disconnect();
        co_await t.disconnect();
        EXPECT_FALSE(t.is_connected());
        try {
            (void)co_await t.get("/");
            ADD_FAILURE() << "request after disconnect";
        } catch (const ConnectionError& e) {
            EXPECT_EQ(e.code(), errc::not_connected);
        }
        co_await t.connect();
        EXPECT_EQ((co_await t.get("/")).body, "ok");
    }());
}

TEST(Http1, InvalidOptionsAreRefusedByTheConstructor) {
    const std::vector<Options> bad = {
        {.base_url = "ftp://x/"},
        {.base_url = "http://"},
        {.timeout = {.connect = 0s}},
        {.timeout = {.read = -1s}},
        {.limits = {.max_connections = 0}},
        {.headers = {{"Bad\nName", "v"}}},
        {.http2_settings = {.stream_window = 0}},
        {.http2_settings = {.connection_window = 1000}},
        {.http2_settings = {.max_concurrent_streams = 0}},
        {.http2_settings = {.ping_interval = -1s}},
        {.tls = {.ca_file = "/no/such/ca.pem"}},
        {.tls = {.ca_pem = "not a certificate"}},
        // Checked at construction even though the system CA store loads on first use.
        {.tls = {.cert_file = "/no/such/cert.pem"}},
        {.tls = {.key_pem = "not a key"}},
    };
    for (const auto& o : bad) {
        EXPECT_THROW(HTTPTransport<> t(o), ConfigurationError);
    }
}

TEST(Http1, TlsCutWithoutCloseNotifyDoesNotEndABodyDelimitedByTheClose) {
    // No Content-Length, not chunked: the body ends with the connection. Over TLS only a
    // close_notify says it really ended; a bare TCP close may be a truncation.
    const auto& certs = certificates();
    TestServer server(
        [](TestConnection& c) -> asio::awaitable<void> {
            const auto request = co_await c.read_request();
            if (!request) co_return;
            co_await c.write("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\npart of the bo");
            c.cut();
        },
        TlsFiles{.certificate_chain = certs.server_cert, .private_key = certs.server_key});
    Options o{.base_url = server.url()};
    o.tls.ca_file = certs.ca_cert.string();
    o.retry.max_retries = 0;
    const auto e = fetch_error<ConnectionError>(o, HttpMessage{.url = "/"});
    ASSERT_TRUE(e);
    EXPECT_EQ(e->code(), errc::connection_closed) << e->what();
}

TEST(Http1, TlsCloseNotifyEndsABodyDelimitedByTheClose) {
    const auto& certs = certificates();
    TestServer server(
        [](TestConnection& c) -> asio::awaitable<void> {
            const auto request = co_await c.read_request();
            if (!request) co_return;
            co_await c.write("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nthe whole body");
            c.close();
        },
        TlsFiles{.certificate_chain = certs.server_cert, .private_key = certs.server_key});
    Options o{.base_url = server.url()};
    o.tls.ca_file = certs.ca_cert.string();
    const auto response = fetch(o, HttpMessage{.url = "/"});
    EXPECT_EQ(response.status, 200);
    EXPECT_EQ(response.body, "the whole body");
}

TEST(Http1, RunReturnsWhenTheRequestsAreDoneThoughTheTransportLives) {
    // An idle pooled HTTP/1.1 connection keeps no timer armed: run() returns once the
    // work is done, not when a read or write timeout would have fired.
    TestServer server(TestServer::respond(ok()));
    asio::io_context io;
    Options o{.base_url = server.url()};
    o.timeout = http::Timeout::all(60s);
    HTTPTransport<> t(io.get_executor(), o);
    int answered = 0;
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
            co_await t.connect();
            for (int i = 0; i < 3; ++i) {
                const auto response = co_await t.get("/");
                answered += response.status == 200 ? 1 : 0;
            }
        },
        asio::detached);
    const auto started = std::chrono::steady_clock::now();
    io.run();
    EXPECT_EQ(answered, 3);
    EXPECT_LT(std::chrono::steady_clock::now() - started, 30s) << "run() waited for a timeout";
    EXPECT_EQ(server.connections(), 1u); // the connection stayed pooled
}

TEST(Http1, ReadTimeoutOnAKeptAliveConnectionRightAfterAnExchange) {
    // The second request starts while the first one's timer is still armed (it is stopped
    // only once the connection stays idle); the second's deadline must still hold.
    TestServer server([](TestConnection& c) -> asio::awaitable<void> {
        if (!co_await c.read_request()) co_return;
        co_await c.write(ok());
        if (!co_await c.read_request()) co_return;
        co_await c.delay(10s); // no answer
    });
    run([&]() -> asio::awaitable<void> {
        Options o{.base_url = server.url()};
        o.timeout.read = 200ms;
        o.retry.max_retries = 0;
        HTTPTransport<> t(o);
        co_await t.connect();
        EXPECT_EQ((co_await t.get("/")).status, 200);
        const auto started = std::chrono::steady_clock::now();
        try {
            (void)co_await t.get("/");
            ADD_FAILURE() << "no read timeout";
        } catch (const ConnectionTimeoutError& e) {
            EXPECT_EQ(e.code(), errc::read_timeout) << e.what();
        }
        EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
    }());
    EXPECT_EQ(server.connections(), 1u);
}

// The first request on the first connection is answered by `first`; later requests on that
// connection get "reused", requests on any other connection "fresh".
TestServer::Handler first_then(std::string first) {
    return [first = std::move(first)](TestConnection& c) -> asio::awaitable<void> {
        const std::string later = http_response(200, c.index() == 0 ? "reused" : "fresh");
        for (bool answered = c.index() != 0;; answered = true) {
            const auto request = co_await c.read_request();
            if (!request) co_return;
            co_await c.write(answered ? std::string_view(later) : std::string_view(first));
        }
    };
}

TEST(Http1, BytesAfterTheResponseCloseTheConnection) {
    // A Content-Length: 2 body followed at once by a complete forged response: read as the
    // answer to the next request, it would desync every exchange after it.
    const std::string forged = http_response(200, "ok") + http_response(200, "forged");
    TestServer server(first_then(forged));
    run([&]() -> asio::awaitable<void> {
        HTTPTransport<> t({.base_url = server.url()});
        co_await t.connect();
        EXPECT_EQ((co_await t.get("/1")).body, "ok");
        EXPECT_EQ((co_await t.get("/2")).body, "fresh");
    }());
    EXPECT_EQ(server.connections(), 2u);
}

TEST(Http1, BytesAfterAResponseToHeadCloseTheConnection) {
    TestServer server(first_then("HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nforged"));
    run([&]() -> asio::awaitable<void> {
        HTTPTransport<> t({.base_url = server.url()});
        co_await t.connect();
        const Response head = co_await t.head("/");
        EXPECT_EQ(head.body, "");
        EXPECT_EQ((co_await t.get("/")).body, "fresh");
    }());
    EXPECT_EQ(server.connections(), 2u);
}

TEST(Http1, StreamedResponseWithBytesAfterItClosesTheConnection) {
    const std::string forged = http_response(200, "ok") + http_response(200, "forged");
    TestServer server(first_then(forged));
    run([&]() -> asio::awaitable<void> {
        HTTPTransport<> t({.base_url = server.url()});
        co_await t.connect();
        HttpMessage m{.url = "/1"};
        auto stream = co_await t.stream_response(std::move(m));
        std::string body;
        for (;;) {
            auto chunk = co_await stream.next();
            if (!chunk) break;
            body += *chunk;
        }
        EXPECT_EQ(body, "ok");
        EXPECT_EQ((co_await t.get("/2")).body, "fresh");
    }());
    EXPECT_EQ(server.connections(), 2u);
}

TEST(Http1, BytesArrivingWhileIdleCloseTheConnection) {
    // The forged response comes in a write of its own after the real one, so it is still
    // in the socket (not in the connection's buffer) when the next request would go out.
    std::promise<void> forged_sent;
    TestServer server([&](TestConnection& c) -> asio::awaitable<void> {
        auto request = co_await c.read_request();
        if (!request) co_return;
        if (c.index() == 0) {
            co_await c.write(http_response(200, "ok"));
            co_await c.write(http_response(200, "forged"));
            forged_sent.set_value();
        } else {
            co_await c.write(http_response(200, "fresh"));
        }
        request = co_await c.read_request();
        if (request) co_await c.write(http_response(200, "reused"));
    });
    auto sent = forged_sent.get_future();
    run([&]() -> asio::awaitable<void> {
        HTTPTransport<> t({.base_url = server.url()});
        co_await t.connect();
        EXPECT_EQ((co_await t.get("/1")).body, "ok");
        sent.wait(); // the client is idle meanwhile; loopback has delivered the bytes
        EXPECT_EQ((co_await t.get("/2")).body, "fresh");
    }());
    EXPECT_EQ(server.connections(), 2u);
}

TEST(Http1, TlsBytesAfterTheResponseCloseTheConnection) {
    const auto& certs = certificates();
    const std::string forged = http_response(200, "ok") + http_response(200, "forged");
    TestServer server(first_then(forged), TlsFiles{.certificate_chain = certs.server_cert,
                                                   .private_key = certs.server_key});
    run([&]() -> asio::awaitable<void> {
        Options o{.base_url = server.url()};
        o.tls.ca_file = certs.ca_cert.string();
        HTTPTransport<> t(o);
        co_await t.connect();
        EXPECT_EQ((co_await t.get("/1")).body, "ok");
        EXPECT_EQ((co_await t.get("/2")).body, "fresh");
    }());
    EXPECT_EQ(server.connections(), 2u);
}

TEST(Http1, TlsBytesAfterALongBodyCloseTheConnection) {
    // The body is read past the parser to its exact length, so the forged response that
    // came in the same TLS record stays inside OpenSSL, not in the connection's buffer.
    const auto& certs = certificates();
    const std::string body(20000, 'b');
    const std::string forged = http_response(200, body) + http_response(200, "forged");
    TestServer server(first_then(forged), TlsFiles{.certificate_chain = certs.server_cert,
                                                   .private_key = certs.server_key});
    run([&]() -> asio::awaitable<void> {
        Options o{.base_url = server.url()};
        o.tls.ca_file = certs.ca_cert.string();
        HTTPTransport<> t(o);
        co_await t.connect();
        EXPECT_TRUE((co_await t.get("/1")).body == body);
        EXPECT_EQ((co_await t.get("/2")).body, "fresh");
        EXPECT_EQ((co_await t.get("/3")).body, "fresh"); // a quiet TLS connection is reused
    }());
    EXPECT_EQ(server.connections(), 2u);
}

TEST(Http1, HostWithANulIsRefusedBeforeAnyConnection) {
    // The resolver and SNI would see "localhost"; the certificate is valid only for
    // wrong.example, which the part after the NUL names.
    const auto& certs = certificates();
    TestServer server(
        TestServer::respond(ok()),
        TlsFiles{.certificate_chain = certs.wrong_host_cert, .private_key = certs.wrong_host_key});
    Options o;
    o.tls.ca_file = certs.ca_cert.string();
    const std::string port = std::to_string(server.port());
    for (const std::string host : {"localhost%00.wrong.example", "localhost%0d%0aX:%20y",
                                   "local%20host", "localhost%2f.wrong.example"}) {
        const auto e = fetch_error<TransportSpecificError>("https://" + host + ":" + port + "/", o);
        ASSERT_TRUE(e) << host;
        EXPECT_EQ(e->code(), errc::invalid_url) << e->what();
        EXPECT_TRUE(contains(e->what(), "not allowed in a host name")) << e->what();
    }
    EXPECT_EQ(server.connections(), 0u);
}

// RFC 6761 §6.3: names under .localhost are the loopback, without DNS (this machine's
// resolver knows none of them).
TEST(Http1, NamesUnderLocalhostReachTheLoopbackWithoutDns) {
    TestServer server(TestServer::respond(ok()));
    const std::string port = std::to_string(server.port());
    for (const std::string host : {"app.localhost", "A.B.LocalHost", "localhost"}) {
        const Response r = fetch("http://" + host + ":" + port + "/here");
        EXPECT_EQ(r.status, 200) << host;
    }
    const auto seen = server.requests();
    ASSERT_EQ(seen.size(), 3u);
    EXPECT_EQ(seen[0].header("Host"), "app.localhost:" + port); // the name, not the address
}

// A fragment is the client's own: never sent, whatever it holds, in a request URL or in
// a Location.
TEST(Http1, AFragmentIsNotSent) {
    TestServer server(TestServer::respond(ok()));
    for (const std::string tail : {"#top", "#a#b", "?q=1#x?y=2", "#"}) {
        EXPECT_EQ(fetch(server.url("/page") + tail).status, 200) << tail;
    }
    const auto seen = server.requests();
    ASSERT_EQ(seen.size(), 4u);
    EXPECT_EQ(seen[0].target, "/page");
    EXPECT_EQ(seen[1].target, "/page");
    EXPECT_EQ(seen[2].target, "/page?q=1");
    EXPECT_EQ(seen[3].target, "/page");

    TestServer redirecting(TestServer::sequence({redirect(302, "/next#a#b"), ok()}));
    EXPECT_EQ(fetch(redirecting.url("/first")).status, 200);
    const auto followed = redirecting.requests();
    ASSERT_EQ(followed.size(), 2u);
    EXPECT_EQ(followed[1].target, "/next");
}

TEST(Http1, NumericHostsReachTheAddressTheyNameAndSayItInHost) {
    TestServer server(TestServer::respond(ok()));
    const std::string port = std::to_string(server.port());
    for (const std::string host : {"127.1", "0x7f.0.0.1", "2130706433", "127.0.0.1."}) {
        EXPECT_EQ(fetch("http://" + host + ":" + port + "/n").status, 200) << host;
    }
    for (const auto& seen : server.requests()) {
        EXPECT_EQ(seen.header("Host"), "127.0.0.1:" + port);
        EXPECT_EQ(seen.target, "/n");
    }
    EXPECT_EQ(server.requests().size(), 4u);
    const auto e = fetch_error<TransportSpecificError>("http://127.0.0.256:" + port + "/");
    ASSERT_TRUE(e);
    EXPECT_EQ(e->code(), errc::invalid_url);
    EXPECT_EQ(server.connections(), 4u); // refused before any connection
}

TEST(Http1, DestructorClosesConnectionsSynchronously) {
    std::promise<void> client_closed;
    TestServer server([&](TestConnection& c) -> asio::awaitable<void> {
        while (auto request = co_await c.read_request()) co_await c.write(ok());
        client_closed.set_value(); // read_request saw the client's FIN
    });
    asio::io_context io;
    {
        HTTPTransport<> t(io.get_executor(), {.base_url = server.url()});
        asio::co_spawn(
            io,
            [&]() -> asio::awaitable<void> {
                co_await t.connect();
                (void)co_await t.get("/");
            },
            asio::detached);
        io.run();
    } // no disconnect(): the destructor closes the pooled connection
    EXPECT_EQ(client_closed.get_future().wait_for(5s), std::future_status::ready);
}

} // namespace
} // namespace nector::test
