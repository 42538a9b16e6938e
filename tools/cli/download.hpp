// `nector --download URL`: a body streamed to a file, with a progress bar on a terminal.
#pragma once

#include "cli.hpp"

#include <string>

namespace nector::cli {

struct DownloadFlags {
    std::string output;  ///< -o FILE; empty: from Content-Disposition, else the URL's path
    bool resume = false; ///< --continue: resume FILE.part with a Range request (needs -o)
};

/// Streams the response to `FILE.part` and renames it to FILE once the body has ended
/// whole; an interrupted download stays under the .part name (docs/cli.md). Returns the
/// exit status.
Exit run_download(const DownloadFlags& flags, http::HttpMessage message, http::Options options);

/// A file name for a download: Content-Disposition's filename (its last path segment), else
/// the URL path's last segment, else "index"; never "", "." or "..".
std::string download_name(std::string_view content_disposition, std::string_view url);

} // namespace nector::cli
