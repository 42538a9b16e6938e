// Duration: how long, in nector's options and policies.
#pragma once

#include <chrono>

namespace nector::http {

/// Durations in options and policies: any std::chrono duration converts (2s, 250ms).
using Duration = std::chrono::steady_clock::duration;

} // namespace nector::http
