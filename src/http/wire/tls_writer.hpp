// Writing a TLS stream a batch at a time, the writes' half of TlsReader (tls_reader.hpp).
// Asio's TLS engine encrypts into a BIO pair that holds one record: a 64 KiB write is four
// records, four socket writes and four turns of the event loop. After the handshake a
// TlsWriter gives the SSL object a write BIO of its own that appends every record to a
// buffer of nector's, so a whole batch is encrypted at once and leaves in one socket write.
//
// For a connection whose reads go through a TlsReader (Asio's engine neither reads nor
// writes again) and whose writes are made by one loop: the records SSL_read makes of its
// own (a TLS 1.3 KeyUpdate answered, an alert) land in the same buffer and leave with the
// next batch; pending() says they wait.
#pragma once

#include <boost/system/error_code.hpp>

#include <openssl/ssl.h>

#include <array>
#include <string>
#include <string_view>

namespace nector::http::detail {

class TlsWriter {
public:
    TlsWriter() = default;
    ~TlsWriter();
    TlsWriter(const TlsWriter&) = delete;
    TlsWriter& operator=(const TlsWriter&) = delete;

    /// Takes over the writes of `ssl` (its handshake done, no Asio write pending). False,
    /// with `ssl` unchanged, while records Asio's engine made wait unsent in its BIO (an
    /// Asio write sends them: try again after one) or when the BIO cannot be made.
    bool attach(SSL* ssl) noexcept;
    bool attached() const noexcept { return ssl_ != nullptr; }

    /// Whether records wait to be sent that no seal() returned yet (SSL_read made them).
    bool pending() const noexcept { return !records_[current_].empty(); }

    /// Encrypts `plain` and returns every record made since the last call, these last:
    /// valid until the next call, which the caller makes only once they are all written.
    /// On failure `ec` is set (the connection must then be closed: part of the data may
    /// have been encrypted) and the result is empty.
    std::string_view seal(std::string_view plain, boost::system::error_code& ec);

private:
    SSL* ssl_ = nullptr;
    BIO* sink_ = nullptr; // a record sink (tls_batch.hpp): our reference; the SSL object
                          // holds the other
    // The sink appends to records_[current_]; the other holds what seal() last returned.
    std::array<std::string, 2> records_;
    std::size_t current_ = 0;
};

} // namespace nector::http::detail
