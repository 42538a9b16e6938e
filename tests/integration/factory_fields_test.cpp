// Every field of Options, walked from its one description (BOOST_DESCRIBE_STRUCT in
// options.hpp): set on a factory-made transport, through a JSON override and through
// Overrides, it either takes effect (the transport's options() hold the new value) or is
// refused with a ConfigurationError that says why. None is accepted and ignored.
#include "support/servers.hpp"

#include <nector/http/factory.hpp>
#include <nector/transport/errors.hpp>

#include <boost/describe/members.hpp>
#include <boost/json/value.hpp>
#include <boost/mp11/algorithm.hpp>

#include <gtest/gtest.h>

#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <string>
#include <type_traits>
#include <vector>

namespace nector::test {
namespace {

using namespace std::chrono_literals;
namespace describe = boost::describe;

template <class T>
using members = describe::describe_members<T, describe::mod_public>;

template <class T>
constexpr bool is_described = describe::has_describe_members<T>::value;

std::string file_text(const std::filesystem::path& path) {
    std::ifstream in(path);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// A value a string field can take and the transport accept (files and PEM that load).
std::string string_value(const std::string& key) {
    const Certificates& certs = certificates();
    const std::map<std::string, std::string> values{
        {"base_url", "http://other.test:8080/v2"},
        {"user_agent", "agent/2"},
        {"local_address", "127.0.0.1"},
        {"unix_socket", "/run/nector-test.sock"},
        {"auth.user", "ada"},
        {"auth.password", "s3cret"},
        {"auth.token", "t0ken"},
        {"proxy.http", "http://127.0.0.1:3128"},
        {"proxy.https", "http://user:pass@127.0.0.1:3128"},
        {"proxy.all", "socks5h://127.0.0.1:1080"},
        {"proxy.no_proxy", "localhost,.internal.test,10.0.0.0/8"},
        {"tls.ca_file", certs.ca_cert.string()},
        {"tls.ca_pem", certs.ca_pem},
        {"tls.cert_file", certs.client_cert.string()},
        {"tls.key_file", certs.client_key.string()},
        {"tls.cert_pem", file_text(certs.client_cert)},
        {"tls.key_pem", file_text(certs.client_key)},
    };
    const auto found = values.find(key);
    if (found == values.end()) ADD_FAILURE() << "no sample value for the string field " << key;
    return found == values.end() ? std::string() : found->second;
}

// An entry a list-of-strings field can take and the transport accept.
std::string list_entry(std::string_view key) {
    if (key == "resolve") return "api.test:443:127.0.0.1";
    if (key == "connect_to") return "api.test:443:127.0.0.1:8443";
    return "X-Field"; // sensitive_headers: a header name
}

// One leaf field changed: how to say it in JSON, and how to check the transport's options.
struct Change {
    std::string key; // "timeout.read"
    boost::json::value json;
    std::function<bool(const http::Options&)> took_effect;
    bool code = false; // a function: not configuration JSON can carry
};

template <class T>
void collect(const std::string& key, const T& current, std::function<T&(http::Options&)> at,
             std::vector<Change>& out) {
    const auto check = [at](auto expected) {
        return [at, expected](const http::Options& o) {
            return at(const_cast<http::Options&>(o)) == expected;
        };
    };
    if constexpr (std::is_same_v<T, bool>) {
        out.push_back({key, !current, check(!current)});
    } else if constexpr (std::is_same_v<T, std::size_t> || std::is_same_v<T, std::uint32_t>) {
        out.push_back({key, static_cast<std::uint64_t>(current + 1), check(current + 1)});
    } else if constexpr (std::is_same_v<T, double>) {
        out.push_back({key, current + 1, check(current + 1)});
    } else if constexpr (std::is_same_v<T, http::Duration>) {
        const http::Duration d = current + 1s;
        out.push_back({key, std::chrono::duration<double>(d).count(), check(d)});
    } else if constexpr (std::is_same_v<T, std::string>) {
        const std::string v = string_value(key);
        out.push_back({key, boost::json::value(v), check(v)});
    } else if constexpr (std::is_same_v<T, http::TlsVersion>) {
        out.push_back({key, "1.3", check(http::TlsVersion::tls1_3)});
    } else if constexpr (std::is_same_v<T, http::Jitter>) {
        out.push_back({key, "none", check(http::Jitter::none)});
    } else if constexpr (std::is_same_v<T, http::AuthScheme>) {
        out.push_back({key, "basic", check(http::AuthScheme::basic)});
    } else if constexpr (std::is_same_v<T, std::vector<int>>) {
        out.push_back({key, boost::json::array{418}, check(std::vector<int>{418})});
    } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
        const std::string entry = list_entry(key);
        out.push_back({key, boost::json::array{boost::json::string(entry)},
                       check(std::vector<std::string>{entry})});
    } else if constexpr (std::is_same_v<T, Headers>) {
        out.push_back({key, boost::json::object{{"X-Field", "1"}}, [at](const http::Options& o) {
                           return at(const_cast<http::Options&>(o)).get("X-Field") == "1";
                       }});
    } else if constexpr (is_described<T> && !std::is_same_v<T, http::Hooks>) {
        boost::mp11::mp_for_each<members<T>>([&](auto d) {
            using Field = std::remove_cvref_t<decltype(current.*d.pointer)>;
            collect<Field>(
                key + "." + d.name, current.*d.pointer,
                [at](http::Options& o) -> Field& { return at(o).*decltype(d)::pointer; }, out);
        });
    } else {
        out.push_back({key, true, nullptr, true}); // hooks, clock, randomness
    }
}

std::vector<Change> every_field(const http::Options& defaults) {
    std::vector<Change> out;
    boost::mp11::mp_for_each<members<http::Options>>([&](auto d) {
        using Field = std::remove_cvref_t<decltype(defaults.*d.pointer)>;
        collect<Field>(
            d.name, defaults.*d.pointer,
            [](http::Options& o) -> Field& { return o.*decltype(d)::pointer; }, out);
    });
    return out;
}

// {"a": {"b": value}} for the key "a.b".
boost::json::value nested(const std::string& key, const boost::json::value& value) {
    const auto dot = key.find('.');
    if (dot == std::string::npos) return boost::json::object{{key, value}};
    return boost::json::object{{key.substr(0, dot), nested(key.substr(dot + 1), value)}};
}

bool starts_with(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

// What a factory cannot let one transport change: its shared breakers and budgets.
bool shared_by_the_factory(const std::string& key) {
    return starts_with(key, "circuit_breaker.") || starts_with(key, "retry.budget");
}

TEST(Factory, EveryOptionsFieldTakesEffectOrIsRefusedThroughJson) {
    http::HTTPTransportFactory<> factory(std::string("http://127.0.0.1:1/api"));
    const std::vector<Change> changes = every_field(factory.defaults());
    ASSERT_GT(changes.size(), 50u) << "the walk found too few fields";
    for (const Change& change : changes) {
        SCOPED_TRACE(change.key);
        std::string refused;
        std::optional<http::HTTPTransport<>> transport;
        try {
            transport.emplace(factory.create_transport(nested(change.key, change.json)));
        } catch (const ConfigurationError& e) {
            refused = e.what();
        }
        if (change.code) {
            EXPECT_NE(refused.find("is code, not configuration"), std::string::npos) << refused;
        } else if (shared_by_the_factory(change.key)) {
            EXPECT_NE(refused.find("differs from the factory's"), std::string::npos) << refused;
        } else {
            ASSERT_EQ(refused, "");
            EXPECT_TRUE(change.took_effect(transport->options()));
        }
    }
}

// Field by field, for the described structs that have no ==.
template <class T>
bool describe_equal(const T& a, const T& b) {
    if constexpr (is_described<T>) {
        bool equal = true;
        boost::mp11::mp_for_each<members<T>>(
            [&](auto d) { equal = equal && describe_equal(a.*d.pointer, b.*d.pointer); });
        return equal;
    } else {
        return a == b;
    }
}

// A value of T with one field changed (the first that a change may be made to).
template <class T>
T changed(const T& value) {
    if constexpr (std::is_same_v<T, bool>) {
        return !value;
    } else if constexpr (std::is_arithmetic_v<T>) {
        return value + 1;
    } else if constexpr (std::is_same_v<T, std::string>) {
        return value + "x";
    } else if constexpr (std::is_same_v<T, http::Duration>) {
        return value + 1s;
    } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
        T copy = value;
        copy.emplace_back("X-Changed");
        return copy;
    } else {
        T copy = value;
        bool done = false;
        boost::mp11::mp_for_each<members<T>>([&](auto d) {
            using Field = std::remove_cvref_t<decltype(copy.*d.pointer)>;
            if constexpr (std::is_same_v<Field, bool> || std::is_arithmetic_v<Field> ||
                          std::is_same_v<Field, http::Duration>) {
                if (!done) copy.*d.pointer = changed(copy.*d.pointer);
                done = true;
            }
        });
        return copy;
    }
}

TEST(Factory, EveryOptionsFieldCanBeOverridden) {
    // All but the injected clock and randomness, which the shared breakers and budgets use.
    std::vector<std::string> missing;
    boost::mp11::mp_for_each<members<http::Options>>([&](auto d) {
        const std::string_view name = d.name;
        if (name == "clock" || name == "random") return;
        bool found = false;
        boost::mp11::mp_for_each<members<http::Overrides>>(
            [&](auto o) { found = found || name == o.name; });
        if (!found) missing.emplace_back(name);
    });
    EXPECT_TRUE(missing.empty()) << "Options fields with no override: "
                                 << ::testing::PrintToString(missing);
}

TEST(Factory, EveryOverridesFieldTakesEffectOrIsRefused) {
    http::HTTPTransportFactory<> factory(std::string("http://127.0.0.1:1/api"));
    const http::Options& defaults = factory.defaults();
    std::size_t checked = 0;
    boost::mp11::mp_for_each<members<http::Overrides>>([&](auto o) {
        SCOPED_TRACE(o.name);
        using Type = std::remove_cvref_t<decltype(std::declval<http::Overrides>().*o.pointer)>;
        http::Overrides overrides;
        std::function<bool(const http::Options&)> took_effect;
        bool refusal_expected = false;
        if constexpr (std::is_same_v<Type, Headers>) {
            overrides.headers.set("X-Override", "1");
            took_effect = [](const http::Options& opts) {
                return opts.headers.get("X-Override") == "1";
            };
        } else if constexpr (std::is_same_v<typename Type::value_type,
                                            std::shared_ptr<http::CookieJar>>) {
            auto jar = std::make_shared<http::CookieJar>();
            overrides.cookies = jar;
            took_effect = [jar](const http::Options& opts) { return opts.cookies == jar; };
        } else if constexpr (std::is_same_v<typename Type::value_type, http::Hooks>) {
            overrides.hooks.emplace().on_request = [](const http::HttpMessage&) {};
            took_effect = [](const http::Options& opts) { return bool(opts.hooks.on_request); };
        } else {
            using Field = typename Type::value_type;
            // The Options field of the same name.
            Field value{};
            boost::mp11::mp_for_each<members<http::Options>>([&](auto d) {
                if constexpr (std::is_same_v<std::remove_cvref_t<decltype(defaults.*d.pointer)>,
                                             Field>) {
                    if (std::string_view(d.name) == o.name) {
                        if constexpr (std::is_same_v<Field, std::vector<std::string>>) {
                            value = defaults.*d.pointer;
                            value.push_back(list_entry(o.name));
                        } else {
                            value = changed(defaults.*d.pointer);
                        }
                    }
                }
            });
            if constexpr (std::is_same_v<Field, std::string>) {
                value = string_value(o.name);
            }
            if constexpr (std::is_same_v<Field, http::TlsOptions>) {
                value.ca_file = certificates().ca_cert.string(); // its strings are files
            }
            overrides.*o.pointer = value;
            refusal_expected = std::is_same_v<Field, http::CircuitBreakerPolicy>;
            took_effect = [value](const http::Options& opts) {
                bool same = false;
                boost::mp11::mp_for_each<members<http::Options>>([&](auto d) {
                    if constexpr (std::is_same_v<std::remove_cvref_t<decltype(opts.*d.pointer)>,
                                                 Field>) {
                        if (std::string_view(d.name) == decltype(o)::name) {
                            same = describe_equal(opts.*d.pointer, value);
                        }
                    }
                });
                return same;
            };
        }
        ++checked;
        std::string refused;
        try {
            const auto transport = factory.create_transport(overrides);
            EXPECT_FALSE(refusal_expected) << "accepted";
            EXPECT_TRUE(took_effect(transport.options()));
        } catch (const ConfigurationError& e) {
            refused = e.what();
            EXPECT_TRUE(refusal_expected) << refused;
            EXPECT_NE(refused.find("differs from the factory's"), std::string::npos) << refused;
        }
    });
    EXPECT_EQ(checked, boost::mp11::mp_size<members<http::Overrides>>::value);
    // The breaker's transitions call the factory's hook: an override's is refused.
    http::Overrides hook;
    hook.hooks.emplace().on_breaker_state = [](std::string_view, auto, auto) {};
    try {
        (void)factory.create_transport(hook);
        ADD_FAILURE() << "an override's on_breaker_state was accepted";
    } catch (const ConfigurationError& e) {
        EXPECT_NE(std::string(e.what()).find("hooks.on_breaker_state"), std::string::npos);
    }
}

} // namespace
} // namespace nector::test
