// `nector --download URL` (download.hpp).
#include "download.hpp"

#include <fmt/core.h>

#include <unistd.h>

#include <charconv>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>

namespace nector::cli {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

std::string size_text(double bytes) {
    constexpr std::array<std::string_view, 5> units{"B", "KiB", "MiB", "GiB", "TiB"};
    std::size_t unit = 0;
    while (bytes >= 1024 && unit + 1 < units.size()) {
        bytes /= 1024;
        ++unit;
    }
    return unit == 0 ? fmt::format("{:.0f} B", bytes)
                     : fmt::format("{:.2f} {}", bytes, units[unit]);
}

std::string duration_text(double seconds) {
    const auto s = static_cast<long long>(seconds + 0.5);
    if (s >= 3600) return fmt::format("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60);
    return fmt::format("{}:{:02}", s / 60, s % 60);
}

// The progress line on stderr: drawn only on a terminal, at most ten times a second.
class Progress {
public:
    Progress(std::uint64_t start, std::optional<std::uint64_t> total)
        : start_(start),
          done_(start),
          total_(total),
          drawn_(Clock::now()),
          began_(Clock::now()),
          terminal_(is_terminal(STDERR_FILENO)) {}

    void add(std::size_t n) {
        done_ += n;
        if (!terminal_) return;
        const auto now = Clock::now();
        if (now - drawn_ < std::chrono::milliseconds(100)) return;
        drawn_ = now;
        draw(now);
    }

    // The last line: the whole figure, then a newline, whether or not on a terminal.
    void finish(std::string_view file) {
        const double seconds = elapsed(Clock::now());
        if (terminal_) {
            draw(Clock::now());
            std::fputc('\n', stderr);
        }
        fmt::print(stderr, "Done: {} in {:.2f} s ({}/s) to \"{}\"\n",
                   size_text(double(done_ - start_)), seconds, size_text(rate(seconds)), file);
    }

    // An interrupted download ends the line before the error is printed.
    void stop() {
        if (terminal_) std::fputc('\n', stderr);
    }

    std::uint64_t done() const noexcept { return done_; }

private:
    double elapsed(Clock::time_point now) const {
        return std::chrono::duration<double>(now - began_).count();
    }
    double rate(double seconds) const {
        return seconds > 0 ? double(done_ - start_) / seconds : 0.0;
    }

    void draw(Clock::time_point now) const {
        const double seconds = elapsed(now);
        const double speed = rate(seconds);
        if (total_ && *total_ > 0) {
            const double fraction = std::min(1.0, double(done_) / double(*total_));
            constexpr int width = 24;
            const int filled = static_cast<int>(fraction * width);
            std::string bar(static_cast<std::size_t>(filled), '#');
            bar.append(static_cast<std::size_t>(width - filled), ' ');
            const double left = speed > 0 ? double(*total_ - std::min(done_, *total_)) / speed : 0;
            fmt::print(stderr, "\r{:3.0f}% [{}] {} / {}  {}/s  ETA {}\x1b[K", fraction * 100, bar,
                       size_text(double(done_)), size_text(double(*total_)), size_text(speed),
                       duration_text(left));
        } else {
            fmt::print(stderr, "\r{}  {}/s\x1b[K", size_text(double(done_)), size_text(speed));
        }
        std::fflush(stderr);
    }

    std::uint64_t start_;
    std::uint64_t done_;
    std::optional<std::uint64_t> total_;
    Clock::time_point drawn_;
    Clock::time_point began_;
    bool terminal_;
};

std::optional<std::uint64_t> number(std::string_view text) {
    std::uint64_t value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
    return value;
}

// "bytes FIRST-LAST/TOTAL" (or "bytes */TOTAL"): FIRST, and TOTAL when known.
struct ContentRange {
    std::optional<std::uint64_t> first;
    std::optional<std::uint64_t> total;
};
ContentRange content_range(std::string_view value) {
    ContentRange range;
    if (!value.starts_with("bytes ")) return range;
    value.remove_prefix(6);
    const auto slash = value.find('/');
    if (slash == std::string_view::npos) return range;
    range.total = number(value.substr(slash + 1));
    const auto dash = value.find('-');
    if (dash != std::string_view::npos && dash < slash) range.first = number(value.substr(0, dash));
    return range;
}

struct FileCloser {
    void operator()(std::FILE* f) const noexcept { std::fclose(f); }
};

std::string unused_name(const std::string& name) {
    std::error_code ec;
    if (!fs::exists(name, ec) && !fs::exists(name + ".part", ec)) return name;
    for (int i = 1;; ++i) {
        std::string candidate = fmt::format("{}-{}", name, i);
        if (!fs::exists(candidate, ec) && !fs::exists(candidate + ".part", ec)) return candidate;
    }
}

std::string status_text(const http::Response& r) {
    return r.reason.empty() ? std::to_string(r.status) : fmt::format("{} {}", r.status, r.reason);
}

Exit status_exit(int status) {
    if (status < 400) return Exit::status_3xx;
    return status < 500 ? Exit::status_4xx : Exit::status_5xx;
}

} // namespace

std::string download_name(std::string_view content_disposition, std::string_view url) {
    std::string name;
    // filename*=UTF-8''name (RFC 6266), else filename="name" or filename=name.
    for (const std::string_view key : {"filename*=", "filename="}) {
        const auto at = content_disposition.find(key);
        if (at == std::string_view::npos) continue;
        std::string_view value = content_disposition.substr(at + key.size());
        value = value.substr(0, value.find(';'));
        if (key == "filename*=") {
            const auto quote = value.find("''");
            if (quote == std::string_view::npos) continue;
            value.remove_prefix(quote + 2);
        } else if (value.starts_with('"')) {
            value.remove_prefix(1);
            value = value.substr(0, value.find('"'));
        }
        name = std::string(value);
        break;
    }
    if (name.empty()) {
        std::string_view path = url;
        if (const auto scheme = path.find("://"); scheme != std::string_view::npos)
            path.remove_prefix(scheme + 3);
        path = path.substr(0, path.find_first_of("?#"));
        const auto slash = path.find('/');
        path = slash == std::string_view::npos ? std::string_view() : path.substr(slash);
        name = std::string(path);
    }
    // Percent-escapes decoded, then only the last segment kept: never a directory of the
    // server's choosing, however spelled (%2F included).
    std::string decoded;
    for (std::size_t i = 0; i < name.size(); ++i) {
        unsigned value = 0;
        if (name[i] == '%' && i + 2 < name.size()) {
            const char* first = name.data() + i + 1;
            const auto [end, ec] = std::from_chars(first, first + 2, value, 16);
            if (ec == std::errc() && end == first + 2) {
                decoded += static_cast<char>(value);
                i += 2;
                continue;
            }
        }
        decoded += name[i];
    }
    name = std::move(decoded);
    if (const auto slash = name.find_last_of("/\\"); slash != std::string::npos)
        name.erase(0, slash + 1);
    bool printable = !name.empty();
    for (const char c : name) {
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) printable = false;
    }
    if (!printable || name == "." || name == "..") return "index";
    return name;
}

