from __future__ import annotations

import atexit
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import settings

# CI explores the same examples every run (a failure there is reproducible); developers get
# fresh random examples each run.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

from gen.cli import main

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "tenants.yaml"
MINIMAL = ROOT / "tests" / "data" / "minimal.yaml"
INVALID = ROOT / "tests" / "invalid"


def run_cli(*args: str, cwd: Path | None = None):
    """Run the plgen CLI in-process; returns click's Result (exit_code, stdout, stderr)."""
    runner = CliRunner()
    return runner.invoke(main, [str(a) for a in args], catch_exceptions=False)


def run_plgen(*args: str, env: dict | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run plgen in a separate process (for determinism, signals and concurrency tests)."""
    return subprocess.run([sys.executable, "-m", "gen.cli", *map(str, args)], capture_output=True, text=True,
                          env=env, cwd=cwd or ROOT)


def tree(directory: Path) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


def consistent_tree(out: Path) -> dict[str, bytes]:
    """out/ holds exactly the files its lock lists, with the listed digests."""
    files = tree(out)
    lock = json.loads(files.pop(".plgen-lock.json"))
    assert {p: hashlib.sha256(b).hexdigest() for p, b in files.items()} == lock["files"]
    return files


def render_two_fleets(base: Path, tenants: int) -> tuple[Path, dict[str, dict[str, bytes]]]:
    """Two versions of a synthetic fleet manifest that differ in most files (base/old.yaml,
    base/new.yaml), and the trees they render to."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from fleet import synthetic_manifest

    old = synthetic_manifest(tenants)
    new = old.replace("fqdn: api.fleet.example.com", "fqdn: api2.fleet.example.com").replace(
        "tenant-00007", "tenant-00007x")
    trees = {}
    for name, text in (("old", old), ("new", new)):
        manifest = base / f"{name}.yaml"
        manifest.write_text(text)
        out = base / f"expected-{name}"
        assert run_cli("render", manifest, "-o", out, "--cache-dir", base / f"state-{name}").exit_code == 0
        trees[name] = consistent_tree(out)
    return base, trees


@pytest.fixture(scope="session")
def terraform() -> str:
    path = shutil.which("terraform")
    if path is None:
        pytest.skip("terraform is not on PATH (needed for terraform fmt, the provider-less harness and the azurerm double)")
    return path


@pytest.fixture
def example_out(tmp_path: Path) -> Path:
    out = tmp_path / "out"
    result = run_cli("render", EXAMPLE, "-o", out)
    assert result.exit_code == 0, result.output
    return out


# Tests never read or write the user's cache or home. plgen's state directory follows
# XDG_CACHE_HOME, else HOME/.cache; both are replaced when this file is imported, before any
# fixture of any scope runs (a module-scoped fixture would otherwise render with the real
# ones), and subprocesses inherit them.
REAL_CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "plgen"
PRIVATE_ROOT = Path(tempfile.mkdtemp(prefix="plgen-tests-"))
os.environ["XDG_CACHE_HOME"] = str(PRIVATE_ROOT / "xdg-cache")
os.environ["HOME"] = str(PRIVATE_ROOT / "home")
(PRIVATE_ROOT / "home").mkdir()
# at exit, not at the end of the session: a run that stops before its session starts (a usage
# error) has made the directory too
atexit.register(shutil.rmtree, PRIVATE_ROOT, ignore_errors=True)
