#include "http/errors/bridge.hpp"

namespace nector::http::detail {

std::error_code code_of(const std::exception_ptr& e, std::error_code fallback) noexcept {
    try {
        std::rethrow_exception(e);
    } catch (const std::system_error& error) {
        return error.code();
    } catch (...) {
        return fallback;
    }
}

std::string bare_message(const std::system_error& e) {
    std::string what = e.what();
    const std::string suffix = ": " + e.code().message();
    if (what.size() >= suffix.size() && what.ends_with(suffix)) {
        what.resize(what.size() - suffix.size());
    }
    return what;
}

} // namespace nector::http::detail
