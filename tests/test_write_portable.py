"""The write stage off Linux's fast paths, exercised on Linux: the msvcrt lock-file lock (as on
Windows) instead of flock, two renames instead of renameat2(RENAME_EXCHANGE), copies where hard
links fail, and `import gen.cli` where fcntl cannot be imported. Crash recovery and the
serialisation of writers must hold on those paths too."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import EXAMPLE, ROOT, consistent_tree, render_two_fleets, run_cli


from gen.write import osfs

# Runs the CLI as it runs on Windows: `import fcntl` fails, msvcrt.locking is there (emulated
# with POSIX record locks, which also exclude other processes), and there is no renameat2.
# TEST_NO_SPARE=1 also takes away the spare tree (the staging tree is then built beside out/);
# TEST_CRITICAL_LOG=<file> logs when each run enters and leaves the lock, and holds it 1 s.
WINDOWS_LIKE = r"""
import errno, os, sys, types
import fcntl as posix_fcntl
sys.modules["fcntl"] = None

def locking(fd, mode, nbytes):
    start = os.lseek(fd, 0, os.SEEK_CUR)
    command = posix_fcntl.LOCK_UN if mode == 0 else posix_fcntl.LOCK_EX | posix_fcntl.LOCK_NB
    try:
        posix_fcntl.lockf(fd, command, nbytes, start, os.SEEK_SET)
    except OSError:
        raise OSError(errno.EACCES, "Permission denied") from None

sys.modules["msvcrt"] = types.SimpleNamespace(LK_UNLCK=0, LK_NBLCK=2, locking=locking)
import gen.write, gen.write.osfs
gen.write.osfs.ATOMIC_EXCHANGE = False
gen.write.osfs.CHILD_PROCESSES = False  # no fork on Windows: the stat walk runs in process
if os.environ.get("TEST_NO_SPARE"):
    gen.write.spare_path = lambda cache_dir, out_dir: None
if os.environ.get("TEST_CRITICAL_LOG"):
    import contextlib, time
    locked = gen.write.exclusive

    @contextlib.contextmanager
    def logged(out_dir, wait=None):
        with locked(out_dir, wait):
            with open(os.environ["TEST_CRITICAL_LOG"], "a") as log:
                log.write(f"{time.time()} ")
            time.sleep(1)  # long enough for the other writer to try while this one holds the lock
            yield
            with open(os.environ["TEST_CRITICAL_LOG"], "a") as log:
                log.write(f"{time.time()}\n")
    gen.write.exclusive = logged
