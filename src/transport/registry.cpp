#include "nector/transport/registry.hpp"

#include <cxxabi.h>

#include <cstdlib>

namespace nector {
namespace {

std::string readable(std::type_index type) {
    int status = 0;
    std::unique_ptr<char, void (*)(void*)> name(
        abi::__cxa_demangle(type.name(), nullptr, nullptr, &status), std::free);
    return status == 0 && name ? std::string(name.get()) : std::string(type.name());
}

std::string joined(const std::vector<std::string>& names) {
    if (names.empty()) return "none";
    std::string out;
    for (const auto& n : names) {
        if (!out.empty()) out += ", ";
        out += n;
    }
    return out;
}

} // namespace

namespace detail {
void throw_message_type_mismatch(std::string_view factory, std::type_index made,
                                 std::type_index asked) {
    const std::string who =
        factory.empty() ? "the factory" : "factory \"" + std::string(factory) + "\"";
    throw ConfigurationError(errc::message_type_mismatch,
                             "create_transport<" + readable(asked) + ">: " + who +
                                 " makes transports of " + readable(made));
}
} // namespace detail

// (clang-tidy 14 does not see the move into try_emplace.)
AnyTransportFactory& TransportFactoryRegistry::register_factory(
    std::string name,
    AnyTransportFactory factory) { // NOLINT(performance-unnecessary-value-param)
    if (name.empty()) {
        throw ConfigurationError(errc::invalid_configuration,
                                 "TransportFactoryRegistry::register_factory: empty name");
    }
    auto [it, inserted] = factories_.try_emplace(std::move(name), std::move(factory));
    if (!inserted) {
        throw ConfigurationError(
            errc::duplicate_factory,
            "TransportFactoryRegistry::register_factory(\"" + it->first + "\")");
    }
    return it->second;
}

bool TransportFactoryRegistry::unregister_factory(std::string_view name) {
    const auto it = factories_.find(name);
    if (it == factories_.end()) return false;
    factories_.erase(it);
    return true;
}

AnyTransportFactory& TransportFactoryRegistry::get(std::string_view name) {
    const auto it = factories_.find(name);
    if (it == factories_.end()) {
        throw ConfigurationError(errc::unknown_factory, "TransportFactoryRegistry::get(\"" +
                                                            std::string(name) +
                                                            "\"), registered: " + joined(names()));
    }
    return it->second;
}

const AnyTransportFactory& TransportFactoryRegistry::get(std::string_view name) const {
    return const_cast<TransportFactoryRegistry*>(this)->get(name);
}

bool TransportFactoryRegistry::contains(std::string_view name) const {
    return factories_.find(name) != factories_.end();
}

std::vector<std::string> TransportFactoryRegistry::names() const {
    std::vector<std::string> out;
    out.reserve(factories_.size());
    for (const auto& entry : factories_) out.push_back(entry.first);
    return out;
}

} // namespace nector
