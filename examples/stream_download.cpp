// A streaming download with progress: the body is written to a file as it arrives, never
// held whole in memory.
#include "local_api.hpp"

#include <nector/nector.hpp>

#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>

namespace asio = boost::asio;
using namespace nector::http;

asio::awaitable<void> download(std::string url, std::filesystem::path file) {
    HTTPTransport<> t;
    co_await t.connect();
    HttpMessage get{.url = std::move(url)};
    ResponseStream stream = co_await t.stream_response(std::move(get));
    const auto length = stream.headers().get("Content-Length");
    const std::size_t total = length ? std::stoul(std::string(*length)) : 0;

    std::ofstream out(file, std::ios::binary);
    std::size_t received = 0;
    int shown = -1;
    for (;;) {
        auto chunk = co_await stream.next(); // nullopt at the end of the body
        if (!chunk) break;
        out.write(chunk->data(), static_cast<std::streamsize>(chunk->size()));
        received += chunk->size();
        const int percent = total ? static_cast<int>(received * 100 / total) : 0;
        if (percent / 25 != shown / 25) {
            std::printf("  %3d%%  %zu of %zu bytes\n", percent, received, total);
            shown = percent;
        }
    }
    out.close();
    example::expect(received == total, "every byte received");
    example::expect(std::filesystem::file_size(file) == total, "every byte written");
    std::printf("saved %zu bytes to %s\n", received, file.string().c_str());
}

int main() {
    try {
        const auto api = example::local_api();
        const auto file = std::filesystem::temp_directory_path() / "nector-example-download.bin";
        example::run(download(api->url("/bytes/3000000"), file));
        std::filesystem::remove(file);
        std::printf("example finished\n");
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "stream_download: %s\n", e.what());
        return 1;
    }
}
