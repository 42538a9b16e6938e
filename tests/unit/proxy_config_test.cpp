// Proxy URLs, NO_PROXY lists and the environment's proxy variables (src/http/options/proxy.hpp).
#include "http/options/proxy.hpp"

#include <nector/transport/errors.hpp>

#include <gtest/gtest.h>

#include <map>
#include <stdexcept>
#include <string>

namespace nector::http::detail {
namespace {

TEST(ProxyUrl, ReadsTheFormsCurlAccepts) {
    ProxyUrl p = parse_proxy("http://proxy.test:3128");
    EXPECT_EQ(p.kind, ProxyUrl::Kind::http);
    EXPECT_EQ(p.host, "proxy.test");
    EXPECT_EQ(p.port, 3128);
    EXPECT_TRUE(p.authorization.empty());
    EXPECT_EQ(p.display, "http://proxy.test:3128");

    p = parse_proxy("proxy.test:8080"); // no scheme: http
    EXPECT_EQ(p.kind, ProxyUrl::Kind::http);
    EXPECT_EQ(p.port, 8080);
    EXPECT_EQ(parse_proxy("http://proxy.test").port, 80);
    EXPECT_EQ(parse_proxy("HTTP://proxy.test/").port, 80);

    p = parse_proxy("socks5://[::1]");
    EXPECT_EQ(p.kind, ProxyUrl::Kind::socks5);
    EXPECT_EQ(p.host, "::1");
    EXPECT_EQ(p.port, 1080);
    EXPECT_EQ(p.display, "socks5://[::1]:1080");
    EXPECT_EQ(parse_proxy("socks5h://10.0.0.1:9050").kind, ProxyUrl::Kind::socks5h);
}

TEST(ProxyUrl, CredentialsBecomeBasicAuthAndStayOutOfTheDisplay) {
    // Percent-decoded first: "p%40ss" is "p@ss". base64("us er:p@ss") = dXMgZXI6cEBzcw==
    const ProxyUrl p = parse_proxy("http://us%20er:p%40ss@proxy.test:3128");
    EXPECT_EQ(p.authorization, "Basic dXMgZXI6cEBzcw==");
    EXPECT_EQ(p.display, "http://proxy.test:3128");
}

TEST(ProxyUrl, RefusesWhatItCannotUseAndRedactsTheMessage) {
    const auto refusal = [](const std::string& url) {
        try {
            (void)parse_proxy(url);
        } catch (const std::invalid_argument& e) {
            return std::string(e.what());
        }
        return std::string("accepted");
    };
    EXPECT_NE(refusal("https://proxy.test").find("not supported"), std::string::npos);
    EXPECT_NE(refusal("ftp://proxy.test").find("scheme \"ftp\""), std::string::npos);
    EXPECT_NE(refusal("http://proxy.test:0").find("port"), std::string::npos);
    EXPECT_NE(refusal("http://proxy.test:99999").find("port"), std::string::npos);
    EXPECT_NE(refusal("http://proxy.test:31x8").find("port"), std::string::npos);
    EXPECT_NE(refusal("http://proxy.test/path").find("no path"), std::string::npos);
    EXPECT_NE(refusal("").find("empty"), std::string::npos);
    const std::string socks = refusal("socks5://user:secret@proxy.test");
    EXPECT_NE(socks.find("credentials are not supported"), std::string::npos) << socks;
    EXPECT_EQ(socks.find("secret"), std::string::npos) << socks;
    const std::string bad = refusal("gopher://user:secret@proxy.test");
    EXPECT_EQ(bad.find("secret"), std::string::npos) << bad;
}

TEST(NoProxy, NamesMatchThemselvesAndTheNamesUnderThem) {
    const NoProxy n = parse_no_proxy(" example.com, .internal.test ,*.corp.test,Upper.TEST.");
    EXPECT_TRUE(bypasses(n, "example.com", 80));
    EXPECT_TRUE(bypasses(n, "api.example.com", 443));
    EXPECT_TRUE(bypasses(n, "API.Example.COM.", 443));
    EXPECT_FALSE(bypasses(n, "notexample.com", 80));
    EXPECT_FALSE(bypasses(n, "example.com.evil.test", 80));
    EXPECT_TRUE(bypasses(n, "internal.test", 80));
    EXPECT_TRUE(bypasses(n, "a.b.internal.test", 80));
    EXPECT_TRUE(bypasses(n, "x.corp.test", 80));
    EXPECT_TRUE(bypasses(n, "upper.test", 80));
    EXPECT_FALSE(bypasses(n, "other.test", 80));
}

TEST(NoProxy, AddressesRangesPortsAndStar) {
    const NoProxy n =
        parse_no_proxy("10.0.0.0/8,192.168.1.7,::1,fd00::/8,[fe80::1]:8080,host.test:8443");
    EXPECT_TRUE(bypasses(n, "10.1.2.3", 80));
    EXPECT_FALSE(bypasses(n, "11.0.0.1", 80));
    EXPECT_TRUE(bypasses(n, "192.168.1.7", 80));
    EXPECT_FALSE(bypasses(n, "192.168.1.8", 80));
    EXPECT_TRUE(bypasses(n, "::1", 80));
    EXPECT_TRUE(bypasses(n, "fd12::5", 80));
    EXPECT_FALSE(bypasses(n, "fe12::5", 80));
    EXPECT_TRUE(bypasses(n, "fe80::1", 8080));
    EXPECT_FALSE(bypasses(n, "fe80::1", 80));
    EXPECT_TRUE(bypasses(n, "host.test", 8443));
    EXPECT_FALSE(bypasses(n, "host.test", 443));
    // A name never matches an address entry, nor an address a name's suffix.
    EXPECT_FALSE(bypasses(n, "10.example", 80));
    EXPECT_TRUE(bypasses(parse_no_proxy("*"), "anything.test", 1));
    EXPECT_FALSE(bypasses(parse_no_proxy(""), "anything.test", 1));
}

TEST(NoProxy, RefusesABadRange) {
    EXPECT_THROW((void)parse_no_proxy("10.0.0.0/33"), std::invalid_argument);
    EXPECT_THROW((void)parse_no_proxy("host/8"), std::invalid_argument);
    EXPECT_THROW((void)parse_no_proxy("[::1"), std::invalid_argument);
}

// An environment of its own for each test.
Environment environment(std::map<std::string, std::string> values) {
    return [values = std::move(values)](const char* name) -> const char* {
        const auto found = values.find(name);
        return found == values.end() ? nullptr : found->second.c_str();
    };
}

const Origin http_origin{.host = "api.test", .port = 80, .tls = false};
const Origin https_origin{.host = "api.test", .port = 443, .tls = true};

TEST(ProxyEnvironment, TheSchemesVariablesAndAllProxy) {
    const Proxies p = proxies_of(ProxyOptions{}, environment({{"http_proxy", "http://h.test:1"},
                                                              {"ALL_PROXY", "socks5h://a.test"}}));
    ASSERT_NE(p.route(http_origin), nullptr);
    EXPECT_EQ(p.route(http_origin)->host, "h.test");
    ASSERT_NE(p.route(https_origin), nullptr);
    EXPECT_EQ(p.route(https_origin)->kind, ProxyUrl::Kind::socks5h);
}

TEST(ProxyEnvironment, LowerCaseFirstAndNoUpperCaseHttpProxyUnderCgi) {
    Proxies p = proxies_of(ProxyOptions{}, environment({{"https_proxy", "http://lower.test"},
                                                        {"HTTPS_PROXY", "http://upper.test"}}));
    EXPECT_EQ(p.route(https_origin)->host, "lower.test");
    // httpoxy: in a CGI program HTTP_PROXY comes from the request's Proxy header.
    p = proxies_of(ProxyOptions{}, environment({{"HTTP_PROXY", "http://attacker.test"},
                                                {"REQUEST_METHOD", "GET"}}));
    EXPECT_EQ(p.route(http_origin), nullptr);
    p = proxies_of(ProxyOptions{}, environment({{"HTTP_PROXY", "http://upper.test"}}));
    ASSERT_NE(p.route(http_origin), nullptr);
    EXPECT_EQ(p.route(http_origin)->host, "upper.test");
}

TEST(ProxyEnvironment, FieldsSetWinAndTrustEnvOffReadsNothing) {
    const auto env = environment({{"http_proxy", "http://env.test"},
                                  {"https_proxy", "http://env.test"},
                                  {"no_proxy", "api.test"}});
    ProxyOptions o;
    o.https = "http://mine.test";
    Proxies p = proxies_of(o, env);
    EXPECT_EQ(p.route(http_origin), nullptr);  // http_proxy not read
    EXPECT_EQ(p.route(https_origin), nullptr); // no_proxy read: api.test is direct
    EXPECT_NE(p.route(Origin{.host = "b.test", .port = 443, .tls = true}), nullptr);
    o.no_proxy = "other.test";
    p = proxies_of(o, env);
    EXPECT_EQ(p.route(https_origin)->host, "mine.test"); // its own no_proxy wins
    ProxyOptions off;
    off.trust_env = false;
    p = proxies_of(off, env);
    EXPECT_EQ(p.route(http_origin), nullptr);
    EXPECT_EQ(p.route(https_origin), nullptr);
}

TEST(ProxyEnvironment, ABadValueNamesItsVariable) {
    try {
        (void)proxies_of(ProxyOptions{}, environment({{"NO_PROXY", "10.0.0.0/99"}}));
        ADD_FAILURE() << "accepted";
    } catch (const ConfigurationError& e) {
        EXPECT_NE(std::string(e.what()).find("environment variable NO_PROXY"), std::string::npos)
            << e.what();
    }
    try {
        ProxyOptions o;
        o.all = "ftp://x.test";
        (void)proxies_of(o, environment({}));
        ADD_FAILURE() << "accepted";
    } catch (const ConfigurationError& e) {
        EXPECT_NE(std::string(e.what()).find("proxy.all"), std::string::npos) << e.what();
    }
}

} // namespace
} // namespace nector::http::detail
