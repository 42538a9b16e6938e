// Request preparation, the first step of a call: the message validated, its URL resolved
// against base_url, the transport's default headers merged with its own, its body encoded,
// credentials from the URL turned into Basic auth. Part of the client room.
#pragma once

#include "http/client/exchange.hpp"
#include "nector/http/message.hpp"
#include "nector/http/options.hpp"

namespace nector::http::detail {

class Preparer {
public:
    /// Merges the transport's headers with the defaults nector adds (User-Agent, Accept,
    /// Accept-Encoding) once, for every request.
    explicit Preparer(const Options& options);

    /// `message` ready for the wire; a typed error naming the request otherwise. Not a
    /// coroutine, so that it may catch and rethrow with context (GCC 12).
    Prepared operator()(HttpMessage& message) const;

private:
    const Options& options_;
    Headers default_headers_;
    bool defaults_valid_ = false; ///< else each request reports the bad default header
};

} // namespace nector::http::detail
