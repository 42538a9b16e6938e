// Peer client for bench/compare: raw libcurl, multi interface (bench/peers/README.md).
//
//   peer-libcurl URL REQUESTS CONCURRENCY [http1|h2c|h2]
//
// CONCURRENCY easy handles, each re-added to one multi handle after its transfer, so the
// multi's connection cache keeps the connections alive. HTTP/1.1: up to CONCURRENCY
// connections to the host; HTTP/2: one multiplexed connection (PIPEWAIT, max host
// connections 1). Prints one line of JSON on stdout.
#include "contract.hpp"

#include <curl/curl.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

namespace {

using peer::Clock;

extern "C" std::size_t discard_body(char*, std::size_t size, std::size_t count, void* bytes) {
    *static_cast<std::size_t*>(bytes) += size * count;
    return size * count;
}

struct Transfer {
    CURL* easy = nullptr;
    Clock::time_point issued;
    std::size_t body_bytes = 0;
    char error[CURL_ERROR_SIZE] = {};
};

} // namespace

int main(int argc, char** argv) {
    peer::Args args;
    if (const int status = peer::parse_args(argc, argv, {"http1", "h2c", "h2"}, args))
        return status;
    const std::string& url = args.url;
    const long total = args.total;
    const long concurrency = args.concurrency;
    const std::string& protocol = args.protocol;
    long http_version = CURL_HTTP_VERSION_1_1;
    if (protocol == "h2c") {
        http_version = CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE;
    } else if (protocol == "h2") {
        http_version = CURL_HTTP_VERSION_2TLS;
    }
    const bool h2 = protocol != "http1";
    const curl_version_info_data* version = curl_version_info(CURLVERSION_NOW);
    if (h2 && !(version->features & CURL_VERSION_HTTP2)) {
        std::fprintf(stderr, "unsupported protocol\n");
        return 3;
    }
    // libcurl 7.88.x fails every request that reuses an h2c prior-knowledge connection
    // ("Error in the HTTP2 framing layer", curl issue 10634, fixed in 8.0.0); Debian 12
    // ships 7.88.1.
    if (protocol == "h2c" && version->version_num >= 0x075800 && version->version_num < 0x080000) {
        std::fprintf(stderr, "unsupported protocol\nlibcurl %s cannot reuse h2c connections\n",
                     version->version);
        return 3;
    }

    curl_global_init(CURL_GLOBAL_DEFAULT);
    CURLM* multi = curl_multi_init();
    curl_multi_setopt(multi, CURLMOPT_MAX_HOST_CONNECTIONS, h2 ? 1L : concurrency);
    if (h2) {
        curl_multi_setopt(multi, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
        // Default 100: streams beyond it would wait inside curl instead of being in flight.
        curl_multi_setopt(multi, CURLMOPT_MAX_CONCURRENT_STREAMS, concurrency);
    }

    std::vector<Transfer> transfers(static_cast<std::size_t>(concurrency));
    for (auto& t : transfers) {
        t.easy = curl_easy_init();
        curl_easy_setopt(t.easy, CURLOPT_URL, url.c_str());
        curl_easy_setopt(t.easy, CURLOPT_HTTP_VERSION, http_version);
        curl_easy_setopt(t.easy, CURLOPT_WRITEFUNCTION, discard_body);
        curl_easy_setopt(t.easy, CURLOPT_WRITEDATA, &t.body_bytes);
        curl_easy_setopt(t.easy, CURLOPT_ERRORBUFFER, t.error);
        curl_easy_setopt(t.easy, CURLOPT_PRIVATE, &t);
        curl_easy_setopt(t.easy, CURLOPT_NOSIGNAL, 1L);
        if (h2) curl_easy_setopt(t.easy, CURLOPT_PIPEWAIT, 1L);
        if (protocol == "h2") {
            curl_easy_setopt(t.easy, CURLOPT_SSL_VERIFYPEER, 0L);
            curl_easy_setopt(t.easy, CURLOPT_SSL_VERIFYHOST, 0L);
        }
    }

    long issued = 0;
    long ok = 0;
    long errors = 0;
    std::vector<double> latencies_us;
    latencies_us.reserve(static_cast<std::size_t>(total));
    const auto issue = [&](Transfer& t) {
        ++issued;
        t.body_bytes = 0;
        t.error[0] = '\0';
        t.issued = Clock::now();
        curl_multi_add_handle(multi, t.easy);
    };

    const double cpu_before = peer::cpu_seconds();
    const auto start = Clock::now();
    for (auto& t : transfers) {
        if (issued == total) break;
        issue(t);
    }
    int running = 0;
    do {
        const CURLMcode code = curl_multi_perform(multi, &running);
        if (code != CURLM_OK) {
            std::fprintf(stderr, "curl_multi_perform: %s\n", curl_multi_strerror(code));
            return 1;
        }
        int queued = 0;
        while (CURLMsg* message = curl_multi_info_read(multi, &queued)) {
            if (message->msg != CURLMSG_DONE) continue;
            CURL* easy = message->easy_handle;
            const CURLcode result = message->data.result;
            Transfer* t = nullptr;
            curl_easy_getinfo(easy, CURLINFO_PRIVATE, &t);
            long status = 0;
            curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
            const auto done = Clock::now();
            if (result == CURLE_OK && status == 200) {
                ++ok;
                latencies_us.push_back(
                    std::chrono::duration<double, std::micro>(done - t->issued).count());
            } else if (errors++ == 0) {
                if (result != CURLE_OK) {
                    std::fprintf(stderr, "first error: %s: %s\n", curl_easy_strerror(result),
                                 t->error);
                } else {
                    std::fprintf(stderr, "first error: status %ld\n", status);
                }
            }
            curl_multi_remove_handle(multi, easy);
            if (issued < total) issue(*t);
        }
        // A re-added handle sets curl's timeout to zero, so this poll returns at once for it.
        if (ok + errors < total) curl_multi_poll(multi, nullptr, 0, 1000, nullptr);
    } while (running > 0 || ok + errors < total);
    const double wall = std::chrono::duration<double>(Clock::now() - start).count();
    const double cpu = peer::cpu_seconds() - cpu_before;

    const int status = peer::report("libcurl", args, ok, errors, wall, cpu, latencies_us);

    for (auto& t : transfers) curl_easy_cleanup(t.easy);
    curl_multi_cleanup(multi);
    curl_global_cleanup();
    return status;
}
