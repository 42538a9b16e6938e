// TransportFactoryRegistry: transport factories by name (TDS-1), type-erased so that
// factories of different transports and message types live in one registry.
#pragma once

#include "nector/transport/any_transport.hpp"
#include "nector/transport/errors.hpp"
#include "nector/transport/protocol.hpp"

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <typeindex>
#include <typeinfo>
#include <vector>

namespace nector {

namespace detail {
[[noreturn]] void throw_message_type_mismatch(std::string_view factory, std::type_index made,
                                              std::type_index asked);
} // namespace detail

/// Any TransportFactory behind one type. Copies share the factory.
class AnyTransportFactory {
public:
    template <TransportFactory F>
    explicit AnyTransportFactory(F factory)
        : self_(std::make_shared<Model<F>>(std::move(factory))) {}

    /// The message type of the transports this factory makes.
    std::type_index message_type() const noexcept { return self_->message_type(); }

    /// A new transport made from `config` (null: the factory's defaults). M must be the
    /// factory's message type, else ConfigurationError (message_type_mismatch); the
    /// factory throws ConfigurationError for a config it cannot use.
    template <Message M>
    AnyTransport<M> create_transport(const boost::json::value& config = nullptr) {
        if (message_type() != typeid(M)) {
            detail::throw_message_type_mismatch("", message_type(), typeid(M));
        }
        std::optional<AnyTransport<M>> made;
        self_->create(config, &made);
        return std::move(*made);
    }

    /// The factory if it is an F, else nullptr.
    template <class F>
    F* target() noexcept {
        auto* model = dynamic_cast<Model<F>*>(self_.get());
        return model ? &model->factory : nullptr;
    }

private:
    struct Base {
        virtual ~Base() = default;
        virtual std::type_index message_type() const noexcept = 0;
        // `out` points to a std::optional<AnyTransport<message type>>.
        virtual void create(const boost::json::value& config, void* out) = 0;
    };
    template <class F>
    struct Model final : Base {
        using M = typename F::message_type;
        using T = typename F::transport_type;
        explicit Model(F f) : factory(std::move(f)) {}
        std::type_index message_type() const noexcept override { return typeid(M); }
        void create(const boost::json::value& config, void* out) override {
            auto* slot = static_cast<std::optional<AnyTransport<M>>*>(out);
            // new T(prvalue) needs no move constructor, so T may be immovable.
            if (config.is_null()) {
                slot->emplace(std::unique_ptr<T>(new T(factory.create_transport())));
            } else {
                slot->emplace(std::unique_ptr<T>(new T(factory.create_transport(config))));
            }
        }
        F factory;
    };

    std::shared_ptr<Base> self_;
};

/// Transport factories by name. Registration and lookup are not synchronized: register
/// at start-up, or guard the registry, when threads share it.
class TransportFactoryRegistry {
public:
    /// Registers `factory` under `name`. Throws ConfigurationError for an empty name or
    /// one already registered (duplicate_factory).
    template <TransportFactory F>
    AnyTransportFactory& register_factory(std::string name, F factory) {
        return register_factory(std::move(name), AnyTransportFactory(std::move(factory)));
    }
    AnyTransportFactory& register_factory(std::string name, AnyTransportFactory factory);

    /// Removes `name`; returns whether it was registered.
    bool unregister_factory(std::string_view name);

    /// The factory registered under `name`; ConfigurationError (unknown_factory), listing
    /// the registered names, when there is none.
    AnyTransportFactory& get(std::string_view name);
    const AnyTransportFactory& get(std::string_view name) const;

    bool contains(std::string_view name) const;
    /// The registered names, sorted.
    std::vector<std::string> names() const;

    /// A transport from the factory `name`, configured by `config` (null: defaults).
    /// Throws ConfigurationError for an unknown name, a factory of another message
    /// type, or a config the factory rejects.
    template <Message M>
    AnyTransport<M> create_transport(std::string_view name,
                                     const boost::json::value& config = nullptr) {
        AnyTransportFactory& factory = get(name);
        if (factory.message_type() != typeid(M)) {
            detail::throw_message_type_mismatch(name, factory.message_type(), typeid(M));
        }
        return factory.create_transport<M>(config);
    }

private:
    std::map<std::string, AnyTransportFactory, std::less<>> factories_;
};

} // namespace nector
