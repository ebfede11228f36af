"""Operating-system primitives of the write stage, each with a portable form.

- The writer lock: flock(2) on the output directory's parent where fcntl exists (POSIX);
  elsewhere (Windows, where a directory cannot be opened) a byte-range lock with
  msvcrt.locking on a lock file beside the output directory.
- The swap: Linux's renameat2(RENAME_EXCHANGE) exchanges two trees in one atomic step;
  elsewhere two renames (old tree aside, new tree in), which recover() completes after a crash.
- Hard links (unchanged files are linked into the new tree) fall back to copies on file
  systems without them.
- Work in a child process: on Linux a forked child can do work that is mostly system calls
  (the stat walk) on another core while this process parses; elsewhere this process does it.

OS-specific modules are imported only when used, so `import gen.write` works everywhere.
"""

from __future__ import annotations

import errno
import functools
import importlib
import marshal
import os
import shutil
import signal
import sys
import threading
import time
from contextlib import contextmanager, suppress
from pathlib import Path
from types import ModuleType
from typing import Any, Callable, Iterator

from ..errors import Location, Problem, WriteError

LOCK_WAIT_SECONDS = 120.0
O_BINARY = getattr(os, "O_BINARY", 0)  # Windows opens in text mode (\n -> \r\n) without it

# Tests set this False to take the two-rename path on Linux too.
ATOMIC_EXCHANGE = sys.platform.startswith("linux")
# Tests set this False to do in-process what a child would do. (Linux only: fork is what makes
# a child cheap, and Python does not consider it safe everywhere, e.g. on macOS.)
CHILD_PROCESSES = sys.platform.startswith("linux") and hasattr(os, "fork")


def fail(out_dir: Path, message: str, path: str = "") -> WriteError:
    return WriteError(Problem(Location(str(out_dir / path) if path else str(out_dir)), message))


def crash_point(name: str) -> None:
    """Test hook: PLGEN_TEST_KILL_AT=<name> kills this process here (SIGKILL where there is
    one), so the crash safety tests can stop a write at each step of its protocol."""
    if os.environ.get("PLGEN_TEST_KILL_AT") == name:
        os.kill(os.getpid(), getattr(signal, "SIGKILL", signal.SIGTERM))


def _optional_module(name: str) -> ModuleType | None:
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


# --- one writer per output directory --------------------------------------------------------


class _ParentFlock:
    """flock(2) on the parent directory: the output directory itself is swapped, so it cannot
    carry the lock, and nothing is left behind."""

    def __init__(self, fcntl: ModuleType, out_dir: Path):
        self.fcntl = fcntl
        self.fd = os.open(out_dir.parent, os.O_RDONLY)

    def try_acquire(self) -> bool:
        try:
            self.fcntl.flock(self.fd, self.fcntl.LOCK_EX | self.fcntl.LOCK_NB)
            return True
        except OSError as err:
            if err.errno in (errno.EAGAIN, errno.EACCES):
                return False
            raise

    def release(self, held: bool) -> None:
        os.close(self.fd)  # closing releases the flock


class _LockFileRange:
    """msvcrt.locking on the first byte of `.<out>.plgen-writer` beside the output directory."""

    def __init__(self, msvcrt: ModuleType, out_dir: Path):
        self.msvcrt = msvcrt
        self.path = out_dir.parent / f".{out_dir.name}.plgen-writer"
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT | O_BINARY, 0o644)

    def try_acquire(self) -> bool:
        os.lseek(self.fd, 0, os.SEEK_SET)  # locking() locks from the current position
        try:
            self.msvcrt.locking(self.fd, self.msvcrt.LK_NBLCK, 1)
            return True
        except OSError as err:
            if err.errno in (errno.EACCES, errno.EDEADLK):
                return False
            raise

    def release(self, held: bool) -> None:
        try:
            if held:
                os.lseek(self.fd, 0, os.SEEK_SET)
                self.msvcrt.locking(self.fd, self.msvcrt.LK_UNLCK, 1)
        finally:
            os.close(self.fd)
        if os.name == "nt":
            # Windows refuses to delete a file another process holds open, so a waiting
            # writer keeps the file; on POSIX an unlink would let two writers lock two files.
            try:
                os.unlink(self.path)
            except OSError:
                pass


def _writer_lock(out_dir: Path) -> _ParentFlock | _LockFileRange:
    fcntl = _optional_module("fcntl")
    if fcntl is not None:
        return _ParentFlock(fcntl, out_dir)
    msvcrt = _optional_module("msvcrt")
    if msvcrt is not None:
        return _LockFileRange(msvcrt, out_dir)
    raise fail(out_dir, "cannot lock the output directory on this platform (neither fcntl nor msvcrt is available)")


