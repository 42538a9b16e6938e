// The TDS-1 transport abstraction as C++20 concepts.
//
// A Message converts itself to and from bytes and carries headers and a payload.
// A Transport<M> moves messages of type M: connect, disconnect, send, receive, each an
// Asio awaitable. A TransportFactory makes transports, from defaults or from a JSON
// configuration. Concrete types state that they model these with static_assert.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/json/value.hpp>

#include <concepts>
#include <cstddef>
#include <optional>
#include <ranges>
#include <span>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <vector>

namespace nector {

/// Serialized message bytes.
using Bytes = std::vector<std::byte>;

/// A view of `text` as bytes.
inline std::span<const std::byte> as_bytes(std::string_view text) noexcept {
    return std::as_bytes(std::span<const char>(text.data(), text.size()));
}

/// A view of `data` as characters (no validation).
inline std::string_view as_string_view(std::span<const std::byte> data) noexcept {
    return {reinterpret_cast<const char*>(data.data()), data.size()};
}

/// `text`'s bytes, copied.
inline Bytes to_bytes(std::string_view text) {
    const auto view = as_bytes(text);
    return {view.begin(), view.end()};
}

namespace detail {
using std::get;
/// A tuple-like (name, value) pair; get is found by ADL too (Boost.JSON's key_value_pair).
template <class H>
concept HeaderField = requires(H header) {
    { get<0>(header) } -> std::convertible_to<std::string_view>;
    get<1>(header);
};
} // namespace detail

/// A range of headers: each element is tuple-like, get<0> the name (convertible to
/// string_view) and get<1> the value (a string or a JSON value; transports stringify
/// non-strings, as TDS-4's _extract_headers does).
template <class R>
concept HeaderRange =
    std::ranges::input_range<R> && detail::HeaderField<std::ranges::range_reference_t<R>>;

/// A message of TDS-1: serialize() to bytes, M::deserialize(bytes) back, get_headers(),
/// get_payload() (the protocol's names, as in pynector), and a static content_type. deserialize
/// throws DeserializationError on bad bytes; serialize throws SerializationError when the message
/// cannot be encoded.
template <class M>
concept Message = std::movable<M> && requires(const M& m, std::span<const std::byte> data) {
    { m.serialize() } -> std::convertible_to<Bytes>;
    { M::deserialize(data) } -> std::same_as<M>;
    { m.get_headers() } -> HeaderRange;
    m.get_payload();
    { M::content_type } -> std::convertible_to<std::string_view>;
};

/// A transport of messages M (TDS-1 Transport protocol). receive() yields the next
/// available message, or nullopt when none is pending.
template <class T, class M>
concept Transport = Message<M> && requires(T& t, M m) {
    { t.connect() } -> std::same_as<boost::asio::awaitable<void>>;
    { t.disconnect() } -> std::same_as<boost::asio::awaitable<void>>;
    { t.send(std::move(m)) } -> std::same_as<boost::asio::awaitable<void>>;
    { t.receive() } -> std::same_as<boost::asio::awaitable<std::optional<M>>>;
};

/// A factory of transports (TDS-1 TransportFactory). create_transport() uses the
/// factory's defaults; create_transport(config) applies a JSON object of overrides
/// and throws ConfigurationError naming any key or value it cannot use.
template <class F>
concept TransportFactory = requires(F& f, const boost::json::value& config) {
    typename F::message_type;
    typename F::transport_type;
    requires Message<typename F::message_type>;
    requires Transport<typename F::transport_type, typename F::message_type>;
    { f.create_transport() } -> std::same_as<typename F::transport_type>;
    { f.create_transport(config) } -> std::same_as<typename F::transport_type>;
};

} // namespace nector
