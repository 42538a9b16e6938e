// A factory's per-transport overrides applied to its defaults, field by field from the one
// description of Overrides and of Options (factory.hpp, options.hpp). Part of the options
// room.
#include "nector/http/factory.hpp"
#include "nector/transport/errors.hpp"

#include <boost/describe/members.hpp>
#include <boost/mp11/algorithm.hpp>
#include <boost/pfr/core.hpp>

#include <optional>
#include <string_view>
#include <type_traits>

namespace nector::http::detail {
namespace {

namespace describe = boost::describe;

template <class T>
using described_members = describe::describe_members<T, describe::mod_public>;

// The field of Options an override of the same name replaces, and whether its type is
// std::optional of that field's type.
template <class O>
constexpr bool has_options_field() {
    using Type = std::remove_cvref_t<decltype(std::declval<Overrides>().*O::pointer)>;
    bool found = false;
    boost::mp11::mp_for_each<described_members<Options>>([&](auto d) {
        using Field = std::remove_cvref_t<decltype(std::declval<Options>().*d.pointer)>;
        if (std::string_view(d.name) != std::string_view(O::name)) return;
        found = std::is_same_v<Type, std::optional<Field>> ||
                (std::is_same_v<Type, Headers> && std::is_same_v<Field, Headers>);
    });
    return found;
}

// Every override is an Options field of the same name and type: a misspelt or mistyped
// one fails to compile rather than being ignored.
template <class L>
struct AllOverridesAreFields;
template <template <class...> class L, class... O>
struct AllOverridesAreFields<L<O...>> {
    static constexpr bool value = (has_options_field<O>() && ...);
};
static_assert(AllOverridesAreFields<described_members<Overrides>>::value);
// And every member of Overrides is described: one left out would be ignored.
static_assert(boost::mp11::mp_size<described_members<Overrides>>::value ==
              boost::pfr::tuple_size_v<Overrides>);

// An override, when set, replaces its field (headers, merged above, are not optional).
template <class Field, class Type>
void assign(Field& field, const Type& value) {
    if constexpr (std::is_same_v<Type, std::optional<Field>>) {
        if (value) field = *value;
    }
}

} // namespace

Options with_overrides(Options options, const Overrides& overrides) {
    for (const auto& [name, value] : overrides.headers) options.headers.set(name, value);
    if (overrides.hooks && overrides.hooks->on_breaker_state) {
        throw ConfigurationError(
            errc::invalid_configuration,
            "HTTPTransport overrides: hooks.on_breaker_state is refused: a factory's transports "
            "share one circuit breaker per origin, whose transitions call the hook of the "
            "factory's defaults; set it there (leave it empty in an override)");
    }
    const Hooks defaults_hooks = options.hooks;
    boost::mp11::mp_for_each<described_members<Overrides>>([&](auto o) {
        boost::mp11::mp_for_each<described_members<Options>>([&](auto d) {
            if (std::string_view(o.name) == d.name)
                assign(options.*d.pointer, overrides.*o.pointer);
        });
    });
    if (overrides.hooks) options.hooks.on_breaker_state = defaults_hooks.on_breaker_state;
    return options;
}

} // namespace nector::http::detail
