// The engine behind HTTPTransport: options, TLS context, pool, request pipeline.
#pragma once

#include "http/pool.hpp"
#include "nector/http/message.hpp"
#include "nector/http/options.hpp"
#include "nector/http/response.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl/context.hpp>

#include <deque>
#include <memory>
#include <optional>

namespace nector::http::detail {

class Engine : public std::enable_shared_from_this<Engine> {
public:
    /// Validates `options` and builds the TLS context; ConfigurationError on a bad field.
    explicit Engine(Options options);

    void bind(boost::asio::any_io_executor executor);
    boost::asio::awaitable<Response> request(HttpMessage message);
    void close() noexcept;

    Options options;
    std::optional<boost::asio::any_io_executor> executor;
    bool connected = false;
    std::deque<Response> completed;

private:
    /// A request ready for the wire: validated, URL resolved, headers merged, body encoded.
    struct Prepared {
        std::string method;
        Target target;
        Headers headers;
        std::string body;
        std::string context; ///< "METHOD URL" for messages
    };
    /// Not a coroutine, so that it may catch and rethrow with context (GCC 12).
    Prepared prepare(HttpMessage& message) const;
    boost::asio::awaitable<Response> perform(HttpMessage message);
    boost::asio::awaitable<Response> exchange(std::string_view method, const Target& target,
                                              const Headers& headers, std::string_view body,
                                              std::string_view context);
    boost::asio::awaitable<std::shared_ptr<Connection>> open(const Origin& origin, Timings& timings,
                                                             std::string_view context);

    std::shared_ptr<boost::asio::ssl::context> tls_;
    std::unique_ptr<Pool> pool_;
};

} // namespace nector::http::detail
