// Happy Eyeballs v2 (RFC 8305): a name's addresses raced, a new attempt every stagger (or as
// soon as the one before fails) instead of each address waiting out the connect timeout in
// turn; the first connection wins and the others are closed. Part of the dialer room.
#pragma once

#include "nector/http/options.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <functional>
#include <optional>
#include <vector>

namespace nector::http::detail {

/// RFC 8305 §4: the addresses alternating by family, starting with the first address's
/// family, each family's addresses in their order.
std::vector<boost::asio::ip::tcp::endpoint> interleave(
    const std::vector<boost::asio::ip::tcp::endpoint>& endpoints);

/// What a race ended with: the winner's socket, or the last attempt's error
/// (operation_aborted when the caller cancelled).
struct RaceResult {
    std::optional<boost::asio::ip::tcp::socket> socket;
    boost::system::error_code error;
};

/// Connects to the first of `endpoints` (in that order) to answer: the first attempt at
/// once, the next `stagger` later or as soon as every running attempt has failed, each
/// attempt bounded by `timeout` (its error then beast's timeout). `open` opens (and may bind)
/// each attempt's socket before it connects; what it throws ends the race. When the race
/// ends, every other attempt's socket is closed.
boost::asio::awaitable<RaceResult> race_connect(
    const std::vector<boost::asio::ip::tcp::endpoint>& endpoints, Duration stagger,
    Duration timeout,
    const std::function<void(boost::asio::ip::tcp::socket&, const boost::asio::ip::tcp::endpoint&)>&
        open);

} // namespace nector::http::detail
