// The HTTP/2 test server nector's tests use: nector::testing's (installed; docs/testing.md),
// under the tests' namespace, and the TLS files of the tests' own PKI for it.
#pragma once

#include "support/test_server.hpp"

#include <nector/testing/h2_server.hpp>

namespace nector::test {
using testing::H2Action;
using testing::H2Error;
using testing::H2Fields;
using testing::H2GoAway;
using testing::H2Request;
using testing::H2Reset;
using testing::H2ServerOptions;
using testing::H2TestServer;

/// The test PKI's server certificate and key (servers.hpp's certificates()), for
/// H2ServerOptions::tls.
TlsFiles h2_tls_files();
} // namespace nector::test
