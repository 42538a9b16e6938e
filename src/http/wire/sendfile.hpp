// Sending a file's bytes to a socket from the page cache (sendfile()), for uploads over
// plain TCP: HTTP/1.1 bodies and HTTP/2 DATA payloads.
#pragma once

#include <cstddef>

#include <sys/types.h>

namespace nector::http::detail {

/// sendfile(), without the SIGPIPE it raises when the peer is gone (EPIPE is returned).
ssize_t sendfile_quietly(int socket, int file, off_t* offset, std::size_t count) noexcept;

} // namespace nector::http::detail
