// `nector message build|inspect`: nector's own message envelopes (binary and JSON).
#include "cli.hpp"

#include <fmt/core.h>
#include <CLI/CLI.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>

namespace nector::cli {
namespace {

namespace json = boost::json;

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

int build(const std::string& type, const std::vector<std::string>& headers,
          const std::string& payload, const std::string& payload_file, const std::string& out) {
    nector::Headers fields = header_flags(headers);
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

int message_main(int argc, char** argv) {
    CLI::App app{"nector message: build and inspect nector's message envelopes", "nector message"};
    app.require_subcommand(1);
    std::string type = "binary";
    std::string path;
    auto* insp =
        app.add_subcommand("inspect", "validate a serialized message and print it as JSON");
    insp->add_option("--type", type, "message type")->check(CLI::IsMember({"json", "binary"}));
    insp->add_option("file", path, "file to read (default: standard input)");

    std::vector<std::string> headers;
    std::string payload, payload_file, out;
    auto* bld = app.add_subcommand("build", "serialize a message");
    bld->add_option("--type", type, "message type")->check(CLI::IsMember({"json", "binary"}));
    bld->add_option("-H,--header", headers, "header as 'Name: value' (repeatable)");
    auto* p = bld->add_option("--payload", payload, "payload (JSON text for --type json)");
    bld->add_option("--payload-file", payload_file, "read the payload from a file")->excludes(p);
    bld->add_option("-o,--output", out, "file to write (default: standard output)");

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        const int code = app.exit(e);
        return code == 0 ? 0 : static_cast<int>(Exit::bad_input);
    }
    // Exit status 1 for anything that fails here (bad bytes, a file that cannot be read).
    try {
        if (insp->parsed()) return inspect(type, path);
        return build(type, headers, payload, payload_file, out);
    } catch (const std::exception& e) {
        fmt::print(stderr, "nector: {}\n", e.what());
        return 1;
    }
}

} // namespace nector::cli
