#include "http/wire/tls_reader.hpp"

#include "http/wire/tls_batch.hpp"

#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>

#include <openssl/bio.h>
#include <openssl/err.h>

namespace nector::http::detail {

TlsReader::~TlsReader() {
    if (external_) BIO_free(external_); // the SSL object frees its half with itself
}

bool TlsReader::attach(SSL* ssl) noexcept {
    // Asio's engine passes what it reads to OpenSSL through its own BIO pair; bytes OpenSSL
    // has not read yet are there (Asio's input buffer is the pair's size and is emptied
    // into it whenever OpenSSL asks for more). While any wait, Asio keeps the reads.
    BIO* own = SSL_get_rbio(ssl);
    if (!own || BIO_ctrl_pending(own) != 0) return false;
    BIO* internal = nullptr;
    BIO* external = nullptr;
    // Only the socket's side writes (OpenSSL never writes to its read BIO): the other
    // direction gets a one-byte buffer.
    if (BIO_new_bio_pair(&internal, 1, &external, capacity) != 1) {
        ERR_clear_error();
        return false;
    }
    SSL_set_options(ssl, SSL_OP_NO_RENEGOTIATION);
    // Asio's engine gave its BIO as both read and write BIO, so the SSL object holds two
    // references of it: this drops the read one and takes ours; the write one stays.
    SSL_set0_rbio(ssl, internal);
    ssl_ = ssl;
    external_ = external;
    return true;
}

boost::asio::mutable_buffer TlsReader::space() noexcept {
    char* room = nullptr;
    const int free = BIO_nwrite0(external_, &room);
    return free > 0 ? boost::asio::mutable_buffer(room, static_cast<std::size_t>(free))
                    : boost::asio::mutable_buffer();
}

void TlsReader::filled(std::size_t n) noexcept {
    char* room = nullptr;
    BIO_nwrite(external_, &room, static_cast<int>(n));
}

std::size_t TlsReader::read(boost::asio::mutable_buffer out,
                            boost::system::error_code& ec) noexcept {
    ec.clear();
    ERR_clear_error();
    std::size_t got = 0;
    if (SSL_read_ex(ssl_, out.data(), out.size(), &got) == 1) return got;
    switch (SSL_get_error(ssl_, 0)) {
        case SSL_ERROR_WANT_READ:
            return 0;
        case SSL_ERROR_ZERO_RETURN: // close_notify
            ec = boost::asio::error::eof;
            return 0;
        default:
            ec = take_ssl_error();
            return 0;
    }
}

} // namespace nector::http::detail
