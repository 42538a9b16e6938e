#include "http/message/url.hpp"

#include "nector/transport/errors.hpp"

#include <gtest/gtest.h>

namespace nector::http::detail {
namespace {

TEST(HttpUrl, JoinsRelativeUrlsOntoTheBasePathAsHttpxDoes) {
    EXPECT_EQ(make_target("http://h:8080/api", "/users").url, "http://h:8080/api/users");
    EXPECT_EQ(make_target("http://h:8080/api/", "users?x=1").url, "http://h:8080/api/users?x=1");
    EXPECT_EQ(make_target("http://h", "").url, "http://h/");
    EXPECT_EQ(make_target("http://h/base?drop=1", "x").url, "http://h/base/x");
    EXPECT_EQ(make_target("http://ignored", "https://other:8443/p").url, "https://other:8443/p");
}

TEST(HttpUrl, TakesTheTargetApart) {
    const Target t = make_target("", "https://user:p%40ss@Example.com:8443/a/b?q=1#frag");
    EXPECT_EQ(t.origin.host, "Example.com");
    EXPECT_EQ(t.origin.port, 8443);
    EXPECT_TRUE(t.origin.tls);
    EXPECT_EQ(t.host_header, "Example.com:8443");
    EXPECT_EQ(t.target, "/a/b?q=1");
    EXPECT_EQ(t.userinfo, "user:p@ss");
    EXPECT_EQ(t.url, "https://Example.com:8443/a/b?q=1");
    const Target v6 = make_target("", "http://[::1]/");
    EXPECT_EQ(v6.origin.host, "::1");
    EXPECT_EQ(v6.origin.port, 80);
    EXPECT_EQ(v6.host_header, "[::1]");
}

TEST(HttpUrl, RefusesWhatCannotBeRequested) {
    for (const char* bad : {"ftp://h/", "http://", "http:///x", "http://h:0/", "http://h:65536/",
                            "http://h:x/", "http://exa mple/", "mailto:a@b"}) {
        try {
            (void)make_target("", bad);
            ADD_FAILURE() << bad;
        } catch (const TransportSpecificError& e) {
            EXPECT_EQ(e.code(), errc::invalid_url) << bad;
        }
    }
    EXPECT_THROW((void)make_target("", "/relative"), TransportSpecificError);
}

TEST(HttpUrl, RefusesHostsTheResolverAndTlsWouldReadDifferently) {
    for (const char* bad : {"https://localhost%00.other.test/", "http://a%0D%0Ab/", "http://a%20b/",
                            "http://a%09b/", "http://a%2Fb/", "http://a%40b/", "http://a%3Ab/",
                            "http://%C3%A9.example/", "http://a%7Fb/", "http://[v1.x]/"}) {
        try {
            (void)make_target("", bad);
            ADD_FAILURE() << bad;
        } catch (const TransportSpecificError& e) {
            EXPECT_EQ(e.code(), errc::invalid_url) << bad;
            const std::string what = e.what();
            EXPECT_EQ(what.find('\0'), std::string::npos) << bad;
        }
    }
    // Names as resolvers know them, IP literals and percent-encoded ordinary letters pass.
    EXPECT_EQ(make_target("", "http://my_host-1.example~x/").origin.host, "my_host-1.example~x");
    EXPECT_EQ(make_target("", "http://%6Cocalhost/").origin.host, "localhost");
    EXPECT_EQ(make_target("", "http://127.0.0.1/").origin.host, "127.0.0.1");
    EXPECT_EQ(make_target("", "http://[fe80::1]/").origin.host, "fe80::1");
}

/// A Location resolved against `current`, then made a target, as a redirect does.
Target resolve_and_target(std::string_view current, std::string_view location) {
    return make_target("", resolve_location(current, location));
}

TEST(HttpUrl, HostsEndingInANumberAreIpv4AddressesHoweverSpelled) {
    // WHATWG URL's IPv4 parser, as curl and browsers read these.
    for (const char* url :
         {"http://127.1/", "http://0x7f.0.0.1/", "http://0X7F.1/", "http://2130706433/",
          "http://0177.0.0.1/", "http://017700000001/", "http://127.0.0.1./", "http://127.0.1/"}) {
        const Target t = make_target("", url);
        EXPECT_EQ(t.origin.host, "127.0.0.1") << url;
        EXPECT_EQ(t.host_header, "127.0.0.1") << url;
        EXPECT_EQ(t.url, "http://127.0.0.1/") << url;
    }
    EXPECT_EQ(make_target("", "https://1.2.3:8443/p").host_header, "1.2.0.3:8443");
    EXPECT_EQ(make_target("", "http://0x/").origin.host, "0.0.0.0");
    for (const char* bad :
         {"http://1.2.3.256/", "http://256.1/", "http://foo.1/", "http://1.2.3.4.5/",
          "http://08.1/", "http://0x1g.1/", "http://4294967296/", "http://example.0x10/"}) {
        try {
            (void)make_target("", bad);
            ADD_FAILURE() << bad;
        } catch (const TransportSpecificError& e) {
            EXPECT_EQ(e.code(), errc::invalid_url) << bad;
            EXPECT_NE(std::string(e.what()).find("is not an IPv4 address"), std::string::npos)
                << e.what();
        }
    }
    // Names whose last label is not a number are names.
    EXPECT_EQ(make_target("", "http://1.example/").origin.host, "1.example");
    EXPECT_EQ(make_target("", "http://a.1b/").origin.host, "a.1b");
    // Hosts that start like an address and go on are read whole (Boost.URL 1.81 took
    // "1.2.3.4x" for 1.2.3.4 with the path "x/"), port and path where they belong.
    const Target x = make_target("", "http://1.2.3.4x/p?q=1");
    EXPECT_EQ(x.origin.host, "1.2.3.4x");
    EXPECT_EQ(x.target, "/p?q=1");
    // Found by fuzz/url_fuzzer: the same parser stopped a port at its first non-digit
    // ("4st43" was port 4 and the path "st43/p"). Refused, credentials left out.
    try {
        (void)make_target("", "https://user:secret@h.test:4st43/p");
        ADD_FAILURE() << "a port that is not a number was accepted";
    } catch (const TransportSpecificError& e) {
        EXPECT_EQ(e.code(), errc::invalid_url);
        EXPECT_NE(std::string(e.what()).find("host and port \"h.test:4st43\" are not valid"),
                  std::string::npos)
            << e.what();
        EXPECT_EQ(std::string(e.what()).find("secret"), std::string::npos) << e.what();
    }
    EXPECT_THROW((void)resolve_and_target("http://a.test/", "//b.test:80x/"),
                 TransportSpecificError);
    const Target dotted = make_target("", "http://u:p@127.0.0.1.:8080/x");
    EXPECT_EQ(dotted.origin.host, "127.0.0.1");
    EXPECT_EQ(dotted.origin.port, 8080);
    EXPECT_EQ(dotted.target, "/x");
    EXPECT_EQ(dotted.host_header, "127.0.0.1:8080");
}

TEST(HttpUrl, ResolvesLocationsPerRfc3986) {
    EXPECT_EQ(resolve_location("http://h/a/b", "c"), "http://h/a/c");
    EXPECT_EQ(resolve_location("http://h/a/b", "/c?x#f"), "http://h/c?x");
    EXPECT_EQ(resolve_location("http://h/a/b", "//o:1/p"), "http://o:1/p");
    EXPECT_EQ(resolve_location("http://h/a/b", "https://o/"), "https://o/");
}

TEST(HttpUrl, RedactRemovesCredentials) {
    EXPECT_EQ(redact("https://user:pw@h.example/p?q"), "https://h.example/p?q");
    EXPECT_EQ(redact("http://a@b@h:8080"), "http://h:8080");
    EXPECT_EQ(redact("//user:pw@h/x"), "//h/x");
    EXPECT_EQ(redact("http://h/p?email=a@b"), "http://h/p?email=a@b");
    EXPECT_EQ(redact("http://h#a@b"), "http://h#a@b");
    EXPECT_EQ(redact("/relative@path"), "/relative@path");
    EXPECT_EQ(redact(""), "");
}

} // namespace
} // namespace nector::http::detail
