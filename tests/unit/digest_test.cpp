// HTTP Digest (src/http/message/digest.hpp) against RFC 7616's own examples (§3.9.1) and
// RFC 2617's (§3.5, the form without qop is RFC 2069's).
#include "http/message/digest.hpp"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

namespace nector::http::detail {
namespace {

const std::string rfc7616 =
    "Digest realm=\"http-auth@example.org\", qop=\"auth, auth-int\", algorithm=SHA-256, "
    "nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\", "
    "opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\", "
    "Digest realm=\"http-auth@example.org\", qop=\"auth, auth-int\", algorithm=MD5, "
    "nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\", "
    "opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\"";
const std::string cnonce = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ";

std::string response_of(const std::string& authorization) {
    const auto at = authorization.find("response=\"");
    if (at == std::string::npos) return {};
    return authorization.substr(at + 10, authorization.find('"', at + 10) - at - 10);
}

TEST(Digest, Rfc7616ExampleSha256AndMd5) {
    // Two challenges in one field: the first is SHA-256.
    const auto sha = parse_digest_challenge({rfc7616});
    ASSERT_TRUE(sha);
    EXPECT_EQ(sha->hash, DigestChallenge::Hash::sha256);
    EXPECT_TRUE(sha->qop_auth);
    const std::string a =
        digest_authorization(*sha, "Mufasa", "Circle of Life", "GET", "/dir/index.html", 1, cnonce);
    EXPECT_EQ(response_of(a), "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1");
    EXPECT_NE(a.find("nc=00000001"), std::string::npos) << a;
    EXPECT_NE(a.find("opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\""), std::string::npos);

    // The MD5 challenge alone (a second WWW-Authenticate field).
    const auto md5 =
        parse_digest_challenge({"Basic realm=\"x\"", rfc7616.substr(rfc7616.find("Digest", 10))});
    ASSERT_TRUE(md5);
    EXPECT_EQ(md5->hash, DigestChallenge::Hash::md5);
    EXPECT_EQ(response_of(digest_authorization(*md5, "Mufasa", "Circle of Life", "GET",
                                               "/dir/index.html", 1, cnonce)),
              "8ca523f5e9506fed4657c9700eebdbec");
}

TEST(Digest, Rfc2617ExampleAndTheFormWithoutQop) {
    const auto c =
        parse_digest_challenge({"Digest realm=\"testrealm@host.com\", qop=\"auth,auth-int\", "
                                "nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", "
                                "opaque=\"5ccc069c403ebaf9f0171e9517f40e41\""});
    ASSERT_TRUE(c);
    EXPECT_EQ(response_of(digest_authorization(*c, "Mufasa", "Circle Of Life", "GET",
                                               "/dir/index.html", 1, "0a4f113b")),
              "6629fae49393a05397450978507c4ef1");
    // No qop: response = H(HA1:nonce:HA2), and no qop, nc or cnonce sent.
    const auto old = parse_digest_challenge(
        {"Digest realm=\"testrealm@host.com\", nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\""});
    ASSERT_TRUE(old);
    EXPECT_FALSE(old->qop_auth);
    const std::string a =
        digest_authorization(*old, "Mufasa", "Circle Of Life", "GET", "/dir/index.html", 1, "x");
    EXPECT_EQ(a.find("qop="), std::string::npos) << a;
    EXPECT_EQ(a.find("cnonce="), std::string::npos) << a;
    EXPECT_EQ(response_of(a).size(), 32u);
}

TEST(Digest, ChallengesNectorCannotAnswer) {
    EXPECT_FALSE(parse_digest_challenge({"Basic realm=\"x\""}));
    EXPECT_FALSE(parse_digest_challenge({"Digest realm=\"x\", nonce=\"n\", algorithm=SHA3"}));
    EXPECT_FALSE(parse_digest_challenge({"Digest realm=\"x\", nonce=\"n\", qop=\"auth-int\""}));
    EXPECT_FALSE(parse_digest_challenge({"Digest realm=\"x\""})); // no nonce
    const auto stale =
        parse_digest_challenge({"Newauth realm=\"apps\", type=1, title=\"Login to \\\"apps\\\"\", "
                                "Digest realm=\"x\", nonce=\"n\", stale=TRUE, userhash=true"});
    ASSERT_TRUE(stale);
    EXPECT_TRUE(stale->stale);
    EXPECT_TRUE(stale->userhash);
    const std::string a = digest_authorization(*stale, "u", "p", "GET", "/", 1, "c");
    EXPECT_EQ(a.find("username=\"u\""), std::string::npos) << a; // hashed
    EXPECT_NE(a.find("userhash=true"), std::string::npos) << a;
}

TEST(Digest, AUserNameOutsideAsciiIsSentAsUsernameStar) {
    const auto c = parse_digest_challenge({"Digest realm=\"r\", nonce=\"n\", qop=auth"});
    ASSERT_TRUE(c);
    const std::string a = digest_authorization(*c, "J\xC3\xA4s\xC3\xB8n", "p", "GET", "/", 1, "c");
    EXPECT_NE(a.find("username*=UTF-8''J%C3%A4s%C3%B8n"), std::string::npos) << a;
    EXPECT_EQ(make_cnonce().size(), 32u);
    EXPECT_NE(make_cnonce(), make_cnonce());
}

} // namespace
} // namespace nector::http::detail
