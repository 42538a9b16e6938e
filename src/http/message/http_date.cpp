#include "http/message/http_date.hpp"

#include <algorithm>
#include <array>

namespace nector::http::detail {
namespace {

bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

char lower(char c) noexcept { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) noexcept {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(),
                                              [](char x, char y) { return lower(x) == lower(y); });
}

// A left-to-right reader of one HTTP-date form. Every read consumes on success only;
// letters compare case-insensitively (lenient: RFC 9110 says HTTP-date is case-sensitive).
class Reader {
public:
    explicit Reader(std::string_view text) : text_(text) {}

    bool done() const noexcept { return pos_ == text_.size(); }

    bool literal(std::string_view lit) {
        if (!iequals(text_.substr(pos_, lit.size()), lit)) return false;
        pos_ += lit.size();
        return true;
    }

    // Exactly `n` digits.
    std::optional<int> number(std::size_t n) {
        if (text_.size() - pos_ < n) return std::nullopt;
        int value = 0;
        for (std::size_t i = 0; i < n; ++i) {
            const char c = text_[pos_ + i];
            if (!is_digit(c)) return std::nullopt;
            value = value * 10 + (c - '0');
        }
        pos_ += n;
        return value;
    }

    // One of `names`; returns its index.
    template <std::size_t N>
    std::optional<unsigned> one_of(const std::array<std::string_view, N>& names) {
        for (unsigned i = 0; i < N; ++i) {
            if (literal(names[i])) return i;
        }
        return std::nullopt;
    }

private:
    std::string_view text_;
    std::size_t pos_ = 0;
};

constexpr std::array<std::string_view, 7> short_days{"Mon", "Tue", "Wed", "Thu",
                                                     "Fri", "Sat", "Sun"};
constexpr std::array<std::string_view, 7> long_days{"Monday", "Tuesday",  "Wednesday", "Thursday",
                                                    "Friday", "Saturday", "Sunday"};
constexpr std::array<std::string_view, 12> months{"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

struct DateParts {
    int year = 0;
    unsigned month = 0; // 1..12
    int day = 0;
    int hour = 0;
    int minute = 0;
    int second = 0;
};

// time-of-day = hour ":" minute ":" second
bool read_time(Reader& r, DateParts& p) {
    const auto h = r.number(2);
    if (!h || !r.literal(":")) return false;
    const auto m = r.number(2);
    if (!m || !r.literal(":")) return false;
    const auto s = r.number(2);
    if (!s) return false;
    p.hour = *h;
    p.minute = *m;
    p.second = *s;
    return true;
}

std::optional<unsigned> read_month(Reader& r) {
    const auto m = r.one_of(months);
    if (!m) return std::nullopt;
    return *m + 1;
}

// IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT"
std::optional<DateParts> read_imf_fixdate(std::string_view text) {
    Reader r(text);
    DateParts p;
    if (!r.one_of(short_days) || !r.literal(", ")) return std::nullopt;
    const auto day = r.number(2);
    if (!day || !r.literal(" ")) return std::nullopt;
    const auto month = read_month(r);
    if (!month || !r.literal(" ")) return std::nullopt;
    const auto year = r.number(4);
    if (!year || !r.literal(" ") || !read_time(r, p) || !r.literal(" GMT") || !r.done()) {
        return std::nullopt;
    }
    p.year = *year;
    p.month = *month;
    p.day = *day;
    return p;
}

// rfc850-date: "Sunday, 06-Nov-94 08:49:37 GMT". The year is filled in by the caller.
std::optional<DateParts> read_rfc850_date(std::string_view text, int& two_digit_year) {
    Reader r(text);
    DateParts p;
    if (!r.one_of(long_days) || !r.literal(", ")) return std::nullopt;
    const auto day = r.number(2);
    if (!day || !r.literal("-")) return std::nullopt;
    const auto month = read_month(r);
    if (!month || !r.literal("-")) return std::nullopt;
    const auto year = r.number(2);
    if (!year || !r.literal(" ") || !read_time(r, p) || !r.literal(" GMT") || !r.done()) {
        return std::nullopt;
    }
    two_digit_year = *year;
    p.month = *month;
    p.day = *day;
    return p;
}

// asctime-date: "Sun Nov  6 08:49:37 1994" (the day is 2DIGIT or SP DIGIT).
std::optional<DateParts> read_asctime_date(std::string_view text) {
    Reader r(text);
    DateParts p;
    if (!r.one_of(short_days) || !r.literal(" ")) return std::nullopt;
    const auto month = read_month(r);
    if (!month || !r.literal(" ")) return std::nullopt;
    auto day = r.literal(" ") ? r.number(1) : r.number(2);
    if (!day || !r.literal(" ") || !read_time(r, p) || !r.literal(" ")) return std::nullopt;
    const auto year = r.number(4);
    if (!year || !r.done()) return std::nullopt;
    p.year = *year;
    p.month = *month;
    p.day = *day;
    return p;
}

// RFC 9110 §5.6.7: a two-digit year that would be more than 50 years in the future is
// the most recent past year with those digits. Compared by year, not to the second.
int full_year(int two_digit_year, int now_year) {
    const int latest = now_year + 50;
    return latest - (((latest - two_digit_year) % 100) + 100) % 100;
}

std::optional<std::chrono::sys_seconds> to_time(const DateParts& p) {
    using namespace std::chrono;
    const year_month_day date{year{p.year}, month{p.month}, day{static_cast<unsigned>(p.day)}};
    // Second 60 is a leap second; it is read as the first second of the next minute.
    if (!date.ok() || p.hour > 23 || p.minute > 59 || p.second > 60) return std::nullopt;
    return sys_days{date} + hours{p.hour} + minutes{p.minute} + seconds{p.second};
}

} // namespace

std::optional<std::chrono::sys_seconds> parse_http_date(std::string_view text,
                                                        std::chrono::system_clock::time_point now) {
    if (auto p = read_imf_fixdate(text)) return to_time(*p);
    int yy = 0;
    if (auto p = read_rfc850_date(text, yy)) {
        using namespace std::chrono;
        const year_month_day today{floor<days>(now)};
        p->year = full_year(yy, static_cast<int>(today.year()));
        return to_time(*p);
    }
    if (auto p = read_asctime_date(text)) return to_time(*p);
    return std::nullopt;
}

} // namespace nector::http::detail
