#include "nector/transport/mock.hpp"

#include <boost/json/object.hpp>

namespace nector {
namespace json = boost::json;
namespace {
[[noreturn]] void bad(const std::string& reason) {
    throw ConfigurationError(errc::invalid_configuration, "MockTransport config: " + reason);
}
} // namespace

MockOptions mock_options_from_json(const json::value& config, MockOptions defaults) {
    if (config.is_null()) return defaults;
    const json::object* object = config.if_object();
    if (!object) bad("expected a JSON object");
    MockOptions options = defaults;
    for (const auto& [key, value] : *object) {
        if (key == "connect_error") {
            if (value.is_null()) {
                options.connect_error = {};
            } else if (const auto* name = value.if_string()) {
                const auto code = errc_from_string(*name);
                if (!code)
                    bad(R"("connect_error": unknown error code ")" + std::string(*name) + "\"");
                options.connect_error = *code;
            } else {
                bad("\"connect_error\" must be an error code name or null");
            }
        } else if (key == "max_pending") {
            if (value.is_int64() && value.get_int64() >= 0) {
                options.max_pending = static_cast<std::size_t>(value.get_int64());
            } else if (value.is_uint64()) {
                options.max_pending = static_cast<std::size_t>(value.get_uint64());
            } else {
                bad("\"max_pending\" must be a non-negative integer");
            }
        } else {
            bad("unknown key \"" + std::string(key) + "\" (known: connect_error, max_pending)");
        }
    }
    return options;
}

} // namespace nector
