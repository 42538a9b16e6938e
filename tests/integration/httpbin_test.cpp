// HTTPTransport against python3-httpbin, an independent server: methods, params, forms,
// multipart, redirects, status codes, basic auth, cookies, gzip, delays.
#include "integration/client.hpp"
#include "support/servers.hpp"
#include "support/test_server.hpp"

#include <boost/json/parse.hpp>

#include <gtest/gtest.h>

#include <fstream>

namespace nector::test {
namespace asio = boost::asio;
namespace json = boost::json;
namespace {

using namespace std::chrono_literals;

Options bin() { return {.base_url = httpbin().url("/")}; }

json::value echo(HttpMessage m) { return fetch(bin(), std::move(m)).json(); }

TEST(Httpbin, MethodsReachTheServerAsSent) {
    for (const char* method : {"GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}) {
        const Response r = fetch(bin(), {.method = method, .url = "/anything"});
        if (std::string_view(method) == "OPTIONS") {
            EXPECT_EQ(r.status, 200); // httpbin answers OPTIONS itself (CORS)
            continue;
        }
        EXPECT_EQ(r.json().at("method"), json::value(method)) << method;
    }
    const Response head = fetch(bin(), {.method = "HEAD", .url = "/get"});
    EXPECT_EQ(head.status, 200);
    EXPECT_TRUE(head.body.empty());
}

TEST(Httpbin, HelpersSendTheirMethods) {
    run([]() -> asio::awaitable<void> {
        HTTPTransport<> t(bin());
        co_await t.connect();
        EXPECT_EQ((co_await t.get("/get")).status, 200);
        EXPECT_EQ((co_await t.post("/post", json::value(1))).json().at("json"), json::value(1));
        EXPECT_EQ((co_await t.put("/put", json::value("p"))).json().at("json"), json::value("p"));
        EXPECT_EQ((co_await t.patch("/patch", json::value(true))).json().at("json"),
                  json::value(true));
        EXPECT_EQ((co_await t.del("/delete")).status, 200);
        EXPECT_EQ((co_await t.head("/get")).status, 200);
        EXPECT_EQ((co_await t.options("/get")).status, 200);
    }());
}

TEST(Httpbin, RepeatedParamsAndEncoding) {
    const auto v =
        echo({.url = "/get?fixed=1", .params = {{"a", "1"}, {"a", "2"}, {"s", "x y&z=é"}}});
    const auto& args = v.at("args");
    EXPECT_EQ(args.at("fixed"), json::value("1"));
    EXPECT_EQ(args.at("a"), (json::array{"1", "2"}));
    EXPECT_EQ(args.at("s"), json::value("x y&z=é"));
}

TEST(Httpbin, JsonAndFormBodies) {
    const auto j = echo({.method = "POST",
                         .url = "/post",
                         .json = boost::json::parse(R"({"k":[1,"two",{"3":null}]})")});
    EXPECT_EQ(j.at("json"), boost::json::parse(R"({"k":[1,"two",{"3":null}]})"));
    const auto f =
        echo({.method = "POST", .url = "/post", .form = {{"name", "Ada Lovelace"}, {"x", "1&2"}}});
    EXPECT_EQ(f.at("form").at("name"), json::value("Ada Lovelace"));
    EXPECT_EQ(f.at("form").at("x"), json::value("1&2"));
}

TEST(Httpbin, MultipartFilesFromBytesAndFromDisk) {
    TempDir dir;
    const auto path = dir.path() / "report.csv";
    std::ofstream(path) << "a,b\n1,2\n";
    const auto v =
        echo({.method = "POST",
              .url = "/post",
              .form = {{"title", "numbers"}},
              .files = {{.field = "inline", .filename = "x.bin", .content = to_bytes("raw bytes")},
                        {.field = "disk",
                         .filename = "report.csv",
                         .content_type = "text/csv",
                         .path = path}}});
    EXPECT_EQ(v.at("form").at("title"), json::value("numbers"));
    EXPECT_EQ(v.at("files").at("inline"), json::value("raw bytes"));
    EXPECT_EQ(v.at("files").at("disk"), json::value("a,b\n1,2\n"));
    EXPECT_TRUE(contains(v.at("headers").at("Content-Type").as_string(), "multipart/form-data"));
}

TEST(Httpbin, MissingUploadFileIsASerializationError) {
    const auto e = fetch_error<SerializationError>(
        bin(), {.method = "POST",
                .url = "/post",
                .files = {{.field = "f", .filename = "nope", .path = "/no/such/file"}}});
    ASSERT_TRUE(e);
    EXPECT_TRUE(contains(e->what(), "/no/such/file")) << e->what();
}

TEST(Httpbin, RelativeAndAbsoluteRedirects) {
    const Response rel = fetch(bin(), {.url = "/relative-redirect/3"});
    EXPECT_EQ(rel.status, 200);
    EXPECT_EQ(rel.history.size(), 3u);
    EXPECT_EQ(rel.url, httpbin().url("/get"));
    const Response abs = fetch(bin(), {.url = "/absolute-redirect/2"});
    EXPECT_EQ(abs.history.size(), 2u);
    const Response to =
        fetch(bin(), {.url = "/redirect-to", .params = {{"url", "/get?via=redirect"}}});
    EXPECT_EQ(to.json().at("args").at("via"), json::value("redirect"));
    const auto e = fetch_error<TransportSpecificError>(
        {.base_url = httpbin().url("/"), .max_redirects = 2}, {.url = "/redirect/5"});
    ASSERT_TRUE(e);
    EXPECT_EQ(e->code(), errc::too_many_redirects);
}

TEST(Httpbin, CrossOriginRedirectDropsCredentials) {
    TestServer other(TestServer::respond(http_response(200, "elsewhere")));
    const Response r = fetch(bin(), {.url = "/redirect-to",
                                     .headers = {{"Authorization", "Bearer t"}, {"Cookie", "c=1"}},
                                     .params = {{"url", other.url("/landing")}}});
    EXPECT_EQ(r.body, "elsewhere");
    const auto seen = other.requests().at(0);
    EXPECT_FALSE(seen.header("Authorization").has_value());
    EXPECT_FALSE(seen.header("Cookie").has_value());
}

TEST(Httpbin, StatusCodesMapToTypedErrors) {
    EXPECT_THROW(fetch(bin(), {.url = "/status/401"}), http::HTTPUnauthorizedError);
    EXPECT_THROW(fetch(bin(), {.url = "/status/403"}), http::HTTPForbiddenError);
    EXPECT_THROW(fetch(bin(), {.url = "/status/404"}), http::HTTPNotFoundError);
    EXPECT_THROW(fetch(bin(), {.url = "/status/408"}), http::HTTPTimeoutError);
    EXPECT_THROW(fetch(bin(), {.url = "/status/429"}), http::HTTPTooManyRequestsError);
    EXPECT_THROW(fetch(bin(), {.url = "/status/418"}), http::HTTPClientError);
    EXPECT_THROW(fetch(bin(), {.url = "/status/502"}), http::HTTPServerError);
    EXPECT_EQ(fetch(bin(), {.url = "/status/204"}).status, 204);
}

TEST(Httpbin, BasicAuthFromUrlAndHeader) {
    const std::string with_user =
        "http://ada:secret@127.0.0.1:" + std::to_string(httpbin().port()) +
        "/basic-auth/ada/secret";
    EXPECT_EQ(fetch(with_user).json().at("authenticated"), json::value(true));
    EXPECT_THROW(fetch(bin(), {.url = "/basic-auth/ada/secret"}), http::HTTPUnauthorizedError);
    EXPECT_EQ(fetch(bin(), {.url = "/basic-auth/ada/secret",
                            .headers = {{"Authorization", "Basic YWRhOnNlY3JldA=="}}})
                  .status,
              200);
}

TEST(Httpbin, CookiesAreSentAndSetCookieIsVisible) {
    const auto v = echo({.url = "/cookies", .headers = {{"Cookie", "a=1; b=2"}}});
    EXPECT_EQ(v.at("cookies").at("a"), json::value("1"));
    const Response set = fetch({.base_url = httpbin().url("/"), .follow_redirects = false},
                               {.url = "/cookies/set", .params = {{"k", "v"}}});
    EXPECT_EQ(set.status, 302);
    EXPECT_TRUE(contains(set.headers.get("Set-Cookie").value_or(""), "k=v"));
}

TEST(Httpbin, SlowResponsesHitTheReadTimeout) {
    const auto e = fetch_error<ConnectionTimeoutError>(
        {.base_url = httpbin().url("/"), .timeout = {.read = 200ms}}, {.url = "/delay/2"});
    ASSERT_TRUE(e);
    EXPECT_EQ(e->code(), errc::read_timeout);
    EXPECT_EQ(fetch(bin(), {.url = "/delay/1"}).status, 200);
}

TEST(Httpbin, HeadersArriveCaseInsensitively) {
    const Response r =
        fetch(bin(), {.url = "/response-headers", .params = {{"X-Thing", "1"}, {"X-Thing", "2"}}});
    EXPECT_EQ(r.headers.get_all("x-thing"), (std::vector<std::string_view>{"1", "2"}));
}

} // namespace
} // namespace nector::test
