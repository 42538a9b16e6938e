// Headers: an ordered list of (name, value) fields with case-insensitive lookup.
#pragma once

#include <cstddef>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace nector {

/// True when `a` and `b` are equal ignoring ASCII case.
bool iequals(std::string_view a, std::string_view b) noexcept;

/// Header fields in the order they were added. A name may repeat (Set-Cookie); lookups
/// compare names ignoring ASCII case; equality compares names and values exactly, in
/// order. Names and values are stored as given: validation belongs to the transport
/// that puts them on the wire.
class Headers {
public:
    using value_type = std::pair<std::string, std::string>;
    using const_iterator = std::vector<value_type>::const_iterator;

    Headers() = default;
    Headers(std::initializer_list<value_type> fields) : fields_(fields) {}

    /// Appends a field, keeping any existing ones of the same name.
    void add(std::string name, std::string value);
    /// Replaces every field named `name` with one field (at the first one's position,
    /// or at the end when there was none).
    void set(std::string_view name, std::string value);
    /// Removes every field named `name`; returns how many were removed.
    std::size_t erase(std::string_view name);

    /// The first value of `name`, or nullopt.
    std::optional<std::string_view> get(std::string_view name) const noexcept;
    /// Every value of `name`, in order.
    std::vector<std::string_view> get_all(std::string_view name) const;
    bool contains(std::string_view name) const noexcept { return get(name).has_value(); }

    std::size_t size() const noexcept { return fields_.size(); }
    bool empty() const noexcept { return fields_.empty(); }
    void clear() noexcept { fields_.clear(); }
    void reserve(std::size_t n) { fields_.reserve(n); }
    const_iterator begin() const noexcept { return fields_.begin(); }
    const_iterator end() const noexcept { return fields_.end(); }

    friend bool operator==(const Headers&, const Headers&) = default;

private:
    std::vector<value_type> fields_;
};

} // namespace nector
