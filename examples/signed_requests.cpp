// Signing requests with an interceptor, on a BlockingClient (no coroutines in sight).
//
// The interceptor (signing.hpp) adds X-Signature: HMAC-SHA256(key, METHOD \n URL \n BODY)
// to every exchange (redirect hops and retries included: each is signed for its own URL). The
// "server" here is a mock handler (Options::hooks.mock) that checks the signature the way
// a real API would, so the example runs anywhere; tests/integration/interceptor_test.cpp
// does the same against a server on a socket.
#include "signing.hpp"

#include <nector/nector.hpp>

#include <cstdio>
#include <exception>
#include <string>

using nector::http::HttpMessage;
using nector::http::Response;

namespace {

const std::string secret = "example-secret";

// The API: refuses a request whose signature does not match.
Response api(const HttpMessage& request) {
    const std::string body =
        request.content ? std::string(nector::as_string_view(*request.content)) : "";
    const auto signature = request.headers.get("X-Signature");
    if (!signature || *signature != signing::signature(secret, request.method, request.url, body)) {
        return Response{.status = 401, .body = "bad signature"};
    }
    return Response{.status = 200, .body = "accepted " + request.method + " " + request.url};
}

} // namespace

int main() {
    try {
        nector::http::Options options{.base_url = "https://api.example.invalid/v1"};
        options.hooks.mock = api;
        nector::http::Options unsigned_options = options;
        options.hooks.interceptors.push_back(signing::signer(secret));

        nector::http::BlockingClient client(options);
        std::printf("signed GET:  %s\n", client.get("/orders").body.c_str());
        std::printf("signed POST: %s\n",
                    client.post("/orders", {{"item", "tea"}, {"count", 2}}).body.c_str());

        nector::http::BlockingClient unsigned_client(unsigned_options);
        try {
            (void)unsigned_client.get("/orders");
            std::printf("an unsigned request was accepted\n");
            return 1;
        } catch (const nector::http::HTTPUnauthorizedError& e) {
            std::printf("unsigned:    %s (%s)\n", e.what(), e.response().body.c_str());
        }
        std::printf("demo finished\n");
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "signed_requests: %s\n", e.what());
        return 1;
    }
}
