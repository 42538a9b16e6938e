// Runs an awaitable to completion on a fresh io_context, for tests.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <utility>

#include <gtest/gtest.h>

namespace nector::test {

/// Runs `task` and returns its result, rethrowing what it throws.
template <class T>
T run(boost::asio::awaitable<T> task) {
    boost::asio::io_context io;
    auto result = boost::asio::co_spawn(io, std::move(task), boost::asio::use_future);
    io.run();
    return result.get();
}

/// Records a failed NECTOR_CO_ASSERT (a plain function: GCC 12 cannot keep the
/// literal-array temporaries of gtest's macros in a coroutine frame).
inline void co_assert_failed(const char* file, int line, const char* condition) {
    ADD_FAILURE_AT(file, line) << "assertion failed: " << condition;
}

} // namespace nector::test

/// ASSERT_TRUE for coroutines (gtest's ASSERT_* use `return`): records a failure and
/// ends the coroutine. Inside coroutines, compare with std::string_view("..."), not a bare
/// literal, and build braced lists outside: GCC 12 rejects array temporaries (string
/// literals bound to references, initializer_list arrays) in a coroutine frame.
#define NECTOR_CO_ASSERT(cond)                                       \
    if (!(cond)) {                                                   \
        ::nector::test::co_assert_failed(__FILE__, __LINE__, #cond); \
        co_return;                                                   \
    }
