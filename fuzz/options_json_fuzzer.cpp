// Options from JSON (options_from_json) on arbitrary configuration text.
//
// Checked on every input: text that is not JSON is refused by the JSON parser, never by a
// crash; options_from_json throws only ConfigurationError, and so does the validation a
// transport applies to the options it returns (no other exception, no crash, no leak).
#include <nector/http/options_json.hpp>
#include <nector/transport/errors.hpp>

#include <boost/json/parse.hpp>

#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "http/options/validate.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    boost::system::error_code ec;
    const boost::json::value config = boost::json::parse(text, ec);
    if (ec) return 0;
    try {
        const nector::http::Options options = nector::http::options_from_json(config);
        nector::http::detail::validate(options);
    } catch (const nector::ConfigurationError&) {
        // refused, with a message naming the key
    }
    return 0;
}
