// libcurl making new connections, as a program that uses one easy handle per connection
// does: COUNT sequential GETs of URL, each with a fresh easy handle on a fresh connection
// ("Connection: close"), certificate verified against CA_FILE on https://. With resume=1 a
// share object keeps the TLS sessions between handles (CURL_LOCK_DATA_SSL_SESSION, how a
// libcurl program resumes sessions across handles); with resume=0 the session cache is off
// (CURLOPT_SSL_SESSIONID_CACHE 0): every handshake is full. bench/connections runs it
// beside nector's bench/tls_client.cpp.
//   peer-libcurl-connections URL CA_FILE COUNT resume(0|1)
// Prints "connections N ok K"; exits 1 when a request failed, 2 for bad arguments.
#include <curl/curl.h>

#include <cstdio>
#include <cstdlib>
#include <string>

namespace {

std::size_t discard(char*, std::size_t size, std::size_t count, void*) { return size * count; }

} // namespace

int main(int argc, char** argv) {
    if (argc != 5) {
        std::fprintf(stderr, "usage: %s URL CA_FILE COUNT resume(0|1)\n", argv[0]);
        return 2;
    }
    const long count = std::atol(argv[3]);
    const bool resume = std::string(argv[4]) == "1";
    if (count <= 0) return 2;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) return 1;
    CURLSH* share = curl_share_init();
    if (!share ||
        curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION) != CURLSHE_OK)
        return 1;
    curl_slist* headers = curl_slist_append(nullptr, "Connection: close");
    long ok = 0;
    for (long i = 0; i < count; ++i) {
        CURL* easy = curl_easy_init();
        if (!easy) break;
        curl_easy_setopt(easy, CURLOPT_URL, argv[1]);
        curl_easy_setopt(easy, CURLOPT_CAINFO, argv[2]);
        curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers);
        curl_easy_setopt(easy, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1);
        curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, discard);
        if (resume) {
            curl_easy_setopt(easy, CURLOPT_SHARE, share);
        } else {
            curl_easy_setopt(easy, CURLOPT_SSL_SESSIONID_CACHE, 0L);
        }
        const CURLcode rc = curl_easy_perform(easy);
        long status = 0;
        curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
        if (rc == CURLE_OK && status == 200) {
            ++ok;
        } else if (ok == i) { // the first failure
            std::fprintf(stderr, "request %ld: %s (status %ld)\n", i, curl_easy_strerror(rc),
                         status);
        }
        curl_easy_cleanup(easy);
    }
    curl_slist_free_all(headers);
    curl_share_cleanup(share);
    curl_global_cleanup();
    std::printf("connections %ld ok %ld\n", count, ok);
    return ok == count ? 0 : 1;
}
