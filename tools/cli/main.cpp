// nector: the command-line client (docs/cli.md).
//   nector example.org/json                       GET, pretty on a terminal
//   nector :8080/post name=ada age:=36            POST {"name":"ada","age":36}
//   nector -f POST :8080/post name=ada cv@cv.pdf  a multipart form with a file
//   nector -v PUT :8080/put X-Id:7 q==1 < body    headers, a query, the body from stdin
//   nector message build --type binary -H 'Content-Type: text/plain' --payload hi
#include "cli.hpp"
#include "request.hpp"

#include <fmt/core.h>
#include <CLI/CLI.hpp>

#include <string_view>

namespace nector::cli {

int message_main(int argc, char** argv);
int bench_main(int argc, char** argv);

namespace {

constexpr std::string_view footer = R"(Request items:
  Header:value    a header ("Header:" leaves out one nector would send; "Header;" an empty one)
  name==value     a query parameter
  field=value     a JSON string field (a form field with --form)
  field:=json     a raw JSON field: field:=36, tags:='["a","b"]'
  field=@file     a field with a file's text;  field:=@file.json  a file's JSON
  field@file      a file in a multipart form (field@file;type=image/png)
METHOD: a known method in any case, or a word of capitals; any other first word is the URL.
A body (items, --json, --data, or standard input when it is a pipe) makes the default
method POST, else GET. URLs: ":8080/x" is http://localhost:8080/x; without a scheme, http://.

Exit status: 0 success, 1 other error, 2 timeout, 3/4/5 a 3xx/4xx/5xx with --check-status,
6 too many redirects, 7 connection, 8 TLS, 9 bad input, 10 a response that cannot be read.

Also: nector bench URL -c 64 -n 100000 [-z 10s]   load, latency and status counts
      nector message build|inspect               nector's message envelopes
(each with --help))";

int request_main(int argc, char** argv) {
    RequestFlags f;
    CLI::App app{"nector: HTTP requests from the command line, on the nector transport", "nector"};
    app.set_help_flag("--help", "print this help and exit");
    app.set_version_flag("--version", std::string(nector::version));
    app.footer(std::string(footer));
    app.get_formatter()->column_width(34);

    app.add_option("args", f.input.positionals, "[METHOD] URL [ITEM...]")->required();

    auto* body = app.add_option_group("Request");
    body->add_option("-X,--method", f.input.method, "the method (else from the arguments)");
    body->add_option("-H,--header", f.input.headers, "a header \"Name: value\" (repeatable)")
        ->allow_extra_args(false);
    body->add_option("--json", f.input.json, "a raw JSON body");
    body->add_option("-d,--data", f.input.data,
                     "a raw body (curl's -d: TEXT, @FILE or @-; joined by '&'; urlencoded)")
        ->allow_extra_args(false);
    body->add_flag("-f,--form", f.input.form, "data items as a form (multipart with files)");
    body->add_flag("--ignore-stdin", f.input.ignore_stdin, "never read a body from stdin");
    body->add_option("--default-scheme", f.input.default_scheme,
                     "scheme for URLs without one (default http)");

    auto* output = app.add_option_group("Output");
    output->add_option("-p,--print", f.print,
                       "what to print: H request head, B request body, h response head, b "
                       "response body (default hb on a terminal, b else)");
    output->add_flag("-v,--verbose", f.verbose, "print the request too (--print=HBhb)");
    output->add_flag("-h,--headers", f.headers, "print the response head only (--print=h)");
    output->add_flag("-b,--body", f.body, "print the response body only (--print=b)");
    output->add_flag("-i,--include", f.include,
                     "the response head as sent (CRLF), each redirect's too, then the body");
    output->add_flag("--all", f.all, "print every exchange (redirects, retries)");
    output->add_option("--pretty", f.pretty, "none|colors|format|all (default all on a terminal)")
        ->check(CLI::IsMember({"none", "colors", "format", "all"}));
    output->add_option("-o,--output", f.output, "write the output (or the download) to FILE");
    output->add_flag("--download", f.download,
                     "save the body to a file (-o, else named by the response), with progress");
    output->add_flag("-c,--continue", f.resume, "resume an interrupted --download -o FILE");
    output->add_flag("--check-status", f.check_status,
                     "exit 3, 4 or 5 for a 3xx, 4xx or 5xx final response");

    auto* net = app.add_option_group("Transport");
    net->add_option("--timeout", f.timeout, "seconds for each phase (default 10)");
    net->add_option("--connect-timeout", f.connect_timeout, "seconds to connect");
    net->add_option("--max-time", f.max_time, "seconds for the whole call");
    net->add_option("--retries", f.retries, "retries of a failed attempt (default 0)");
    net->add_option("--backoff", f.backoff, "seconds of the first retry's backoff (default 0.5)");
    net->add_flag("--http2", f.http2, "offer HTTP/2 by ALPN over TLS");
    net->add_flag("--http2-prior-knowledge", f.http2_prior_knowledge,
                  "speak HTTP/2 without negotiation (h2c on http://)");
    net->add_option("--verify", f.verify, "yes|no|CA-FILE: check the server's certificate");
    net->add_flag("-k,--insecure", f.insecure, "do not check the server's certificate");
    net->add_option("--cacert", f.cacert, "PEM file of trusted CAs");
    net->add_option("--cert", f.cert, "client certificate (PEM)");
    net->add_option("--key,--cert-key", f.key, "client certificate's key (PEM)");
    net->add_flag("-F,-L,--follow,!--no-follow", f.follow, "follow redirects (default yes)");
    net->add_flag_callback(
        "--no-redirects", [&f] { f.follow = false; }, "as --no-follow");
    net->add_option("--max-redirects", f.max_redirects, "redirects to follow (default 20)");
    net->add_option("-a,--auth", f.auth, "USER:PASSWORD, or a token with --auth-type=bearer");
    net->add_option("-A,--auth-type", f.auth_type, "basic|digest|bearer")
        ->check(CLI::IsMember({"basic", "digest", "bearer"}));
    net->add_option("--proxy", f.proxy,
                    "a proxy URL for every scheme, or SCHEME:URL (http:, https:, all:)")
        ->allow_extra_args(false);
    net->add_option("--unix-socket", f.unix_socket, "connect to this Unix socket");
    net->add_option("--resolve", f.resolve, "HOST:PORT:ADDRESS, as curl's (repeatable)")
        ->allow_extra_args(false);
    net->add_option("--connect-to", f.connect_to,
                    "HOST:PORT:CONNECT-HOST:CONNECT-PORT, as curl's (repeatable)")
        ->allow_extra_args(false);
    net->add_option("--session", f.session, "a cookie file, read before and written after");

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        const int code = app.exit(e);
        return code == 0 ? 0 : static_cast<int>(Exit::bad_input);
    }
    return static_cast<int>(run_request(f));
}

} // namespace
} // namespace nector::cli

int main(int argc, char** argv) {
    using namespace nector::cli;
    const std::string_view first = argc > 1 ? argv[1] : "";
    try {
        if (first == "message") return message_main(argc - 1, argv + 1);
        if (first == "bench") return bench_main(argc - 1, argv + 1);
        // "nector request URL ..." is the earlier spelling of "nector URL ...".
        if (first == "request") {
            argv[1] = argv[0];
            return request_main(argc - 1, argv + 1);
        }
        return request_main(argc, argv);
    } catch (const nector::TransportError& e) {
        if (e.code().category() == nector::error_category()) {
            fmt::print(stderr, "nector: {} [{}]\n", e.what(),
                       nector::to_string(static_cast<nector::errc>(e.code().value())));
        } else {
            fmt::print(stderr, "nector: {}\n", e.what());
        }
        return static_cast<int>(exit_for(e.code()));
    } catch (const UsageError& e) {
        fmt::print(stderr, "nector: {}\n", e.what());
        return static_cast<int>(Exit::bad_input);
    } catch (const std::exception& e) {
        fmt::print(stderr, "nector: {}\n", e.what());
    }
    return static_cast<int>(Exit::error);
}
