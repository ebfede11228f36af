"""Stage 6, write: the verified {path: text} map -> the output directory, or a comparison.

Safety rules (DESIGN §6):
- Atomic: the new tree is staged beside the output directory (unchanged files hard-linked,
  changed ones written) and swapped in with one renameat2(RENAME_EXCHANGE), so a crash at any
  moment leaves either the complete old tree or the complete new one.
- Only plgen's files: a file is deleted only if the previous lock lists it; files the lock
  does not list are carried over untouched; a generated file edited by hand stops the run
  unless forced.
- One writer: runs on the same output directory are serialised with flock(2) on its parent.
- Nothing is written through a symlink.

Speed: the output directory is scanned once (scandir); a stat index kept in the cache
directory (size, mtime, inode -> sha256, as git's index does) spares reading files that have
not changed since plgen wrote them.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import difflib
import errno
import fcntl
import hashlib
import json
import marshal
import os
import re
import shutil
import signal
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from . import __version__
from .errors import Location, Problem, WriteError
from .plan import Plan
from .quoting import json_text
from .resources import template_release

LOCK_FILE = ".plgen-lock.json"
STAGING_MARK = ".plgen-staging-"
LOCK_WAIT_SECONDS = 120.0

Progress = Callable[[str, int, int], None]


def _no_progress(stage: str, done: int = 0, total: int = 0) -> None:
    pass


def _crash_point(name: str) -> None:
    """Test hook: PLGEN_TEST_KILL_AT=<name> kills this process here with SIGKILL, so the crash
    safety tests can stop a write at each step of its protocol, not only at random moments."""
    if os.environ.get("PLGEN_TEST_KILL_AT") == name:
        os.kill(os.getpid(), signal.SIGKILL)


@dataclass
class Changes:
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: int = 0
    diffs: dict[str, str] = field(default_factory=dict)

    @property
    def drift(self) -> bool:
        return bool(self.added or self.changed or self.removed)

    def as_dict(self) -> dict:
        return {"added": self.added, "changed": self.changed, "removed": self.removed, "unchanged": self.unchanged}


Scope = tuple[str, ...] | None  # path prefixes this render owns; None: all of them


def scope_for(plan: Plan) -> Scope:
    if not plan.only:
        return None
    return ("provider/",) + tuple(f"tenants/{tenant_id}/" for tenant_id in plan.only)


def _in_scope(path: str, scope: Scope) -> bool:
    return scope is None or path.startswith(scope)


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def lock_for(rendered, templates: Path | None = None) -> dict:
    return {
        "tool_version": __version__,
        "template_release": template_release(templates) if templates else template_release(),
        "manifest_sha256": rendered.manifest_sha256,
        "files": {path: _sha(text.encode("utf-8")) for path, text in sorted(rendered.files.items())},
    }


def _fail(out_dir: Path, message: str, path: str = "") -> WriteError:
    return WriteError(Problem(Location(str(out_dir / path) if path else str(out_dir)), message))


_UNSAFE_PATH = re.compile(r"(^|/)\.{0,2}(/|$)|^/|\x00")


def _check_relative(out_dir: Path, path: str) -> None:
    """Refuse absolute paths, empty, '.' and '..' components (and NUL)."""
    if not path or _UNSAFE_PATH.search(path):
        raise _fail(out_dir, f"refusing a path that leaves the output directory: {path!r}")


# --- what is on disk -----------------------------------------------------------------------


@dataclass
class Snapshot:
    """One scan of the output directory: regular files with their stat, directories with
    their mode, and symbolic links (never followed)."""

    root: Path
    files: dict[str, os.stat_result] = field(default_factory=dict)
    dirs: dict[str, int] = field(default_factory=dict)
    links: set[str] = field(default_factory=set)
    others: set[str] = field(default_factory=set)

    @classmethod
    def scan(cls, root: Path, *, inodes_only: bool = False) -> "Snapshot":
        """inodes_only: record DirEntry.inode() (no stat call) instead of the full stat."""
        snapshot = cls(root)
        if not root.is_dir():
            return snapshot
        pending = [""]
        while pending:
            rel = pending.pop()
            with os.scandir(os.path.join(root, rel) if rel else root) as entries:
                for entry in entries:
                    path = f"{rel}/{entry.name}" if rel else entry.name
                    if entry.is_symlink():
                        snapshot.links.add(path)
                    elif entry.is_dir(follow_symlinks=False):
                        snapshot.dirs[path] = 0  # mode read only for directories that get created
                        pending.append(path)
                    elif entry.is_file(follow_symlinks=False):
                        snapshot.files[path] = entry.inode() if inodes_only else entry.stat(follow_symlinks=False)
                    else:
                        snapshot.others.add(path)
        return snapshot

    def through_link(self, path: str) -> str | None:
        """The first component of `path` that is a symbolic link, if any."""
        if not self.links:
            return None
        prefix = ""
        for part in path.split("/"):
            prefix = f"{prefix}/{part}" if prefix else part
            if prefix in self.links:
                return prefix
        return None


class StatIndex:
    """(size, mtime_ns, inode) -> sha256 of the files plgen wrote, kept in the cache directory
    per output directory. A file whose stat still matches is not read again."""

    def __init__(self, cache_dir: Path | None, out_dir: Path):
        self.path = None
        self.entries: dict[str, list] = {}
        if cache_dir is not None:
            key = hashlib.sha256(str(out_dir).encode()).hexdigest()[:32]
            # marshal: ten times faster than JSON for 100k entries; its format is tied to
            # the Python version, which is therefore part of the name
            self.path = cache_dir / f"index-{key}.py{sys.version_info[0]}{sys.version_info[1]}.marshal"
            try:
                entries = marshal.loads(self.path.read_bytes())
                self.entries = entries if isinstance(entries, dict) else {}
            except (OSError, ValueError, EOFError, TypeError):
                self.entries = {}

    @staticmethod
    def key(st: os.stat_result) -> tuple:
        return (st.st_size, st.st_mtime_ns, st.st_ino)

    def lookup(self, path: str, st: os.stat_result) -> str | None:
        entry = self.entries.get(path)
        return entry[3] if entry and entry[:3] == self.key(st) else None

    def save(self, entries: dict[str, tuple]) -> None:
        if self.path is None or entries == self.entries:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            temp = self.path.with_name(f"{self.path.name}.{os.getpid()}.tmp")
            temp.write_bytes(marshal.dumps(entries))
            os.replace(temp, self.path)
        except OSError:
            pass  # an optimisation only


class Disk:
    def __init__(self, out_dir: Path, index: StatIndex):
        self.out_dir = out_dir
        self.snapshot = Snapshot.scan(out_dir)
        self.index = index
        self.read_count = 0  # files whose stat did not match the index and were read
        self._shas: dict[str, str | None] = {}

    def exists(self, path: str) -> bool:
        return path in self.snapshot.files

    def sha(self, path: str) -> str | None:
        """sha256 of the file now at `path` (None if there is none)."""
        if path in self._shas:
            return self._shas[path]
        st = self.snapshot.files.get(path)
        if st is None:
            if path in self.snapshot.dirs:
                raise _fail(self.out_dir, "is in the way: a directory stands where a generated file goes", path)
            digest = None
        else:
            digest = self.index.lookup(path, st)
            if digest is None:
                digest = _sha(self.read(path))
                self.read_count += 1
        self._shas[path] = digest
        return digest

    def read(self, path: str) -> bytes:
        return (self.out_dir / path).read_bytes()

    def lock(self, checked: dict | set = frozenset()) -> dict:
        """The previous lock file (its paths checked, except those in `checked`)."""
        if LOCK_FILE not in self.snapshot.files:
            return {"files": {}}
        try:
            lock = json.loads(self.read(LOCK_FILE).decode("utf-8"))
            files = lock["files"]
            if not isinstance(files, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in files.items()):
                raise ValueError("files is not a map of path to sha256")
        except (ValueError, KeyError, TypeError, UnicodeDecodeError) as err:
            raise _fail(self.out_dir, f"unreadable lock file ({err}); restore it from version control", LOCK_FILE) from None
        for path in files:
            if path not in checked:
                _check_relative(self.out_dir, path)
        return lock


# --- comparing -----------------------------------------------------------------------------


def _merged_lock(old_lock: dict, lock: dict, scope: Scope) -> dict:
    """A partial render (--only) keeps the lock entries of the tenants it did not render."""
    kept = {p: s for p, s in old_lock.get("files", {}).items() if not _in_scope(p, scope)}
    return {**lock, "files": dict(sorted({**kept, **lock["files"]}.items()))}


def _changes(disk: Disk, wanted: dict[str, bytes], wanted_sha: dict[str, str], old_lock: dict, scope: Scope,
             diff: bool) -> Changes:
    changes = Changes()
    for path in sorted(wanted):
        current = disk.sha(path)
        if current is None:
            changes.added.append(path)
        elif current != wanted_sha[path]:
            changes.changed.append(path)
        else:
            changes.unchanged += 1
            continue
        if diff:
            changes.diffs[path] = _unified(path, disk.read(path) if current else None, wanted[path])
    for path in sorted(old_lock["files"]):
        if path not in wanted and _in_scope(path, scope) and disk.exists(path):
            changes.removed.append(path)
            if diff:
                changes.diffs[path] = _unified(path, disk.read(path), None)
    return changes


def _wanted(files: dict[str, str], lock: dict | None, old_lock: dict, scope: Scope) -> tuple[dict[str, bytes], dict[str, str], dict | None]:
    wanted = {path: text.encode("utf-8") for path, text in files.items()}
    shas = dict(lock["files"]) if lock else {path: _sha(data) for path, data in wanted.items()}
    merged = None
    if lock is not None:
        merged = _merged_lock(old_lock, lock, scope)
        wanted[LOCK_FILE] = json_text(merged).encode("utf-8")
        shas[LOCK_FILE] = _sha(wanted[LOCK_FILE])
    return wanted, shas, merged


def compare(out_dir: Path, files: dict[str, str], *, scope: Scope = None, lock: dict | None = None, diff: bool = False,
            cache_dir: Path | None = None) -> Changes:
    """What writing `files` (and `lock`) would change under out_dir; writes nothing."""
    out_dir = Path(os.path.abspath(out_dir))
    disk = Disk(out_dir, StatIndex(cache_dir, out_dir))
    old_lock = disk.lock()
    wanted, shas, _ = _wanted(files, lock, old_lock, scope)
    return _changes(disk, wanted, shas, old_lock, scope, diff)


def _unified(path: str, old: bytes | None, new: bytes | None) -> str:
    def lines(data: bytes | None) -> list[str]:
        return [] if data is None else data.decode("utf-8", "replace").splitlines(keepends=True)

    return "".join(difflib.unified_diff(lines(old), lines(new), f"a/{path}" if old is not None else "/dev/null",
                                        f"b/{path}" if new is not None else "/dev/null"))


# --- writing -------------------------------------------------------------------------------


@contextmanager
def exclusive(out_dir: Path, wait: float | None = None) -> Iterator[None]:
    """Serialise writers of one output directory: flock(2) on its parent directory (the output
    directory itself is swapped, so it cannot carry the lock). PLGEN_LOCK_WAIT sets how many
    seconds a second writer waits before giving up."""
    if wait is None:
        wait = float(os.environ.get("PLGEN_LOCK_WAIT", LOCK_WAIT_SECONDS))
    fd = os.open(out_dir.parent, os.O_RDONLY)
    try:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as err:
                if err.errno not in (errno.EAGAIN, errno.EACCES) or time.monotonic() > deadline:
                    raise _fail(out_dir, f"another plgen run is writing here (waited {wait:.0f} s); try again when it ends") from None
                time.sleep(0.05)
        yield
    finally:
        os.close(fd)


def write(out_dir: Path, files: dict[str, str], lock: dict, *, scope: Scope = None, force: bool = False,
          cache_dir: Path | None = None, jobs: int | None = None, progress: Progress = _no_progress) -> Changes:
    """Bring out_dir to exactly `files` (within scope) plus the lock, atomically."""
    out_dir = Path(os.path.abspath(out_dir))
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    for path in files:
        _check_relative(out_dir, path)
    with exclusive(out_dir):
        _recover(out_dir)
        # (the lock's own paths are checked when it is read)
        if out_dir.is_symlink() or (out_dir.exists() and not out_dir.is_dir()):
            raise _fail(out_dir, "the output path exists and is not a directory")
        index = StatIndex(cache_dir, out_dir)
        disk = Disk(out_dir, index)
        old_lock = disk.lock(checked=files)
        wanted, shas, merged = _wanted(files, lock, old_lock, scope)
        for path in wanted:
            link = disk.snapshot.through_link(path)
            if link is not None:
                raise _fail(out_dir, "is a symbolic link; plgen does not write through links (remove it)", link)
        if not force:
            _refuse_foreign_and_edited(disk, wanted, shas, old_lock, scope)
        changes = _changes(disk, wanted, shas, old_lock, scope, diff=False)
        _crash_point("compared")
        if changes.drift:
            entries = _swap_in(disk, wanted, changes, jobs or os.cpu_count() or 1, progress, _spare_path(cache_dir, out_dir))
            index.save(_index_entries(disk, shas, entries))
        elif disk.read_count:
            index.save(_index_entries(disk, shas, None))
        return changes


def _refuse_foreign_and_edited(disk: Disk, wanted: dict[str, bytes], shas: dict[str, str], old_lock: dict,
                               scope: Scope) -> None:
    problems = []
    listed = old_lock["files"]
    for path, sha in sorted(listed.items()):
        if _in_scope(path, scope) and disk.exists(path) and disk.sha(path) != sha:
            problems.append(Problem(Location(str(disk.out_dir / path)), "edited by hand since plgen wrote it; move the "
                                    "change into the manifest or templates, or re-run with --force to overwrite it"))
    for path in sorted(wanted):
        if path in listed or path == LOCK_FILE:
            continue
        current = disk.sha(path)
        if current is not None and current != shas[path]:
            problems.append(Problem(Location(str(disk.out_dir / path)), "exists but was not written by plgen (not in the "
                                    "lock file); move it away or re-run with --force to overwrite it"))
    if problems:
        raise WriteError(problems)


def _staging_dirs(out_dir: Path) -> list[Path]:
    prefix = f".{out_dir.name}{STAGING_MARK}"
    return sorted(p for p in out_dir.parent.iterdir() if p.name.startswith(prefix))


def _recover(out_dir: Path) -> None:
    """Clean up after a run that was killed: a staging tree is either an unfinished new tree
    (never swapped in) or the old tree after an exchange; out_dir is complete either way."""
    previous = out_dir.parent / f".{out_dir.name}.plgen-previous"
    if not out_dir.exists() and previous.is_dir():
        os.rename(previous, out_dir)  # killed between the two renames of the fallback swap
    for leftover in _staging_dirs(out_dir) + ([previous] if previous.exists() else []):
        shutil.rmtree(leftover, ignore_errors=True)


def _spare_path(cache_dir: Path | None, out_dir: Path) -> Path | None:
    """Where the previous tree is kept between runs (double buffering), or None.

    The spare must be on the output directory's file system (the swap is a rename) and is
    kept in the cache directory, never beside out/, so it cannot end up in a repository.
    """
    if cache_dir is None:
        return None
    spares = cache_dir / "spares"
    try:
        spares.mkdir(parents=True, exist_ok=True)
        if os.stat(spares).st_dev != os.stat(out_dir.parent).st_dev:
            return None
        _prune_orphaned_spares(spares)
        spare = spares / hashlib.sha256(str(out_dir).encode()).hexdigest()[:32]
        # beside the spare, never inside it (the spare becomes the live tree)
        spare.with_suffix(".origin").write_text(str(out_dir), encoding="utf-8")
    except OSError:
        return None
    return spare


def _prune_orphaned_spares(spares: Path) -> None:
    """Spares whose output directory no longer exists only hold disk space: remove them."""
    for origin in spares.glob("*.origin"):
        try:
            if not Path(origin.read_text(encoding="utf-8")).is_dir():
                shutil.rmtree(origin.with_suffix(""), ignore_errors=True)
                origin.unlink()
        except OSError:
            continue


def _swap_in(disk: Disk, wanted: dict[str, bytes], changes: Changes, jobs: int, progress: Progress,
             spare: Path | None) -> dict[str, list]:
    """Bring a staging tree to the new content and exchange it with out_dir in one rename.

    The staging tree is the spare (the tree before last, kept from the previous swap) when
    there is one: only what differs from the new tree is touched, so a run costs in
    proportion to its changes. Without a spare it is built from nothing. Either way the old
    tree, after the exchange, becomes the next spare (or is removed when there is no place
    for one). Returns the stat index entries of the files written.
    """
    out_dir, snapshot = disk.out_dir, disk.snapshot
    staging = spare if spare is not None and out_dir.is_dir() else \
        out_dir.parent / f".{out_dir.name}{STAGING_MARK}{os.getpid()}"
    replaced = set(changes.added) | set(changes.changed) | set(changes.removed)
    to_write = sorted(set(changes.added) | set(changes.changed))
    to_link = sorted(p for p in snapshot.files if p not in replaced)
    dirs = _final_dirs(snapshot, set(to_link) | set(to_write) | snapshot.links, set(changes.removed))
    swapped = False
    try:
        current = Snapshot.scan(staging, inodes_only=True) if staging.is_dir() and not staging.is_symlink() else None
        if current is None:
            if staging.exists() or staging.is_symlink():
                _remove_tree(staging, jobs)
            os.mkdir(staging)
            current = Snapshot(staging)
        if out_dir.is_dir():
            shutil.copymode(out_dir, staging)
        keep = set(to_link) | set(to_write)
        _prune(staging, current, keep, snapshot, dirs, jobs)
        for directory in sorted(dirs - set(current.dirs)):
            mode = os.stat(out_dir / directory).st_mode & 0o7777 if directory in snapshot.dirs else 0o755
            os.mkdir(staging / directory, mode)
        for path in sorted(snapshot.links):
            if path not in current.links or os.readlink(staging / path) != os.readlink(out_dir / path):
                if path in current.links:
                    os.unlink(staging / path)
                os.symlink(os.readlink(out_dir / path), staging / path)
        _crash_point("staging-pruned")
        relink = [p for p in to_link if not _same_inode(current.files.get(p), snapshot.files[p])]
        rewrite = [p for p in to_write]
        written = _place_files(out_dir, staging, current, relink, rewrite, wanted, jobs, progress)
        _crash_point("staging-complete")
        _exchange(staging, out_dir)
        _crash_point("exchanged")
        swapped = True
    finally:
        if not swapped and staging != spare and staging.exists():
            _remove_tree(staging, jobs)
    if spare is not None and not spare.exists() and not staging.exists():
        # A first render (nothing to exchange with): prime the spare now, with hard links
        # only, so that the next change already costs in proportion to itself.
        _prime_spare(out_dir, spare, jobs)
    if staging != spare and staging.exists():
        # After the exchange `staging` holds the old tree: it becomes the spare, or goes.
        if spare is not None and not spare.exists():
            try:
                os.rename(staging, spare)
            except OSError:
                _remove_tree(staging, jobs)
        else:
            _remove_tree(staging, jobs)
    return written


def _prime_spare(out_dir: Path, spare: Path, jobs: int) -> None:
    live = Snapshot.scan(out_dir)
    temp = spare.with_name(spare.name + f".{os.getpid()}.tmp")
    try:
        os.mkdir(temp)
        for directory in sorted(live.dirs):
            os.mkdir(temp / directory)
        for path in live.links:
            os.symlink(os.readlink(out_dir / path), temp / path)

        def link(paths: list[str]) -> None:
            for path in paths:
                os.link(out_dir / path, temp / path)

        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            list(pool.map(link, _chunks(sorted(live.files), 512)))
        os.rename(temp, spare)
    except OSError:
        pass  # only an optimisation: the next change builds the spare itself
    finally:
        if temp.exists():
            _remove_tree(temp, jobs)


def _same_inode(spare_inode: int | None, live: os.stat_result) -> bool:
    # the spare is on the live tree's file system (checked in _spare_path), so inodes compare
    return spare_inode is not None and spare_inode == live.st_ino


def _prune(staging: Path, current: Snapshot, keep: set[str], snapshot: Snapshot, dirs: set[str], jobs: int) -> None:
    """Remove from the staging tree what the new tree does not have (its files, links,
    directories) and whatever stands where something of another kind must go."""
    for path in sorted(current.files):
        if path not in keep:
            os.unlink(staging / path)
    for path in sorted(current.links | current.others):
        if path not in snapshot.links:
            os.unlink(staging / path)
    for path in sorted(current.dirs, key=lambda d: -d.count("/")):
        if path not in dirs and (staging / path).is_dir():
            if path in keep or path in snapshot.links or any(True for _ in os.scandir(staging / path)):
                _remove_tree(staging / path, 1)
            else:
                os.rmdir(staging / path)
    current.dirs = {d: m for d, m in current.dirs.items() if d in dirs}


def _place_files(out_dir: Path, staging: Path, current: Snapshot, relink: list[str], rewrite: list[str],
                 wanted: dict[str, bytes], jobs: int, progress: Progress) -> dict[str, list]:
    total = len(relink) + len(rewrite)
    done = 0
    written: dict[str, list] = {}

    def link(paths: list[str]) -> int:
        for path in paths:
            if path in current.files:
                os.unlink(staging / path)
            os.link(out_dir / path, staging / path)
        return len(paths)

    def create(paths: list[str]) -> dict[str, list]:
        keys = {}
        for path in paths:
            if path in current.files:
                os.unlink(staging / path)  # never write into a file the live tree may share
            fd = os.open(staging / path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            try:
                os.write(fd, wanted[path])
                keys[path] = StatIndex.key(os.fstat(fd))
            finally:
                os.close(fd)
        return keys

    # File system calls release the GIL: links and writes run on `jobs` threads, in chunks
    # (one future per file would cost more than the calls themselves).
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        for count in pool.map(link, _chunks(relink, 512)):
            done += count
            progress("write", done, total)
        for keys in pool.map(create, _chunks(rewrite, 128)):
            written.update(keys)
            done += len(keys)
            progress("write", done, total)
            if done >= total // 2:
                _crash_point("staging-half-written")
    return written


def _chunks(items: list[str], size: int) -> list[list[str]]:
    return [items[i:i + size] for i in range(0, len(items), size)]


def _remove_tree(root: Path, jobs: int) -> None:
    """rmtree, with the subtrees of tenants/ removed on `jobs` threads."""
    tenants = root / "tenants"
    if jobs > 1 and tenants.is_dir() and not tenants.is_symlink():
        with os.scandir(tenants) as entries:
            subtrees = [entry.path for entry in entries]
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            list(pool.map(lambda paths: [shutil.rmtree(p, ignore_errors=True) for p in paths], _chunks(subtrees, 64)))
    shutil.rmtree(root, ignore_errors=True)


def _final_dirs(snapshot: Snapshot, final_files: set[str], removed: set[str]) -> set[str]:
    """Directories of the new tree: every parent of a file or link that stays, plus the old
    directories that did not become empty through removals (a user's empty folder stays)."""
    dirs: set[str] = set()
    for path in final_files:
        while "/" in path:
            path = path.rsplit("/", 1)[0]
            if path in dirs:
                break
            dirs.add(path)
    emptied: set[str] = set()
    for path in removed:
        while "/" in path:
            path = path.rsplit("/", 1)[0]
            emptied.add(path)
    dirs |= {d for d in snapshot.dirs if d not in emptied and not snapshot.through_link(d)}
    return dirs


def _index_entries(disk: Disk, shas: dict[str, str], written: dict[str, list] | None) -> dict[str, list]:
    """The new stat index: files just written, and unchanged generated files (hard links keep
    their size, mtime and inode)."""
    entries: dict[str, list] = {}
    for path, sha in shas.items():
        if written is not None and path in written:
            entries[path] = written[path] + (sha,)
        elif path in disk.snapshot.files and disk._shas.get(path) == sha:
            entries[path] = StatIndex.key(disk.snapshot.files[path]) + (sha,)
    return entries


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100
_libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
_renameat2 = getattr(_libc, "renameat2", None)


def _exchange(new: Path, current: Path) -> None:
    if not current.exists():
        os.rename(new, current)
        return
    if _renameat2 is not None:
        result = _renameat2(_AT_FDCWD, os.fsencode(new), _AT_FDCWD, os.fsencode(current), _RENAME_EXCHANGE)
        if result == 0:
            return  # `new` now holds the old tree; the caller removes it
        if ctypes.get_errno() not in (errno.EINVAL, errno.ENOSYS):
            raise _fail(current, f"cannot swap in the new tree: {os.strerror(ctypes.get_errno())}")
    # No atomic exchange on this filesystem: two renames, with _recover() covering a crash
    # between them.
    previous = current.parent / f".{current.name}.plgen-previous"
    os.rename(current, previous)
    os.rename(new, current)
    shutil.rmtree(previous, ignore_errors=True)
