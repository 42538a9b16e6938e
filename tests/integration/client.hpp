// Helpers for integration tests: one-shot requests through a fresh HTTPTransport.
#pragma once

#include "support/run.hpp"

#include <nector/http/transport.hpp>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>

namespace nector::test {
namespace asio = boost::asio;

using http::HttpMessage;
using http::HTTPTransport;
using http::Options;
using http::Response;

/// connect, one request, disconnect.
inline asio::awaitable<Response> request_once(Options options, HttpMessage message) {
    HTTPTransport<> t(std::move(options));
    co_await t.connect();
    Response r = co_await t.request(std::move(message));
    co_await t.disconnect();
    co_return r;
}

/// request_once, run to completion on a fresh io_context.
inline Response fetch(Options options, HttpMessage message) {
    return run(request_once(std::move(options), std::move(message)));
}

inline Response fetch(std::string url, Options options = {}) {
    HttpMessage m;
    m.url = std::move(url);
    return fetch(std::move(options), std::move(m));
}

/// The exception fetch() throws, as E; fails the test when it throws nothing or another type.
template <class E>
std::optional<E> fetch_error(Options options, HttpMessage message) {
    try {
        (void)fetch(std::move(options), std::move(message));
        ADD_FAILURE() << "expected an exception";
    } catch (const E& e) {
        return e;
    } catch (const std::exception& e) {
        ADD_FAILURE() << "unexpected exception " << typeid(e).name() << ": " << e.what();
    }
    return std::nullopt;
}

template <class E>
std::optional<E> fetch_error(std::string url, Options options = {}) {
    HttpMessage m;
    m.url = std::move(url);
    return fetch_error<E>(std::move(options), std::move(m));
}

/// The bytes of the file at `p` (empty if it cannot be read).
inline std::string read_file(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

inline bool contains(std::string_view text, std::string_view part) {
    return text.find(part) != std::string_view::npos;
}

} // namespace nector::test
