#include "http/wire/sendfile.hpp"

#include <cerrno>
#include <ctime>

#include <pthread.h>
#include <signal.h>
#include <sys/sendfile.h>

namespace nector::http::detail {

ssize_t sendfile_quietly(int socket, int file, off_t* offset, std::size_t count) noexcept {
    // sendfile() takes no MSG_NOSIGNAL: a peer gone (EPIPE) would raise SIGPIPE, whose
    // default ends the process. It is blocked on this thread for the call, and the one the
    // call raised taken back (the kernel sends it to the calling thread), unless one was
    // already pending, which is left as it was. A call that sent part of its bytes before
    // the peer went returns that count, not EPIPE, with the signal raised all the same.
    sigset_t pipe;
    sigset_t old;
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    sigset_t pending;
    sigemptyset(&pending);
    const bool masked = pthread_sigmask(SIG_BLOCK, &pipe, &old) == 0;
    const bool was_pending = masked && sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE);
    const ssize_t n = ::sendfile(socket, file, offset, count);
    const int error = errno;
    if (masked) {
        const bool short_of = n < 0 ? error == EPIPE : static_cast<std::size_t>(n) < count;
        if (short_of && !was_pending) {
            const timespec none{};
            while (sigtimedwait(&pipe, nullptr, &none) < 0 && errno == EINTR) {
            }
        }
        pthread_sigmask(SIG_SETMASK, &old, nullptr);
    }
    errno = error;
    return n;
}

} // namespace nector::http::detail
