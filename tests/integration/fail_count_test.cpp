// Failure injection (Beast's fail_count; src/http/errors/fail_point.hpp): the n-th socket,
// TLS, name lookup or timer operation of a run fails, for n = 1, 2, 3, ... until a run in
// which the n-th operation never comes. Each run makes a GET, a streamed GET and a POST with
// a body on one transport, over HTTP/1.1 and HTTP/2, plain and TLS, with and without retries:
// each call ends in exactly one outcome (a response or a typed TransportError, nothing else
// escapes), then, the injection off, the next request on the same transport succeeds, and
// after disconnect() no connection is left open. The ASan build checks that nothing leaks.
#include "http/errors/fail_point.hpp"

#include "integration/client.hpp"
#include "integration/wires.hpp"
#include "support/h2_server.hpp"
#include "support/servers.hpp"
#include "support/test_server.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <tuple>

namespace nector::test {
namespace {

using namespace std::chrono_literals;
using http::ResponseStream;
using http::detail::FailCount;

/// A server answering "ok" to everything, over the wire asked for.
struct AnyServer {
    explicit AnyServer(Wire w) {
        const auto& pki = certificates();
        const auto ok = TestServer::respond("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
        switch (w) {
            case Wire::h1:
                h1 = std::make_unique<TestServer>(ok);
                break;
            case Wire::h1_tls:
                h1 =
                    std::make_unique<TestServer>(ok, TlsFiles{pki.server_cert, pki.server_key, ""});
                break;
            case Wire::h2c:
            case Wire::h2_tls:
                h2 = std::make_unique<H2TestServer>(
                    [](const H2Request&) { return H2Action::respond(200, "ok"); },
                    H2ServerOptions{.tls = w == Wire::h2_tls
                                               ? std::optional<TlsFiles>(h2_tls_files())
                                               : std::nullopt});
                break;
        }
    }
    std::string url() const { return h1 ? h1->url() : h2->url(); }

    std::unique_ptr<TestServer> h1;
    std::unique_ptr<H2TestServer> h2;
};

struct RunOutcome {
    int ok = 0;
    int failed = 0; // typed: TransportError
    bool escaped = false;
    bool fired = false;
    bool reused = false; // the request after the injection succeeded
    std::size_t counted = 0;
};

asio::awaitable<void> one_run(HTTPTransport<>& t, std::optional<FailCount>& armed,
                              RunOutcome& run) {
    co_await t.connect();
    for (int call = 0; call < 3; ++call) {
        try {
            if (call == 0) {
                // (Named: GCC 12 mishandles a braced temporary inside co_await.)
                HttpMessage get{.url = "/get"};
                Response r = co_await t.request(std::move(get));
                r.body == "ok" ? ++run.ok : ++run.failed;
            } else if (call == 1) {
                HttpMessage get{.url = "/stream"};
                ResponseStream s = co_await t.stream(std::move(get));
                std::string body = co_await s.read_all();
                body == "ok" ? ++run.ok : ++run.failed;
            } else {
                HttpMessage post{.method = "POST", .url = "/post"};
                post.content = Bytes(3000, std::byte{'p'});
                Response r = co_await t.request(std::move(post));
                r.body == "ok" ? ++run.ok : ++run.failed;
            }
        } catch (const TransportError&) {
            ++run.failed;
        }
    }
    run.fired = armed->fired();
    run.counted = armed->counted();
    armed.reset(); // the injection off: the transport serves again
    HttpMessage get{.url = "/again"};
    Response again = co_await t.request(std::move(get));
    run.reused = again.body == "ok";
    co_await t.disconnect();
}

class FailCountTest : public ::testing::TestWithParam<std::tuple<Wire, bool>> {};

TEST_P(FailCountTest, EveryOperationFailingInTurnEndsEachCallOnce) {
    const auto [wire, retries] = GetParam();
    AnyServer server(wire);
    Options o{.base_url = server.url()};
    o.http2 = wire == Wire::h2_tls;
    o.http2_prior_knowledge = wire == Wire::h2c;
    o.tls.ca_file = certificates().ca_cert;
    o.retry.max_retries = retries ? 2 : 0;
    o.retry.backoff_factor = 1ms;
    o.timeout.total = 30s; // a deadline timer in every call
    std::size_t n = 1;
    int runs_with_a_failure = 0;
    for (; n <= 400; ++n) {
        asio::io_context io;
        HTTPTransport<> t(io.get_executor(), o);
        std::optional<FailCount> armed(std::in_place, n);
        RunOutcome run;
        asio::co_spawn(io, one_run(t, armed, run), [&](std::exception_ptr e) {
            if (!e) return;
            run.escaped = true;
            try {
                std::rethrow_exception(e);
            } catch (const std::exception& x) {
                ADD_FAILURE() << "n = " << n << ": escaped: " << x.what();
            }
        });
        io.run();
        armed.reset();
        ASSERT_FALSE(run.escaped) << "n = " << n;
        EXPECT_EQ(run.ok + run.failed, 3) << "n = " << n; // each call once
        EXPECT_TRUE(run.reused) << "n = " << n << ": the transport did not serve again";
        EXPECT_EQ(t.metrics().open_connections, 0u) << "n = " << n;
        if (!run.fired) {
            // The n-th operation never came: every call saw its operations succeed.
            EXPECT_EQ(run.ok, 3);
            EXPECT_GT(run.counted, 3u); // the hook sees the operations
            break;
        }
        if (run.failed > 0) ++runs_with_a_failure;
    }
    RecordProperty("operations", static_cast<int>(n - 1));
    EXPECT_LE(n, 400u) << "the operations did not run out";
    EXPECT_GT(n, 5u); // several operations were failed in turn
    // Without retries, an operation that every call needs fails its call.
    if (!retries) {
        EXPECT_GT(runs_with_a_failure, 0);
    }
}

INSTANTIATE_TEST_SUITE_P(Wires, FailCountTest,
                         ::testing::Combine(::testing::Values(Wire::h1, Wire::h1_tls, Wire::h2c,
                                                              Wire::h2_tls),
                                            ::testing::Bool()),
                         [](const auto& param_info) {
                             return wire_name(std::get<0>(param_info.param)) +
                                    (std::get<1>(param_info.param) ? "WithRetries"
                                                                   : "WithoutRetries");
                         });

} // namespace
} // namespace nector::test
