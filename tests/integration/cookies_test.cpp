// The cookie jar on a transport (Options::cookies) against httpbin's cookie endpoints, whose
// /cookies/set and /cookies/delete answer with a redirect that sets the cookies, and against
// the in-process server for cookies across origins.
#include "integration/client.hpp"
#include "support/servers.hpp"
#include "support/test_server.hpp"

#include <nector/http/cookies.hpp>

#include <boost/json/value.hpp>

#include <gtest/gtest.h>

#include <memory>
#include <string>

namespace nector::test {
namespace json = boost::json;
namespace {

Options with_jar(std::shared_ptr<http::CookieJar> jar) {
    Options o;
    o.base_url = httpbin().url("/");
    o.cookies = std::move(jar);
    o.proxy.trust_env = false;
    return o;
}

TEST(Cookies, RedirectsThatSetCookiesAndLaterRequests) {
    auto jar = std::make_shared<http::CookieJar>();
    // /cookies/set answers 302 to /cookies with Set-Cookie: the redirect's cookies go along.
    Response r = fetch("/cookies/set?a=1&b=two", with_jar(jar));
    EXPECT_EQ(r.json().at("cookies"), (json::object{{"a", "1"}, {"b", "two"}}));
    EXPECT_EQ(r.history.size(), 1u);
    // A later call (another transport sharing the jar) sends them; a delete removes one.
    r = fetch("/cookies/delete?a", with_jar(jar));
    EXPECT_EQ(r.json().at("cookies"), (json::object{{"b", "two"}}));
    EXPECT_EQ(fetch("/cookies", with_jar(jar)).json().at("cookies"), (json::object{{"b", "two"}}));
    EXPECT_EQ(jar->cookies().size(), 1u);
}

TEST(Cookies, NoJarNoCookies) {
    Options o;
    o.base_url = httpbin().url("/");
    EXPECT_EQ(fetch("/cookies/set?a=1", o).json().at("cookies"), json::object{});
}

TEST(Cookies, ARequestsOwnCookieHeaderWins) {
    auto jar = std::make_shared<http::CookieJar>();
    (void)fetch("/cookies/set?a=1", with_jar(jar));
    HttpMessage m;
    m.url = "/cookies";
    m.headers.set("Cookie", "mine=yes");
    EXPECT_EQ(fetch(with_jar(jar), m).json().at("cookies"), (json::object{{"mine", "yes"}}));
}

TEST(Cookies, EachOriginGetsItsOwnCookies) {
    // The first server (127.0.0.1) sets a cookie and redirects to the second, named
    // localhost: another host, which must not receive it; its own cookie comes back to it.
    TestServer second(TestServer::respond(
        "HTTP/1.1 200 OK\r\nSet-Cookie: there=2\r\nContent-Length: 2\r\n\r\nok"));
    const std::string second_url = "http://localhost:" + std::to_string(second.port()) + "/";
    TestServer first(TestServer::respond("HTTP/1.1 302 Found\r\nSet-Cookie: here=1\r\nLocation: " +
                                         second_url + "\r\nContent-Length: 0\r\n\r\n"));
    auto jar = std::make_shared<http::CookieJar>();
    Options o;
    o.cookies = jar;
    EXPECT_EQ(fetch(first.url("/"), o).body, "ok");
    EXPECT_EQ(fetch(second_url + "again", o).body, "ok");
    const auto seen = second.requests();
    ASSERT_EQ(seen.size(), 2u);
    EXPECT_FALSE(seen[0].header("Cookie").has_value());
    EXPECT_EQ(seen[1].header("Cookie"), "there=2");
    // Back at the first host: its own cookie only.
    EXPECT_EQ(jar->header_for(first.url("/")), "here=1");
}

TEST(Cookies, SavedAndLoadedAsCurlDoes) {
    TempDir dir;
    const auto file = dir.path() / "cookies.txt";
    auto jar = std::make_shared<http::CookieJar>();
    (void)fetch("/cookies/set?kept=yes", with_jar(jar));
    jar->save(file);
    auto loaded = std::make_shared<http::CookieJar>();
    loaded->load(file);
    EXPECT_EQ(fetch("/cookies", with_jar(loaded)).json().at("cookies"),
              (json::object{{"kept", "yes"}}));
}

} // namespace
} // namespace nector::test
