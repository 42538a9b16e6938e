// `nector [METHOD] URL [ITEM...]` (request.hpp).
#include "request.hpp"

#include "download.hpp"
#include "output.hpp"

#include <fmt/core.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>

namespace nector::cli {
namespace {

http::Duration seconds(double s, std::string_view flag) {
    if (!(s > 0) || s > 1e6) {
        throw UsageError(fmt::format("{} {}: give a number of seconds above 0", flag, s));
    }
    return std::chrono::duration_cast<http::Duration>(std::chrono::duration<double>(s));
}

http::Auth auth_from(const RequestFlags& flags) {
    const std::string& text = flags.auth;
    const auto colon = text.find(':');
    const std::string& type = flags.auth_type;
    if (type == "bearer" || (type.empty() && colon == std::string::npos)) {
        if (type.empty()) {
            throw UsageError(
                "--auth \"USER\": give USER:PASSWORD, or a token with "
                "--auth-type=bearer");
        }
        return http::Auth::bearer(text);
    }
    if (colon == std::string::npos) {
        throw UsageError(fmt::format("--auth: {} authentication needs USER:PASSWORD", type));
    }
    std::string user = text.substr(0, colon);
    std::string password = text.substr(colon + 1);
    if (type == "digest") return http::Auth::digest(std::move(user), std::move(password));
    return http::Auth::basic(std::move(user), std::move(password));
}

// A file of the session's cookies: read before the call, written after it.
std::shared_ptr<http::CookieJar> session_jar(const std::string& path) {
    auto jar = std::make_shared<http::CookieJar>();
    std::error_code ec;
    if (std::filesystem::exists(path, ec)) {
        try {
            jar->load(path);
        } catch (const std::exception& e) {
            throw UsageError(fmt::format("--session: {}", e.what()));
        }
    }
    return jar;
}

// One exchange as the transport made it: the request as sent and the head that answered.
struct Exchange {
    http::InterceptedRequest request;
    http::Response response; // status, reason, version and headers; no body
};

// Closes the output file, whatever happens.
struct FileCloser {
    void operator()(std::FILE* f) const noexcept {
        if (f != nullptr && f != stdout) std::fclose(f);
    }
};

} // namespace

http::Options options_from(const RequestFlags& flags) {
    http::Options options;
    options.raise_for_status = false;
    options.user_agent = fmt::format("nector/{}", nector::version);
    if (flags.timeout) {
        options.timeout = http::Timeout::all(seconds(*flags.timeout, "--timeout"));
    }
    if (flags.connect_timeout) {
        options.timeout.connect = seconds(*flags.connect_timeout, "--connect-timeout");
    }
    if (flags.max_time) options.timeout.total = seconds(*flags.max_time, "--max-time");
    options.retry.max_retries = flags.retries;
    if (flags.backoff) options.retry.backoff_factor = seconds(*flags.backoff, "--backoff");
    options.http2 = flags.http2;
    options.http2_prior_knowledge = flags.http2_prior_knowledge;

    if (flags.insecure || flags.verify == "no" || flags.verify == "false") {
        options.verify_ssl = false;
    } else if (flags.verify != "yes" && flags.verify != "true") {
        options.tls.ca_file = flags.verify; // httpie's --verify=CA_BUNDLE
    }
    if (!flags.cacert.empty()) options.tls.ca_file = flags.cacert;
    options.tls.cert_file = flags.cert;
    options.tls.key_file = flags.key;
    if (flags.key.empty() && !flags.cert.empty()) options.tls.key_file = flags.cert;

    options.follow_redirects = flags.follow;
    options.max_redirects = flags.max_redirects;
    if (!flags.auth.empty())
        options.auth = auth_from(flags);
    else if (!flags.auth_type.empty())
        throw UsageError("--auth-type needs --auth");

    for (const auto& p : flags.proxy) {
        // httpie's PROTOCOL:URL ("http:http://proxy:3128"), or a URL for every scheme.
        const auto colon = p.find(':');
        const std::string scheme = colon == std::string::npos ? "" : p.substr(0, colon);
        const bool prefixed = (scheme == "http" || scheme == "https" || scheme == "all") &&
                              p.compare(colon, 3, "://") != 0;
        const std::string url = prefixed ? p.substr(colon + 1) : p;
        if (!prefixed || scheme == "all")
            options.proxy.all = url;
        else if (scheme == "http")
            options.proxy.http = url;
        else
            options.proxy.https = url;
    }
    options.unix_socket = flags.unix_socket;
    options.resolve = flags.resolve;
    options.connect_to = flags.connect_to;
    if (!flags.session.empty()) options.cookies = session_jar(flags.session);
    return options;
}

Exit run_request(const RequestFlags& flags) {
    BuiltRequest built = build_request(flags.input);
    http::Options options = options_from(flags);
    // "Name:" items: the header is left out of what goes to the wire, defaults included.
    if (!built.unset.empty()) {
        options.hooks.interceptors.push_back(
            [unset = built.unset](http::InterceptedRequest request,
                                  http::Next next) -> boost::asio::awaitable<http::Response> {
                for (const auto& name : unset) request.headers.erase(name);
                return next(std::move(request));
            });
    }

    // The session's cookies are saved whatever the call's outcome (a redirect may have set
    // some before a later hop failed).
    const std::shared_ptr<http::CookieJar> jar = options.cookies;
    const auto save_session = [&] {
        if (jar) jar->save(flags.session);
    };
    if (flags.download) {
        try {
            const Exit exit = run_download({.output = flags.output, .resume = flags.resume},
                                           std::move(built.message), std::move(options));
            save_session();
            return exit;
        } catch (const TransportError&) {
            save_session();
            throw;
        }
    }
    if (flags.resume) throw UsageError("--continue goes with --download");

    // What to print, and where.
    std::unique_ptr<std::FILE, FileCloser> file;
    std::FILE* out = stdout;
    if (!flags.output.empty()) {
        file.reset(std::fopen(flags.output.c_str(), "wb"));
        if (!file) throw UsageError(fmt::format("-o: cannot write \"{}\"", flags.output));
        out = file.get();
    }
    const bool terminal = file == nullptr && is_terminal(1);
    Print print;
    if (!flags.print.empty())
        print = Print::from_letters(flags.print);
    else if (flags.verbose)
        print = Print::from_letters("HBhb");
    else if (flags.headers)
        print = Print::from_letters("h");
    else if (flags.body)
        print = Print::from_letters("b");
    else if (flags.include || terminal)
        print = Print::from_letters("hb");
    const std::string pretty = !flags.pretty.empty() ? flags.pretty : terminal ? "all" : "none";
    print.colors = pretty == "colors" || pretty == "all";
    print.format = pretty == "format" || pretty == "all";
    print.terminal = terminal;
    print.wire = flags.include;

    // Every exchange, recorded as it happens (each redirect hop, retry and Digest answer).
    std::vector<Exchange> exchanges;
    if (print.request_head || print.request_body || flags.all) {
        options.hooks.interceptors.push_back(
            [&exchanges](http::InterceptedRequest request,
                         http::Next next) -> boost::asio::awaitable<http::Response> {
                http::InterceptedRequest sent = request;
                http::Response response = co_await next(std::move(request));
                http::Response head;
                head.status = response.status;
                head.reason = response.reason;
                head.version = response.version;
                head.headers = response.headers;
                exchanges.push_back(Exchange{std::move(sent), std::move(head)});
                co_return response;
            });
    }

    const std::string method = built.message.method;
    const std::string url = built.message.url;
    http::Response response;
    try {
        http::BlockingClient client(std::move(options));
        response = client.request(std::move(built.message));
    } catch (const TransportError&) {
        save_session();
        throw;
    }
    save_session();

    const auto print_request = [&](const Exchange& e) {
        if (print.request_head) print_request_head(out, e.request, e.response.version, print);
        if (print.request_body && !e.request.body.empty()) {
            print_body(out, e.request.body, e.request.headers.get("Content-Type").value_or(""),
                       print);
            fmt::print(out, "\n");
        }
    };
    if (flags.all) {
        for (std::size_t i = 0; i + 1 < exchanges.size(); ++i) {
            print_request(exchanges[i]);
            if (print.response_head) print_response_head(out, exchanges[i].response, print);
        }
    } else if (flags.include && print.response_head) {
        for (const auto& hop : response.history) print_response_head(out, hop, print);
    }
    if (!exchanges.empty()) print_request(exchanges.back());
    if (print.response_head) print_response_head(out, response, print);
    if (print.response_body) {
        print_body(out, response.body, response.headers.get("Content-Type").value_or(""), print);
    }
    std::fflush(out);

    if (flags.check_status && response.status >= 300) {
        fmt::print(stderr, "nector: {} {} answered {}{}\n", method, url, response.status,
                   response.reason.empty() ? "" : " " + response.reason);
        if (response.status < 400) return Exit::status_3xx;
        return response.status < 500 ? Exit::status_4xx : Exit::status_5xx;
    }
    return Exit::ok;
}

Exit exit_for(std::error_code ec) noexcept {
    if (ec == errc::too_many_redirects || ec == errc::insecure_redirect)
        return Exit::too_many_redirects;
    if (ec == errc::invalid_url || ec == errc::invalid_header || ec == errc::invalid_method ||
        ec == errc::invalid_configuration || ec == errc::serialization_failed)
        return Exit::bad_input;
    if (ec == errc::protocol_error || ec == errc::body_too_large ||
        ec == errc::deserialization_failed || ec == errc::stream_reset)
        return Exit::bad_response;
    if (ec == condition::timeout) return Exit::timeout;
    if (ec == condition::tls) return Exit::tls;
    if (ec == condition::network || ec == errc::proxy_failed || ec == errc::stream_refused)
        return Exit::connection;
    return Exit::error;
}

} // namespace nector::cli
