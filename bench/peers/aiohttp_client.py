#!/usr/bin/python3
"""Peer client for bench/compare: aiohttp (bench/peers/README.md).

    aiohttp_client.py URL REQUESTS CONCURRENCY [http1]

CONCURRENCY worker tasks share one ClientSession whose TCPConnector keeps CONCURRENCY
connections, and take requests from a shared counter. aiohttp speaks HTTP/1.1 only, so h2c
and h2 exit with status 3. Prints one line of JSON on stdout.
"""
import os
import sys

import aiohttp

# contract.py sits beside this script; no __pycache__ in the source tree.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True
import contract  # noqa: E402


def make_client(protocol, concurrency):
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency))


async def fetch(session, url):
    async with session.get(url) as response:
        await response.read()
        return response.status


if __name__ == "__main__":
    contract.main("aiohttp", ("http1",), make_client, fetch)
