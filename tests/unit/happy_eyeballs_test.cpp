// The order Happy Eyeballs tries addresses in (src/http/dialer/happy_eyeballs.hpp); the race
// itself is tested against real sockets (Addressing.HappyEyeballs*).
#include "http/dialer/happy_eyeballs.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace nector::http::detail {
namespace {

using boost::asio::ip::make_address;
using Endpoint = boost::asio::ip::tcp::endpoint;

TEST(HappyEyeballs, InterleavesTheFamiliesStartingWithTheFirstAddresss) {
    const std::vector<Endpoint> in{{make_address("::1"), 1},
                                   {make_address("::2"), 1},
                                   {make_address("::3"), 1},
                                   {make_address("10.0.0.1"), 1},
                                   {make_address("10.0.0.2"), 1}};
    const std::vector<Endpoint> expected{in[0], in[3], in[1], in[4], in[2]};
    EXPECT_EQ(interleave(in), expected);
    const std::vector<Endpoint> v4_first{in[3], in[0], in[4]};
    const std::vector<Endpoint> v4_expected{in[3], in[0], in[4]};
    EXPECT_EQ(interleave(v4_first), v4_expected);
    EXPECT_TRUE(interleave({}).empty());
}

} // namespace
} // namespace nector::http::detail