@contextmanager
def exclusive(out_dir: Path, wait: float | None = None) -> Iterator[None]:
    """Serialise writers of one output directory. PLGEN_LOCK_WAIT sets how many seconds a
    second writer waits before giving up."""
    if wait is None:
        wait = float(os.environ.get("PLGEN_LOCK_WAIT", LOCK_WAIT_SECONDS))
    lock = _writer_lock(out_dir)
    held = False
    try:
        deadline = time.monotonic() + wait
        while not (held := lock.try_acquire()):
            if time.monotonic() > deadline:
                raise fail(out_dir, f"another plgen run is writing here (waited {wait:.0f} s); try again when it ends")
            time.sleep(0.05)
        yield
    finally:
        lock.release(held)


# --- swapping trees ---------------------------------------------------------------------------


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


@functools.cache
def _renameat2():
    """libc's renameat2, or None (not Linux, or a libc without it)."""
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    except OSError:
        return None
    return getattr(libc, "renameat2", None)


def previous_path(out_dir: Path) -> Path:
    """Where the two-rename swap keeps the old tree between its two renames."""
    return out_dir.parent / f".{out_dir.name}.plgen-previous"


def exchange(new: Path, current: Path) -> None:
    """Put the tree at `new` in place of `current`. Afterwards `new` holds the old tree (if
    there was one); the caller keeps it as the spare or removes it."""
    if not current.exists():
        os.rename(new, current)
        return
    if ATOMIC_EXCHANGE and _exchange_atomically(new, current):
        return
    _exchange_by_renames(new, current)


def _exchange_atomically(new: Path, current: Path) -> bool:
    """renameat2(RENAME_EXCHANGE); False when this system or file system cannot."""
    renameat2 = _renameat2()
    if renameat2 is None:
        return False
    import ctypes

    if renameat2(_AT_FDCWD, os.fsencode(new), _AT_FDCWD, os.fsencode(current), _RENAME_EXCHANGE) == 0:
        return True
    if ctypes.get_errno() in (errno.EINVAL, errno.ENOSYS):
        return False
    raise fail(current, f"cannot swap in the new tree: {os.strerror(ctypes.get_errno())}")


def _exchange_by_renames(new: Path, current: Path) -> None:
    """Two renames; a crash between them leaves the old tree at previous_path(), which
    recover() moves back."""
    previous = previous_path(current)
    os.rename(current, previous)
    crash_point("renamed-aside")
    try:
        os.rename(new, current)
    except OSError:
        os.rename(previous, current)
        raise
    try:
        os.rename(previous, new)  # the same outcome as an exchange: `new` holds the old tree
    except OSError:
        shutil.rmtree(previous, ignore_errors=True)


# --- files --------------------------------------------------------------------------------------


def link_or_copy(source: Path, target: Path) -> None:
    """A hard link, or a copy on file systems without them (FAT, some network shares)."""
    try:
        os.link(source, target)
    except OSError:
        if not source.is_file():
            raise
        shutil.copy2(source, target)


# --- work in a child process ------------------------------------------------------------------


class ChildCall:
    """function(*args) running in a forked child, whose value (anything marshal can write) is
    read back when it is needed. The child shares nothing with this process afterwards: it
    leaves with os._exit, flushing nothing this process buffered."""

    def __init__(self, function: Callable[..., Any], *args: Any):
        read_fd, write_fd = os.pipe()
        try:
            pid = os.fork()
        except OSError:
            os.close(read_fd)
            os.close(write_fd)
            raise
        if pid == 0:  # pragma: no cover - the child (coverage does not follow it)
            code = 1
            try:
                os.close(read_fd)
                data = marshal.dumps(function(*args))
                with os.fdopen(write_fd, "wb") as pipe:
                    pipe.write(data)
                code = 0
            finally:
                os._exit(code)
        os.close(write_fd)
        self._pid: int | None = pid
        self._fd = read_fd

    def result(self) -> Any:
        """The function's value, or None if the child failed (the caller then does the work)."""
        if self._pid is None:
            return None
        try:
            with os.fdopen(self._fd, "rb") as pipe:
                data = pipe.read()
        except OSError:
            data = b""
        finally:
            ok = self._reap() == 0
        try:
            return marshal.loads(data) if ok else None
        except (EOFError, ValueError, TypeError):
            return None

    def stop(self) -> None:
        """Kill the child (by its pid, if it is still ours to reap) when its value is not wanted."""
        if self._pid is not None:
            with suppress(ProcessLookupError):
                os.kill(self._pid, signal.SIGKILL)
            self._reap()
            with suppress(OSError):
                os.close(self._fd)

    def _reap(self) -> int:
        pid, self._pid = self._pid, None
        try:
            _, status = os.waitpid(pid, 0)
        except ChildProcessError:
            return -1  # reaped by someone else (SIGCHLD ignored by the embedding program): unknown
        return os.waitstatus_to_exitcode(status)


def call_in_child(function: Callable[..., Any], *args: Any) -> ChildCall | None:
    """Start function(*args) in a child process; None where children are not used, where this
    process runs other threads (a lock one of them holds would stay held in the child), or
    where fork fails."""
    if not CHILD_PROCESSES or threading.active_count() > 1:
        return None
    try:
        return ChildCall(function, *args)
    except OSError:
        return None
