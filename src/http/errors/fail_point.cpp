#include "http/errors/fail_point.hpp"

namespace nector::http::detail {
namespace {

thread_local FailCount* armed = nullptr;

} // namespace

FailCount::FailCount(std::size_t n) noexcept : n_(n) { armed = this; }

FailCount::~FailCount() {
    if (armed == this) armed = nullptr;
}

bool FailCount::count() noexcept {
    FailCount* f = armed;
    if (f == nullptr || f->fired_) return false;
    if (++f->counted_ != f->n_) return false;
    f->fired_ = true;
    return true;
}

} // namespace nector::http::detail
