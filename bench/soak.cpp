// The soak (docs/reliability.md): N requests through one transport, `in_flight` at a time,
// against the in-process test servers answering a fault from the fault matrix to a share of
// requests, drawn at random. Every request must end in exactly one outcome: a response or a
// typed TransportError, counted by error class; the client's resident set and open file
// descriptors are sampled as it goes. The servers run in a child process (forked before any
// thread starts) so that what they record does not count in the client's memory.
//
//   nector-soak PROTOCOL [REQUESTS [IN_FLIGHT [FAULT_PERCENT [SAMPLES]]]]
//     PROTOCOL  http1 | http1-tls | h2c | h2-tls
//     defaults  1000000 requests, 64 in flight, 5 % faults, 100 samples
//
// Prints one CSV line per sample on stdout ("sample,requests,seconds,rss_kib,fds,rps"), then
// one JSON line with the totals. Exits 1 when a request was not accounted for, when RSS grew
// more than 5 % from the 10 % mark to the end, or when open descriptors did not come back to
// the baseline once the transport was disconnected. Run by bench/soak, which writes
// bench/results/; it is not part of the test run.
#include "usage.hpp"

#include "support/h2_server.hpp"
#include "support/servers.hpp"
#include "support/test_server.hpp"

#include <nector/nector.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace asio = boost::asio;
using namespace std::chrono_literals;
using nector::test::H2Action;
using nector::test::H2Error;
using nector::test::H2Request;
using nector::test::H2ServerOptions;
using nector::test::H2TestServer;
using nector::test::TestConnection;
using nector::test::TestServer;

namespace {

enum class Protocol { http1, http1_tls, h2c, h2_tls };

/// Draws the fate of each request: 0 = a normal answer, else a fault's number (1..faults).
class Dice {
public:
    Dice(unsigned percent, int faults) : percent_(percent), faults_(faults) {}
    int roll() {
        std::lock_guard lock(mutex_);
        if (std::uniform_int_distribution<unsigned>(0, 99)(random_) >= percent_) return 0;
        return std::uniform_int_distribution<int>(1, faults_)(random_);
    }

private:
    std::mutex mutex_;
    std::mt19937 random_{20261205};
    unsigned percent_;
    int faults_;
};

const std::string ok_response = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

/// HTTP/1.1 faults from the matrix: resets before and in the head and the body, a close
/// mid-body, a garbage status line, 503 with Retry-After: 0, more bytes than Content-Length,
/// a body after a 204, a run of 1xx interim responses, and `Connection: close`.
constexpr int http1_faults = 9;

asio::awaitable<void> http1_connection(TestConnection& c, Dice& dice) {
    for (;;) {
        auto request = co_await c.read_request();
        if (!request) co_return;
        switch (dice.roll()) {
            case 0:
                co_await c.write(ok_response);
                break;
            case 1:
                c.reset();
                co_return;
            case 2:
                co_await c.write("HTTP/1.1 200 OK\r\nContent-Le");
                c.reset();
                co_return;
            case 3:
                co_await c.write("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nok");
                c.reset();
                co_return;
            case 4:
                co_await c.write("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nok");
                c.close();
                co_return;
            case 5:
                co_await c.write("HTTP/1.1 2x0 OK\r\n\r\n");
                c.close();
                co_return;
            case 6:
                co_await c.write(
                    "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 0\r\n"
                    "Content-Length: 4\r\n\r\nbusy");
                break;
            case 7:
                co_await c.write(ok_response + "surplus");
                break; // the client must not read "surplus" as the next response
            case 8:
                co_await c.write(
                    "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\n"
                    "Link: </a>\r\n\r\n" +
                    ok_response);
                break;
            default:
                co_await c.write(
                    "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n"
                    "\r\nok");
                c.close();
                co_return;
        }
    }
}

/// HTTP/2 faults: REFUSED_STREAM, RST_STREAM INTERNAL_ERROR, GOAWAY before every stream,
/// the TCP connection closed, 503 with Retry-After: 0.
constexpr int h2_faults = 5;

H2Action h2_answer(const H2Request&, Dice& dice) {
    switch (dice.roll()) {
        case 0:
            return {.body = "ok"};
        case 1:
            return {.kind = H2Action::Kind::refuse};
        case 2:
            return {.kind = H2Action::Kind::reset, .error = H2Error::internal_error};
        case 3: { // GOAWAY before every stream: the client retries them on a new connection
            H2Action a = H2Action::goaway(H2Error::no_error);
            a.last_stream_id = 0;
            return a;
        }
        case 4:
            return {.kind = H2Action::Kind::close};
        default:
            return {.status = 503, .headers = {{"retry-after", "0"}}, .body = "busy"};
    }
}

/// The child: starts the server, writes its URL to `out`, serves until `in` closes.
[[noreturn]] void serve(Protocol protocol, unsigned percent, int in, int out) {
    std::string url;
    Dice dice(percent, protocol == Protocol::http1 || protocol == Protocol::http1_tls ? http1_faults
                                                                                      : h2_faults);
    std::unique_ptr<TestServer> h1;
    std::unique_ptr<H2TestServer> h2;
    const auto handler = [&dice](TestConnection& c) { return http1_connection(c, dice); };
    const auto& pki = nector::test::certificates();
    switch (protocol) {
        case Protocol::http1:
            h1 = std::make_unique<TestServer>(handler);
            url = h1->url("/soak");
            break;
        case Protocol::http1_tls:
            h1 = std::make_unique<TestServer>(
                handler, nector::test::TlsFiles{pki.server_cert, pki.server_key, ""});
            url = h1->url("/soak");
            break;
        case Protocol::h2c:
        case Protocol::h2_tls:
            h2 = std::make_unique<H2TestServer>(
                [&dice](const H2Request& r) { return h2_answer(r, dice); },
                H2ServerOptions{
                    .tls = protocol == Protocol::h2_tls
                               ? std::optional<nector::test::TlsFiles>(nector::test::h2_tls_files())
                               : std::nullopt});
            url = h2->url("/soak");
            break;
    }
    url += "\n";
    if (::write(out, url.data(), url.size()) != static_cast<ssize_t>(url.size())) std::_Exit(3);
    char byte;
    while (::read(in, &byte, 1) > 0) {
    }
    h1.reset();
    h2.reset();
    std::_Exit(0);
}

std::size_t open_fds() {
    std::size_t n = 0;
    for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator("/proc/self/fd"))
        ++n;
    return n;
}

