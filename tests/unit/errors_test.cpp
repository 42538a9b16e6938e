#include "nector/transport/errors.hpp"

#include "http/errors/bridge.hpp"

#include <gtest/gtest.h>

#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <string>
#include <typeinfo>

namespace nector {
namespace {

TEST(Errors, CodesHaveNamesMessagesAndCategory) {
    const std::error_code ec = errc::connection_refused;
    EXPECT_EQ(ec.category().name(), std::string("nector"));
    EXPECT_EQ(ec.message(), "connection refused");
    EXPECT_EQ(to_string(errc::pool_timeout), "pool_timeout");
    EXPECT_EQ(errc_from_string("pool_timeout"), errc::pool_timeout);
    EXPECT_EQ(errc_from_string("no_such_code"), std::nullopt);
    EXPECT_EQ(to_string(static_cast<errc>(9999)), "unknown");
}

TEST(Errors, EveryCodeRoundTripsThroughItsName) {
    for (int v = 1;; ++v) {
        const auto e = static_cast<errc>(v);
        if (to_string(e) == "unknown") {
            EXPECT_GT(v, static_cast<int>(errc::too_many_redirects));
            break;
        }
        EXPECT_EQ(errc_from_string(to_string(e)), e) << v;
        EXPECT_NE(std::error_code(e).message(), "unknown nector error") << v;
    }
}

struct ConditionCase {
    errc code;
    condition group;
};

class ErrorConditions : public ::testing::TestWithParam<ConditionCase> {};

TEST_P(ErrorConditions, CodeBelongsToItsGroupOnly) {
    const auto [code, group] = GetParam();
    const std::error_code ec = code;
    EXPECT_EQ(ec, group);
    for (auto other : {condition::network, condition::timeout, condition::tls, condition::cancelled,
                       condition::client, condition::server}) {
        if (other != group) {
            EXPECT_NE(ec, other) << to_string(other);
        }
    }
}

INSTANTIATE_TEST_SUITE_P(
    Groups, ErrorConditions,
    ::testing::Values(ConditionCase{errc::connection_refused, condition::network},
                      ConditionCase{errc::name_resolution_failed, condition::network},
                      ConditionCase{errc::read_timeout, condition::timeout},
                      ConditionCase{errc::total_timeout, condition::timeout},
                      ConditionCase{errc::tls_hostname_mismatch, condition::tls},
                      ConditionCase{errc::cancelled, condition::cancelled},
                      ConditionCase{errc::deserialization_failed, condition::client},
                      ConditionCase{errc::http_not_found, condition::client},
                      ConditionCase{errc::protocol_error, condition::server},
                      ConditionCase{errc::http_server_error, condition::server}));

// Asio reports boost::system::error_code; callers see it as std::error_code.
std::error_code asio_code(boost::asio::error::basic_errors e) {
    return static_cast<std::error_code>(boost::system::error_code(e));
}

TEST(Errors, ForeignCodesMatchConditions) {
    EXPECT_EQ(asio_code(boost::asio::error::connection_refused), condition::network);
    EXPECT_EQ(asio_code(boost::asio::error::timed_out), condition::timeout);
    EXPECT_EQ(asio_code(boost::asio::error::operation_aborted), condition::cancelled);
    EXPECT_EQ(std::make_error_code(std::errc::connection_reset), condition::network);
    EXPECT_NE(std::make_error_code(std::errc::invalid_argument), condition::network);
    EXPECT_EQ(std::error_condition(condition::tls).message(), "tls");
}

template <class Expected>
void expect_maps_to(std::error_code ec) {
    const auto e = make_exception(ec, "GET http://x/ attempt 1");
    try {
        std::rethrow_exception(e);
    } catch (const Expected& caught) {
        EXPECT_EQ(typeid(caught), typeid(Expected)) << ec.message();
        EXPECT_EQ(caught.code(), ec);
        EXPECT_NE(std::string(caught.what()).find("GET http://x/ attempt 1"), std::string::npos);
        EXPECT_NE(std::string(caught.what()).find(ec.message()), std::string::npos);
    } catch (...) {
        ADD_FAILURE() << "wrong exception class for " << ec.message();
    }
}

TEST(Errors, OneFunctionMapsCodesToClasses) {
    expect_maps_to<ConnectionError>(errc::not_connected);
    expect_maps_to<ConnectionError>(errc::connection_reset);
    expect_maps_to<ConnectionError>(errc::name_resolution_failed);
    expect_maps_to<ConnectionRefusedError>(errc::connection_refused);
    expect_maps_to<ConnectionTimeoutError>(errc::connect_timeout);
    expect_maps_to<ConnectionTimeoutError>(errc::pool_timeout);
    expect_maps_to<TLSError>(errc::tls_certificate_untrusted);
    expect_maps_to<SerializationError>(errc::serialization_failed);
    expect_maps_to<DeserializationError>(errc::deserialization_failed);
    expect_maps_to<ConfigurationError>(errc::unknown_factory);
    expect_maps_to<TransportSpecificError>(errc::protocol_error);
    expect_maps_to<TransportError>(errc::cancelled);
    // Foreign codes go through their condition.
    expect_maps_to<ConnectionRefusedError>(asio_code(boost::asio::error::connection_refused));
    expect_maps_to<ConnectionTimeoutError>(asio_code(boost::asio::error::timed_out));
    expect_maps_to<ConnectionError>(asio_code(boost::asio::error::connection_reset));
    expect_maps_to<TransportError>(std::make_error_code(std::errc::invalid_argument));
}

TEST(Errors, HierarchyFollowsTds1) {
    static_assert(std::is_base_of_v<std::system_error, TransportError>);
    static_assert(std::is_base_of_v<TransportError, ConnectionError>);
    static_assert(std::is_base_of_v<ConnectionError, ConnectionTimeoutError>);
    static_assert(std::is_base_of_v<ConnectionError, ConnectionRefusedError>);
    static_assert(std::is_base_of_v<ConnectionError, TLSError>);
    static_assert(std::is_base_of_v<TransportError, MessageError>);
    static_assert(std::is_base_of_v<MessageError, SerializationError>);
    static_assert(std::is_base_of_v<MessageError, DeserializationError>);
    static_assert(std::is_base_of_v<TransportError, TransportSpecificError>);
    EXPECT_THROW(throw_error(errc::read_timeout, "read"), ConnectionError);
    EXPECT_EQ(DeserializationError("x").code(), errc::deserialization_failed);
    EXPECT_EQ(ConnectionTimeoutError("x").code(), errc::connect_timeout);
}

TEST(Errors, ATlsAlertFromThePeerIsATlsFailureWhenever) {
    namespace ssl = boost::asio::error;
    const auto openssl = [](int reason) {
        return boost::system::error_code(static_cast<int>(ERR_PACK(ERR_LIB_SSL, 0, reason)),
                                         ssl::get_ssl_category());
    };
    using http::detail::errc_of_io;
    // Alerts the server sent: refused by the TLS layer, not worth a retry.
    EXPECT_EQ(errc_of_io(openssl(SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED), errc::read_timeout),
              errc::tls_handshake_failed);
    EXPECT_EQ(errc_of_io(openssl(SSL_R_SSLV3_ALERT_BAD_CERTIFICATE), errc::read_timeout),
              errc::tls_handshake_failed);
    // Other TLS failures and the end of the stream keep their meaning.
    EXPECT_EQ(errc_of_io(openssl(SSL_R_WRONG_VERSION_NUMBER), errc::read_timeout),
              errc::connection_failed);
    EXPECT_EQ(errc_of_io(boost::asio::ssl::error::stream_truncated, errc::read_timeout),
              errc::connection_closed);
    EXPECT_EQ(make_error_code(errc::tls_handshake_failed), condition::tls);
}

} // namespace
} // namespace nector
