#!/usr/bin/python3
"""Peer client for bench/compare: httpx (bench/peers/README.md).

    httpx_client.py URL REQUESTS CONCURRENCY [http1|h2c|h2]

CONCURRENCY worker tasks share one httpx.AsyncClient and take requests from a shared
counter. http1: CONCURRENCY pooled connections. h2 (http2=True, certificate not verified)
and h2c (http1=False, http2=True: HTTP/2 by prior knowledge): one connection
(max_connections=1) carrying CONCURRENCY streams, through the h2 package.
Prints one line of JSON on stdout.
"""
import os
import sys

import httpx

# contract.py sits beside this script; no __pycache__ in the source tree.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True
import contract  # noqa: E402


def make_client(protocol, concurrency):
    if protocol == "http1":
        return httpx.AsyncClient(limits=httpx.Limits(
            max_connections=concurrency, max_keepalive_connections=concurrency))
    one_connection = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    if protocol == "h2c":
        return httpx.AsyncClient(http1=False, http2=True, limits=one_connection)
    return httpx.AsyncClient(http2=True, verify=False, limits=one_connection)


async def fetch(client, url):
    response = await client.get(url)  # reads the body
    return response.status_code


if __name__ == "__main__":
    contract.main("httpx", ("http1", "h2c", "h2"), make_client, fetch)
