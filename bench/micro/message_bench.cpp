// Micro benchmarks of the message codecs (run by hand or by bench/compare; never as a
// test): JsonMessage, BinaryMessage and HttpMessage serialize()/deserialize() on a typical
// request (samples.hpp).
#include "samples.hpp"

#include <nector/http/message.hpp>
#include <nector/transport/message/binary.hpp>
#include <nector/transport/message/json.hpp>

#include <benchmark/benchmark.h>

#include <cstdint>

namespace {

nector::JsonMessage sample_json() {
    boost::json::object headers;
    for (const auto& [name, value] : nector::bench::request_headers()) headers[name] = value;
    headers["Attempt"] = 1;
    return nector::JsonMessage(std::move(headers), nector::bench::order());
}

nector::BinaryMessage sample_binary(std::size_t payload) {
    return nector::BinaryMessage(
        {{"Content-Type", "application/octet-stream"}, {"X-Request-Id", "4f1c"}},
        nector::Bytes(payload, std::byte{0x5A}));
}

nector::http::HttpMessage sample_http() {
    return {.method = "POST",
            .url = "/v2/orders",
            .headers = nector::bench::request_headers(),
            .params = {{"dry_run", "false"}, {"expand", "items"}},
            .json = nector::bench::order()};
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

void http_message_serialize(benchmark::State& state) {
    const auto m = sample_http();
    for (auto _ : state) benchmark::DoNotOptimize(m.serialize());
}
BENCHMARK(http_message_serialize);

void http_message_deserialize(benchmark::State& state) {
    const auto wire = sample_http().serialize();
    for (auto _ : state) benchmark::DoNotOptimize(nector::http::HttpMessage::deserialize(wire));
    state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(wire.size()));
}
BENCHMARK(http_message_deserialize);

} // namespace
