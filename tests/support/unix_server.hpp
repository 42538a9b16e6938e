// A one-connection server on a Linux abstract Unix socket ("@name" in Options::unix_socket):
// it accepts one connection, reads the request head, and hands the socket and the head to
// what the test wants done next (answer, close, ...).
#pragma once

#include <boost/asio/buffer.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>

#include <functional>
#include <string>
#include <thread>
#include <utility>

#include <unistd.h>

namespace nector::test {

class AbstractUnixServer {
public:
    using Socket = boost::asio::local::stream_protocol::socket;
    using Then = std::function<void(Socket&, const std::string& head)>;

    /// Listens on "\0<prefix>-<pid>" before it returns, so a client may connect at once.
    AbstractUnixServer(const std::string& prefix, Then then)
        : name_(prefix + "-" + std::to_string(::getpid())),
          acceptor_(io_,
                    boost::asio::local::stream_protocol::endpoint(std::string(1, '\0') + name_)),
          thread_([this, then = std::move(then)] {
              Socket s(io_);
              acceptor_.accept(s);
              std::string head;
              char buffer[4096];
              while (head.find("\r\n\r\n") == std::string::npos) {
                  head.append(buffer, s.read_some(boost::asio::buffer(buffer)));
              }
              then(s, head);
          }) {}

    AbstractUnixServer(const AbstractUnixServer&) = delete;
    AbstractUnixServer& operator=(const AbstractUnixServer&) = delete;
    ~AbstractUnixServer() { join(); }

    /// The value for Options::unix_socket.
    std::string socket_option() const { return "@" + name_; }

    /// Waits for the connection to be served.
    void join() {
        if (thread_.joinable()) thread_.join();
    }

private:
    std::string name_;
    boost::asio::io_context io_;
    boost::asio::local::stream_protocol::acceptor acceptor_;
    std::thread thread_;
};

} // namespace nector::test
