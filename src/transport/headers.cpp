#include "nector/transport/headers.hpp"

#include <algorithm>

namespace nector {
namespace {
constexpr char lower(char c) noexcept {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}
} // namespace

bool iequals(std::string_view a, std::string_view b) noexcept {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(),
                                              [](char x, char y) { return lower(x) == lower(y); });
}

void Headers::add(std::string name, std::string value) {
    fields_.emplace_back(std::move(name), std::move(value));
}

void Headers::set(std::string_view name, std::string value) {
    auto first = std::find_if(fields_.begin(), fields_.end(),
                              [&](const value_type& f) { return iequals(f.first, name); });
    if (first == fields_.end()) {
        fields_.emplace_back(std::string(name), std::move(value));
        return;
    }
    first->second = std::move(value);
    fields_.erase(std::remove_if(std::next(first), fields_.end(),
                                 [&](const value_type& f) { return iequals(f.first, name); }),
                  fields_.end());
}

std::size_t Headers::erase(std::string_view name) {
    return std::erase_if(fields_, [&](const value_type& f) { return iequals(f.first, name); });
}

std::optional<std::string_view> Headers::get(std::string_view name) const noexcept {
    for (const auto& [n, v] : fields_) {
        if (iequals(n, name)) return std::string_view(v);
    }
    return std::nullopt;
}

std::vector<std::string_view> Headers::get_all(std::string_view name) const {
    std::vector<std::string_view> values;
    for (const auto& [n, v] : fields_) {
        if (iequals(n, name)) values.emplace_back(v);
    }
    return values;
}

} // namespace nector
