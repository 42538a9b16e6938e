// `nector [METHOD] URL [ITEM...]`: one request, its flags and its exit status.
#pragma once

#include "cli.hpp"

#include <optional>
#include <string>
#include <vector>

namespace nector::cli {

struct RequestFlags {
    RequestInput input;

    // What is printed (docs/cli.md, "Output").
    std::string print;    ///< --print letters; empty: by the flags below, then the terminal
    bool verbose = false; ///< -v: HBhb
    bool headers = false; ///< -h: h
    bool body = false;    ///< -b: b
    bool include = false; ///< -i: curl's -i (status line as sent, CRLF, each redirect's head)
    bool all = false;     ///< --all: every exchange (redirects, retries), not only the last
    std::string pretty;   ///< none|colors|format|all; empty: all on a terminal, none else
    std::string output;   ///< -o FILE: what would be printed goes there
    bool check_status = false;
    bool download = false; ///< --download: the body to a file, with a progress bar
    bool resume = false;   ///< --continue: resume -o FILE's .part

    // The transport's options.
    std::optional<double> timeout;         ///< seconds, each phase
    std::optional<double> connect_timeout; ///< seconds
    std::optional<double> max_time;        ///< seconds, the whole call
    std::size_t retries = 0;
    std::optional<double> backoff; ///< seconds
    bool http2 = false;
    bool http2_prior_knowledge = false;
    std::string verify = "yes"; ///< yes|no|CA-FILE
    bool insecure = false;      ///< -k: --verify=no
    std::string cacert, cert, key;
    std::size_t max_redirects = 20;
    bool follow = true;
    std::string auth;      ///< USER:PASSWORD, or a token for bearer
    std::string auth_type; ///< basic|digest|bearer; empty: basic, or bearer without ':'
    std::vector<std::string> proxy;
    std::string unix_socket;
    std::vector<std::string> resolve;
    std::vector<std::string> connect_to;
    std::string session; ///< a cookie file kept across runs
};

/// Sends the request and prints what was asked; returns the exit status.
Exit run_request(const RequestFlags& flags);

/// The transport's options the flags describe; throws UsageError for a bad one.
http::Options options_from(const RequestFlags& flags);

} // namespace nector::cli
