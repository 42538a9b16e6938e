// The completion-token forms of HTTPTransport (async_connect, async_disconnect, async_send,
// async_receive, async_request, async_stream) with plain callbacks, use_future,
// as_tuple(use_awaitable), bound executors and cancellation slots, against the in-process
// HTTP/1.1 server.
#include "integration/client.hpp"
#include "support/arrival.hpp"
#include "support/test_server.hpp"

#include <nector/http/transport.hpp>
#include <nector/transport/message/json.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json/serialize.hpp>

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace nector::test {
namespace asio = boost::asio;
namespace {

using namespace std::chrono_literals;
using http::ResponseStream;

// Answers /missing with 404 "gone", a POST with a serialized JsonMessage, anything else with 200
// and the request's target as the body.
TestServer::Handler echo_target() {
    return [](TestConnection& c) -> asio::awaitable<void> {
        while (auto r = co_await c.read_request()) {
            std::string reply;
            if (r->target == "/missing") {
                reply = http_response(404, "gone");
            } else if (r->method == "POST") {
                reply = http_response(200, R"({"headers":{},"payload":{"answer":42}})",
                                      {{"Content-Type", "application/json"}});
            } else {
                reply = http_response(200, r->target);
            }
            co_await c.write(reply);
        }
    };
}

TEST(Tokens, CallbacksDriveTheWholeLifecycle) {
    TestServer server(echo_target());
    asio::io_context io;
    HTTPTransport<JsonMessage> t({.base_url = server.url()});
    std::vector<std::string> events;
    std::optional<JsonMessage> received;
    t.async_connect(io.get_executor(), [&](std::error_code connected) {
        events.push_back("connect " + connected.message());
        t.async_send(JsonMessage({}, boost::json::object{{"x", 1}}), [&](std::error_code sent) {
            events.push_back("send " + sent.message());
            t.async_receive([&](std::error_code first, std::optional<JsonMessage> m) {
                events.push_back("receive " + first.message());
                received = std::move(m);
                t.async_receive([&](std::error_code second, std::optional<JsonMessage> none) {
                    events.push_back(std::string("receive again ") +
                                     (none ? "a message" : "nothing") + " " + second.message());
                    t.async_disconnect([&](std::error_code closed) {
                        events.push_back("disconnect " + closed.message());
                    });
                });
            });
        });
    });
    io.run();
    const std::vector<std::string> expected{"connect Success", "send Success", "receive Success",
                                            "receive again nothing Success", "disconnect Success"};
    EXPECT_EQ(events, expected);
    ASSERT_TRUE(received);
    ASSERT_TRUE(received->payload().is_object()) << boost::json::serialize(received->payload());
    EXPECT_EQ(received->payload().at("answer"), 42);
    EXPECT_FALSE(t.is_connected());
}

TEST(Tokens, ErrorsArriveAsCodes) {
    TestServer server(echo_target());
    asio::io_context io;
    HTTPTransport<> t({.base_url = server.url()});
    std::vector<std::error_code> codes;
    // Before connect: not_connected. (A transport not yet bound to an executor completes on
    // the handler's own, hence bind_executor here.)
    const auto record = [&](std::error_code ec, auto&&...) { codes.push_back(ec); };
    t.async_request({.url = "/"}, asio::bind_executor(io, record));
    t.async_receive(asio::bind_executor(io, record));
    // A transport made without an executor cannot connect without being given one.
    t.async_connect(asio::bind_executor(io, record));
    io.run();
    ASSERT_EQ(codes.size(), 3u);
    for (const std::error_code& ec : codes) EXPECT_EQ(ec, errc::not_connected) << ec.message();
    EXPECT_FALSE(t.is_connected());

    // A status error completes with its code and the response; async_send queues nothing.
    HTTPTransport<> bound(io.get_executor(), {.base_url = server.url()});
    std::optional<Response> missing;
    std::error_code send_code;
    io.restart();
    bound.async_connect([&](std::error_code) {
        bound.async_request({.url = "/missing"}, [&](std::error_code ec, Response r) {
            codes.push_back(ec);
            missing = std::move(r);
            bound.async_send({.url = "/missing"}, [&](std::error_code sent) { send_code = sent; });
        });
    });
    io.run();
    ASSERT_EQ(codes.size(), 4u);
    EXPECT_EQ(codes[3], errc::http_not_found);
    ASSERT_TRUE(missing);
    EXPECT_EQ(missing->status, 404);
    EXPECT_EQ(missing->body, "gone");
    EXPECT_EQ(send_code, errc::http_not_found);
    io.restart();
    std::optional<std::optional<HttpMessage>> queued;
    bound.async_receive(
        [&](std::error_code, std::optional<HttpMessage> m) { queued = std::move(m); });
    io.run();
    ASSERT_TRUE(queued);
    EXPECT_FALSE(*queued) << "a failed send queued an exchange";
}

TEST(Tokens, UseFutureFromAnotherThread) {
    TestServer server(echo_target());
    asio::io_context io;
    auto work = asio::make_work_guard(io);
    std::thread runner([&] { io.run(); });
    HTTPTransport<> t(io.get_executor(), {.base_url = server.url()});
    t.async_connect(asio::use_future).get();
    EXPECT_TRUE(t.is_connected());

    Response r = t.async_request({.url = "/hello"}, asio::use_future).get();
    EXPECT_EQ(r.body, "/hello");
    try {
        (void)t.async_request({.url = "/missing"}, asio::use_future).get();
        ADD_FAILURE() << "a 404 through use_future did not throw";
    } catch (const boost::system::system_error& e) {
        EXPECT_EQ(e.code(), errc::http_not_found);
    }

    // A stream, read through its AsyncReadStream face, with futures too.
    ResponseStream s = t.async_stream({.url = "/streamed"}, asio::use_future).get();
    EXPECT_EQ(s.status(), 200);
    std::string body;
    auto buffer = asio::dynamic_buffer(body);
    try {
        asio::async_read(s, buffer, asio::use_future).get();
        ADD_FAILURE() << "async_read ended without eof";
    } catch (const boost::system::system_error& e) {
        EXPECT_EQ(e.code(), asio::error::eof);
    }
    EXPECT_EQ(body, "/streamed");

    t.async_disconnect(asio::use_future).get();
    EXPECT_FALSE(t.is_connected());
    work.reset();
    runner.join();
}

TEST(Tokens, AsTupleUseAwaitable) {
    TestServer server(echo_target());
    run([&]() -> asio::awaitable<void> {
        auto executor = co_await asio::this_coro::executor;
        HTTPTransport<> t({.base_url = server.url()});
        auto [connected] = co_await t.async_connect(executor, asio::as_tuple(asio::use_awaitable));
        EXPECT_FALSE(connected);
        HttpMessage ok{.url = "/tuple"};
        auto [ec, r] = co_await t.async_request(std::move(ok), asio::as_tuple(asio::use_awaitable));
        EXPECT_FALSE(ec);
        EXPECT_EQ(r.body, std::string_view("/tuple"));
        HttpMessage gone{.url = "/missing"};
        auto [stream_ec, s] =
            co_await t.async_stream(std::move(gone), asio::as_tuple(asio::use_awaitable));
        EXPECT_EQ(stream_ec, errc::http_not_found);
        EXPECT_EQ(s.status(), 404);
        const std::string rest = co_await s.read_all();
        EXPECT_EQ(rest, std::string_view("gone"));
        auto [closed] = co_await t.async_disconnect(asio::as_tuple(asio::use_awaitable));
        EXPECT_FALSE(closed);
    }());
}

TEST(Tokens, HandlersRunOnTheirBoundExecutor) {
    TestServer server(echo_target());
    asio::io_context io;
    auto strand = asio::make_strand(io);
    HTTPTransport<> t(io.get_executor(), {.base_url = server.url()});
    bool on_strand = false;
    t.async_connect([&](std::error_code) {
        t.async_request({.url = "/"}, asio::bind_executor(strand, [&](std::error_code, Response) {
                            on_strand = strand.running_in_this_thread();
                        }));
    });
    io.run();
    EXPECT_TRUE(on_strand);
}

// Starts async_request (or async_stream) at a server that never answers and emits terminal
// cancellation once the request has reached it; returns the code the handler got and the
// status it was handed.
std::pair<std::optional<std::error_code>, int> cancelled(bool stream) {
    asio::io_context io;
    Arrival arrived(io.get_executor());
    TestServer server([&](TestConnection& c) -> asio::awaitable<void> {
        while (auto request = co_await c.read_request()) {
            arrived.signal();
            co_await c.delay(10s);
        }
    });
    HTTPTransport<> t(io.get_executor(), {.base_url = server.url()});
    asio::cancellation_signal signal;
    std::optional<std::error_code> result;
    int status = -1;
    t.async_connect([&](std::error_code) {
        if (stream) {
            t.async_stream({.url = "/"},
                           asio::bind_cancellation_slot(signal.slot(),
                                                        [&](std::error_code ec, ResponseStream s) {
                                                            result = ec;
                                                            status = s.status();
                                                        }));
        } else {
            t.async_request({.url = "/"}, asio::bind_cancellation_slot(
                                              signal.slot(), [&](std::error_code ec, Response r) {
                                                  result = ec;
                                                  status = r.status;
                                              }));
        }
        asio::co_spawn(io, arrived.wait(),
                       [&](std::exception_ptr) { signal.emit(asio::cancellation_type::terminal); });
    });
    io.run();
    EXPECT_EQ(server.connections(), 1u);
    return {result, status};
}

TEST(Tokens, CancellationSlotsCancelRequestsAndStreams) {
    for (const bool stream : {false, true}) {
        SCOPED_TRACE(stream ? "async_stream" : "async_request");
        const auto [result, status] = cancelled(stream);
        ASSERT_TRUE(result);
        EXPECT_EQ(*result, condition::cancelled) << result->message();
        EXPECT_EQ(status, 0); // an empty response or stream
    }
}

} // namespace
} // namespace nector::test
