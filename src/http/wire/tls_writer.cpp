#include "http/wire/tls_writer.hpp"

#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>

#include <openssl/bio.h>
#include <openssl/err.h>

#include <new>

namespace nector::http::detail {

TlsWriter::~TlsWriter() {
    if (sink_) {
        BIO_set_data(sink_, nullptr); // the SSL object may outlive us: its writes then fail
        BIO_free(sink_);
    }
}

BIO_METHOD* TlsWriter::method() noexcept {
    static BIO_METHOD* const made = [] {
        BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "nector records");
        if (m && (BIO_meth_set_write_ex(m, write) != 1 || BIO_meth_set_ctrl(m, control) != 1 ||
                  BIO_meth_set_create(m, [](BIO* b) noexcept {
                      BIO_set_init(b, 1);
                      return 1;
                  }) != 1)) {
            BIO_meth_free(m);
            m = nullptr;
        }
        return m;
    }();
    return made;
}

int TlsWriter::write(BIO* bio, const char* data, std::size_t size, std::size_t* written) noexcept {
    BIO_clear_retry_flags(bio);
    auto* self = static_cast<TlsWriter*>(BIO_get_data(bio));
    if (!self) return 0;
    try {
        self->records_[self->current_].append(data, size);
    } catch (const std::bad_alloc&) {
        self->out_of_memory_ = true;
        return 0;
    }
    *written = size;
    return 1;
}

long TlsWriter::control(BIO* bio, int command, long /*number*/, void* /*pointer*/) noexcept {
    switch (command) {
        case BIO_CTRL_FLUSH: // every record is handed on whole: nothing to flush
            return 1;
        case BIO_CTRL_WPENDING: {
            const auto* self = static_cast<const TlsWriter*>(BIO_get_data(bio));
            return self ? static_cast<long>(self->records_[self->current_].size()) : 0;
        }
        default: // nothing to read (PENDING), no kTLS, no other control
            return 0;
    }
}

bool TlsWriter::attach(SSL* ssl) noexcept {
    // Asio's engine hands OpenSSL's records to the socket through its own BIO pair; records
    // it has not sent yet are there. While any wait, Asio keeps the writes.
    BIO* own = SSL_get_wbio(ssl);
    BIO_METHOD* m = method();
    if (!own || !m || BIO_ctrl_wpending(own) != 0) return false;
    BIO* sink = BIO_new(m);
    if (!sink) {
        ERR_clear_error();
        return false;
    }
    BIO_set_data(sink, this);
    BIO_up_ref(sink); // ours, for the destructor; SSL_set0_wbio takes the first
    // Asio's engine gave its BIO as both read and write BIO, so the SSL object holds two
    // references of it: this drops the write one (TlsReader drops the read one).
    SSL_set0_wbio(ssl, sink);
    ssl_ = ssl;
    sink_ = sink;
    return true;
}

std::string_view TlsWriter::seal(std::string_view plain, boost::system::error_code& ec) {
    ec.clear();
    ERR_clear_error();
    while (!plain.empty()) {
        // Asio sets SSL_MODE_ENABLE_PARTIAL_WRITE: each call may take one record's worth.
        std::size_t written = 0;
        if (SSL_write_ex(ssl_, plain.data(), plain.size(), &written) != 1 || written == 0) {
            const unsigned long error = ERR_get_error();
            ec = out_of_memory_ ? boost::system::error_code(boost::asio::error::no_memory)
                 : error        ? boost::system::error_code(static_cast<int>(error),
                                                            boost::asio::error::get_ssl_category())
                         : boost::system::error_code(boost::asio::ssl::error::stream_truncated);
            ERR_clear_error();
            return {};
        }
        plain.remove_prefix(written);
    }
    const std::size_t made = current_;
    current_ ^= 1;
    records_[current_].clear(); // what the last call returned, written by now
    return records_[made];
}

} // namespace nector::http::detail
