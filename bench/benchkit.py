"""What the Python benches share: bench/compare's helpers as a module (its launcher,
`measure`, `free_port`, ...), the loopback test certificate, and the set-up step that
installs the dependencies and builds the targets a bench runs.

A bench script in bench/ imports it as `import benchkit` (a script's own folder is on
Python's path)."""
import importlib.util
import os
import subprocess
from importlib.machinery import SourceFileLoader
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "build" / "release"
LOCK = os.environ.get("NECTOR_BUILD_LOCK", "/tmp/nector-build.lock")


def load_compare():
    """bench/compare (a script without a .py name) loaded as a module."""
    loader = SourceFileLoader("bench_compare", str(ROOT / "bench" / "compare"))
    spec = importlib.util.spec_from_loader("bench_compare", loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def make_cert(tmp):
    """A self-signed P-256 certificate for 127.0.0.1 (and CN localhost): tmp/cert.pem and
    tmp/key.pem."""
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", tmp / "key.pem",
                    "-out", tmp / "cert.pem"], check=True, capture_output=True)


def setup(targets, bench_deps=False):
    """Installs the dependencies (with the bench peers' if `bench_deps`) and builds `targets`
    in the release preset, under the shared build lock."""
    install = [ROOT / "scripts/install-deps"] + (["--bench"] if bench_deps else [])
    subprocess.run(install, check=True, cwd=ROOT)
    subprocess.run(["flock", LOCK, "cmake", "--preset", "release"], check=True, cwd=ROOT,
                   stdout=subprocess.DEVNULL)
    subprocess.run(["flock", LOCK, "cmake", "--build", "--preset", "release", "--target",
                    *targets, "-j2"], check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
