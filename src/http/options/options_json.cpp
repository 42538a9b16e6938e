#include "nector/http/options_json.hpp"

#include "nector/transport/errors.hpp"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <cmath>
#include <string>

namespace nector::http {
namespace {

namespace json = boost::json;

[[noreturn]] void bad(const std::string& key, const std::string& why) {
    throw ConfigurationError(errc::invalid_configuration,
                             "HTTP transport config: \"" + key + "\" " + why);
}

bool to_bool(const std::string& key, const json::value& v) {
    if (!v.is_bool()) bad(key, "must be true or false");
    return v.get_bool();
}

std::string to_string(const std::string& key, const json::value& v) {
    if (!v.is_string()) bad(key, "must be a string");
    return std::string(v.get_string());
}

double to_number(const std::string& key, const json::value& v) {
    if (!v.is_number()) bad(key, "must be a number");
    const double d = v.to_number<double>();
    if (!std::isfinite(d)) bad(key, "must be finite");
    return d;
}

std::size_t to_count(const std::string& key, const json::value& v) {
    if (v.is_int64() && v.get_int64() >= 0) return static_cast<std::size_t>(v.get_int64());
    if (v.is_uint64()) return static_cast<std::size_t>(v.get_uint64());
    bad(key, "must be a non-negative integer");
}

// Durations are seconds, as httpx's floats.
Duration to_duration(const std::string& key, const json::value& v) {
    const double seconds = to_number(key, v);
    if (seconds < 0 || seconds > 1e9) bad(key, "must be a number of seconds >= 0");
    return std::chrono::duration_cast<Duration>(std::chrono::duration<double>(seconds));
}

const json::object& to_object(const std::string& key, const json::value& v) {
    if (!v.is_object()) bad(key, "must be an object");
    return v.get_object();
}

std::vector<int> to_statuses(const std::string& key, const json::value& v) {
    if (!v.is_array()) bad(key, "must be an array of status codes");
    std::vector<int> out;
    for (const auto& s : v.get_array()) {
        if (!s.is_int64() || s.get_int64() < 100 || s.get_int64() > 599) {
            bad(key, "must hold status codes from 100 to 599");
        }
        out.push_back(static_cast<int>(s.get_int64()));
    }
    return out;
}

void merge_headers(const std::string& key, const json::value& v, Headers& headers) {
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

void apply_timeout(const json::value& v, Timeout& t) {
    if (v.is_number()) {
        t = Timeout::all(to_duration("timeout", v));
        return;
    }
    for (const auto& [k, value] : to_object("timeout", v)) {
        const std::string key = "timeout." + std::string(k);
        if (k == "connect")
            t.connect = to_duration(key, value);
        else if (k == "read")
            t.read = to_duration(key, value);
        else if (k == "write")
            t.write = to_duration(key, value);
        else if (k == "pool")
            t.pool = to_duration(key, value);
        else if (k == "total")
            t.total = to_duration(key, value);
        else
            bad(key, "is not a timeout (connect, read, write, pool, total)");
    }
}

void apply_limits(const json::value& v, Limits& l) {
    for (const auto& [k, value] : to_object("limits", v)) {
        const std::string key = "limits." + std::string(k);
        if (k == "max_connections")
            l.max_connections = to_count(key, value);
        else if (k == "max_connections_per_origin")
            l.max_connections_per_origin = to_count(key, value);
        else if (k == "max_idle_connections")
            l.max_idle_connections = to_count(key, value);
        else if (k == "idle_timeout")
            l.idle_timeout = to_duration(key, value);
        else
            bad(key, "is not a limit");
    }
}

void apply_tls(const json::value& v, TlsOptions& t) {
    for (const auto& [k, value] : to_object("tls", v)) {
        const std::string key = "tls." + std::string(k);
        if (k == "ca_file")
            t.ca_file = to_string(key, value);
        else if (k == "ca_pem")
            t.ca_pem = to_string(key, value);
        else if (k == "cert_file")
            t.cert_file = to_string(key, value);
        else if (k == "key_file")
            t.key_file = to_string(key, value);
        else if (k == "cert_pem")
            t.cert_pem = to_string(key, value);
        else if (k == "key_pem")
            t.key_pem = to_string(key, value);
        else if (k == "min_version") {
            const std::string version = to_string(key, value);
            if (version == "1.2")
                t.min_version = TlsVersion::tls1_2;
            else if (version == "1.3")
                t.min_version = TlsVersion::tls1_3;
            else
                bad(key, "must be \"1.2\" or \"1.3\"");
        } else {
            bad(key, "is not a TLS option");
        }
    }
}

void apply_retry_key(const std::string& key, std::string_view k, const json::value& value,
                     RetryPolicy& r) {
    if (k == "max_retries")
        r.max_retries = to_count(key, value);
    else if (k == "backoff_factor" || k == "retry_backoff_factor")
        r.backoff_factor = to_duration(key, value);
    else if (k == "max_backoff")
        r.max_backoff = to_duration(key, value);
    else if (k == "retry_status_codes")
        r.retry_status_codes = to_statuses(key, value);
    else if (k == "retry_connect_errors")
        r.retry_connect_errors = to_bool(key, value);
    else if (k == "retry_timeouts")
        r.retry_timeouts = to_bool(key, value);
    else if (k == "retry_all_methods")
        r.retry_all_methods = to_bool(key, value);
    else if (k == "respect_retry_after")
        r.respect_retry_after = to_bool(key, value);
    else if (k == "max_retry_after")
        r.max_retry_after = to_duration(key, value);
    else if (k == "budget")
        r.budget = to_bool(key, value);
    else if (k == "budget_max_tokens")
        r.budget_max_tokens = to_number(key, value);
    else if (k == "budget_token_ratio")
        r.budget_token_ratio = to_number(key, value);
    else if (k == "jitter") {
        const std::string j = to_string(key, value);
        if (j == "none")
            r.jitter = Jitter::none;
        else if (j == "full")
            r.jitter = Jitter::full;
        else if (j == "equal")
            r.jitter = Jitter::equal;
        else if (j == "decorrelated")
            r.jitter = Jitter::decorrelated;
        else
            bad(key, "must be none, full, equal or decorrelated");
    } else {
        bad(key, "is not a retry option");
    }
}

void apply_breaker(const json::value& v, CircuitBreakerPolicy& b) {
    if (v.is_bool()) {
        b.enabled = v.get_bool();
        return;
    }
    b.enabled = true;
    for (const auto& [k, value] : to_object("circuit_breaker", v)) {
        const std::string key = "circuit_breaker." + std::string(k);
        if (k == "enabled")
            b.enabled = to_bool(key, value);
        else if (k == "failure_threshold")
            b.failure_threshold = to_count(key, value);
        else if (k == "reset_timeout")
            b.reset_timeout = to_duration(key, value);
        else if (k == "half_open_max_calls")
            b.half_open_max_calls = to_count(key, value);
        else if (k == "sliding_window")
            b.sliding_window = to_bool(key, value);
        else if (k == "window_size")
            b.window_size = to_count(key, value);
        else if (k == "minimum_calls")
            b.minimum_calls = to_count(key, value);
        else if (k == "failure_rate_threshold")
            b.failure_rate_threshold = to_number(key, value);
        else if (k == "count_connection_errors")
            b.count_connection_errors = to_bool(key, value);
        else if (k == "count_timeouts")
            b.count_timeouts = to_bool(key, value);
        else if (k == "count_server_errors")
            b.count_server_errors = to_bool(key, value);
        else if (k == "count_overload_statuses")
            b.count_overload_statuses = to_bool(key, value);
        else
            bad(key, "is not a circuit breaker option");
    }
}

std::uint32_t to_window(const std::string& key, const json::value& value) {
    const std::size_t n = to_count(key, value);
    if (n > 0x7fffffffU) bad(key, "must be at most 2^31-1");
    return static_cast<std::uint32_t>(n);
}

void apply_http2(const json::value& v, Http2Settings& h) {
    for (const auto& [k, value] : to_object("http2_settings", v)) {
        const std::string key = "http2_settings." + std::string(k);
        if (k == "stream_window")
            h.stream_window = to_window(key, value);
        else if (k == "connection_window")
            h.connection_window = to_window(key, value);
        else if (k == "max_concurrent_streams")
            h.max_concurrent_streams = to_window(key, value);
        else if (k == "ping_interval")
            h.ping_interval = to_duration(key, value);
        else if (k == "ping_timeout")
            h.ping_timeout = to_duration(key, value);
        else
            bad(key, "is not an HTTP/2 setting");
    }
}

} // namespace

Options options_from_json(const boost::json::value& config, Options base) {
    if (config.is_null()) return base;
    for (const auto& [k, value] : to_object("config", config)) {
        const std::string key(k);
        if (k == "base_url")
            base.base_url = to_string(key, value);
        else if (k == "headers")
            merge_headers(key, value, base.headers);
        else if (k == "timeout")
            apply_timeout(value, base.timeout);
        else if (k == "limits")
            apply_limits(value, base.limits);
        else if (k == "follow_redirects")
            base.follow_redirects = to_bool(key, value);
        else if (k == "max_redirects")
            base.max_redirects = to_count(key, value);
        else if (k == "verify_ssl")
            base.verify_ssl = to_bool(key, value);
        else if (k == "tls")
            apply_tls(value, base.tls);
        else if (k == "http2")
            base.http2 = to_bool(key, value);
        else if (k == "http2_prior_knowledge")
            base.http2_prior_knowledge = to_bool(key, value);
        else if (k == "http2_settings")
            apply_http2(value, base.http2_settings);
        else if (k == "max_response_bytes")
            base.max_response_bytes = to_count(key, value);
        else if (k == "decode_content")
            base.decode_content = to_bool(key, value);
        else if (k == "max_decoded_bytes")
            base.max_decoded_bytes = to_count(key, value);
        else if (k == "user_agent")
            base.user_agent = to_string(key, value);
        else if (k == "raise_for_status")
            base.raise_for_status = to_bool(key, value);
        else if (k == "retry") {
            for (const auto& [rk, rv] : to_object(key, value)) {
                apply_retry_key("retry." + std::string(rk), rk, rv, base.retry);
            }
        } else if (k == "max_retries" || k == "retry_backoff_factor" || k == "retry_status_codes") {
            apply_retry_key(key, k, value, base.retry); // the seed's flat names
        } else if (k == "circuit_breaker") {
            apply_breaker(value, base.circuit_breaker);
        } else {
            bad(key, "is not an option of the HTTP transport");
        }
    }
    return base;
}

} // namespace nector::http
