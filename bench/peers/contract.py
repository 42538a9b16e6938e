"""bench/peers/README.md's contract for the Python peer clients (aiohttp_client.py,
httpx_client.py): argument parsing, the worker loop, the measured phase and the JSON line.

A client calls main() with its name, the protocols it speaks, make_client(protocol,
concurrency) returning an async context manager (the session) and fetch(session, url),
a coroutine that reads one response's body to its end and returns its status code.
"""
import asyncio
import json
import math
import os
import resource
import sys
import time

PROTOCOLS = ("http1", "h2c", "h2")


def cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def percentile(ordered, p):
    """Nearest rank: the smallest sample with at least p of the samples at or below it."""
    if not ordered:
        return 0
    rank = min(max(math.ceil(p * len(ordered)), 1), len(ordered))
    return round(ordered[rank - 1], 1)


def fail(message, status):
    print(message, file=sys.stderr)
    sys.exit(status)


def parse_args(argv, supported):
    """URL, REQUESTS, CONCURRENCY, PROTOCOL; exits 2 on bad arguments, 3 on a protocol of
    PROTOCOLS that is not in supported."""
    if not 4 <= len(argv) <= 5:
        fail(f"usage: {os.path.basename(argv[0])} URL REQUESTS CONCURRENCY [http1|h2c|h2]", 2)
    protocol = argv[4] if len(argv) > 4 else "http1"
    if protocol in PROTOCOLS and protocol not in supported:
        fail("unsupported protocol", 3)
    if protocol not in PROTOCOLS:
        fail("PROTOCOL must be http1, h2c or h2", 2)
    try:
        total, concurrency = int(argv[2]), int(argv[3])
    except ValueError:
        total = concurrency = 0
    if total <= 0 or concurrency <= 0:
        fail("REQUESTS and CONCURRENCY must be positive integers", 2)
    return argv[1], total, concurrency, protocol


async def measure(url, total, concurrency, session, fetch):
    """CONCURRENCY workers take requests from a shared counter until TOTAL are issued.
    session: a callable opening the session, called inside the measured phase."""
    issued = ok = errors = 0
    latencies = []

    async def worker(client):
        nonlocal issued, ok, errors
        while issued < total:
            issued += 1
            start = time.perf_counter()
            try:
                status = await fetch(client, url)
                if status != 200:
                    raise RuntimeError(f"status {status}")
                latencies.append((time.perf_counter() - start) * 1e6)
                ok += 1
            except Exception as error:  # noqa: BLE001 - every failure counts as an error
                if errors == 0:
                    print(f"first error: {error!r}", file=sys.stderr)
                errors += 1

    cpu_before = cpu_seconds()
    start = time.perf_counter()
    async with session() as client:
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        seconds = time.perf_counter() - start
        cpu = cpu_seconds() - cpu_before
    latencies.sort()
    return ok, errors, seconds, cpu, latencies


def main(name, supported, make_client, fetch):
    """Parses sys.argv, runs the measured phase, prints the JSON line and exits."""
    url, total, concurrency, protocol = parse_args(sys.argv, supported)
    ok, errors, seconds, cpu, latencies = asyncio.run(measure(
        url, total, concurrency, lambda: make_client(protocol, concurrency), fetch))
    print(json.dumps({
        "client": name, "protocol": protocol, "requests": total, "ok": ok,
        "errors": errors, "concurrency": concurrency, "seconds": round(seconds, 6),
        "cpu_s": round(cpu, 6), "p50_us": percentile(latencies, 0.50),
        "p99_us": percentile(latencies, 0.99),
    }, separators=(",", ":")))
    sys.exit(0 if errors == 0 else 1)
