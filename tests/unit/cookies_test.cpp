// The cookie jar's rules (RFC 6265 §5) and its Netscape cookie file (curl's -b and -c).
#include <nector/http/cookies.hpp>

#include <gtest/gtest.h>

#include <unistd.h>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

namespace nector::http {
namespace {

using namespace std::chrono_literals;
const CookieJar::Clock::time_point now =
    CookieJar::Clock::time_point(std::chrono::seconds(1'800'000'000));

TEST(CookieJar, HostOnlyAndDomainCookies) {
    CookieJar jar;
    EXPECT_TRUE(jar.store("http://www.example.com/", "a=1", now));
    EXPECT_TRUE(jar.store("http://www.example.com/", "b=2; Domain=.Example.com", now));
    EXPECT_EQ(jar.header_for("http://www.example.com/", now), "a=1; b=2");
    EXPECT_EQ(jar.header_for("http://api.example.com/", now), "b=2"); // a is host-only
    EXPECT_EQ(jar.header_for("http://example.com/", now), "b=2");
    EXPECT_EQ(jar.header_for("http://notexample.com/", now), "");
    // A Domain the host is not under, a single label, another IP address: refused.
    EXPECT_FALSE(jar.store("http://www.example.com/", "c=3; Domain=other.com", now));
    EXPECT_FALSE(jar.store("http://www.example.com/", "c=3; Domain=com", now));
    EXPECT_FALSE(jar.store("http://127.0.0.1/", "c=3; Domain=0.0.1", now));
    EXPECT_TRUE(jar.store("http://127.0.0.1/", "ip=1; Domain=127.0.0.1", now)); // itself: host-only
    EXPECT_EQ(jar.header_for("http://127.0.0.1/", now), "ip=1");
    EXPECT_FALSE(jar.store("http://www.example.com/", "novalue", now));
    EXPECT_FALSE(jar.store("http://www.example.com/", "=x", now));
}

TEST(CookieJar, PathsSecureAndOrder) {
    CookieJar jar;
    EXPECT_TRUE(jar.store("https://h.test/docs/a/page", "deflt=1", now)); // path /docs/a
    EXPECT_TRUE(jar.store("https://h.test/", "root=1; Path=/", now + 1s));
    EXPECT_TRUE(jar.store("https://h.test/", "sec=1; Path=/docs; Secure; HttpOnly", now));
    EXPECT_EQ(jar.header_for("https://h.test/docs/a/x?q", now + 2s), "deflt=1; sec=1; root=1");
    EXPECT_EQ(jar.header_for("http://h.test/docs/a/x", now + 2s), "deflt=1; root=1"); // no Secure
    EXPECT_EQ(jar.header_for("https://h.test/docsx", now + 2s), "root=1");
    EXPECT_FALSE(jar.store("http://h.test/", "s=1; Secure", now)); // Secure only from https
    bool http_only = false;
    for (const Cookie& c : jar.cookies()) http_only = http_only || (c.name == "sec" && c.http_only);
    EXPECT_TRUE(http_only);
}

TEST(CookieJar, ExpiryMaxAgeAndDeletion) {
    CookieJar jar;
    EXPECT_TRUE(jar.store("http://h.test/", "a=1; Max-Age=60", now));
    EXPECT_TRUE(jar.store("http://h.test/", "b=2; Expires=Wed, 01 Jan 2031 00:00:00 GMT", now));
    EXPECT_TRUE(
        jar.store("http://h.test/", "c=3; Max-Age=60; Expires=Wed, 01 Jan 2020 00:00:00 GMT", now));
    EXPECT_EQ(jar.header_for("http://h.test/", now + 59s), "a=1; b=2; c=3");
    EXPECT_EQ(jar.header_for("http://h.test/", now + 61s), "b=2");
    EXPECT_FALSE(jar.store("http://h.test/", "b=gone; Max-Age=0", now + 62s)); // deletes b
    EXPECT_EQ(jar.header_for("http://h.test/", now + 63s), "");
    // Replaced in place: same name, domain and path.
    EXPECT_TRUE(jar.store("http://h.test/", "x=1", now));
    EXPECT_TRUE(jar.store("http://h.test/", "x=2", now + 1s));
    EXPECT_EQ(jar.header_for("http://h.test/", now + 2s), "x=2");
    EXPECT_EQ(jar.cookies().size(), 1u);
}

TEST(CookieJar, NetscapeFileRoundTrip) {
    const std::filesystem::path file =
        std::filesystem::temp_directory_path() / ("nector-cookies-" + std::to_string(::getpid()));
    CookieJar jar;
    const auto future = CookieJar::Clock::now() + 24h;
    ASSERT_TRUE(jar.store("https://www.example.com/app/x", "host=1; HttpOnly; Secure; Path=/app",
                          CookieJar::Clock::now()));
    ASSERT_TRUE(jar.store("https://www.example.com/", "dom=2; Domain=example.com; Max-Age=86400",
                          CookieJar::Clock::now()));
    jar.save(file);
    std::ifstream in(file);
    const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    EXPECT_NE(text.find("#HttpOnly_www.example.com\tFALSE\t/app\tTRUE\t0\thost\t1\n"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find(".example.com\tTRUE\t/\tFALSE\t"), std::string::npos) << text;
    CookieJar loaded;
    loaded.load(file);
    EXPECT_EQ(loaded.header_for("https://www.example.com/app/y"), "host=1; dom=2");
    EXPECT_EQ(loaded.header_for("http://other.example.com/"), "dom=2");
    for (const Cookie& c : loaded.cookies()) {
        if (c.name == "dom") {
            ASSERT_TRUE(c.expires);
            EXPECT_LT(*c.expires - future, 5s);
        }
    }
    std::ofstream(file) << "example.com\tFALSE\t/\n";
    EXPECT_THROW(loaded.load(file), std::runtime_error);
    std::filesystem::remove(file);
    EXPECT_THROW(loaded.load(file), std::runtime_error);
}

} // namespace
} // namespace nector::http
