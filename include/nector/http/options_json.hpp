// Options from a JSON configuration, for HTTPTransportFactory and the registry.
#pragma once

#include "nector/http/options.hpp"

#include <boost/json/value.hpp>

namespace nector::http {

/// `base` with the settings of `config` applied; null gives `base` unchanged. Keys are the
/// Options field names (base_url, headers, timeout, limits, follow_redirects,
/// max_redirects, verify_ssl, tls, http2, http2_prior_knowledge, max_response_bytes,
/// user_agent, raise_for_status, retry, circuit_breaker) plus the seed's flat
/// max_retries, retry_backoff_factor and retry_status_codes. Durations are seconds (a
/// number); "timeout" may be one number for every phase, like httpx; "headers" merge
/// onto the base headers; "circuit_breaker" may be true/false or an object (which
/// enables it). Throws ConfigurationError naming the key of any unknown key or bad value.
Options options_from_json(const boost::json::value& config, Options base = {});

} // namespace nector::http