Exit run_download(const DownloadFlags& flags, http::HttpMessage message, http::Options options) {
    if (flags.resume && flags.output.empty()) {
        throw UsageError("--continue needs -o FILE: the file to resume");
    }
    // The bytes as stored on the server: ranges count them, so nothing is decoded (a
    // .tar.gz served with Content-Encoding: gzip is saved as it came).
    options.decode_content = false;
    if (!message.headers.contains("Accept-Encoding"))
        message.headers.set("Accept-Encoding", "identity");

    std::uint64_t have = 0;
    std::string part = flags.output.empty() ? std::string() : flags.output + ".part";
    std::error_code ec;
    if (flags.resume && fs::exists(part, ec)) {
        have = fs::file_size(part, ec);
        if (have > 0) message.headers.set("Range", fmt::format("bytes={}-", have));
    }
    const std::string url = message.url;
    const std::string method = message.method;

    http::BlockingClient client(std::move(options));
    http::BlockingStream stream = client.stream(std::move(message));
    const http::Response& head = stream.response();

    std::optional<std::uint64_t> total;
    bool append = false;
    if (head.status == 206 && have > 0) {
        const auto range = content_range(head.headers.get("Content-Range").value_or(""));
        if (range.first != have) {
            throw std::runtime_error(fmt::format(
                "resuming \"{}\": the server's Content-Range \"{}\" does not start at byte {}",
                part, head.headers.get("Content-Range").value_or(""), have));
        }
        append = true;
        total = range.total;
    } else if (head.status == 416 && have > 0) {
        // Nothing past what we have: complete if the server's size says so.
        const auto range = content_range(head.headers.get("Content-Range").value_or(""));
        if (range.total != have) {
            throw std::runtime_error(fmt::format(
                "resuming \"{}\": the server has no bytes from {} on (416) but its size is {}",
                part, have, range.total ? std::to_string(*range.total) : "unknown"));
        }
        fs::rename(part, flags.output);
        fmt::print(stderr, "Done: \"{}\" was already whole ({})\n", flags.output,
                   size_text(double(have)));
        return Exit::ok;
    } else if (head.status < 200 || head.status >= 300) {
        fmt::print(stderr, "nector: {} {} answered {}; nothing downloaded\n", method, head.url,
                   status_text(head));
        return status_exit(head.status);
    } else {
        if (have > 0) {
            fmt::print(stderr,
                       "nector: the server sent the whole file (200), not the rest; "
                       "starting over\n");
        }
        have = 0;
        if (const auto length = head.headers.get("Content-Length")) total = number(*length);
    }

    const std::string output =
        !flags.output.empty()
            ? flags.output
            : unused_name(download_name(head.headers.get("Content-Disposition").value_or(""),
                                        head.url.empty() ? url : head.url));
    part = output + ".part";
    std::unique_ptr<std::FILE, FileCloser> file(std::fopen(part.c_str(), append ? "ab" : "wb"));
    if (!file) throw UsageError(fmt::format("cannot write \"{}\"", part));

    fmt::print(stderr, "Downloading {} to \"{}\"\n",
               total ? size_text(double(*total)) : std::string("a body of unknown size"), output);
    Progress progress(have, total);
    try {
        while (auto chunk = stream.next()) {
            if (std::fwrite(chunk->data(), 1, chunk->size(), file.get()) != chunk->size()) {
                throw std::runtime_error(fmt::format("writing \"{}\" failed", part));
            }
            progress.add(chunk->size());
        }
        if (std::fflush(file.get()) != 0)
            throw std::runtime_error(fmt::format("writing \"{}\" failed", part));
    } catch (const std::exception& e) {
        progress.stop();
        file.reset();
        fmt::print(stderr,
                   "nector: the download of {} stopped after {}{}; the bytes so far are in "
                   "\"{}\" (`nector --download --continue -o {} URL` resumes)\n",
                   url, size_text(double(progress.done())),
                   total ? " of " + size_text(double(*total)) : std::string(), part, output);
        throw;
    }
    file.reset();
    // Whole only when every byte is here: a 206 may end cleanly short of the size its
    // Content-Range gave (a server that caps ranges).
    if (total && progress.done() != *total) {
        progress.stop();
        fmt::print(stderr,
                   "nector: the download of {} ended at {} of {} bytes; the bytes so far are in "
                   "\"{}\" (`nector --download --continue -o {} URL` resumes)\n",
                   url, progress.done(), *total, part, output);
        return Exit::bad_response;
    }
    fs::rename(part, output);
    progress.finish(output);
    return Exit::ok;
}

} // namespace nector::cli
