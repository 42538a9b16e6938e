#include "nector/http/options_json.hpp"

#include "nector/transport/errors.hpp"

#include <boost/json/parse.hpp>

#include <gtest/gtest.h>

namespace nector::http {
namespace {

using namespace std::chrono_literals;

TEST(OptionsJson, ReadsEveryOption) {
    const Options o = options_from_json(boost::json::parse(R"({
        "base_url": "https://h/api", "headers": {"A": "1", "N": 2, "B": true},
        "timeout": {"connect": 1.5, "read": 2, "write": 3, "pool": 4, "total": 10},
        "limits": {"max_connections": 7, "max_connections_per_origin": 3,
                   "max_idle_connections": 2, "idle_timeout": 0.25},
        "follow_redirects": false, "max_redirects": 4, "verify_ssl": false,
        "tls": {"ca_file": "/ca.pem", "min_version": "1.3"}, "http2": true,
        "http2_prior_knowledge": true,
        "http2_settings": {"stream_window": 65536, "connection_window": 1048576,
                           "max_concurrent_streams": 8, "ping_interval": 2, "ping_timeout": 0.5},
        "max_response_bytes": 1024, "user_agent": "me", "decode_content": false,
        "max_decoded_bytes": 4096, "raise_for_status": false,
        "retry": {"max_retries": 1, "backoff_factor": 0.1, "max_backoff": 2, "jitter": "none",
                  "retry_status_codes": [503], "retry_all_methods": true, "max_retry_after": 5,
                  "budget": false},
        "circuit_breaker": {"failure_threshold": 9, "reset_timeout": 3, "sliding_window": true}
    })"));
    EXPECT_EQ(o.base_url, "https://h/api");
    EXPECT_EQ(o.headers, (Headers{{"A", "1"}, {"N", "2"}, {"B", "true"}}));
    EXPECT_EQ(o.timeout.connect, 1500ms);
    EXPECT_EQ(o.timeout.total, 10s);
    EXPECT_EQ(o.limits.max_connections_per_origin, 3u);
    EXPECT_EQ(o.limits.idle_timeout, 250ms);
    EXPECT_FALSE(o.follow_redirects);
    EXPECT_EQ(o.max_redirects, 4u);
    EXPECT_FALSE(o.verify_ssl);
    EXPECT_EQ(o.tls.min_version, TlsVersion::tls1_3);
    EXPECT_TRUE(o.http2);
    EXPECT_TRUE(o.http2_prior_knowledge);
    EXPECT_EQ(o.http2_settings.stream_window, 65536u);
    EXPECT_EQ(o.http2_settings.connection_window, 1048576u);
    EXPECT_EQ(o.http2_settings.max_concurrent_streams, 8u);
    EXPECT_EQ(o.http2_settings.ping_interval, 2s);
    EXPECT_EQ(o.http2_settings.ping_timeout, 500ms);
    EXPECT_EQ(o.max_response_bytes, 1024u);
    EXPECT_FALSE(o.decode_content);
    EXPECT_EQ(o.max_decoded_bytes, 4096u);
    EXPECT_EQ(o.user_agent, "me");
    EXPECT_FALSE(o.raise_for_status);
    EXPECT_EQ(o.retry.max_retries, 1u);
    EXPECT_EQ(o.retry.backoff_factor, 100ms);
    EXPECT_EQ(o.retry.jitter, Jitter::none);
    EXPECT_EQ(o.retry.retry_status_codes, std::vector<int>{503});
    EXPECT_FALSE(o.retry.budget);
    EXPECT_TRUE(o.circuit_breaker.enabled);
    EXPECT_EQ(o.circuit_breaker.failure_threshold, 9u);
    EXPECT_TRUE(o.circuit_breaker.sliding_window);
}

TEST(OptionsJson, HedgeIsAFlagOrAPolicy) {
    const Options on = options_from_json(
        boost::json::parse(R"({"hedge": {"after": 0.05, "percentile": 95, "min_samples": 10}})"));
    EXPECT_TRUE(on.hedge.enabled);
    EXPECT_EQ(on.hedge.after, 50ms);
    EXPECT_EQ(on.hedge.percentile, 95);
    EXPECT_EQ(on.hedge.min_samples, 10u);
    EXPECT_TRUE(options_from_json(boost::json::parse(R"({"hedge": true})")).hedge.enabled);
    EXPECT_FALSE(
        options_from_json(boost::json::parse(R"({"hedge": {"enabled": false}})")).hedge.enabled);
    EXPECT_THROW(options_from_json(boost::json::parse(R"({"hedge": {"delay": 1}})")),
                 ConfigurationError);
}

TEST(OptionsJson, SeedNamesAndOneNumberTimeout) {
    const Options o = options_from_json(boost::json::parse(
        R"({"timeout": 2.5, "max_retries": 6, "retry_backoff_factor": 1, "retry_status_codes": [500]})"));
    EXPECT_EQ(o.timeout.read, 2500ms);
    EXPECT_EQ(o.timeout.pool, 2500ms);
    EXPECT_EQ(o.timeout.total, Duration::zero());
    EXPECT_EQ(o.retry.max_retries, 6u);
    EXPECT_EQ(o.retry.backoff_factor, 1s);
    EXPECT_EQ(o.retry.retry_status_codes, std::vector<int>{500});
}

TEST(OptionsJson, KeysApplyInTheDocumentsOrder) {
    // The seed's flat name and the retry object set the same field: the later one wins.
    EXPECT_EQ(
        options_from_json(boost::json::parse(R"({"retry": {"max_retries": 4}, "max_retries": 1})"))
            .retry.max_retries,
        1u);
    EXPECT_EQ(
        options_from_json(boost::json::parse(R"({"max_retries": 1, "retry": {"max_retries": 4}})"))
            .retry.max_retries,
        4u);
}

TEST(OptionsJson, HeadersMergeOntoTheBase) {
    Options base{.headers = {{"Keep", "k"}, {"Replace", "old"}}};
    const Options o =
        options_from_json(boost::json::parse(R"({"headers": {"replace": "new"}})"), base);
    EXPECT_EQ(o.headers.get("Keep"), "k");
    EXPECT_EQ(o.headers.get("Replace"), "new");
}

TEST(OptionsJson, BadKeysAndValuesNameTheKey) {
    const std::pair<const char*, const char*> cases[] = {
        {R"({"timeuot": 1})", "\"timeuot\""},
        {R"({"timeout": "5"})", "\"timeout\""},
        {R"({"timeout": {"reed": 1}})", "\"timeout.reed\""},
        {R"({"timeout": -1})", "\"timeout\""},
        {R"({"verify_ssl": "yes"})", "\"verify_ssl\""},
        {R"({"max_retries": -1})", "\"max_retries\""},
        {R"({"retry": {"jitter": "wild"}})", "\"retry.jitter\""},
        {R"({"retry_status_codes": [700]})", "\"retry_status_codes\""},
        {R"({"tls": {"min_version": "1.1"}})", "\"tls.min_version\""},
        {R"({"headers": {"X": null}})", "\"headers.X\""},
        {R"({"circuit_breaker": {"threshold": 1}})", "\"circuit_breaker.threshold\""},
        {R"({"http2_settings": {"window": 1}})", "\"http2_settings.window\""},
        {R"({"http2_settings": {"stream_window": 4294967296}})",
         "\"http2_settings.stream_window\""},
        {R"({"http2_settings": {"max_concurrent_streams": 2147483648}})",
         "\"http2_settings.max_concurrent_streams\""},
        {R"([1])", "\"config\""},
    };
    for (const auto& [text, key] : cases) {
        try {
            (void)options_from_json(boost::json::parse(text));
            ADD_FAILURE() << "accepted " << text;
        } catch (const ConfigurationError& e) {
            EXPECT_EQ(e.code(), errc::invalid_configuration);
            EXPECT_NE(std::string(e.what()).find(key), std::string::npos) << e.what();
        }
    }
    EXPECT_EQ(options_from_json(nullptr, {.user_agent = "base"}).user_agent, "base");
}

} // namespace
} // namespace nector::http
