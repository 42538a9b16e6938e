#include "http/wire/tls_batch.hpp"

#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>

#include <openssl/bio.h>
#include <openssl/err.h>

#include <new>

namespace nector::http::detail {

namespace {

int append_record(BIO* bio, const char* data, std::size_t size, std::size_t* written) noexcept {
    BIO_clear_retry_flags(bio);
    auto* records = static_cast<std::string*>(BIO_get_data(bio));
    if (!records) return 0;
    try {
        records->append(data, size);
    } catch (const std::bad_alloc&) {
        ERR_raise(ERR_LIB_BIO, ERR_R_MALLOC_FAILURE);
        return 0;
    }
    *written = size;
    return 1;
}

long control_sink(BIO* bio, int command, long /*number*/, void* /*pointer*/) noexcept {
    switch (command) {
        case BIO_CTRL_FLUSH: // every record is handed on whole: nothing to flush
            return 1;
        case BIO_CTRL_WPENDING: {
            const auto* records = static_cast<const std::string*>(BIO_get_data(bio));
            return records ? static_cast<long>(records->size()) : 0;
        }
        default: // nothing to read (PENDING), no kTLS, no other control
            return 0;
    }
}

int open_sink(BIO* bio) noexcept {
    BIO_set_init(bio, 1);
    return 1;
}

BIO_METHOD* sink_method() noexcept {
    static BIO_METHOD* const made = [] {
        BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "nector records");
        if (m &&
            (BIO_meth_set_write_ex(m, append_record) != 1 ||
             BIO_meth_set_ctrl(m, control_sink) != 1 || BIO_meth_set_create(m, open_sink) != 1)) {
            BIO_meth_free(m);
            m = nullptr;
        }
        return m;
    }();
    return made;
}

} // namespace

BIO* new_record_sink(std::string* records) noexcept {
    BIO_METHOD* m = sink_method();
    BIO* sink = m ? BIO_new(m) : nullptr;
    if (!sink) {
        ERR_clear_error();
        return nullptr;
    }
    BIO_set_data(sink, records);
    return sink;
}

void retarget_record_sink(BIO* sink, std::string* records) noexcept { BIO_set_data(sink, records); }

boost::system::error_code take_ssl_error() noexcept {
    const unsigned long error = ERR_get_error();
    ERR_clear_error();
    return error ? boost::system::error_code(static_cast<int>(error),
                                             boost::asio::error::get_ssl_category())
                 : boost::system::error_code(boost::asio::ssl::error::stream_truncated);
}

bool encrypt_all(SSL* ssl, std::string_view plain, boost::system::error_code& ec) noexcept {
    while (!plain.empty()) {
        std::size_t written = 0;
        if (SSL_write_ex(ssl, plain.data(), plain.size(), &written) != 1 || written == 0) {
            ec = take_ssl_error();
            return false;
        }
        plain.remove_prefix(written);
    }
    return true;
}

TlsBatch::~TlsBatch() {
    if (sink_) BIO_free(sink_);
}

std::string_view TlsBatch::seal(SSL* ssl, std::span<const boost::asio::const_buffer> buffers,
                                boost::system::error_code& ec) {
    ec.clear();
    records_.clear();
    if (!sink_) {
        sink_ = new_record_sink(&records_);
        if (!sink_) {
            ec = boost::asio::error::no_memory;
            return {};
        }
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
    BIO_up_ref(sink_);
    SSL_set0_wbio(ssl, sink_);
    ERR_clear_error();
    for (const boost::asio::const_buffer& b : buffers) {
        if (!encrypt_all(ssl, {static_cast<const char*>(b.data()), b.size()}, ec)) break;
    }
    SSL_set0_wbio(ssl, own); // takes the reference taken above; drops the SSL's of sink_
    if (ec) return {};       // the connection is closed on this error
    return records_;
}

} // namespace nector::http::detail
