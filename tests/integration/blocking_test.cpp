// BlockingClient against the in-process HTTP/1.1 and HTTP/2 servers: calls that block and
// throw the typed errors, many threads at once (CI runs this suite under ThreadSanitizer),
// streams read line by line, and shutdown with calls and streams in flight.
#include "support/h2_server.hpp"
#include "support/servers.hpp"
#include "support/test_server.hpp"

#include <nector/http/blocking.hpp>
#include <nector/http/errors.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <string>
#include <thread>
#include <vector>

namespace nector::test {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using http::BlockingClient;
using http::BlockingStream;
using http::HttpMessage;
using http::Response;

// 404 for /missing, the request's target as the body otherwise; a POST echoes its body.
TestServer::Handler echo() {
    return [](TestConnection& c) -> asio::awaitable<void> {
        while (auto r = co_await c.read_request()) {
            std::string reply;
            if (r->target == "/missing") {
                reply = http_response(404, "gone");
            } else if (r->method == "POST") {
                reply = http_response(200, r->body);
            } else {
                reply = http_response(200, r->target);
            }
            co_await c.write(reply);
        }
    };
}

TEST(Blocking, CallsBlockAndThrowTheTypedErrors) {
    TestServer server(echo());
    http::Options o{.base_url = server.url()};
    o.retry.max_retries = 0;
    BlockingClient client(o);
    EXPECT_EQ(client.get("/hello").body, "/hello");
    EXPECT_EQ(client.post("/echo", {{"a", 1}}).body, R"({"a":1})");
    EXPECT_EQ(client.head("/x").status, 200);
    try {
        (void)client.get("/missing");
        ADD_FAILURE() << "a 404 did not throw";
    } catch (const http::HTTPNotFoundError& e) {
        EXPECT_EQ(e.response().body, "gone");
    }
    const std::string refused = "http://127.0.0.1:" + std::to_string(closed_port()) + "/";
    EXPECT_THROW((void)client.get(refused), ConnectionRefusedError);
    EXPECT_EQ(client.metrics().requests, 5u);
    EXPECT_THROW(BlockingClient({.base_url = "ftp://example.com"}), ConfigurationError);
}

// Eight threads making requests at once through one client: each gets its own answer.
void hammer(BlockingClient& client, int threads, int each) {
    std::atomic<int> wrong{0};
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t) {
        workers.emplace_back([&, t] {
            for (int i = 0; i < each; ++i) {
                const std::string path = "/t" + std::to_string(t) + "/" + std::to_string(i);
                try {
                    if (client.get(path).body != path) ++wrong;
                } catch (const std::exception& e) {
                    ++wrong;
                    ADD_FAILURE() << path << ": " << e.what();
                }
            }
        });
    }
    for (auto& w : workers) w.join();
    EXPECT_EQ(wrong.load(), 0);
}

TEST(Blocking, ManyThreadsAtOnceOverHttp11) {
    TestServer server(echo());
    BlockingClient client({.base_url = server.url()});
    hammer(client, 8, 25);
    const http::Metrics m = client.metrics();
    EXPECT_EQ(m.requests, 200u);
    EXPECT_GE(m.connections_opened, 1u);
    EXPECT_LE(m.connections_opened, 8u); // kept alive and reused
}

TEST(Blocking, ManyThreadsAtOnceOverHttp2) {
    H2TestServer server([](const H2Request& r) { return H2Action::respond(200, r.path); });
    http::Options o{.base_url = server.url()};
    o.http2_prior_knowledge = true;
    BlockingClient client(o);
    hammer(client, 8, 25);
    EXPECT_EQ(server.connections_accepted(), 1u); // multiplexed
}

TEST(Blocking, StreamsAreReadAsTheyArrive) {
    TestServer server([](TestConnection& c) -> asio::awaitable<void> {
        if (!co_await c.read_request()) co_return;
        co_await c.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
        co_await c.write("6\r\none\ntw\r\n");
        co_await c.write("4\r\no\nth\r\n");
        co_await c.write("4\r\nree\n\r\n0\r\n\r\n");
    });
    BlockingClient client({.base_url = server.url()});
    BlockingStream s = client.stream({.url = "/lines"});
    EXPECT_EQ(s.status(), 200);
    std::vector<std::string> lines;
    while (auto line = s.next_line()) lines.push_back(*line);
    const std::vector<std::string> expected{"one", "two", "three"};
    EXPECT_EQ(lines, expected);
    EXPECT_TRUE(s.done());
}

TEST(Blocking, CloseEndsCallsInFlightWithAClearError) {
    std::promise<void> arrived;
    TestServer server([&](TestConnection& c) -> asio::awaitable<void> {
        if (!co_await c.read_request()) co_return;
        arrived.set_value();
        co_await c.delay(30s);
    });
    auto client = std::make_unique<BlockingClient>(http::Options{.base_url = server.url()});
    std::promise<std::string> outcome;
    std::thread caller([&] {
        try {
            (void)client->get("/slow?token=secret");
            outcome.set_value("completed");
        } catch (const ConnectionError& e) {
            outcome.set_value(std::string(e.what()) + " | " + e.code().message());
        } catch (const std::exception& e) {
            outcome.set_value(std::string("other: ") + e.what());
        }
    });
    arrived.get_future().wait();
    client->close();
    const std::string message = outcome.get_future().get();
    caller.join();
    EXPECT_NE(message.find("GET /slow?token=secret: the BlockingClient was closed while the call "
                           "was in flight"),
              std::string::npos)
        << message;
    EXPECT_TRUE(client->is_closed());
    try {
        (void)client->get("/after");
        ADD_FAILURE() << "a call after close() went out";
    } catch (const ConnectionError& e) {
        EXPECT_EQ(e.code(), errc::not_connected);
        EXPECT_NE(std::string(e.what()).find("GET /after: the BlockingClient is closed"),
                  std::string::npos)
            << e.what();
    }
    client.reset(); // joins: the server's 30 s delay is not waited for
    EXPECT_EQ(server.connections(), 1u);
}

TEST(Blocking, AStreamMayOutliveItsClient) {
    TestServer server([](TestConnection& c) -> asio::awaitable<void> {
        if (!co_await c.read_request()) co_return;
        co_await c.write("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
        co_await c.delay(30s);
    });
    std::optional<BlockingStream> s;
    {
        BlockingClient client({.base_url = server.url()});
        s.emplace(client.stream({.url = "/"}));
        EXPECT_EQ(s->next(), "abc");
    }
    try {
        (void)s->next();
        ADD_FAILURE() << "a stream read after its client closed";
    } catch (const ConnectionError& e) {
        EXPECT_EQ(e.code(), errc::not_connected);
    }
    s.reset();
}

} // namespace
} // namespace nector::test
