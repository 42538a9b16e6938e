// Options from JSON, walked from the one description of each field (BOOST_DESCRIBE_STRUCT
// beside each options struct): a key is a field's name, its value is read by the field's
// type. What JSON cannot say (hooks, the clock, the source of randomness) is refused by
// name. Part of the options room.
#include "nector/http/options_json.hpp"

#include "nector/transport/errors.hpp"

#include <boost/describe/enum_from_string.hpp>
#include <boost/describe/members.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <boost/mp11/algorithm.hpp>
#include <boost/pfr/core.hpp>

#include <cmath>
#include <string>
#include <type_traits>

namespace nector::http {
namespace {

namespace json = boost::json;
namespace describe = boost::describe;

template <class T>
using described_members = describe::describe_members<T, describe::mod_public>;

// Every field of each options struct is described: one left out would be neither loaded
// from JSON nor overridable, silently.
template <class T>
constexpr bool all_described =
    boost::mp11::mp_size<described_members<T>>::value == boost::pfr::tuple_size_v<T>;
static_assert(all_described<Options>);
static_assert(all_described<Timeout>);
static_assert(all_described<Limits>);
static_assert(all_described<TlsOptions>);
static_assert(all_described<Http2Settings>);
static_assert(all_described<RetryPolicy>);
static_assert(all_described<CircuitBreakerPolicy>);
static_assert(all_described<HedgePolicy>);
static_assert(all_described<Hooks>);

[[noreturn]] void bad(const std::string& key, const std::string& why) {
    throw ConfigurationError(errc::invalid_configuration,
                             "HTTP transport config: \"" + key + "\" " + why);
}

const json::object& to_object(const std::string& key, const json::value& v) {
    if (!v.is_object()) bad(key, "must be an object");
    return v.get_object();
}

double to_number(const std::string& key, const json::value& v) {
    if (!v.is_number()) bad(key, "must be a number");
    const double d = v.to_number<double>();
    if (!std::isfinite(d)) bad(key, "must be finite");
    return d;
}

std::uint64_t to_count(const std::string& key, const json::value& v) {
    if (v.is_int64() && v.get_int64() >= 0) return static_cast<std::uint64_t>(v.get_int64());
    if (v.is_uint64()) return v.get_uint64();
    bad(key, "must be a non-negative integer");
}

// What an unknown key in an object of T is not, for the message.
template <class T>
std::string what_of() {
    if constexpr (std::is_same_v<T, Timeout>) return "a timeout";
    if constexpr (std::is_same_v<T, Limits>) return "a limit";
    if constexpr (std::is_same_v<T, TlsOptions>) return "a TLS option";
    if constexpr (std::is_same_v<T, Http2Settings>) return "an HTTP/2 setting";
    if constexpr (std::is_same_v<T, RetryPolicy>) return "a retry option";
    if constexpr (std::is_same_v<T, CircuitBreakerPolicy>) return "a circuit breaker option";
    return "an option of the HTTP transport";
}

template <class T>
std::string field_names() {
    std::string names;
    boost::mp11::mp_for_each<described_members<T>>([&](auto d) {
        if (!names.empty()) names += ", ";
        names += d.name;
    });
    return names;
}

template <class T>
void read(const std::string& key, const json::value& v, T& out);

// One key of a JSON object onto the described field of that name (`name`: the key, or
// another spelling of it mapped to the field's name).
template <class T>
void read_field(const std::string& key, std::string_view name, const json::value& value, T& out) {
    bool found = false;
    boost::mp11::mp_for_each<described_members<T>>([&](auto d) {
        if (found || name != d.name) return;
        found = true;
        read(key, value, out.*d.pointer);
    });
    if (!found) bad(key, "is not " + what_of<T>() + " (" + field_names<T>() + ")");
}

// A JSON object onto a described struct, key by key, in the object's order; `alias` maps
// another spelling of a key to the field's name first.
template <class T>
void read_fields(const std::string& prefix, const json::object& object, T& out,
                 std::string_view (*alias)(std::string_view) = nullptr) {
    for (const auto& [k, value] : object) {
        const std::string key = prefix.empty() ? std::string(k) : prefix + "." + std::string(k);
        read_field(key, alias ? alias(k) : std::string_view(k), value, out);
    }
}

void read_value(const std::string& key, const json::value& v, bool& out) {
    if (!v.is_bool()) bad(key, "must be true or false");
    out = v.get_bool();
}

void read_value(const std::string& key, const json::value& v, std::string& out) {
    if (!v.is_string()) bad(key, "must be a string");
    out = std::string(v.get_string());
}

void read_value(const std::string& key, const json::value& v, double& out) {
    out = to_number(key, v);
}

void read_value(const std::string& key, const json::value& v, std::size_t& out) {
    out = static_cast<std::size_t>(to_count(key, v));
}

// (Only HTTP/2 settings are 32-bit, and nghttp2 takes none above 2^31-1.)
void read_value(const std::string& key, const json::value& v, std::uint32_t& out) {
    const std::uint64_t n = to_count(key, v);
    if (n > 0x7fffffffU) bad(key, "must be at most 2^31-1");
    out = static_cast<std::uint32_t>(n);
}

// Durations are seconds, as httpx's floats.
void read_value(const std::string& key, const json::value& v, Duration& out) {
    const double seconds = to_number(key, v);
    if (seconds < 0 || seconds > 1e9) bad(key, "must be a number of seconds >= 0");
    out = std::chrono::duration_cast<Duration>(std::chrono::duration<double>(seconds));
}

// Status codes (retry_status_codes).
void read_value(const std::string& key, const json::value& v, std::vector<int>& out) {
    if (!v.is_array()) bad(key, "must be an array of status codes");
    out.clear();
    for (const auto& s : v.get_array()) {
        if (!s.is_int64() || s.get_int64() < 100 || s.get_int64() > 599) {
            bad(key, "must hold status codes from 100 to 599");
        }
        out.push_back(static_cast<int>(s.get_int64()));
    }
}

// Lists of strings (sensitive_headers, resolve, connect_to); validate() checks each.
void read_value(const std::string& key, const json::value& v, std::vector<std::string>& out) {
    if (!v.is_array()) bad(key, "must be an array of strings");
    out.clear();
    for (const auto& s : v.get_array()) {
        if (!s.is_string()) bad(key, "must hold strings");
        out.emplace_back(s.get_string());
    }
}

// Headers merge onto the ones there: the same name is replaced.
void read_value(const std::string& key, const json::value& v, Headers& headers) {
    for (const auto& [name, value] : to_object(key, v)) {
        std::string text;
        if (value.is_string()) {
            text = value.get_string();
        } else if (value.is_number() || value.is_bool()) {
            text = json::serialize(value);
        } else {
            bad(key + "." + std::string(name), "must be a string, number or boolean");
        }
        headers.set(name, std::move(text));
    }
}

void read_value(const std::string& key, const json::value& v, TlsVersion& out) {
    if (v.is_string() && v.get_string() == "1.2") {
        out = TlsVersion::tls1_2;
    } else if (v.is_string() && v.get_string() == "1.3") {
        out = TlsVersion::tls1_3;
    } else {
        bad(key, R"(must be "1.2" or "1.3")");
    }
}

void read_value(const std::string& key, const json::value& v, Jitter& out) {
    if (!v.is_string() || !describe::enum_from_string(std::string(v.get_string()).c_str(), out)) {
        bad(key, "must be none, full, equal or decorrelated");
    }
}

void read_value(const std::string& key, const json::value& v, AuthScheme& out) {
    if (!v.is_string() || !describe::enum_from_string(std::string(v.get_string()).c_str(), out)) {
        bad(key, "must be automatic, basic, bearer or digest");
    }
}

// "timeout": one number sets every phase and no total, like httpx's Timeout(5.0).
void read_value(const std::string& key, const json::value& v, Timeout& out) {
    if (v.is_number()) {
        Duration d{};
        read_value(key, v, d);
        out = Timeout::all(d);
        return;
    }
    read_fields(key, to_object(key, v), out);
}

// "circuit_breaker": true/false, or an object, which turns it on unless it says otherwise.
void read_value(const std::string& key, const json::value& v, CircuitBreakerPolicy& out) {
    if (v.is_bool()) {
        out.enabled = v.get_bool();
        return;
    }
    out.enabled = true;
    read_fields(key, to_object(key, v), out);
}

// "hedge": likewise: true/false, or an object that turns hedging on unless it says otherwise.
void read_value(const std::string& key, const json::value& v, HedgePolicy& out) {
    if (v.is_bool()) {
        out.enabled = v.get_bool();
        return;
    }
    out.enabled = true;
    read_fields(key, to_object(key, v), out);
}

// "retry": retry_backoff_factor, the seed's name, is backoff_factor here too.
std::string_view retry_alias(std::string_view k) {
    return k == "retry_backoff_factor" ? std::string_view("backoff_factor") : k;
}

void read_value(const std::string& key, const json::value& v, RetryPolicy& out) {
    read_fields(key, to_object(key, v), out, &retry_alias);
}

template <class T>
void read(const std::string& key, const json::value& v, T& out) {
    if constexpr (std::is_same_v<T, Hooks> || std::is_same_v<T, Clock> ||
                  std::is_same_v<T, Randomness> || std::is_same_v<T, std::shared_ptr<CookieJar>>) {
        bad(key, "is code, not configuration: set it in Options, not in JSON");
    } else if constexpr (requires { read_value(key, v, out); }) {
        read_value(key, v, out);
    } else {
        read_fields(key, to_object(key, v), out); // a described struct
    }
}

// The seed's flat names for three retry fields, at the top level.
bool read_seed_name(std::string_view k, const json::value& value, Options& o) {
    const std::string key(k);
    if (k == "max_retries") {
        read_value(key, value, o.retry.max_retries);
    } else if (k == "retry_backoff_factor") {
        read_value(key, value, o.retry.backoff_factor);
    } else if (k == "retry_status_codes") {
        read_value(key, value, o.retry.retry_status_codes);
    } else {
        return false;
    }
    return true;
}

} // namespace

Options options_from_json(const boost::json::value& config, Options base) {
    if (config.is_null()) return base;
    // In the document's order, so that a later key wins over an earlier one.
    for (const auto& [k, value] : to_object("config", config)) {
        if (!read_seed_name(k, value, base)) read_field(std::string(k), k, value, base);
    }
    return base;
}

} // namespace nector::http
