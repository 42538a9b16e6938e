// The four wires the table-driven integration tests run over: HTTP/1.1 and HTTP/2, plain
// and TLS, with the names their parameterised test names use.
#pragma once

#include <string>

namespace nector::test {

enum class Wire { h1, h1_tls, h2c, h2_tls };

inline std::string wire_name(Wire w) {
    switch (w) {
        case Wire::h1:
            return "Http11";
        case Wire::h1_tls:
            return "Http11Tls";
        case Wire::h2c:
            return "H2c";
        case Wire::h2_tls:
            return "H2Tls";
    }
    return "?";
}

inline bool is_tls(Wire w) { return w == Wire::h1_tls || w == Wire::h2_tls; }
inline bool is_h2(Wire w) { return w == Wire::h2c || w == Wire::h2_tls; }

} // namespace nector::test
