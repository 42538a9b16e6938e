"""Tests of the `nector` binary as a user runs it: through pipes, and under a real
pseudo-terminal (util-linux's `script`) for what only a terminal gets (colours, the binary
notice). The servers are local: httpbin (Debian's python3-httpbin, started by
tests/support/httpbin_server.py on an ephemeral port), nghttpd for h2c, `openssl s_server`
for TLS, and small socket servers here for what no real server does on purpose (never
answering, answering garbage).

Usage: cli_test.py NECTOR HTTPBIN_LAUNCHER [unittest arguments, e.g. Items]
"""

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import unittest

NECTOR = ""
LAUNCHER = ""
HTTPBIN_PORT = 0
_httpbin = None


def setUpModule():
    global _httpbin, HTTPBIN_PORT
    # Debian's httpbin is a module of the system Python.
    _httpbin = subprocess.Popen(["/usr/bin/python3", LAUNCHER], stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, text=True)
    line = _httpbin.stdout.readline()  # printed once the socket listens
    if not line.strip().isdigit():
        raise RuntimeError("httpbin did not start (install python3-httpbin)")
    HTTPBIN_PORT = int(line)


def tearDownModule():
    if _httpbin:
        _httpbin.kill()
        _httpbin.wait()


def run(*args, stdin=subprocess.DEVNULL, input=None):
    """The binary through pipes: (exit status, stdout bytes, stderr text)."""
    p = subprocess.run([NECTOR, *args], stdin=None if input is not None else stdin,
                       input=input, capture_output=True, timeout=60)
    return p.returncode, p.stdout, p.stderr.decode(errors="replace")


def run_tty(*args):
    """The binary with a pseudo-terminal as stdout (and stdin): (exit status, output)."""
    command = " ".join(shlex_quote(a) for a in [NECTOR, *args])
    p = subprocess.run(["script", "-qec", command, "/dev/null"], stdin=subprocess.DEVNULL,
                       capture_output=True, timeout=60)
    return p.returncode, p.stdout


def shlex_quote(text):
    import shlex
    return shlex.quote(text)


def hb(path):
    return f"http://127.0.0.1:{HTTPBIN_PORT}{path}"


def body_json(out):
    return json.loads(out.decode())


class OneShotServer:
    """A TCP server on an ephemeral port whose handler gets each accepted socket."""

    def __init__(self, handler):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.handler = handler
        self.conns = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)
            self.handler(conn)

    def close(self):
        self.sock.close()
        for c in self.conns:
            c.close()


