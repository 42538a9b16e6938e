// Micro benchmarks of request URL resolution: base_url joining and validation as
// HTTPTransport does for every request, and redirect Location resolution. Both are
// internal (src/http/url.hpp), as in tests/unit/http_url_test.cpp.
#include "http/message/url.hpp"

#include <benchmark/benchmark.h>

#include <string>

namespace {

using nector::http::detail::make_target;
using nector::http::detail::resolve_location;

// A relative URL onto Options::base_url (the common case with a base_url).
void url_relative(benchmark::State& state) {
    std::string base = "http://api.internal.example.com:8080/v2";
    std::string url = "/orders/ord_8f14e45fceea167a/items?expand=product&limit=50";
    for (auto _ : state) {
        benchmark::DoNotOptimize(base);
        benchmark::DoNotOptimize(url);
        benchmark::DoNotOptimize(make_target(base, url));
    }
}
BENCHMARK(url_relative);

// An absolute URL, base_url unused.
void url_absolute(benchmark::State& state) {
    std::string url = "https://api.example.com/v2/orders/ord_8f14e45fceea167a?expand=product";
    for (auto _ : state) {
        benchmark::DoNotOptimize(url);
        benchmark::DoNotOptimize(make_target("", url));
    }
}
BENCHMARK(url_absolute);

// A relative Location of a redirect, resolved per RFC 3986 and then validated.
void url_redirect(benchmark::State& state) {
    std::string current = "https://api.example.com/v2/orders/ord_8f14e45fceea167a?expand=product";
    std::string location = "../carts/cart_91b2?from=order";
    for (auto _ : state) {
        benchmark::DoNotOptimize(current);
        benchmark::DoNotOptimize(location);
        benchmark::DoNotOptimize(make_target("", resolve_location(current, location)));
    }
}
BENCHMARK(url_redirect);

} // namespace
