"""Serves httpbin for nector's tests on 127.0.0.1 with an ephemeral port.

Prints the port on stdout, then a newline, only once the socket listens, so whoever reads
that line can connect at once. Requests are served on threads, so /delay/N blocks nothing
else. Stops on SIGTERM. Request logs go to stderr.
"""

import os
import sys

from werkzeug.serving import make_server

import httpbin


def main():
    # make_server binds and listens before returning; port 0 picks a free port.
    server = make_server("127.0.0.1", 0, httpbin.app, threaded=True)
    sys.stdout.write(f"{server.server_port}\n")
    sys.stdout.flush()
    # Nobody reads stdout after the port: send anything printed later to the log.
    os.dup2(2, 1)
    server.serve_forever()


if __name__ == "__main__":
    main()
