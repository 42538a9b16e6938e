// HTTP Digest access authentication (RFC 7616), the message side: a WWW-Authenticate
// challenge read, and the Authorization value that answers it. Part of the message room;
// the client room's auth layer keeps the challenges per origin and sends the answers.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nector::http::detail {

/// A Digest challenge nector can answer.
struct DigestChallenge {
    enum class Hash { md5, sha256, sha512_256, sha512 };
    std::string realm;
    std::string nonce;
    std::string opaque; ///< sent back as it came, when present
    bool has_opaque = false;
    std::string algorithm; ///< as the server named it ("MD5", "SHA-256-sess", ...)
    Hash hash = Hash::md5;
    bool session = false;  ///< a "-sess" algorithm
    bool qop_auth = false; ///< qop=auth offered (else the RFC 2069 form, no qop)
    bool stale = false;    ///< the last answer's nonce expired; the credentials were right
    bool userhash = false; ///< the user name is sent hashed
};

/// The first Digest challenge among `values` (WWW-Authenticate fields, each a list of
/// challenges, RFC 9110 §11.6.1) with an algorithm and a qop nector supports; nullopt if
/// none is.
std::optional<DigestChallenge> parse_digest_challenge(const std::vector<std::string_view>& values);

/// The Authorization value answering `challenge` for a request `method` `uri` (its
/// request-target), with nonce count `nc` and client nonce `cnonce`.
std::string digest_authorization(const DigestChallenge& challenge, std::string_view user,
                                 std::string_view password, std::string_view method,
                                 std::string_view uri, std::uint32_t nc, std::string_view cnonce);

/// 16 random bytes in hex, for a cnonce.
std::string make_cnonce();

} // namespace nector::http::detail
