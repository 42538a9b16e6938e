// Reading a TLS stream several records at a time. Asio's TLS engine reads the socket into a
// 17 KiB buffer and hands it to OpenSSL through a BIO pair of the same size: one record per
// socket read, and each read a turn of the event loop. After the handshake a TlsReader gives
// the SSL object a read BIO of its own, the half of a pair with room for several records,
// which the caller fills straight from the socket (no copy on the way in) and drains with
// SSL_read. The SSL object's writes still go through Asio's engine.
//
// For a connection whose every later read goes through the reader (HTTP/2's read loop).
// Asio's engine must not read again: renegotiation is refused (SSL_OP_NO_RENEGOTIATION, as
// RFC 9113 §9.2.1 requires of HTTP/2 over TLS 1.2), so a write never needs to, and nothing
// shuts the stream down through Asio.
#pragma once

#include <boost/asio/buffer.hpp>
#include <boost/system/error_code.hpp>

#include <openssl/ssl.h>

#include <cstddef>

namespace nector::http::detail {

class TlsReader {
public:
    TlsReader() = default;
    ~TlsReader();
    TlsReader(const TlsReader&) = delete;
    TlsReader& operator=(const TlsReader&) = delete;

    /// Takes over the reads of `ssl` (its handshake done, no Asio read pending). False, with
    /// `ssl` unchanged, while bytes Asio's engine received wait unread by OpenSSL (Asio
    /// keeps reading until they are taken: try again after a read that took them all) or
    /// when the BIO cannot be made.
    bool attach(SSL* ssl) noexcept;
    bool attached() const noexcept { return ssl_ != nullptr; }

    /// Where the next socket read goes: the free room of the read BIO (all of it once
    /// read() has returned 0: OpenSSL then holds a partial record in its own buffer).
    boost::asio::mutable_buffer space() noexcept;
    /// `n` bytes were read from the socket into space().
    void filled(std::size_t n) noexcept;
    /// Decrypts into `out`: the bytes of one record, or 0 when a whole record is not there
    /// yet (`ec` clear; read the socket), or 0 with `ec` set: asio::error::eof at the
    /// peer's close_notify, an SSL error for a record that does not decrypt or verify.
    std::size_t read(boost::asio::mutable_buffer out, boost::system::error_code& ec) noexcept;

    /// Room in the BIO, what one socket read may take: five whole records of 16 KiB with
    /// their headers and tags.
    static constexpr std::size_t capacity = std::size_t{81} * 1024;

private:
    SSL* ssl_ = nullptr;
    BIO* external_ = nullptr; // our half of the pair; the SSL object reads from the other
};

} // namespace nector::http::detail
