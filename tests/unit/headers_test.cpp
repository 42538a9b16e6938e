#include "nector/transport/headers.hpp"

#include <gtest/gtest.h>

namespace nector {
namespace {

TEST(Headers, LookupIgnoresCaseAndKeepsOrder) {
    Headers h{{"Content-Type", "text/plain"}, {"Set-Cookie", "a=1"}, {"set-cookie", "b=2"}};
    EXPECT_EQ(h.get("content-type"), "text/plain");
    EXPECT_EQ(h.get("CONTENT-TYPE"), "text/plain");
    EXPECT_EQ(h.get("missing"), std::nullopt);
    EXPECT_EQ(h.get_all("SET-COOKIE"), (std::vector<std::string_view>{"a=1", "b=2"}));
    EXPECT_TRUE(h.contains("set-Cookie"));
    EXPECT_EQ(h.size(), 3u);
}

TEST(Headers, SetReplacesAllInPlace) {
    Headers h{{"A", "1"}, {"B", "2"}, {"a", "3"}};
    h.set("a", "9");
    EXPECT_EQ(h, (Headers{{"A", "9"}, {"B", "2"}}));
    h.set("C", "4");
    EXPECT_EQ(h, (Headers{{"A", "9"}, {"B", "2"}, {"C", "4"}}));
}

TEST(Headers, EraseCountsRemoved) {
    Headers h{{"A", "1"}, {"B", "2"}, {"a", "3"}};
    EXPECT_EQ(h.erase("A"), 2u);
    EXPECT_EQ(h.erase("A"), 0u);
    EXPECT_EQ(h, (Headers{{"B", "2"}}));
}

TEST(Headers, EqualityIsExactAndOrdered) {
    EXPECT_NE((Headers{{"A", "1"}}), (Headers{{"a", "1"}}));
    EXPECT_NE((Headers{{"A", "1"}, {"B", "2"}}), (Headers{{"B", "2"}, {"A", "1"}}));
    EXPECT_TRUE(iequals("ETag", "etag"));
    EXPECT_FALSE(iequals("ETag", "etags"));
}

} // namespace
} // namespace nector
