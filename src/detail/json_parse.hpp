// JSON parsing with exact numbers.
//
// Boost.JSON 1.81's parser can be off by an ulp or two on some doubles (its precise
// mode arrived in 1.83), so text it serialized may parse back to a different value.
// parse_json reads every double with std::from_chars, which is exact, so that
// serialize → parse round-trips.
#pragma once

#include <boost/json/error.hpp>
#include <boost/json/value.hpp>

#include <cstddef>
#include <string_view>

namespace nector::detail {

struct JsonParseResult {
    boost::json::value value;      ///< the document (null on error)
    boost::json::error_code error; ///< set on invalid JSON, trailing data or too deep
    std::size_t consumed = 0;      ///< bytes read before the error (or all of them)
};

/// Parses exactly one JSON document from all of `text`, nesting at most `max_depth`.
JsonParseResult parse_json(std::string_view text, std::size_t max_depth);

} // namespace nector::detail
