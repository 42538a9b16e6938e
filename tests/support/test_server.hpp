// The HTTP/1.1 test server nector's tests use: nector::testing's (installed; docs/testing.md),
// under the tests' namespace.
#pragma once

#include <nector/testing/test_server.hpp>

namespace nector::test {
using testing::http_response;
using testing::RecordedRequest;
using testing::TestConnection;
using testing::TestServer;
using testing::TlsFiles;
} // namespace nector::test
