// nector: the command-line client.
//   nector request https://example.com/get -H 'Accept: application/json' -i
//   nector request -X POST http://127.0.0.1:8080/post --json '{"a":1}'
//   nector message build --type binary -H 'Content-Type: text/plain' --payload hi -o m.bin
//   nector message inspect --type binary m.bin
#include <nector/nector.hpp>

#include <fmt/core.h>
#include <CLI/CLI.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

namespace json = boost::json;

namespace {

nector::Bytes read_all(const std::string& path) {
    std::string data;
    if (path.empty() || path == "-") {
        data.assign(std::istreambuf_iterator<char>(std::cin), {});
    } else {
        std::ifstream in(path, std::ios::binary);
        if (!in) throw std::runtime_error("cannot open " + path);
        data.assign(std::istreambuf_iterator<char>(in), {});
    }
    return nector::to_bytes(data);
}

void write_all(const std::string& path, const nector::Bytes& data) {
    const auto text = nector::as_string_view(data);
    if (path.empty() || path == "-") {
        std::cout.write(text.data(), static_cast<std::streamsize>(text.size()));
        return;
    }
    std::ofstream out(path, std::ios::binary);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    if (!out) throw std::runtime_error("cannot write " + path);
}

// Printable text as a JSON string; anything else as lower-case hex.
json::object describe_payload(const nector::Bytes& payload) {
    const auto text = nector::as_string_view(payload);
    bool printable = true;
    for (const char ch : text) {
        const auto c = static_cast<unsigned char>(ch);
        if ((c < 0x20 && c != '\n' && c != '\t' && c != '\r') || c >= 0x7F) printable = false;
    }
    json::object out{{"size", payload.size()}};
    if (printable) {
        out["text"] = text;
    } else {
        std::string hex;
        for (const char c : text) hex += fmt::format("{:02x}", static_cast<unsigned char>(c));
        out["hex"] = hex;
    }
    return out;
}

struct RequestArgs {
    std::string method = "GET";
    std::string url;
    std::vector<std::string> headers;
    std::string json;
    std::vector<std::string> form;
    double timeout = 10;
    std::string cacert;
    bool insecure = false;
    bool include = false;
    bool no_redirects = false;
    bool http2 = false;
    bool http2_prior_knowledge = false;
};

nector::Headers parse_headers(const std::vector<std::string>& headers);

int request(const RequestArgs& args) {
    namespace http = nector::http;
    http::HttpMessage message{
        .method = args.method, .url = args.url, .headers = parse_headers(args.headers)};
    if (!args.json.empty()) message.json = json::parse(args.json);
    for (const auto& field : args.form) {
        const auto eq = field.find('=');
        if (eq == std::string::npos)
            throw std::runtime_error("--data \"" + field + "\" is not NAME=VALUE");
        message.form.emplace_back(field.substr(0, eq), field.substr(eq + 1));
    }
    http::Options options{.timeout = http::Timeout::all(std::chrono::duration_cast<http::Duration>(
                              std::chrono::duration<double>(args.timeout))),
                          .follow_redirects = !args.no_redirects,
                          .verify_ssl = !args.insecure,
                          .raise_for_status = false};
    options.tls.ca_file = args.cacert;
    options.http2 = args.http2;
    options.http2_prior_knowledge = args.http2_prior_knowledge;
    const http::Response response = http::BlockingClient(options).request(std::move(message));
    if (args.include) {
        fmt::print("{} {} {}\n", nector::http::to_string(response.version), response.status,
                   response.reason);
        for (const auto& [name, value] : response.headers) fmt::print("{}: {}\n", name, value);
        fmt::print("\n");
    }
    std::fwrite(response.body.data(), 1, response.body.size(), stdout);
    if (response.status >= 400) {
        fmt::print(stderr, "nector: {} {}: HTTP {} {}\n", args.method, response.url,
                   response.status, response.reason);
        return 1;
    }
    return 0;
}

int inspect(const std::string& type, const std::string& path) {
    const nector::Bytes data = read_all(path);
    json::object out{{"type", type}, {"wire_size", data.size()}};
    if (type == "json") {
        const auto m = nector::JsonMessage::deserialize(data);
        out["headers"] = m.headers();
        out["payload"] = m.payload();
    } else {
        const auto m = nector::BinaryMessage::deserialize(data);
        json::array headers;
        for (const auto& [name, value] : m.headers()) headers.push_back(json::array{name, value});
        out["headers"] = std::move(headers);
        out["payload"] = describe_payload(m.payload());
    }
    fmt::print("{}\n", json::serialize(out));
    return 0;
}

nector::Headers parse_headers(const std::vector<std::string>& headers) {
    nector::Headers fields;
    for (const auto& h : headers) {
        const auto colon = h.find(':');
        if (colon == std::string::npos || colon == 0) {
            throw std::runtime_error("header \"" + h + "\" is not NAME: VALUE");
        }
        std::string value = h.substr(colon + 1);
        value.erase(0, value.find_first_not_of(' '));
        fields.add(h.substr(0, colon), std::move(value));
    }
    return fields;
}

int build(const std::string& type, const std::vector<std::string>& headers,
          const std::string& payload, const std::string& payload_file, const std::string& out) {
    nector::Headers fields = parse_headers(headers);
    nector::Bytes body = payload_file.empty() ? nector::to_bytes(payload) : read_all(payload_file);
    if (type == "json") {
        json::object jh;
        for (const auto& [name, value] : fields) jh[name] = value;
        const auto text = nector::as_string_view(body);
        write_all(out, nector::JsonMessage(std::move(jh),
                                           text.empty() ? json::value() : json::parse(text))
                           .serialize());
    } else {
        write_all(out, nector::BinaryMessage(std::move(fields), std::move(body)).serialize());
    }
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    CLI::App app{"nector: the nector HTTP transport's command-line client"};
    app.set_version_flag("--version", std::string(nector::version));
    app.require_subcommand(1);
    auto* message = app.add_subcommand("message", "build and inspect nector messages");
    message->require_subcommand(1);
    // `build`, `inspect` and `request` are parsed below; only one runs.

    std::string type = "binary";
    std::string path;
    auto* insp =
        message->add_subcommand("inspect", "validate a serialized message and print it as JSON");
    insp->add_option("--type", type, "message type")->check(CLI::IsMember({"json", "binary"}));
    insp->add_option("file", path, "file to read (default: standard input)");

    std::vector<std::string> headers;
    std::string payload, payload_file, out;
    auto* bld = message->add_subcommand("build", "serialize a message");
    bld->add_option("--type", type, "message type")->check(CLI::IsMember({"json", "binary"}));
    bld->add_option("-H,--header", headers, "header as 'Name: value' (repeatable)");
    auto* p = bld->add_option("--payload", payload, "payload (JSON text for --type json)");
    bld->add_option("--payload-file", payload_file, "read the payload from a file")->excludes(p);
    bld->add_option("-o,--output", out, "file to write (default: standard output)");

    RequestArgs req;
    auto* rq = app.add_subcommand("request", "send one HTTP request and print the response body");
    rq->add_option("url", req.url, "absolute URL")->required();
    rq->add_option("-X,--method", req.method, "request method (default GET)");
    rq->add_option("-H,--header", req.headers, "header as 'Name: value' (repeatable)");
    auto* js = rq->add_option("--json", req.json, "JSON body");
    rq->add_option("-d,--data", req.form, "form field NAME=VALUE (repeatable)")->excludes(js);
    rq->add_option("--timeout", req.timeout, "seconds for each phase (default 10)");
    rq->add_option("--cacert", req.cacert, "PEM file of trusted CAs");
    rq->add_flag("-k,--insecure", req.insecure, "do not verify the server's certificate");
    rq->add_flag("-i,--include", req.include, "print the status line and headers too");
    rq->add_flag("--no-redirects", req.no_redirects, "do not follow redirects");
    rq->add_flag("--http2", req.http2, "offer HTTP/2 by ALPN over TLS");
    rq->add_flag("--http2-prior-knowledge", req.http2_prior_knowledge,
                 "speak HTTP/2 without negotiation (h2c on http://)");

    CLI11_PARSE(app, argc, argv);
    try {
        if (rq->parsed()) return request(req);
        if (insp->parsed()) return inspect(type, path);
        if (bld->parsed()) return build(type, headers, payload, payload_file, out);
        return 2;
    } catch (const nector::TransportError& e) {
        fmt::print(stderr, "nector: {} [{}]\n", e.what(),
                   nector::to_string(static_cast<nector::errc>(e.code().value())));
    } catch (const std::exception& e) {
        fmt::print(stderr, "nector: {}\n", e.what());
    }
    return 1;
}