def read_head(conn):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def make_certificate(directory):
    """A fresh self-signed certificate for 127.0.0.1: (key path, certificate path)."""
    key, cert = os.path.join(directory, "k.pem"), os.path.join(directory, "c.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                    "-out", cert, "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
    return key, cert


def free_port():
    """A loopback TCP port nothing listens on (bound, then closed)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class TlsServer:
    """`openssl s_server -www` on a free port with a fresh self-signed certificate for
    127.0.0.1 (`cert`, `key`); `extra` adds s_server flags. A context manager."""

    def __init__(self, *extra):
        self.dir = tempfile.TemporaryDirectory()
        self.key, self.cert = make_certificate(self.dir.name)
        self.port = free_port()
        self.url = f"https://127.0.0.1:{self.port}/"
        self.process = subprocess.Popen(
            ["openssl", "s_server", "-accept", f"127.0.0.1:{self.port}", "-key", self.key,
             "-cert", self.cert, "-www", "-naccept", "2", *[a.replace("{cert}", self.cert)
                                                            for a in extra]],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
            text=True)
        for line in self.process.stdout:  # "ACCEPT" once the socket listens
            if line.strip() == "ACCEPT":
                break

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.process.kill()
        self.process.wait()
        self.process.stdout.close()
        self.dir.cleanup()


class Items(unittest.TestCase):
    def test_data_fields_make_a_json_post(self):
        code, out, err = run(hb("/anything"), "name=ada", "age:=36", "tags:=[\"a\",\"b\"]",
                             "q==1", "X-Id:7")
        self.assertEqual(code, 0, err)
        got = body_json(out)
        self.assertEqual(got["method"], "POST")
        self.assertEqual(got["json"], {"name": "ada", "age": 36, "tags": ["a", "b"]})
        self.assertEqual(got["args"], {"q": "1"})
        self.assertEqual(got["headers"]["X-Id"], "7")
        self.assertEqual(got["headers"]["Content-Type"], "application/json")
        self.assertIn("application/json", got["headers"]["Accept"])

    def test_no_body_is_a_get_and_a_method_word_is_the_method(self):
        code, out, _ = run(hb("/anything"))
        self.assertEqual(body_json(out)["method"], "GET")
        code, out, _ = run("delete", hb("/anything"), "q==2")
        got = body_json(out)
        self.assertEqual((got["method"], got["args"]), ("DELETE", {"q": "2"}))
        code, out, _ = run("patch", f"127.0.0.1:{HTTPBIN_PORT}/anything")
        self.assertEqual(body_json(out)["method"], "PATCH")
        # A word that names no method is the URL: `nector localhost a=1`.
        to_httpbin = ("--connect-to", f"somehost:80:127.0.0.1:{HTTPBIN_PORT}")
        code, out, err = run(*to_httpbin, "somehost/anything", "a=1")
        got = body_json(out)
        self.assertEqual((got["method"], got["json"]), ("POST", {"a": "1"}), err)
        code, out, err = run(*to_httpbin, "somehost/headers", "X-Id:7")
        self.assertEqual(body_json(out)["headers"]["X-Id"], "7", err)
        # A method before a URL whose query holds items' separators.
        code, out, err = run("GET", f"127.0.0.1:{HTTPBIN_PORT}/anything?a=b&c=d:e")
        got = body_json(out)
        self.assertEqual((got["method"], got["args"]), ("GET", {"a": "b", "c": "d:e"}), err)

    def test_json_and_data_flags_make_a_post(self):
        code, out, err = run("--json", '{"n": 2}', hb("/anything"))
        self.assertEqual(code, 0, err)
        got = body_json(out)
        self.assertEqual((got["method"], got["json"]), ("POST", {"n": 2}))
        code, out, _ = run("-d", "a=1", "-d", "b=2", hb("/anything"))
        got = body_json(out)
        self.assertEqual((got["method"], got["form"]), ("POST", {"a": "1", "b": "2"}))
        # The earlier spelling: `nector request -X ... URL`.
        code, out, _ = run("request", "-X", "PUT", hb("/anything"), "--json", "[1]")
        got = body_json(out)
        self.assertEqual((got["method"], got["json"]), ("PUT", [1]))

    def test_form_and_files(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "note.txt")
            with open(path, "w") as f:
                f.write("file text")
            code, out, err = run("--form", hb("/post"), "a=1", f"doc@{path}")
            self.assertEqual(code, 0, err)
            got = body_json(out)
            self.assertEqual(got["form"], {"a": "1"})
            self.assertEqual(got["files"], {"doc": "file text"})
            self.assertTrue(got["headers"]["Content-Type"].startswith("multipart/form-data"))
            code, out, _ = run("-f", hb("/post"), "a=1", "b=two words")
            got = body_json(out)
            self.assertEqual(got["form"], {"a": "1", "b": "two words"})
            self.assertEqual(got["headers"]["Content-Type"], "application/x-www-form-urlencoded")
            code, out, _ = run(hb("/post"), f"text=@{path}")
            self.assertEqual(body_json(out)["json"], {"text": "file text"})

    def test_body_from_a_pipe(self):
        code, out, err = run(hb("/anything"), input=b"piped bytes")
        self.assertEqual(code, 0, err)
        got = body_json(out)
        self.assertEqual((got["method"], got["data"]), ("POST", "piped bytes"))
        code, out, _ = run("--ignore-stdin", hb("/anything"), input=b"ignored")
        self.assertEqual(body_json(out)["method"], "GET")

    def test_escapes_and_header_forms(self):
        code, out, _ = run(hb("/anything"), "a\\:b=c", "User-Agent:", "Accept:", "X-Empty;",
                           "X-A:1", "X-A:2")
        got = body_json(out)
        self.assertEqual(got["json"], {"a:b": "c"})
        self.assertNotIn("User-Agent", got["headers"])
        self.assertNotIn("Accept", got["headers"])  # nector's default left out too
        self.assertEqual(got["headers"]["X-Empty"], "")
        self.assertEqual(got["headers"]["X-A"], "1,2")  # both sent; httpbin joins them

    def test_url_shorthands(self):
        code, out, err = run(f":{HTTPBIN_PORT}/get")
        self.assertEqual(code, 0, err)
        self.assertEqual(body_json(out)["headers"]["Host"], f"localhost:{HTTPBIN_PORT}")
        code, out, err = run(f"127.0.0.1:{HTTPBIN_PORT}/get", "x==1")
        self.assertEqual(body_json(out)["url"], hb("/get?x=1"))

    def test_bad_items_are_refused_with_status_9(self):
        for args, says in [((hb("/get"), "a:=nope"), "not JSON"),
                           ((hb("/get"), "plain"), "is not a request item"),
                           ((hb("/get"), "f@/no/such/file"), "cannot read the file"),
                           (("--json", "{}", hb("/post"), "a=1"), "the body is given twice"),
                           (("-f", hb("/post"), "n:=1"), "raw JSON"),
                           (("--no-such-flag", hb("/get")), "no-such-flag"),
                           (("http://bad host/",), "invalid URL")]:
            code, out, err = run(*args)
            self.assertEqual(code, 9, (args, err))
            self.assertIn(says, err)
            if "no-such-flag" not in says:  # CLI11 adds a "Run with --help" line
                self.assertEqual(err.count("\n"), 1, err)


class Output(unittest.TestCase):
    def test_piped_output_is_the_body_alone_without_colours(self):
        code, out, _ = run(hb("/get"))
        self.assertTrue(out.startswith(b"{"))
        self.assertNotIn(b"\x1b[", out)

    def test_print_letters_and_shortcuts(self):
        code, out, _ = run("-h", hb("/get"))
        text = out.decode()
        self.assertTrue(text.startswith("HTTP/1.1 200 OK\n"), text)
        self.assertNotIn('"args"', text)
        code, out, _ = run("-v", hb("/anything"), "a=1")
        text = out.decode()
        self.assertRegex(text, r"^POST /anything HTTP/1.1\nHost: 127.0.0.1:\d+\n")
        self.assertIn('{"a":"1"}\n', text)  # the request body
        self.assertIn("\nHTTP/1.1 200 OK\n", text)
        code, out, _ = run("--print=Hh", hb("/get"))
        text = out.decode()
        self.assertTrue(text.startswith("GET /get HTTP/1.1\n"))
        self.assertIn("HTTP/1.1 200 OK", text)
        self.assertNotIn('"args"', text)
        code, _, err = run("--print=x", hb("/get"))
        self.assertEqual(code, 9)
        self.assertIn("'x' is not one of", err)

    def test_include_prints_each_redirect_head_as_sent(self):
        code, out, _ = run("-i", hb("/redirect/2"))
        text = out.decode()
        self.assertEqual(len(re.findall(r"HTTP/1.1 302 FOUND\r\n", text)), 2, text)
        self.assertIn("HTTP/1.1 200 OK\r\n", text)
        self.assertIn("Location: /get\r\n", text)
        self.assertTrue(text.rstrip().endswith("}"))
        code, out, _ = run("-i", "--no-follow", hb("/redirect/2"))
        self.assertEqual(out.decode().count("HTTP/1.1 "), 1)

    def test_all_prints_every_exchange(self):
        code, out, _ = run("--all", "-v", hb("/redirect/1"))
        text = out.decode()
        self.assertIn("GET /redirect/1 HTTP/1.1", text)
        self.assertIn("GET /get HTTP/1.1", text)
        self.assertLess(text.index("302 FOUND"), text.index("200 OK"))

    def test_pretty_modes(self):
        code, out, _ = run("--pretty=format", hb("/get"))
        self.assertIn(b'{\n    "args": {},\n', out)
        self.assertNotIn(b"\x1b[", out)
        code, out, _ = run("--pretty=colors", hb("/get"))
        self.assertIn(b"\x1b[", out)
        self.assertNotIn(b"\n    ", out)
        code, out, _ = run("--pretty=all", "-h", hb("/get"))
        self.assertIn(b"\x1b[36mContent-Type\x1b[0m", out)

    def test_output_file(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "out.json")
            code, out, _ = run("-o", path, hb("/get"))
            self.assertEqual((code, out), (0, b""))
            with open(path) as f:
                self.assertEqual(json.load(f)["url"], hb("/get"))

    def test_binary_body_piped_is_the_bytes(self):
        code, out, _ = run(hb("/image/png"))
        self.assertTrue(out.startswith(b"\x89PNG"))


class Terminal(unittest.TestCase):
    def setUp(self):
        if shutil.which("script") is None:
            self.fail("`script` (util-linux) is needed for the terminal tests")

    def test_a_terminal_gets_the_head_colours_and_indented_json(self):
        code, out = run_tty(hb("/get"))
        self.assertEqual(code, 0, out)
        self.assertIn(b"\x1b[34mHTTP/1.1\x1b[0m \x1b[32m200 OK\x1b[0m", out)
        self.assertIn(b"\x1b[1;34m\"args\"\x1b[0m: {}", out)
        self.assertIn(b"\n    ", out)

    def test_a_binary_body_is_not_dumped_on_a_terminal(self):
        code, out = run_tty(hb("/image/png"))
        self.assertIn(b"NOTE: binary data not shown in terminal", out)
        self.assertNotIn(b"PNG", out)

    def test_pretty_none_on_a_terminal(self):
        code, out = run_tty("--pretty=none", "-b", hb("/get"))
        self.assertNotIn(b"\x1b[", out)
        self.assertTrue(out.startswith(b"{\"args\""), out)


class Download(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.cwd = self.dir.name

    def tearDown(self):
        self.dir.cleanup()

    def run_here(self, *args):
        p = subprocess.run([NECTOR, *args], stdin=subprocess.DEVNULL, capture_output=True,
                           timeout=60, cwd=self.cwd)
        return p.returncode, p.stdout, p.stderr.decode(errors="replace")

    def path(self, name):
        return os.path.join(self.cwd, name)

    def read(self, name):
        with open(self.path(name), "rb") as f:
            return f.read()

    def test_named_by_the_url_then_made_unique(self):
        code, out, err = self.run_here("--download", hb("/range/2000"))
        self.assertEqual(code, 0, err)
        self.assertEqual(out, b"")
        self.assertEqual(len(self.read("2000")), 2000)
        self.assertIn('Done: 1.95 KiB', err)
        code, _, err = self.run_here("--download", hb("/range/2000"))
        self.assertEqual(code, 0, err)
        self.assertTrue(os.path.exists(self.path("2000-1")))
        self.assertEqual(sorted(os.listdir(self.cwd)), ["2000", "2000-1"])

    def test_a_content_disposition_name_stays_in_the_directory(self):
        url = hb("/response-headers?Content-Disposition=attachment%3B%20filename%3D%22..%2F..%2Fx.txt%22")
        code, _, err = self.run_here("--download", url)
        self.assertEqual(code, 0, err)
        self.assertEqual(os.listdir(self.cwd), ["x.txt"])

    def test_an_error_status_downloads_nothing(self):
        code, _, err = self.run_here("--download", hb("/status/404"))
        self.assertEqual(code, 4)
        self.assertIn("answered 404", err)
        self.assertEqual(os.listdir(self.cwd), [])

    def test_an_interrupted_download_is_kept_as_part_and_resumed(self):
        full = bytes(range(256)) * 40  # 10240 bytes
        ranges = []

        def serve(conn):
            head = read_head(conn).decode()
            m = re.search(r"\r\nRange: bytes=(\d+)-", head)
            if m is None:  # the first try: 4000 of the bytes announced, then the end
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(full)
                             + full[:4000])
            else:
                first = int(m.group(1))
                ranges.append(first)
                rest = full[first:]
                conn.sendall(b"HTTP/1.1 206 Partial Content\r\nContent-Range: bytes %d-%d/%d\r\n"
                             b"Content-Length: %d\r\n\r\n" % (first, len(full) - 1, len(full), len(rest))
                             + rest)
            conn.close()
        server = OneShotServer(serve)
        try:
            url = f"http://127.0.0.1:{server.port}/file.bin"
            code, _, err = self.run_here("--download", "-o", "file.bin", url)
            self.assertEqual(code, 7, err)
            self.assertFalse(os.path.exists(self.path("file.bin")))
            self.assertEqual(self.read("file.bin.part"), full[:4000])
            self.assertIn('"file.bin.part"', err)
            code, _, err = self.run_here("--download", "--continue", "-o", "file.bin", url)
            self.assertEqual(code, 0, err)
            self.assertEqual(ranges, [4000])
            self.assertEqual(self.read("file.bin"), full)
            self.assertFalse(os.path.exists(self.path("file.bin.part")))
        finally:
            server.close()

    def test_ranges_that_end_short_or_find_the_file_whole(self):
        full = b"0123456789" * 100

        def serve(conn):
            head = read_head(conn).decode()
            first = int(re.search(r"\r\nRange: bytes=(\d+)-", head).group(1))
            if first >= len(full):
                conn.sendall(b"HTTP/1.1 416 Range Not Satisfiable\r\nContent-Range: bytes */%d\r\n"
                             b"Content-Length: 0\r\n\r\n" % len(full))
            else:  # a server that caps ranges at 100 bytes
                part = full[first:first + 100]
                conn.sendall(b"HTTP/1.1 206 Partial Content\r\nContent-Range: bytes %d-%d/%d\r\n"
                             b"Content-Length: %d\r\n\r\n" % (first, first + len(part) - 1,
                                                               len(full), len(part)) + part)
            conn.close()
        server = OneShotServer(serve)
        try:
            url = f"http://127.0.0.1:{server.port}/f"
            with open(self.path("f.part"), "wb") as f:
                f.write(full[:300])
            code, _, err = self.run_here("--download", "--continue", "-o", "f", url)
            self.assertEqual(code, 10, err)
            self.assertIn("ended at 400 of 1000 bytes", err)
            self.assertFalse(os.path.exists(self.path("f")))
            self.assertEqual(self.read("f.part"), full[:400])
            with open(self.path("f.part"), "wb") as f:
                f.write(full)
            code, _, err = self.run_here("--download", "--continue", "-o", "f", url)
            self.assertEqual(code, 0, err)
            self.assertIn("already whole", err)
            self.assertEqual(self.read("f"), full)
        finally:
            server.close()

    def test_an_encoded_body_is_saved_as_sent(self):
        code, _, err = self.run_here("--download", "-o", "g.bin", hb("/gzip"))
        self.assertEqual(code, 0, err)
        self.assertTrue(self.read("g.bin").startswith(b"\x1f\x8b"))  # gzip's magic: not decoded

    def test_a_server_without_ranges_starts_over(self):
        with open(self.path("r.bin.part"), "wb") as f:
            f.write(b"stale bytes")
        code, _, err = self.run_here("--download", "--continue", "-o", "r.bin", hb("/bytes/64"))
        self.assertEqual(code, 0, err)
        self.assertIn("starting over", err)
        self.assertEqual(len(self.read("r.bin")), 64)

    def test_continue_needs_an_output_file(self):
        code, _, err = self.run_here("--download", "--continue", hb("/bytes/8"))
        self.assertEqual(code, 9)
        self.assertIn("--continue needs -o FILE", err)

    def test_the_progress_bar_is_drawn_on_a_terminal_only(self):
        code, out = run_tty("--download", "-o", self.path("t.bin"), hb("/range/4096"))
        self.assertEqual(code, 0, out)
        self.assertIn(b"100% [########################] 4.00 KiB / 4.00 KiB", out)
        code, _, err = self.run_here("--download", "-o", "p.bin", hb("/range/4096"))
        self.assertNotIn("[#", err)
        self.assertNotIn("\r", err)


class Bench(unittest.TestCase):
    def test_a_counted_run_reports_every_request(self):
        code, out, err = run("bench", hb("/get"), "-c", "8", "-n", "300")
        self.assertEqual(code, 0, err)
        text = out.decode()
        self.assertRegex(text, r"Requests: +300 \(8 connections\)")
        self.assertRegex(text, r"Errors: +0\n")
        self.assertIn("[200] 300 responses", text)
        for p in ("p50", "p90", "p99", "p99.9"):
            self.assertRegex(text, rf"\n  {re.escape(p)} +\d+\.\d{{3}} ms\n")
        bars = re.findall(r"\[ *(\d+)\] \|", text)
        self.assertEqual(len(bars), 10)
        self.assertEqual(sum(int(b) for b in bars), 300)
        rate = float(re.search(r"Requests/s: +([\d.]+)", text).group(1))
        total = float(re.search(r"Total: +([\d.]+) s", text).group(1))
        self.assertAlmostEqual(rate * total, 300, delta=1)

    def test_a_timed_run_stops_at_its_duration(self):
        code, out, err = run("bench", hb("/get"), "-c", "2", "-z", "300ms")
        self.assertEqual(code, 0, err)
        text = out.decode()
        total = float(re.search(r"Total: +([\d.]+) s", text).group(1))
        self.assertGreaterEqual(total, 0.3)
        self.assertGreater(int(re.search(r"Requests: +(\d+)", text).group(1)), 0)

    def test_errors_are_counted_by_code(self):
        port = free_port()
        code, out, _ = run("bench", f"http://127.0.0.1:{port}/", "-c", "2", "-n", "10")
        self.assertEqual(code, 1)
        self.assertIn("[connection_refused] 10", out.decode())
        code, out, _ = run("bench", hb("/status/503"), "-c", "2", "-n", "6")
        self.assertIn("[503] 6 responses", out.decode())

    def test_the_live_line_is_drawn_on_a_terminal(self):
        code, out = run_tty("bench", hb("/get"), "-c", "2", "-z", "350ms")
        self.assertEqual(code, 0, out)
        self.assertRegex(out, rb"\r0\.\d s of 0\.3 s  \d+ done  \d+ req/s  0 errors")
        code, out, err = run("bench", hb("/get"), "-n", "5")
        self.assertNotIn("req/s  0 errors", err)

    def test_bad_arguments(self):
        for args, says in [(("-z", "soon"), "give a duration"), (("-c", "0"), "at least one")]:
            code, _, err = run("bench", hb("/get"), *args)
            self.assertEqual(code, 9, err)
            self.assertIn(says, err)


class Exits(unittest.TestCase):
    def test_status_codes_with_check_status(self):
        for path, expected in [("/status/200", 0), ("/status/404", 4), ("/status/503", 5)]:
            code, _, err = run("--check-status", hb(path))
            self.assertEqual(code, expected, err)
        code, _, err = run("--check-status", "--no-follow", hb("/redirect/1"))
        self.assertEqual(code, 3)
        self.assertIn("GET " + hb("/redirect/1") + " answered 302", err)
        code, _, _ = run(hb("/status/500"))  # without --check-status: 0, as httpie
        self.assertEqual(code, 0)

    def test_connection_refused_is_7(self):
        port = free_port()  # nothing listens there now
        code, _, err = run(f"http://127.0.0.1:{port}/")
        self.assertEqual(code, 7, err)
        self.assertIn(f"connecting to 127.0.0.1:{port}", err)
        self.assertIn("[connection_refused]", err)
        self.assertEqual(err.count("\n"), 1)

    def test_timeout_is_2(self):
        server = OneShotServer(lambda conn: read_head(conn))  # reads, never answers
        try:
            code, _, err = run("--timeout", "0.3", f"http://127.0.0.1:{server.port}/")
            self.assertEqual(code, 2, err)
            self.assertIn("timed out", err)
        finally:
            server.close()

    def test_too_many_redirects_is_6(self):
        code, _, err = run("--max-redirects", "1", hb("/redirect/3"))
        self.assertEqual(code, 6, err)
        self.assertIn("more than 1 redirect", err)

    def test_a_malformed_response_is_10(self):
        def garbage(conn):
            read_head(conn)
            conn.sendall(b"HTTP/1.1 2000 What\r\n\r\n")
            conn.close()
        server = OneShotServer(garbage)
        try:
            code, _, err = run(f"http://127.0.0.1:{server.port}/")
            self.assertEqual(code, 10, err)
        finally:
            server.close()

    def test_an_untrusted_certificate_is_8(self):
        with TlsServer() as tls:
            code, _, err = run(tls.url)
            self.assertEqual(code, 8, err)
            self.assertIn("certificate", err)
            code, out, err = run("--verify", tls.cert, tls.url)
            self.assertEqual(code, 0, err)
            self.assertIn(b"s_server", out)

class Network(unittest.TestCase):
    def test_auth_schemes(self):
        code, out, err = run("--auth", "u:p", "--check-status", hb("/basic-auth/u/p"))
        self.assertEqual(code, 0, err)
        self.assertEqual(body_json(out), {"authenticated": True, "user": "u"})
        code, _, _ = run("--auth", "u:wrong", "--check-status", hb("/basic-auth/u/p"))
        self.assertEqual(code, 4)
        code, out, err = run("-A", "digest", "-a", "u:p", "--check-status",
                             hb("/digest-auth/auth/u/p"))
        self.assertEqual(code, 0, err)
        code, out, err = run("-A", "bearer", "-a", "t0ken", "--check-status", hb("/bearer"))
        self.assertEqual(code, 0, err)
        self.assertEqual(body_json(out)["token"], "t0ken")

    def test_session_keeps_cookies_across_runs(self):
        with tempfile.TemporaryDirectory() as d:
            session = os.path.join(d, "session.txt")
            code, _, err = run("--session", session, hb("/cookies/set?flavour=oat"))
            self.assertEqual(code, 0, err)
            code, out, err = run("--session", session, hb("/cookies"))
            self.assertEqual(body_json(out)["cookies"], {"flavour": "oat"})
            code, out, _ = run(hb("/cookies"))
            self.assertEqual(body_json(out)["cookies"], {})

    def test_resolve_and_connect_to(self):
        code, out, err = run("--resolve", f"api.test:{HTTPBIN_PORT}:127.0.0.1",
                             f"http://api.test:{HTTPBIN_PORT}/get")
        self.assertEqual(code, 0, err)
        self.assertEqual(body_json(out)["headers"]["Host"], f"api.test:{HTTPBIN_PORT}")
        code, out, err = run("--connect-to", f"api.test:80:127.0.0.1:{HTTPBIN_PORT}",
                             "http://api.test/get")
        self.assertEqual(code, 0, err)
        self.assertEqual(body_json(out)["headers"]["Host"], "api.test")

    def test_proxy(self):
        seen = []

        def proxy(conn):
            head = read_head(conn)
            seen.append(head.split(b"\r\n", 1)[0].decode())
            body = b'{"via": "proxy"}'
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                         b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body)
            conn.close()
        server = OneShotServer(proxy)
        try:
            code, out, err = run("--proxy", f"http://127.0.0.1:{server.port}",
                                 "http://origin.test/path?q=1")
            self.assertEqual(code, 0, err)
            self.assertEqual(body_json(out), {"via": "proxy"})
            self.assertEqual(seen, ["GET http://origin.test/path?q=1 HTTP/1.1"])
        finally:
            server.close()

    def test_unix_socket(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "s.sock")
            unix = socket.socket(socket.AF_UNIX)
            unix.bind(path)
            unix.listen(1)

            def serve():
                conn, _ = unix.accept()
                head = read_head(conn)
                body = head.split(b"\r\n", 1)[0]
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
                conn.close()
            t = threading.Thread(target=serve, daemon=True)
            t.start()
            code, out, err = run("--unix-socket", path, "http://localhost/over-unix")
            t.join()
            unix.close()
            self.assertEqual(code, 0, err)
            self.assertEqual(out, b"GET /over-unix HTTP/1.1")

    def test_retries_and_backoff(self):
        answers = [b"HTTP/1.1 503 Busy\r\nContent-Length: 4\r\n\r\nbusy",
                   b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"]
        seen = []

        def serve(conn):
            while True:
                head = read_head(conn)
                if not head:
                    break
                seen.append(head)
                conn.sendall(answers[min(len(seen), len(answers)) - 1])
        server = OneShotServer(serve)
        try:
            url = f"http://127.0.0.1:{server.port}/"
            code, out, err = run("--retries", "1", "--backoff", "0.01", url)
            self.assertEqual((code, out), (0, b"ok"), err)
            self.assertEqual(len(seen), 2)
            seen.clear()
            code, out, _ = run(url)  # no retries unless asked
            self.assertEqual(out, b"busy")
            self.assertEqual(len(seen), 1)
        finally:
            server.close()

    def test_client_certificate(self):
        # -Verify: a client certificate is required, signed by {cert} (itself).
        with TlsServer("-CAfile", "{cert}", "-Verify", "1") as tls:
            code, _, err = run("--verify", tls.cert, tls.url)
            self.assertEqual(code, 8, err)
            self.assertIn("certificate required", err)
            code, out, err = run("--verify", tls.cert, "--cert", tls.cert, "--key", tls.key,
                                 tls.url)
            self.assertEqual(code, 0, err)
            self.assertIn(b"s_server", out)

    def test_connect_timeout(self):
        # A listener whose backlog is full: the kernel drops further SYNs, so connecting
        # waits until --connect-timeout.
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        s.listen(0)
        port = s.getsockname()[1]
        fillers = []
        try:
            for _ in range(4):
                f = socket.socket()
                f.setblocking(False)
                f.connect_ex(("127.0.0.1", port))
                fillers.append(f)
            code, _, err = run("--connect-timeout", "0.3", f"http://127.0.0.1:{port}/")
            self.assertEqual(code, 2, err)
            self.assertIn("connect", err)
        finally:
            for f in fillers:
                f.close()
            s.close()

    def nghttpd(self, directory, *args):
        """nghttpd serving `directory` on a port it picks; returns (process, port)."""
        server = subprocess.Popen(["nghttpd", "-v", "-a", "127.0.0.1", "-d", directory, *args],
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        for line in server.stdout:  # it prints "listen" once the socket listens
            if "listen" in line:
                break
        return server, listening_port(server.pid)

    def test_h2c_prior_knowledge_prints_no_reason(self):
        with tempfile.TemporaryDirectory() as d:
            with open(os.path.join(d, "hello.txt"), "w") as f:
                f.write("hello over h2c\n")
            server, port = self.nghttpd(d, "--no-tls", "0")
            try:
                code, out, err = run("-i", "--http2-prior-knowledge",
                                     f"http://127.0.0.1:{port}/hello.txt")
                self.assertEqual(code, 0, err)
                text = out.decode()
                self.assertTrue(text.startswith("HTTP/2 200\r\n"), text)
                self.assertTrue(text.endswith("hello over h2c\n"))
            finally:
                server.kill()
                server.wait()
                server.stdout.close()

    def test_http2_by_alpn_over_tls(self):
        with tempfile.TemporaryDirectory() as d:
            with open(os.path.join(d, "hello.txt"), "w") as f:
                f.write("hello over h2\n")
            key, cert = make_certificate(d)
            server, port = self.nghttpd(d, "0", key, cert)
            try:
                url = f"https://127.0.0.1:{port}/hello.txt"
                code, out, err = run("-h", "--http2", "--verify", cert, url)
                self.assertEqual(code, 0, err)
                self.assertTrue(out.decode().startswith("HTTP/2 200\n"), out)
                code, out, err = run("-h", "--verify", cert, url)  # without --http2: 1.1
                self.assertEqual(code, 7, err)  # nghttpd speaks only HTTP/2: it hangs up
            finally:
                server.kill()
                server.wait()
                server.stdout.close()

def listening_port(pid):
    """The TCP port process `pid` listens on, from /proc (nghttpd picked it: port 0)."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        m = re.match(r"socket:\[(\d+)\]", target)
        if m:
            inodes.add(m.group(1))
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            next(f)
            for row in f:
                cols = row.split()
                if cols[3] == "0A" and cols[9] in inodes:  # LISTEN
                    return int(cols[1].split(":")[1], 16)
    raise RuntimeError("nghttpd listens on no TCP port")


if __name__ == "__main__":
    NECTOR, LAUNCHER = sys.argv[1], sys.argv[2]
    unittest.main(argv=[sys.argv[0], *sys.argv[3:]], verbosity=2)
