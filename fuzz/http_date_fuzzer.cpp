// HTTP-date parsing (src/http/message/http_date.cpp) and Retry-After (parse_retry_after),
// on arbitrary field values.
//
// Checked on every input: nothing thrown; a date read back from its IMF-fixdate form is the
// same date; a Retry-After delay is never negative, and a date in it gives the delay to that
// date (zero when it has passed).
#include "http/message/http_date.hpp"

#include <nector/http/retry.hpp>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <ctime>
#include <string>
#include <string_view>

namespace {

using namespace std::chrono;

/// `t` as an IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT"), or "" outside years 1000-9999.
std::string imf_fixdate(sys_seconds t) {
    const std::time_t c = static_cast<std::time_t>(t.time_since_epoch().count());
    std::tm tm{};
    if (gmtime_r(&c, &tm) == nullptr || tm.tm_year + 1900 < 1000 || tm.tm_year + 1900 > 9999)
        return {};
    char out[64];
    const std::size_t n = std::strftime(out, sizeof out, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    return std::string(out, n);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    // A fixed "now" (2026-12-04 00:00:00 UTC), so that a run is reproducible.
    const system_clock::time_point now{seconds{1796342400}};
    const auto date = nector::http::detail::parse_http_date(text, now);
    const auto delay = nector::http::parse_retry_after(text, now);
    if (delay && *delay < nector::http::Duration::zero()) std::abort();
    if (date) {
        const std::string again = imf_fixdate(*date);
        if (!again.empty() && nector::http::detail::parse_http_date(again, now) != date)
            std::abort();
        // The same text as a Retry-After: the time until that date, or zero once passed.
        if (!delay) std::abort();
        const auto until = *date - time_point_cast<seconds>(now);
        // (In seconds: a date far ahead saturates the delay at Duration::max().)
        if (until <= seconds::zero() ? *delay != nector::http::Duration::zero()
                                     : *delay != nector::http::Duration::max() &&
                                           duration_cast<seconds>(*delay) != until)
            std::abort();
    }
    return 0;
}
