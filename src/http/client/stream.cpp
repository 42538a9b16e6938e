#include "nector/http/stream.hpp"

#include "http/client/engine.hpp"
#include "http/errors/bridge.hpp"
#include "nector/transport/errors.hpp"

#include <algorithm>
#include <cstring>
#include <vector>

namespace nector::http {
namespace asio = boost::asio;

namespace {
constexpr std::size_t chunk_size = std::size_t{64} * 1024;
} // namespace

boost::system::error_code detail::stream_error_code(const std::exception_ptr& e) {
    // Anything but a nector (or system) error is a fault of the stream's own.
    const std::error_code ec = detail::code_of(e);
    return ec ? boost::system::error_code(ec) : boost::system::error_code(asio::error::fault);
}

ResponseStream::ResponseStream(Response head, std::unique_ptr<detail::PendingBody> body,
                               asio::any_io_executor executor)
    : head_(std::move(head)), body_(std::move(body)), executor_(std::move(executor)) {
    // A body that was read whole (no body, or one that came with the head) is handed out
    // like a streamed one.
    buffered_ = std::move(head_.body);
    head_.body.clear();
}

ResponseStream::ResponseStream(ResponseStream&&) noexcept = default;
ResponseStream& ResponseStream::operator=(ResponseStream&&) noexcept = default;
ResponseStream::~ResponseStream() = default;

bool ResponseStream::done() const noexcept {
    return offset_ == buffered_.size() && (!body_ || body_->ended);
}

asio::awaitable<std::optional<std::string>> ResponseStream::next() {
    if (offset_ < buffered_.size()) {
        std::string chunk = buffered_.substr(offset_);
        buffered_.clear();
        offset_ = 0;
        co_return chunk;
    }
    if (!body_ || body_->ended) co_return std::nullopt;
    std::optional<std::string> chunk = co_await body_->next(chunk_size);
    if (body_->ended) head_.trailers = body_->trailers;
    co_return chunk;
}

asio::awaitable<std::string> ResponseStream::read_all() {
    std::string all;
    const std::size_t limit = body_ ? body_->max_response_bytes : SIZE_MAX;
    for (;;) {
        std::optional<std::string> chunk = co_await next();
        if (!chunk) break;
        if (all.size() + chunk->size() > limit) {
            throw_error(errc::body_too_large, body_->context +
                                                  ": reading the response body: the body exceeds "
                                                  "max_response_bytes");
        }
        all += *chunk;
    }
    co_return all;
}

asio::awaitable<std::size_t> ResponseStream::read_some(asio::mutable_buffer buffer) {
    if (buffer.size() == 0) co_return 0;
    if (offset_ == buffered_.size() && body_ && !body_->decoder) {
        // Nothing held back and nothing to decode: the body's bytes go straight into
        // `buffer` (through the protocol's own read_into).
        buffered_.clear();
        offset_ = 0;
        const std::size_t n = co_await body_->read_into(buffer);
        if (body_->ended) head_.trailers = body_->trailers;
        co_return n;
    }
    while (offset_ == buffered_.size()) {
        std::optional<std::string> chunk = co_await next();
        if (!chunk) co_return 0;
        buffered_ = std::move(*chunk);
        offset_ = 0;
    }
    const std::size_t n = std::min(buffer.size(), buffered_.size() - offset_);
    std::memcpy(buffer.data(), buffered_.data() + offset_, n);
    offset_ += n;
    co_return n;
}

asio::awaitable<std::size_t> ResponseStream::read_some_into(
    std::vector<asio::mutable_buffer> buffers) {
    for (const auto& b : buffers) {
        if (b.size() > 0) co_return co_await read_some(b);
    }
    co_return 0;
}

asio::awaitable<std::optional<std::string>> ResponseStream::Lines::next() {
    while (ready_.empty() && !ended_) {
        std::optional<std::string> chunk = co_await stream_->next();
        std::vector<std::string> lines;
        if (chunk) {
            splitter_.feed(*chunk, lines);
        } else {
            ended_ = true;
            if (auto last = splitter_.finish()) lines.push_back(std::move(*last));
        }
        for (auto& line : lines) ready_.push_back(std::move(line));
    }
    if (ready_.empty()) co_return std::nullopt;
    std::string line = std::move(ready_.front());
    ready_.pop_front();
    co_return line;
}

asio::awaitable<std::optional<ServerSentEvent>> ResponseStream::Events::next() {
    while (ready_.empty() && !ended_) {
        std::optional<std::string> chunk = co_await stream_->next();
        if (!chunk) {
            ended_ = true;
            decoder_.finish();
            break;
        }
        std::vector<ServerSentEvent> events;
        decoder_.feed(*chunk, events);
        for (auto& event : events) ready_.push_back(std::move(event));
    }
    if (ready_.empty()) co_return std::nullopt;
    ServerSentEvent event = std::move(ready_.front());
    ready_.pop_front();
    co_return event;
}

} // namespace nector::http
