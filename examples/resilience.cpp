// Retries and a circuit breaker reacting to a failing local endpoint: /flaky answers 503
// twice, and the retries (with Retry-After honoured) make the call succeed; an origin where
// nothing listens opens the breaker, which then refuses calls at once, without I/O.
#include "local_api.hpp"

#include <nector/nector.hpp>

#include <chrono>
#include <cstdio>
#include <exception>

namespace asio = boost::asio;
using namespace nector::http;
using namespace std::chrono_literals;

asio::awaitable<void> retries(std::string base_url) {
    Options options{.base_url = std::move(base_url)};
    options.retry = {.max_retries = 3, .backoff_factor = 10ms};
    options.hooks.on_retry = [](const RetryEvent& e) {
        std::printf("  retry after attempt %zu: %s\n", e.attempt, std::string(e.reason).c_str());
    };
    HTTPTransport<> t(std::move(options));
    co_await t.connect();
    Response r = co_await t.get("/flaky");
    std::printf("GET /flaky -> %d %s\n", r.status, r.body.c_str());
    example::expect(r.status == 200, "the third attempt succeeds");
    example::expect(t.metrics().retries == 2, "two retries");
}

asio::awaitable<void> breaker(std::string dead_url) {
    Options options{.base_url = std::move(dead_url)};
    options.retry.max_retries = 0;
    options.circuit_breaker = {.enabled = true, .failure_threshold = 3, .reset_timeout = 30s};
    options.hooks.on_breaker_state = [](std::string_view origin, CircuitBreaker::State from,
                                        CircuitBreaker::State to) {
        std::printf("  breaker for %s: %s -> %s\n", std::string(origin).c_str(),
                    std::string(to_string(from)).c_str(), std::string(to_string(to)).c_str());
    };
    HTTPTransport<> t(std::move(options));
    co_await t.connect();
    for (int i = 1; i <= 4; ++i) {
        try {
            (void)co_await t.get("/");
        } catch (const CircuitOpenError& e) {
            std::printf("call %d: refused without I/O: %s\n", i, e.what());
            example::expect(i == 4, "the fourth call is refused");
        } catch (const nector::ConnectionError& e) {
            std::printf("call %d: %s\n", i, e.what());
        }
    }
}

int main() {
    try {
        const auto api = example::local_api();
        example::run(retries(api->url("")));
        // A port nothing listens on: bound, then closed.
        std::string dead_url;
        {
            const auto closed = example::local_api();
            dead_url = closed->url("");
        }
        example::run(breaker(dead_url));
        std::printf("example finished\n");
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "resilience: %s\n", e.what());
        return 1;
    }
}
