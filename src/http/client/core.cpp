#include "http/client/engine.hpp"
#include "nector/http/transport.hpp"

#include <boost/asio/this_coro.hpp>
#include <boost/json/serialize.hpp>

#include <cctype>

namespace nector::http::detail {
namespace asio = boost::asio;
namespace json = boost::json;

Core::Core(Options options, std::shared_ptr<ResilienceRegistry> resilience)
    : engine_(std::make_shared<Engine>(std::move(options), std::move(resilience))) {}

Core::Core(const asio::any_io_executor& executor, Options options,
           std::shared_ptr<ResilienceRegistry> resilience)
    : Core(std::move(options), std::move(resilience)) {
    engine_->bind(executor);
}

Core::Core(Core&&) noexcept = default;
Core& Core::operator=(Core&& other) noexcept {
    if (this != &other) {
        close();
        engine_ = std::move(other.engine_);
    }
    return *this;
}

Core::~Core() { close(); }

asio::awaitable<void> Core::connect() {
    auto engine = engine_;
    engine->bind(co_await asio::this_coro::executor);
    engine->connected = true;
}

asio::awaitable<void> Core::disconnect() {
    engine_->close();
    co_return;
}

bool Core::is_connected() const noexcept { return engine_ && engine_->connected; }

asio::awaitable<Response> Core::request(HttpMessage&& message) {
    // Not a coroutine (one frame less per call); the call's frame holds the engine.
    return engine_->request(engine_, std::move(message));
}

asio::awaitable<ResponseStream> Core::stream(HttpMessage message) {
    auto engine = engine_;
    Streamed streamed = co_await engine->stream(engine, std::move(message));
    co_return ResponseStream(std::move(streamed.head), std::move(streamed.body), *engine->executor);
}

void Core::close() noexcept {
    if (engine_) engine_->close();
}

asio::any_io_executor Core::executor() const {
    if (!engine_->connected || !engine_->executor) {
        throw_error(errc::not_connected, "HTTPTransport: not connected (call connect() first)");
    }
    return *engine_->executor;
}

std::optional<asio::any_io_executor> Core::bound_executor() const { return engine_->executor; }

ResponseStream Core::stream_of(Response response, asio::any_io_executor executor) {
    return ResponseStream(std::move(response), nullptr, std::move(executor));
}

const Options& Core::options() const noexcept { return engine_->options; }

Metrics Core::metrics() const { return engine_->snapshot(); }

void Core::push_completed(Response response) { engine_->completed.push_back(std::move(response)); }

std::optional<Response> Core::pop_completed() {
    if (engine_->completed.empty()) return std::nullopt;
    Response r = std::move(engine_->completed.front());
    engine_->completed.pop_front();
    return r;
}

std::string header_text(const json::value& value) {
    if (const auto* s = value.if_string()) return std::string(*s);
    return json::serialize(value);
}

void apply_json_payload(const json::value& payload, HttpMessage& out) {
    const auto* object = payload.if_object();
    if (!object) return;
    if (const auto* m = object->if_contains("method"); m && m->is_string()) {
        out.method = std::string(m->get_string());
        for (char& c : out.method)
            c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    if (const auto* u = object->if_contains("url"); u && u->is_string()) {
        out.url = std::string(u->get_string());
    }
    if (const auto* p = object->if_contains("params"); p && p->is_object()) {
        for (const auto& [name, value] : p->get_object()) {
            out.params.emplace_back(std::string(name), header_text(value));
        }
    }
    if (const auto* j = object->if_contains("json")) out.json = *j;
    if (const auto* d = object->if_contains("data"); d && d->is_object()) {
        for (const auto& [name, value] : d->get_object()) {
            out.form.emplace_back(std::string(name), header_text(value));
        }
    }
}

} // namespace nector::http::detail
