from __future__ import annotations

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


@pytest.fixture
def terraform() -> str:
    path = shutil.which("terraform")
    if path is None:
        pytest.skip("terraform is not on PATH (needed for terraform fmt and the provider-less harness)")
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


def pytest_sessionfinish(session, exitstatus):
    shutil.rmtree(PRIVATE_ROOT, ignore_errors=True)
