// Options from a JSON configuration, for HTTPTransportFactory and the registry.
#pragma once

#include "nector/http/options.hpp"

#include <boost/json/value.hpp>

namespace nector::http {

/// `base` with the settings of `config` applied; null gives `base` unchanged. Keys are the
/// names of Options' fields, and inside "timeout", "limits", "tls", "http2_settings",
/// "retry" and "circuit_breaker" the names of their fields (every field is described once
/// in options.hpp, and this walks that description), plus the seed's flat max_retries,
/// retry_backoff_factor and retry_status_codes. Durations are seconds (a number);
/// "timeout" may be one number for every phase, like httpx; "headers" merge onto the base
/// headers; "circuit_breaker" may be true/false or an object (which enables it);
/// "tls.min_version" is "1.2" or "1.3"; "retry.jitter" none, full, equal or decorrelated.
/// "hooks", "clock" and "random" are code and are refused. Throws ConfigurationError
/// naming the key of any unknown key or bad value.
Options options_from_json(const boost::json::value& config, Options base = {});

} // namespace nector::http
