// Writing to a TLS stream a batch at a time. Asio's TLS engine encrypts into a memory BIO
// pair that holds one record (17 KiB): a large write becomes one 16 KiB record, one socket
// write and one trip through the event loop after another. A TlsBatch lends the SSL object
// a record sink (a BIO appending to a string) for the duration of one write instead, so
// OpenSSL encrypts every record of the write at once and they go out in one socket write.
#pragma once

#include <boost/asio/buffer.hpp>
#include <boost/system/error_code.hpp>

#include <openssl/ssl.h>

#include <span>
#include <string>
#include <string_view>

namespace nector::http::detail {

/// A write BIO that appends each record OpenSSL writes to `*records` (no copy but
/// OpenSSL's into the string; unlike a memory BIO it clears nothing), which
/// retarget_record_sink() changes. Null when it cannot be made.
BIO* new_record_sink(std::string* records) noexcept;
void retarget_record_sink(BIO* sink, std::string* records) noexcept;

/// Encrypts all of `plain` with `ssl` into its write BIO (Asio sets
/// SSL_MODE_ENABLE_PARTIAL_WRITE: each SSL_write_ex may take one record's worth). False,
/// `ec` set (take_ssl_error), when OpenSSL fails; part of it may have been encrypted.
bool encrypt_all(SSL* ssl, std::string_view plain, boost::system::error_code& ec) noexcept;

/// The error at the head of OpenSSL's queue, which is then cleared, as Asio reports it (SSL
/// category); stream_truncated when the queue is empty (the peer's socket went).
boost::system::error_code take_ssl_error() noexcept;

class TlsBatch {
public:
    TlsBatch() = default;
    ~TlsBatch();
    TlsBatch(const TlsBatch&) = delete;
    TlsBatch& operator=(const TlsBatch&) = delete;

    /// Whether a write of `size` bytes with `ssl` should go through a batch: the handshake
    /// is done (no renegotiation under way, which Asio's engine must drive) and the records
    /// fit a bounded buffer (at most max_bytes of data; larger writes go through Asio's
    /// engine, a record at a time).
    static bool suits(SSL* ssl, std::size_t size) noexcept {
        return size <= max_bytes && SSL_is_init_finished(ssl) == 1;
    }
    static constexpr std::size_t max_bytes = std::size_t{256} * 1024;

    /// Encrypts `buffers` with `ssl` (whose handshake is done and whose own write BIO holds
    /// nothing unsent, as after any completed Asio write) and returns the TLS records, valid
    /// until the next call or the batch's end; the caller writes them to the socket under
    /// the TLS stream. The SSL object gets its own write BIO back before this returns. On
    /// failure `ec` is set (the connection must then be closed: part of the data may
    /// have been encrypted) and the result is empty.
    std::string_view seal(SSL* ssl, std::span<const boost::asio::const_buffer> buffers,
                          boost::system::error_code& ec);

private:
    BIO* sink_ = nullptr; // kept between calls
    std::string records_; // the last call's records; keeps its capacity
};

} // namespace nector::http::detail
