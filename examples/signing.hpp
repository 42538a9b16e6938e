// Request signing for examples/signed_requests.cpp (and its test): an interceptor that adds
// X-Signature = hex(HMAC-SHA256(key, METHOD "\n" URL "\n" BODY)) to every exchange, and the
// check a server makes of it.
#pragma once

#include <nector/http/interceptor.hpp>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <boost/asio/awaitable.hpp>

#include <string>
#include <string_view>
#include <utility>

namespace signing {

inline std::string hmac_sha256_hex(std::string_view key, std::string_view text) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
         reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest, &size);
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    for (unsigned int i = 0; i < size; ++i) {
        out += hex[digest[i] >> 4];
        out += hex[digest[i] & 15];
    }
    return out;
}

/// What is signed: the method, the absolute URL and the body, one per line.
inline std::string string_to_sign(std::string_view method, std::string_view url,
                                  std::string_view body) {
    return std::string(method) + "\n" + std::string(url) + "\n" + std::string(body);
}

/// The signature a server expects for a request.
inline std::string signature(std::string_view key, std::string_view method, std::string_view url,
                             std::string_view body) {
    return hmac_sha256_hex(key, string_to_sign(method, url, body));
}

/// The interceptor: signs the exchange's final request, passes it on, returns the response.
inline nector::http::Interceptor signer(std::string key) {
    return [key = std::move(key)](
               nector::http::InterceptedRequest request,
               nector::http::Next next) -> boost::asio::awaitable<nector::http::Response> {
        request.headers.set("X-Signature",
                            signature(key, request.method, request.url, request.body));
        nector::http::Response response = co_await next(std::move(request));
        co_return response;
    };
}

} // namespace signing
