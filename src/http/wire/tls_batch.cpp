#include "http/wire/tls_batch.hpp"

#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>

#include <openssl/bio.h>
#include <openssl/err.h>

namespace nector::http::detail {

TlsBatch::~TlsBatch() {
    if (memory_) BIO_free(memory_);
}

std::string_view TlsBatch::seal(SSL* ssl, std::span<const boost::asio::const_buffer> buffers,
                                boost::system::error_code& ec) {
    ec.clear();
    if (!memory_) {
        memory_ = BIO_new(BIO_s_mem());
        if (!memory_) {
            ec = boost::asio::error::no_memory;
            return {};
        }
    } else {
        (void)BIO_reset(memory_); // a writable memory BIO: its data is dropped
    }
    BIO* own = SSL_get_wbio(ssl);
    if (!own) {
        ec = boost::asio::error::bad_descriptor;
        return {};
    }
    // SSL_set0_wbio() takes one reference of the BIO it is given and drops one of the BIO it
    // replaces: one more of each is taken here, so both outlive the swap (Asio's engine set
    // its BIO as both read and write BIO, so the SSL object holds two references of it).
    BIO_up_ref(own);
    BIO_up_ref(memory_);
    SSL_set0_wbio(ssl, memory_);
    ERR_clear_error();
    for (const boost::asio::const_buffer& b : buffers) {
        // Asio sets SSL_MODE_ENABLE_PARTIAL_WRITE: each call may take one record's worth.
        const auto* data = static_cast<const unsigned char*>(b.data());
        std::size_t left = b.size();
        while (left > 0 && !ec) {
            std::size_t written = 0;
            if (SSL_write_ex(ssl, data, left, &written) != 1 || written == 0) {
                const unsigned long error = ERR_get_error();
                ec = error ? boost::system::error_code(static_cast<int>(error),
                                                       boost::asio::error::get_ssl_category())
                           : boost::system::error_code(boost::asio::ssl::error::stream_truncated);
            }
            data += written;
            left -= written;
        }
        if (ec) break;
    }
    SSL_set0_wbio(ssl, own); // takes the reference taken above; drops the SSL's of memory_
    if (ec) {
        ERR_clear_error(); // the rest of the queue: the connection is closed on this error
        return {};
    }
    char* data = nullptr;
    const long size = BIO_get_mem_data(memory_, &data);
    return size > 0 ? std::string_view(data, static_cast<std::size_t>(size)) : std::string_view();
}

} // namespace nector::http::detail
