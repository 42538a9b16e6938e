#include "http/message/digest.hpp"

#include "nector/transport/headers.hpp"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>
#include <stdexcept>

namespace nector::http::detail {
namespace {

bool is_tchar(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 ||
           std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// One WWW-Authenticate field value as a list of challenges: a scheme followed by
// name=value parameters (tokens or quoted strings), all separated by commas.
struct Challenge {
    std::string scheme;
    std::vector<std::pair<std::string, std::string>> params;

    std::optional<std::string> get(std::string_view name) const {
        for (const auto& [n, v] : params) {
            if (iequals(n, name)) return v;
        }
        return std::nullopt;
    }
};

std::vector<Challenge> parse_challenges(std::string_view text) {
    std::vector<Challenge> out;
    std::size_t i = 0;
    const auto skip = [&](std::string_view chars) {
        while (i < text.size() && chars.find(text[i]) != std::string_view::npos) ++i;
    };
    const auto token = [&] {
        const std::size_t start = i;
        while (i < text.size() && is_tchar(text[i])) ++i;
        return std::string(text.substr(start, i - start));
    };
    while (i < text.size()) {
        skip(" \t,");
        if (i >= text.size()) break;
        const std::size_t before = i;
        std::string word = token();
        if (word.empty()) { // not a token: skip a character, stay in step
            ++i;
            continue;
        }
        skip(" \t");
        if (i < text.size() && text[i] == '=' && !out.empty()) {
            ++i;
            skip(" \t");
            std::string value;
            if (i < text.size() && text[i] == '"') {
                for (++i; i < text.size() && text[i] != '"'; ++i) {
                    if (text[i] == '\\' && i + 1 < text.size()) ++i;
                    value += text[i];
                }
                ++i; // the closing quote
            } else {
                value = token();
                while (i < text.size() && text[i] == '=') value += text[i++]; // token68 padding
            }
            out.back().params.emplace_back(std::move(word), std::move(value));
        } else if (i < text.size() && text[i] == '=') {
            ++i; // a parameter before any scheme: ignored
            (void)before;
        } else {
            out.push_back(Challenge{std::move(word), {}});
        }
    }
    return out;
}

std::string hex(const unsigned char* data, std::size_t size) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(size * 2);
    for (std::size_t i = 0; i < size; ++i) {
        out += digits[data[i] >> 4];
        out += digits[data[i] & 0xF];
    }
    return out;
}

std::string hash(DigestChallenge::Hash h, std::string_view data) {
    const EVP_MD* md = nullptr;
    switch (h) {
        case DigestChallenge::Hash::md5:
            md = EVP_md5();
            break;
        case DigestChallenge::Hash::sha256:
            md = EVP_sha256();
            break;
        case DigestChallenge::Hash::sha512_256:
            md = EVP_sha512_256();
            break;
        case DigestChallenge::Hash::sha512:
            md = EVP_sha512();
            break;
    }
    std::array<unsigned char, EVP_MAX_MD_SIZE> out{};
    unsigned size = 0;
    if (md == nullptr ||
        EVP_Digest(data.data(), data.size(), out.data(), &size, md, nullptr) != 1) {
        throw std::runtime_error("digest auth: the hash is not available in OpenSSL");
    }
    return hex(out.data(), size);
}

// A quoted-string (RFC 9110 §5.6.4).
std::string quoted(std::string_view text) {
    std::string out = "\"";
    for (const char c : text) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    return out + "\"";
}

} // namespace

std::optional<DigestChallenge> parse_digest_challenge(const std::vector<std::string_view>& values) {
    for (const std::string_view value : values) {
        for (const Challenge& c : parse_challenges(value)) {
            if (!iequals(c.scheme, "Digest")) continue;
            DigestChallenge d;
            const auto nonce = c.get("nonce");
            if (!nonce) continue;
            d.nonce = *nonce;
            d.realm = c.get("realm").value_or("");
            if (const auto opaque = c.get("opaque")) {
                d.opaque = *opaque;
                d.has_opaque = true;
            }
            d.algorithm = c.get("algorithm").value_or("MD5");
            std::string_view name = d.algorithm;
            if (name.size() > 5 && iequals(name.substr(name.size() - 5), "-sess")) {
                d.session = true;
                name.remove_suffix(5);
            }
            if (iequals(name, "MD5")) {
                d.hash = DigestChallenge::Hash::md5;
            } else if (iequals(name, "SHA-256")) {
                d.hash = DigestChallenge::Hash::sha256;
            } else if (iequals(name, "SHA-512-256")) {
                d.hash = DigestChallenge::Hash::sha512_256;
            } else if (iequals(name, "SHA-512")) { // not RFC 7616's, but httpbin's
                d.hash = DigestChallenge::Hash::sha512;
            } else {
                continue;
            }
            if (const auto qop = c.get("qop")) {
                // A list: "auth", "auth-int" or both. auth-int (a hash of the body) is not
                // offered by nector; a challenge that allows only it cannot be answered.
                std::string_view rest = *qop;
                while (!rest.empty()) {
                    const auto comma = rest.find(',');
                    std::string_view item = rest.substr(0, comma);
                    while (!item.empty() && (item.front() == ' ' || item.front() == '\t'))
                        item.remove_prefix(1);
                    while (!item.empty() && (item.back() == ' ' || item.back() == '\t'))
                        item.remove_suffix(1);
                    if (iequals(item, "auth")) d.qop_auth = true;
                    rest = comma == std::string_view::npos ? std::string_view{}
                                                           : rest.substr(comma + 1);
                }
                if (!d.qop_auth) continue;
            } else if (d.session) {
                continue; // -sess needs a cnonce, which only comes with a qop
            }
            d.stale = iequals(c.get("stale").value_or(""), "true");
            d.userhash = iequals(c.get("userhash").value_or(""), "true");
            return d;
        }
    }
    return std::nullopt;
}

std::string digest_authorization(const DigestChallenge& c, std::string_view user,
                                 std::string_view password, std::string_view method,
                                 std::string_view uri, std::uint32_t nc, std::string_view cnonce) {
    const std::string credentials = std::string(user) + ":" + c.realm + ":" + std::string(password);
    std::string ha1 = hash(c.hash, credentials);
    if (c.session) ha1 = hash(c.hash, ha1 + ":" + c.nonce + ":" + std::string(cnonce));
    const std::string ha2 = hash(c.hash, std::string(method) + ":" + std::string(uri));
    char count[9];
    std::snprintf(count, sizeof count, "%08x", nc);
    const std::string response = c.qop_auth ? hash(c.hash, ha1 + ":" + c.nonce + ":" + count + ":" +
                                                               std::string(cnonce) + ":auth:" + ha2)
                                            : hash(c.hash, ha1 + ":" + c.nonce + ":" + ha2);

    std::string out = "Digest ";
    const bool ascii = std::all_of(user.begin(), user.end(), [](char ch) {
        return static_cast<unsigned char>(ch) >= 0x20 && static_cast<unsigned char>(ch) < 0x7F;
    });
    if (c.userhash) {
        out += "username=" + quoted(hash(c.hash, std::string(user) + ":" + c.realm));
    } else if (ascii) {
        out += "username=" + quoted(user);
    } else { // RFC 7616 §3.4.4: username* in RFC 8187's encoding
        out += "username*=UTF-8''";
        for (const char ch : user) {
            const auto b = static_cast<unsigned char>(ch);
            if (std::isalnum(b) != 0 ||
                std::string_view("!#$&+-.^_`|~").find(ch) != std::string_view::npos) {
                out += ch;
            } else {
                char escaped[4];
                std::snprintf(escaped, sizeof escaped, "%%%02X", b);
                out += escaped;
            }
        }
    }
    out += ", realm=" + quoted(c.realm);
    out += ", nonce=" + quoted(c.nonce);
    out += ", uri=" + quoted(uri);
    out += ", algorithm=" + c.algorithm;
    out += ", response=" + quoted(response);
    if (c.has_opaque) out += ", opaque=" + quoted(c.opaque);
    if (c.qop_auth) {
        out += ", qop=auth, nc=" + std::string(count) + ", cnonce=" + quoted(cnonce);
    }
    if (c.userhash) out += ", userhash=true";
    return out;
}

std::string make_cnonce() {
    std::array<unsigned char, 16> bytes{};
    if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
        throw std::runtime_error("digest auth: no random bytes from OpenSSL");
    }
    return hex(bytes.data(), bytes.size());
}

} // namespace nector::http::detail
