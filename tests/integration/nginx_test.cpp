// HTTPTransport against nginx: HTTP/1.1 and TLS with a certificate generated at run time.
#include "integration/client.hpp"
#include "support/servers.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

namespace nector::test {
namespace asio = boost::asio;
namespace {

std::string https(std::uint16_t port, std::string_view host = "localhost",
                  std::string_view path = "/hello.txt") {
    return "https://" + std::string(host) + ":" + std::to_string(port) + std::string(path);
}

Options trusting_ca() {
    Options o;
    o.tls.ca_file = certificates().ca_cert.string();
    return o;
}

TEST(Nginx, ServesStaticFilesOverHttp) {
    EXPECT_EQ(fetch(nginx().url("/hello.txt")).body, "hello\n");
    EXPECT_EQ(fetch(nginx().url("/12b.txt")).body.size(), 12u);
    const Response big = fetch(nginx().url("/1m.bin"));
    EXPECT_EQ(big.body.size(), std::size_t{1} << 20);
    EXPECT_EQ(big.body, read_file(nginx().docroot() / "1m.bin"));
    EXPECT_THROW(fetch(nginx().url("/missing")), http::HTTPNotFoundError);
}

TEST(Nginx, ManyRequestsOverKeepAlive) {
    run([]() -> asio::awaitable<void> {
        HTTPTransport<> t({.base_url = nginx().url("/")});
        co_await t.connect();
        for (int i = 0; i < 200; ++i) {
            const Response r = co_await t.get("/12b.txt");
            EXPECT_EQ(r.body.size(), 12u);
        }
    }());
}

TEST(Nginx, SelfSignedCaIsRefusedByDefault) {
    const auto e = fetch_error<TLSError>(https(nginx().https_port()));
    ASSERT_TRUE(e);
    EXPECT_EQ(e->code(), errc::tls_certificate_untrusted);
    EXPECT_EQ(e->code(), condition::tls);
    EXPECT_TRUE(contains(e->what(), "not trusted")) << e->what();
}

TEST(Nginx, TrustedWithTheCaFileOrPem) {
    EXPECT_EQ(fetch(https(nginx().https_port()), trusting_ca()).body, "hello\n");
    Options pem;
    pem.tls.ca_pem = certificates().ca_pem;
    EXPECT_EQ(fetch(https(nginx().https_port(), "127.0.0.1"), pem).body, "hello\n");
    Options tls13 = trusting_ca();
    tls13.tls.min_version = http::TlsVersion::tls1_3;
    EXPECT_EQ(fetch(https(nginx().https_port()), tls13).body, "hello\n");
}

TEST(Nginx, WrongHostNameIsRefused) {
    const auto e = fetch_error<TLSError>(https(nginx().wrong_host_port()), trusting_ca());
    ASSERT_TRUE(e);
    EXPECT_EQ(e->code(), errc::tls_hostname_mismatch);
    EXPECT_TRUE(contains(e->what(), "not valid for \"localhost\"")) << e->what();
    Options off;
    off.verify_ssl = false;
    EXPECT_EQ(fetch(https(nginx().wrong_host_port()), off).body, "hello\n");
}

TEST(Nginx, ExpiredCertificateIsRefused) {
    const auto e = fetch_error<TLSError>(https(nginx().expired_port()), trusting_ca());
    ASSERT_TRUE(e);
    EXPECT_EQ(e->code(), errc::tls_certificate_expired);
}

TEST(Nginx, MutualTlsNeedsTheClientCertificate) {
    EXPECT_THROW(fetch(https(nginx().mtls_port()), trusting_ca()), http::HTTPClientError);
    Options with_cert = trusting_ca();
    with_cert.tls.cert_file = certificates().client_cert.string();
    with_cert.tls.key_file = certificates().client_key.string();
    EXPECT_EQ(fetch(https(nginx().mtls_port()), with_cert).status, 200);
    Options with_pem = trusting_ca();
    with_pem.tls.cert_pem = read_file(certificates().client_cert);
    with_pem.tls.key_pem = read_file(certificates().client_key);
    EXPECT_EQ(fetch(https(nginx().mtls_port()), with_pem).status, 200);
}

TEST(Nginx, Http2OptionNegotiatesHttp1UntilTheHttp2EngineLands) {
    Options o = trusting_ca();
    o.http2 = true;
    const Response r = fetch(https(nginx().https_port()), o);
    EXPECT_EQ(r.body, "hello\n");
    EXPECT_EQ(r.version, http::Version::http_1_1);
}

TEST(Nginx, TlsTimingsAreRecorded) {
    const Response r = fetch(https(nginx().https_port()), trusting_ca());
    EXPECT_GT(r.timings.tls.count(), 0);
    EXPECT_GT(r.timings.connect.count(), 0);
}

} // namespace
} // namespace nector::test
