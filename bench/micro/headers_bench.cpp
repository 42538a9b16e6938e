// Micro benchmarks of nector::Headers: building a request's fields, case-insensitive
// lookups, and merging a transport's default headers with a request's.
#include "samples.hpp"

#include <nector/transport/headers.hpp>

#include <benchmark/benchmark.h>

#include <string>

namespace {

using nector::Headers;

// Eight fields added one by one, as code building an HttpMessage does.
void headers_build(benchmark::State& state) {
    for (auto _ : state) {
        Headers h;
        h.reserve(8);
        h.add("Authorization", "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiI0MjQyIn0.c2lnbmF0dXJl");
        h.add("Content-Type", "application/json");
        h.add("Accept", "application/json");
        h.add("X-Request-Id", "7f3c2a9e-4b1d-4c8e-9a57-0d2e6b1f8c34");
        h.add("X-Correlation-Id", "a41d9b7c-2f6e-4e19-8b0a-5c3d7e9f1a26");
        h.add("Accept-Language", "en-GB,en;q=0.8");
        h.add("Cache-Control", "no-cache");
        h.add("Idempotency-Key", "order-8f14e45fceea167a");
        benchmark::DoNotOptimize(h);
    }
}
BENCHMARK(headers_build);

void headers_copy(benchmark::State& state) {
    const Headers h = nector::bench::request_headers();
    for (auto _ : state) {
        Headers copy = h;
        benchmark::DoNotOptimize(copy);
    }
}
BENCHMARK(headers_copy);

// set() of a name present in another case: a scan, a replace, and a scan for duplicates.
void headers_set_existing(benchmark::State& state) {
    Headers h = nector::bench::request_headers();
    for (auto _ : state) {
        h.set("x-request-id", "0b9e6d4c-2a71-4f3e-8c5d-1e7f9a3b6c20");
        benchmark::DoNotOptimize(h);
    }
}
BENCHMARK(headers_set_existing);

// The last of eight fields, asked for in another case: the longest hit.
void headers_get_last(benchmark::State& state) {
    const Headers h = nector::bench::request_headers();
    std::string name = "idempotency-key";
    for (auto _ : state) {
        benchmark::DoNotOptimize(name);
        benchmark::DoNotOptimize(h.get(name));
    }
}
BENCHMARK(headers_get_last);

// An absent name of a length that matches several fields: every comparison is made.
void headers_get_missing(benchmark::State& state) {
    const Headers h = nector::bench::request_headers();
    std::string name = "X-Forwarded-For";
    for (auto _ : state) {
        benchmark::DoNotOptimize(name);
        benchmark::DoNotOptimize(h.contains(name));
    }
}
BENCHMARK(headers_get_missing);

// What HTTPTransport does to every request's headers (Engine::prepare in
// src/http/engine.cpp, internal): the defaults, each request field set over them by name,
// framing fields dropped, then Content-Type, User-Agent, Accept and Accept-Encoding added
// when absent. Repeated here with the public Headers operations it is made of.
void headers_merge_defaults(benchmark::State& state) {
    const Headers defaults = nector::bench::default_headers();
    const Headers request = nector::bench::request_headers();
    for (auto _ : state) {
        Headers h = defaults;
        for (const auto& [name, value] : request) h.set(name, value);
        h.erase("Content-Length");
        h.erase("Transfer-Encoding");
        if (!h.contains("Content-Type")) h.set("Content-Type", "application/json");
        if (!h.contains("User-Agent")) h.set("User-Agent", "nector");
        if (!h.contains("Accept")) h.set("Accept", "*/*");
        if (!h.contains("Accept-Encoding")) h.set("Accept-Encoding", "gzip, deflate, br, zstd");
        benchmark::DoNotOptimize(h);
    }
}
BENCHMARK(headers_merge_defaults);

} // namespace
