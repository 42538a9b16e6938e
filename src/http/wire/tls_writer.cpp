#include "http/wire/tls_writer.hpp"

#include "http/wire/tls_batch.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>

namespace nector::http::detail {

TlsWriter::~TlsWriter() {
    if (sink_) {
        retarget_record_sink(sink_, nullptr); // the SSL object may outlive us: its writes fail
        BIO_free(sink_);
    }
}

bool TlsWriter::attach(SSL* ssl) noexcept {
    // Asio's engine hands OpenSSL's records to the socket through its own BIO pair; records
    // it has not sent yet are there. While any wait, Asio keeps the writes.
    BIO* own = SSL_get_wbio(ssl);
    if (!own || BIO_ctrl_wpending(own) != 0) return false;
    BIO* sink = new_record_sink(&records_[current_]);
    if (!sink) return false;
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
    if (!encrypt_all(ssl_, plain, ec)) return {};
    const std::size_t made = current_;
    current_ ^= 1;
    records_[current_].clear(); // what the last call returned, written by now
    retarget_record_sink(sink_, &records_[current_]);
    return records_[made];
}

} // namespace nector::http::detail
