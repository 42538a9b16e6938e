// Micro benchmarks of the message codecs and header lookup (run by hand or by
// bench/compare; never as a test).
#include <nector/transport/headers.hpp>
#include <nector/transport/message/binary.hpp>
#include <nector/transport/message/json.hpp>

#include <benchmark/benchmark.h>
#include <boost/json/parse.hpp>

namespace {

nector::JsonMessage sample_json() {
    return nector::JsonMessage(
        {{"Content-Type", "application/json"}, {"X-Request-Id", "4f1c"}, {"Attempt", 1}},
        boost::json::parse(R"({"user":{"id":42,"name":"Ada","tags":["a","b","c"]},"ok":true})"));
}

nector::BinaryMessage sample_binary(std::size_t payload) {
    return nector::BinaryMessage(
        {{"Content-Type", "application/octet-stream"}, {"X-Request-Id", "4f1c"}},
        nector::Bytes(payload, std::byte{0x5A}));
}

void json_serialize(benchmark::State& state) {
    const auto m = sample_json();
    for (auto _ : state) benchmark::DoNotOptimize(m.serialize());
}
BENCHMARK(json_serialize);

void json_deserialize(benchmark::State& state) {
    const auto wire = sample_json().serialize();
    for (auto _ : state) benchmark::DoNotOptimize(nector::JsonMessage::deserialize(wire));
    state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(wire.size()));
}
BENCHMARK(json_deserialize);

void binary_serialize(benchmark::State& state) {
    const auto m = sample_binary(static_cast<std::size_t>(state.range(0)));
    for (auto _ : state) benchmark::DoNotOptimize(m.serialize());
}
BENCHMARK(binary_serialize)->Arg(64)->Arg(64 << 10);

void binary_deserialize(benchmark::State& state) {
    const auto wire = sample_binary(static_cast<std::size_t>(state.range(0))).serialize();
    for (auto _ : state) benchmark::DoNotOptimize(nector::BinaryMessage::deserialize(wire));
    state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(wire.size()));
}
BENCHMARK(binary_deserialize)->Arg(64)->Arg(64 << 10);

void headers_lookup(benchmark::State& state) {
    nector::Headers h{{"Host", "example.com"},
                      {"User-Agent", "nector"},
                      {"Accept", "*/*"},
                      {"Content-Type", "application/json"},
                      {"Authorization", "Bearer x"}};
    for (auto _ : state) benchmark::DoNotOptimize(h.get("authorization"));
}
BENCHMARK(headers_lookup);

} // namespace