sys.argv = ["plgen", *sys.argv[1:]]
import gen.cli
assert sys.modules["fcntl"] is None
gen.cli.main()
"""


def windows_like(args: list, env: dict, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", WINDOWS_LIKE, *map(str, args)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)


def run_windows_like(args: list, env: dict) -> tuple[int, str, str]:
    process = windows_like(args, env)
    stdout, stderr = process.communicate(timeout=300)
    return process.returncode, stdout, stderr


def private_env(tmp_path: Path, **extra: str) -> dict:
    return {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "state"), **extra}


# --- import and render without fcntl ---------------------------------------------------------


def test_renders_and_rerenders_where_fcntl_cannot_be_imported(tmp_path: Path):
    out, manifest = tmp_path / "out", tmp_path / "tenants.yaml"
    manifest.write_text(EXAMPLE.read_text())
    env = private_env(tmp_path)
    code, stdout, stderr = run_windows_like(["render", manifest, "-o", out], env)
    assert code == 0, stderr
    first = consistent_tree(out)
    assert (tmp_path / ".out.plgen-writer").is_file()  # the lock-file lock was the one taken
    manifest.write_text(EXAMPLE.read_text().replace("order=4471", "order=4472"))
    code, stdout, stderr = run_windows_like(["render", manifest, "-o", out], env)
    assert code == 0, stderr
    second = consistent_tree(out)
    assert second != first and "order=4472" in second["tenants/acme/terraform/terraform.tfvars.json"].decode()
    assert not (tmp_path / ".out.plgen-previous").exists()
    code, stdout, _ = run_windows_like(["render", manifest, "-o", out, "--check"], env)
    assert code == 0 and "up to date" in stdout


def test_import_needs_no_os_specific_module():
    code = ("import sys\nfor name in ('fcntl', 'msvcrt', 'ctypes'): sys.modules[name] = None\n"
            "import gen.cli, gen.api, gen.write\nprint('ok')")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr


# --- serialised writers ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def two_fleets(tmp_path_factory):
    return render_two_fleets(tmp_path_factory.mktemp("fleets"), 60)


def test_second_writer_waits_for_the_lock_file_and_gives_up_clearly(tmp_path: Path):
    import fcntl

    out = tmp_path / "out"
    fd = os.open(tmp_path / ".out.plgen-writer", os.O_RDWR | os.O_CREAT)
    fcntl.lockf(fd, fcntl.LOCK_EX, 1, 0, os.SEEK_SET)  # what the emulated msvcrt.locking takes
    try:
        code, _, stderr = run_windows_like(["render", EXAMPLE, "-o", out], private_env(tmp_path, PLGEN_LOCK_WAIT="0.3"))
    finally:
        os.close(fd)
    assert code == 1
    assert "another plgen run is writing here" in stderr
    assert not out.exists()


def test_concurrent_renders_are_serialised_by_the_lock_file(tmp_path: Path, two_fleets):
    base, trees = two_fleets
    out, log = tmp_path / "out", tmp_path / "critical.log"
    env = private_env(tmp_path, TEST_CRITICAL_LOG=str(log))
    first = windows_like(["render", base / "old.yaml", "-o", out], env)
    second = windows_like(["render", base / "new.yaml", "-o", out], env)
    for process in (first, second):
        _, stderr = process.communicate(timeout=300)
        assert process.returncode == 0, stderr
    (start_a, end_a), (start_b, end_b) = sorted(tuple(map(float, line.split())) for line in log.read_text().splitlines())
    assert end_a <= start_b, "the two writers held the lock at the same time"
    assert consistent_tree(out) in (trees["old"], trees["new"])
    assert not list(tmp_path.glob(".out.plgen-staging-*")) and not (tmp_path / ".out.plgen-previous").exists()


# --- crash safety on the two-rename swap -------------------------------------------------------


def _prepare(tmp_path: Path, base: Path, env: dict) -> tuple[Path, Path]:
    out, manifest = tmp_path / "out", tmp_path / "tenants.yaml"
    manifest.write_text((base / "old.yaml").read_text())
    code, _, stderr = run_windows_like(["render", manifest, "-o", out], env)
    assert code == 0, stderr
    manifest.write_text((base / "new.yaml").read_text())
    return out, manifest


POINTS = ["compared", "staging-pruned", "staging-half-written", "staging-complete", "renamed-aside", "exchanged"]


@pytest.mark.parametrize("spare", ["spare", "no-spare"])
@pytest.mark.parametrize("point", POINTS)
def test_sigkill_at_each_step_of_the_two_rename_swap_is_recovered(point, spare, tmp_path: Path, two_fleets):
    base, trees = two_fleets
    env = private_env(tmp_path, **({"TEST_NO_SPARE": "1"} if spare == "no-spare" else {}))
    out, manifest = _prepare(tmp_path, base, env)
    process = windows_like(["render", manifest, "-o", out], {**env, "PLGEN_TEST_KILL_AT": point})
    process.communicate(timeout=300)
    assert process.returncode == -signal.SIGKILL
    if point == "renamed-aside":
        # the one moment the two renames are not atomic: the old tree waits beside out/
        assert not out.exists()
        assert consistent_tree(tmp_path / ".out.plgen-previous") == trees["old"]
    else:
        assert consistent_tree(out) == (trees["new"] if point == "exchanged" else trees["old"])
    code, _, stderr = run_windows_like(["render", manifest, "-o", out], env)
    assert code == 0, stderr
    assert consistent_tree(out) == trees["new"]
    assert not list(tmp_path.glob(".out.plgen-staging-*")) and not (tmp_path / ".out.plgen-previous").exists()
    code, stdout, _ = run_windows_like(["render", manifest, "-o", out, "--check"], env)
    assert code == 0, stdout


# --- in-process: each fallback on its own ------------------------------------------------------


@pytest.fixture
def no_exchange(monkeypatch):
    monkeypatch.setattr(osfs, "ATOMIC_EXCHANGE", False)
    monkeypatch.setattr(osfs, "CHILD_PROCESSES", False)  # as off Linux


def test_two_renames_keep_the_old_tree_as_the_spare(no_exchange, example_out: Path, tmp_path: Path):
    cache = tmp_path / "state"
    assert run_cli("render", EXAMPLE, "-o", example_out, "--cache-dir", cache).exit_code == 0
    before = consistent_tree(example_out)
    manifest = tmp_path / "tenants.yaml"
    manifest.write_text(EXAMPLE.read_text().replace("order=4471", "order=4472"))
    result = run_cli("render", manifest, "-o", example_out, "--cache-dir", cache)
    assert result.exit_code == 0, result.output
    assert consistent_tree(example_out) != before
    spares = [p for p in (cache / "spares").iterdir() if p.is_dir()]
    assert len(spares) == 1 and consistent_tree(spares[0]) == before  # the old tree, kept for the next run
    assert not (tmp_path / ".out.plgen-previous").exists()


def test_no_renameat2_in_libc_falls_back_to_two_renames(monkeypatch, example_out: Path, tmp_path: Path):
    monkeypatch.setattr(osfs, "_renameat2", lambda: None)
    calls = []
    real_rename = os.rename
    monkeypatch.setattr(osfs.os, "rename", lambda a, b: (calls.append((Path(a).name, Path(b).name)), real_rename(a, b)))
    manifest = tmp_path / "tenants.yaml"
    manifest.write_text(EXAMPLE.read_text().replace("order=4471", "order=4472"))
    assert run_cli("render", manifest, "-o", example_out).exit_code == 0
    assert ("out", ".out.plgen-previous") in calls
    assert "order=4472" in consistent_tree(example_out)["tenants/acme/terraform/terraform.tfvars.json"].decode()


def test_a_failed_second_rename_puts_the_old_tree_back(no_exchange, monkeypatch, example_out: Path, tmp_path: Path):
    before = consistent_tree(example_out)
    real_rename = os.rename

    def rename(source, target):
        if Path(target) == example_out and not Path(source).name.endswith(".plgen-previous"):
            raise PermissionError(13, "in use", str(target))  # as Windows says when a file in it is open
        real_rename(source, target)

    monkeypatch.setattr(osfs.os, "rename", rename)
    manifest = tmp_path / "tenants.yaml"
    manifest.write_text(EXAMPLE.read_text().replace("order=4471", "order=4472"))
    with pytest.raises(PermissionError):
        osfs.exchange(_copy_tree(example_out, tmp_path / "new"), example_out)
    assert consistent_tree(example_out) == before
    result = run_cli("render", manifest, "-o", example_out)
    assert result.exit_code == 1 and "cannot write the output" in result.stderr
    assert consistent_tree(example_out) == before
    assert not (tmp_path / ".out.plgen-previous").exists() and not list(tmp_path.glob(".out.plgen-staging-*"))


def _copy_tree(source: Path, target: Path) -> Path:
    import shutil

    shutil.copytree(source, target)
    return target


def test_file_systems_without_hard_links_get_copies(monkeypatch, tmp_path: Path):
    def no_links(source, target):
        raise OSError(1, "Operation not permitted")

    monkeypatch.setattr(osfs.os, "link", no_links)
    out, cache = tmp_path / "out", tmp_path / "state"
    assert run_cli("render", EXAMPLE, "-o", out, "--cache-dir", cache).exit_code == 0
    manifest = tmp_path / "tenants.yaml"
    manifest.write_text(EXAMPLE.read_text().replace("order=4471", "order=4472"))
    result = run_cli("render", manifest, "-o", out, "--cache-dir", cache)
    assert result.exit_code == 0, result.output
    assert "order=4472" in consistent_tree(out)["tenants/acme/terraform/terraform.tfvars.json"].decode()
    result = run_cli("render", manifest, "-o", out, "--cache-dir", cache)
    assert result.exit_code == 0 and " 0 added, 0 changed, 0 removed" in result.output


def test_lock_file_lock_is_taken_and_released_in_process(monkeypatch, tmp_path: Path):
    import fcntl

    taken = []

    def locking(fd, mode, nbytes):
        taken.append(mode)
        fcntl.lockf(fd, fcntl.LOCK_UN if mode == 0 else fcntl.LOCK_EX | fcntl.LOCK_NB, nbytes, 0, os.SEEK_SET)

    monkeypatch.setitem(sys.modules, "fcntl", None)
    monkeypatch.setitem(sys.modules, "msvcrt", type(sys)("msvcrt"))
    sys.modules["msvcrt"].__dict__.update(LK_UNLCK=0, LK_NBLCK=2, locking=locking)
    with osfs.exclusive(tmp_path / "out", wait=0):
        assert (tmp_path / ".out.plgen-writer").is_file()
    assert taken == [2, 0]


def test_no_locking_primitive_is_a_clear_error(monkeypatch, tmp_path: Path):
    monkeypatch.setitem(sys.modules, "fcntl", None)
    monkeypatch.setitem(sys.modules, "msvcrt", None)
    with pytest.raises(Exception, match="cannot lock the output directory on this platform"):
        with osfs.exclusive(tmp_path / "out", wait=0):
            pass
