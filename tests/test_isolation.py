"""The suite is a good neighbour: nothing it runs can reach the user's real plgen cache or home,
whatever the fixture scope and whether plgen runs in-process or as a subprocess."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from conftest import PRIVATE_ROOT, REAL_CACHE, ROOT
from gen.verify.cache import default_cache_dir

_SEEN_BY_MODULE_FIXTURE: list[Path] = []


@pytest.fixture(scope="module")
def module_scoped_cache() -> Path:
    """Module-scoped fixtures are set up before function-scoped ones: the isolation must already
    hold for them (it did not when it was a function-scoped autouse fixture)."""
    return default_cache_dir()


def test_in_process_state_directory_is_private(module_scoped_cache: Path):
    for seen in (module_scoped_cache, default_cache_dir()):
        assert seen.is_relative_to(PRIVATE_ROOT), seen
        assert not seen.is_relative_to(REAL_CACHE)
    assert Path.home().is_relative_to(PRIVATE_ROOT)


def test_subprocesses_inherit_the_private_state_directory():
    code = "from gen.verify.cache import default_cache_dir; import pathlib; print(default_cache_dir()); print(pathlib.Path.home())"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    cache, home = (Path(line) for line in result.stdout.splitlines())
    assert cache.is_relative_to(PRIVATE_ROOT) and home.is_relative_to(PRIVATE_ROOT), result.stdout