double rss_kib() { return nector::bench::status_mib("VmRSS") * 1024.0; }

struct Sample {
    std::uint64_t requests;
    double seconds;
    double rss_kib;
    std::size_t fds;
};

} // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr,
                     "usage: %s http1|http1-tls|h2c|h2-tls [REQUESTS [IN_FLIGHT "
                     "[FAULT_PERCENT [SAMPLES]]]]\n",
                     argv[0]);
        return 2;
    }
    const std::string name = argv[1];
    Protocol protocol{};
    if (name == "http1") {
        protocol = Protocol::http1;
    } else if (name == "http1-tls") {
        protocol = Protocol::http1_tls;
    } else if (name == "h2c") {
        protocol = Protocol::h2c;
    } else if (name == "h2-tls") {
        protocol = Protocol::h2_tls;
    } else {
        std::fprintf(stderr, "unknown protocol \"%s\"\n", name.c_str());
        return 2;
    }
    const std::uint64_t total = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 1'000'000;
    const long in_flight = argc > 3 ? std::atol(argv[3]) : 64;
    const unsigned percent = argc > 4 ? static_cast<unsigned>(std::atoi(argv[4])) : 5;
    const std::uint64_t samples = argc > 5 ? std::strtoull(argv[5], nullptr, 10) : 100;
    if (total < samples || in_flight <= 0 || percent > 100 || samples < 10) {
        std::fprintf(stderr, "REQUESTS >= SAMPLES >= 10, IN_FLIGHT > 0, FAULT_PERCENT <= 100\n");
        return 2;
    }

    // The PKI first (it runs openssl), so parent and child share it; then the server child.
    const auto& pki = nector::test::certificates();
    int to_child[2];
    int from_child[2];
    if (::pipe(to_child) != 0 || ::pipe(from_child) != 0) return 3;
    const pid_t child = ::fork();
    if (child < 0) return 3;
    if (child == 0) {
        ::close(to_child[1]);
        ::close(from_child[0]);
        serve(protocol, percent, to_child[0], from_child[1]);
    }
    ::close(to_child[0]);
    ::close(from_child[1]);
    std::string url;
    char c;
    while (::read(from_child[0], &c, 1) == 1 && c != '\n') url += c;
    ::close(from_child[0]);
    if (url.empty()) {
        std::fprintf(stderr, "the server did not start\n");
        return 3;
    }

    const std::size_t baseline_fds = open_fds();
    std::vector<Sample> taken;
    taken.reserve(samples + 1);
    std::map<std::string, std::uint64_t> failures; // by error class
    std::uint64_t succeeded = 0;
    std::uint64_t unexpected = 0; // a response that was not the server's "ok", or not typed
    std::uint64_t started = 0;
    std::uint64_t ended = 0;
    std::size_t open_after = 0;
    const auto start = std::chrono::steady_clock::now();
    {
        asio::io_context io(1);
        nector::http::Options o;
        o.base_url = url;
        o.http2 = protocol == Protocol::h2_tls;
        o.http2_prior_knowledge = protocol == Protocol::h2c;
        o.tls.ca_file = pki.ca_cert;
        o.timeout = nector::http::Timeout::all(10s);
        o.retry.backoff_factor = 1ms;
        const auto connections = static_cast<std::size_t>(in_flight);
        o.limits = {.max_connections = connections,
                    .max_connections_per_origin = connections,
                    .max_idle_connections = connections};
        nector::http::HTTPTransport<> transport(io.get_executor(), std::move(o));
        const std::uint64_t every = total / samples;
        long running = in_flight;
        const auto worker = [&]() -> asio::awaitable<void> {
            while (started < total) {
                ++started;
                try {
                    const auto response = co_await transport.get("/soak");
                    if (response.status == 200 && response.body == "ok") {
                        ++succeeded;
                    } else {
                        ++failures["status " + std::to_string(response.status)];
                    }
                } catch (const nector::TransportError& e) {
                    ++failures[e.code().message()];
                } catch (const std::exception& e) {
                    ++unexpected;
                    std::fprintf(stderr, "untyped: %s\n", e.what());
                }
                if (++ended % every == 0) {
                    const double s =
                        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
                            .count();
                    taken.push_back({ended, s, rss_kib(), open_fds()});
                }
            }
            if (--running == 0) {
                open_after = transport.metrics().open_connections;
                co_await transport.disconnect();
            }
        };
        asio::co_spawn(
            io,
            [&]() -> asio::awaitable<void> {
                co_await transport.connect();
                for (long i = 0; i < in_flight; ++i) asio::co_spawn(io, worker(), asio::detached);
            },
            asio::detached);
        io.run();
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const std::size_t end_fds = open_fds();

    ::close(to_child[1]); // the child serves until this closes
    int status = 0;
    ::waitpid(child, &status, 0);

    std::printf("sample,requests,seconds,rss_kib,fds,rps\n");
    for (std::size_t i = 0; i < taken.size(); ++i) {
        const double dt = taken[i].seconds - (i ? taken[i - 1].seconds : 0.0);
        const double dn = static_cast<double>(taken[i].requests - (i ? taken[i - 1].requests : 0));
        std::printf("%zu,%ju,%.3f,%.0f,%zu,%.0f\n", i + 1,
                    static_cast<std::uintmax_t>(taken[i].requests), taken[i].seconds,
                    taken[i].rss_kib, taken[i].fds, dt > 0 ? dn / dt : 0.0);
    }
    std::uint64_t failed = 0;
    std::string classes;
    for (const auto& [what, n] : failures) {
        failed += n;
        classes +=
            (classes.empty() ? "" : ",") + std::string("\"") + what + "\":" + std::to_string(n);
    }
    // RSS growth from the 10 % mark (after warm-up) to the end.
    const double at_tenth = taken.size() >= 10 ? taken[taken.size() / 10 - 1].rss_kib : 0;
    const double at_end = taken.empty() ? 0 : taken.back().rss_kib;
    const double growth = at_tenth > 0 ? (at_end - at_tenth) / at_tenth * 100.0 : 0.0;
    const bool accounted = succeeded + failed == total && unexpected == 0 && ended == total;
    const bool flat = growth <= 5.0;
    const bool fds_back = end_fds == baseline_fds;
    std::printf(
        "{\"protocol\":\"%s\",\"requests\":%ju,\"in_flight\":%ld,\"fault_percent\":%u,"
        "\"seconds\":%.1f,\"rps\":%.0f,\"succeeded\":%ju,\"failed\":%ju,"
        "\"failures\":{%s},\"unexpected\":%ju,\"rss_kib_at_10pct\":%.0f,"
        "\"rss_kib_at_end\":%.0f,\"rss_growth_pct\":%.2f,\"peak_rss_kib\":%.0f,"
        "\"fds_baseline\":%zu,\"fds_end\":%zu,\"open_connections_before_disconnect\":%zu,"
        "\"server_exit\":%d,\"accounted\":%s,\"rss_flat\":%s,\"fds_back\":%s}\n",
        name.c_str(), static_cast<std::uintmax_t>(total), in_flight, percent, seconds,
        static_cast<double>(total) / seconds, static_cast<std::uintmax_t>(succeeded),
        static_cast<std::uintmax_t>(failed), classes.c_str(),
        static_cast<std::uintmax_t>(unexpected), at_tenth, at_end, growth,
        nector::bench::status_mib("VmHWM") * 1024.0, baseline_fds, end_fds, open_after,
        WIFEXITED(status) ? WEXITSTATUS(status) : -1, accounted ? "true" : "false",
        flat ? "true" : "false", fds_back ? "true" : "false");
    return accounted && flat && fds_back ? 0 : 1;
}
