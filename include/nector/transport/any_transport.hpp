// AnyTransport<M>: a type-erased Transport<M>, what the registry hands out.
#pragma once

#include "nector/transport/protocol.hpp"

#include <memory>
#include <optional>
#include <type_traits>
#include <utility>

namespace nector {

/// Owns any transport of messages M behind one type, so that transports made by
/// different factories can be used alike. Movable, not copyable. Each operation
/// forwards to the owned transport and has its semantics (errors, cancellation).
template <Message M>
class AnyTransport {
public:
    using message_type = M;

    /// Takes ownership of `transport` (moved in). Implicit: a conversion by design. The
    /// requires clause keeps AnyTransport's own copies and moves out of it.
    template <class T>
    requires(!std::same_as<std::remove_cvref_t<T>, AnyTransport> &&
             Transport<std::remove_cvref_t<T>, M>)
        // NOLINTNEXTLINE(google-explicit-constructor,bugprone-forwarding-reference-overload)
        AnyTransport(T&& transport)
        : self_(std::make_unique<Model<std::remove_cvref_t<T>>>(
              std::make_unique<std::remove_cvref_t<T>>(std::forward<T>(transport)))) {}

    /// Takes ownership of a transport that cannot be moved. `transport` must not be null.
    template <Transport<M> T>
    explicit AnyTransport(std::unique_ptr<T> transport)
        : self_(std::make_unique<Model<T>>(std::move(transport))) {}

    boost::asio::awaitable<void> connect() { return self_->connect(); }
    boost::asio::awaitable<void> disconnect() { return self_->disconnect(); }
    boost::asio::awaitable<void> send(M message) { return self_->send(std::move(message)); }
    boost::asio::awaitable<std::optional<M>> receive() { return self_->receive(); }

    /// The owned transport if it is a T, else nullptr (like std::function::target).
    template <class T>
    T* target() noexcept {
        auto* model = dynamic_cast<Model<T>*>(self_.get());
        return model ? model->transport.get() : nullptr;
    }

private:
    struct Base {
        virtual ~Base() = default;
        virtual boost::asio::awaitable<void> connect() = 0;
        virtual boost::asio::awaitable<void> disconnect() = 0;
        virtual boost::asio::awaitable<void> send(M message) = 0;
        virtual boost::asio::awaitable<std::optional<M>> receive() = 0;
    };
    template <class T>
    struct Model final : Base {
        explicit Model(std::unique_ptr<T> t) : transport(std::move(t)) {}
        boost::asio::awaitable<void> connect() override { return transport->connect(); }
        boost::asio::awaitable<void> disconnect() override { return transport->disconnect(); }
        boost::asio::awaitable<void> send(M message) override {
            return transport->send(std::move(message));
        }
        boost::asio::awaitable<std::optional<M>> receive() override { return transport->receive(); }
        std::unique_ptr<T> transport;
    };

    std::unique_ptr<Base> self_;
};

} // namespace nector
