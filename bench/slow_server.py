#!/usr/bin/python3
"""A slow HTTP/1.1 endpoint for bench/inflight-memory: answers every request with
"200 OK" and a 12-byte body, keep-alive, but only once enough requests are waiting.

A request whose query has hold=N is held until N held requests are pending at once (a
barrier), so that when its client sees the first response, all N were in flight; then
each answer is sent after --delay seconds more. A request without hold waits --delay
seconds. A held request waits at most --max-hold seconds (then it is answered anyway, so
a failed client never leaves the server stuck).

    slow_server.py [--delay S] [--max-hold S]

Listens on an ephemeral loopback port and prints it, alone on a line, once listening.
Stops on SIGTERM or SIGINT. Standard library only.
"""

import argparse
import asyncio
import resource
import signal
import sys
from urllib.parse import parse_qs, urlsplit

BODY = b"hello world\n"
RESPONSE = (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n"
            % len(BODY)) + BODY
MAX_HEAD = 64 * 1024


class Barrier:
    """Releases every waiter once `n` of them (the n of the last arrival) are waiting."""

    def __init__(self):
        self.waiters = []

    async def wait(self, n, max_hold):
        future = asyncio.get_running_loop().create_future()
        self.waiters.append(future)
        if len(self.waiters) >= n:
            for waiter in self.waiters:
                if not waiter.done():
                    waiter.set_result(None)
            self.waiters = []
        try:
            await asyncio.wait_for(asyncio.shield(future), max_hold)
        except asyncio.TimeoutError:
            if future in self.waiters:
                self.waiters.remove(future)


def hold_of(target):
    values = parse_qs(urlsplit(target.decode("latin-1")).query).get("hold")
    try:
        return int(values[0]) if values else 0
    except ValueError:
        return 0


async def serve(reader, writer, args, barrier):
    try:
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except asyncio.LimitOverrunError:
                return
            lines = head.split(b"\r\n")
            parts = lines[0].split(b" ")
            if len(parts) != 3:
                return
            length = 0
            close = False
            for line in lines[1:]:
                name, _, value = line.partition(b":")
                name = name.strip().lower()
                if name == b"content-length":
                    length = int(value.strip())
                elif name == b"connection" and value.strip().lower() == b"close":
                    close = True
            if length:
                await reader.readexactly(length)
            hold = hold_of(parts[1])
            if hold > 0:
                await barrier.wait(hold, args.max_hold)
            if args.delay > 0:
                await asyncio.sleep(args.delay)
            writer.write(RESPONSE)
            await writer.drain()
            if close:
                return
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--delay", type=float, default=0.0,
                        help="seconds before each answer (after any hold); default 0")
    parser.add_argument("--max-hold", type=float, default=60.0,
                        help="longest wait of a held request, in seconds; default 60")
    args = parser.parse_args()

    # One socket per client connection: allow as many as the hard limit does.
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    barrier = Barrier()
    server = await asyncio.start_server(
        lambda r, w: serve(r, w, args, barrier), "127.0.0.1", 0, backlog=4096,
        limit=MAX_HEAD)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await stop.wait()


if __name__ == "__main__":
    asyncio.run(main())
    sys.exit(0)
