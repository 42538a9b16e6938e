// Basic and Bearer header values (nector/http/auth.hpp). Part of the message room.
#include "nector/http/auth.hpp"

#include "detail/base64.hpp"
#include "nector/transport/protocol.hpp"

#include <string>

namespace nector::http {

std::string basic_auth(std::string_view user, std::string_view password) {
    const std::string credentials = std::string(user) + ":" + std::string(password);
    return "Basic " + nector::detail::base64_encode(nector::as_bytes(credentials));
}

std::string bearer_auth(std::string_view token) { return "Bearer " + std::string(token); }

} // namespace nector::http
