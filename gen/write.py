"""Stage 6, write: the verified {path: text} map -> the output directory, or a comparison.

Safety rules (DESIGN §6):
- Atomic: the new tree is staged beside the output directory (unchanged files hard-linked,
  changed ones written) and swapped in with one rename(2) exchange, so a crash at any moment
  leaves either the complete old tree or the complete new one.
- Only plgen's files: a file is deleted only if the previous lock lists it; files the lock
  does not list are carried over untouched; a generated file edited by hand stops the run
  unless forced.
- One writer: runs on the same output directory are serialised with flock(2) on its parent.
- Nothing is written through a symlink.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import difflib
import errno
import fcntl
import hashlib
import json
import os
import shutil
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from . import __version__
from .errors import Location, Problem, WriteError
from .plan import Plan
from .quoting import json_text
from .resources import template_release

LOCK_FILE = ".plgen-lock.json"
STAGING_MARK = ".plgen-staging-"
LOCK_WAIT_SECONDS = 120.0


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


def lock_for(rendered, templates: Path | None = None) -> dict:
    return {
        "tool_version": __version__,
        "template_release": template_release(templates) if templates else template_release(),
        "manifest_sha256": rendered.manifest_sha256,
        "files": {path: _sha(text.encode("utf-8")) for path, text in sorted(rendered.files.items())},
    }


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _fail(out_dir: Path, message: str, path: str = "") -> WriteError:
    return WriteError(Problem(Location(str(out_dir / path) if path else str(out_dir)), message))


def read_lock(out_dir: Path) -> dict:
    lock_path = out_dir / LOCK_FILE
    if not lock_path.exists():
        return {"files": {}}
    try:
        lock = json.loads(lock_path.read_text(encoding="utf-8"))
        files = lock["files"]
        if not isinstance(files, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in files.items()):
            raise ValueError("files is not a map of path to sha256")
    except (ValueError, KeyError, TypeError) as err:
        raise _fail(out_dir, f"unreadable lock file ({err}); restore it from version control", LOCK_FILE) from None
    for path in files:
        _check_relative(out_dir, path)
    return lock


def _check_relative(out_dir: Path, path: str) -> None:
    parts = path.split("/")
    if path.startswith("/") or any(part in ("", ".", "..") for part in parts):
        raise _fail(out_dir, f"refusing a path that leaves the output directory: {path!r}")


def _check_no_symlinks(out_dir: Path, path: str) -> None:
    current = out_dir
    for part in path.split("/"):
        current = current / part
        if current.is_symlink():
            raise _fail(out_dir, "is a symbolic link; plgen does not write through links (remove it)", str(current.relative_to(out_dir)))


def _read(out_dir: Path, path: str) -> bytes | None:
    try:
        return (out_dir / path).read_bytes()
    except FileNotFoundError:
        return None
    except (IsADirectoryError, NotADirectoryError):
        raise _fail(out_dir, "is in the way: a directory stands where a generated file goes", path) from None


def compare(out_dir: Path, files: dict[str, str], *, scope: Scope = None, lock: dict | None = None, diff: bool = False) -> Changes:
    """What writing `files` (and `lock`) would change under out_dir."""
    out_dir = Path(out_dir)
    old_lock = read_lock(out_dir) if out_dir.is_dir() else {"files": {}}
    changes = Changes()
    wanted = {path: text.encode("utf-8") for path, text in files.items()}
    if lock is not None:
        wanted[LOCK_FILE] = json_text(_merged_lock(old_lock, lock, scope)).encode("utf-8")
    for path, data in sorted(wanted.items()):
        current = _read(out_dir, path) if out_dir.is_dir() else None
        if current is None:
            changes.added.append(path)
        elif current != data:
            changes.changed.append(path)
        else:
            changes.unchanged += 1
            continue
        if diff:
            changes.diffs[path] = _unified(path, current, data)
    for path in sorted(old_lock["files"]):
        if path not in wanted and _in_scope(path, scope) and (out_dir / path).exists():
            changes.removed.append(path)
            if diff:
                changes.diffs[path] = _unified(path, _read(out_dir, path), None)
    return changes


def _unified(path: str, old: bytes | None, new: bytes | None) -> str:
    def lines(data: bytes | None) -> list[str]:
        return [] if data is None else data.decode("utf-8", "replace").splitlines(keepends=True)

    return "".join(difflib.unified_diff(lines(old), lines(new), f"a/{path}" if old is not None else "/dev/null",
                                        f"b/{path}" if new is not None else "/dev/null"))


def _merged_lock(old_lock: dict, lock: dict, scope: Scope) -> dict:
    """A partial render (--only) keeps the lock entries of the tenants it did not render."""
    kept = {p: s for p, s in old_lock.get("files", {}).items() if not _in_scope(p, scope)}
    return {**lock, "files": dict(sorted({**kept, **lock["files"]}.items()))}


@contextmanager
def exclusive(out_dir: Path, wait: float = LOCK_WAIT_SECONDS) -> Iterator[None]:
    """Serialise writers of one output directory: flock(2) on its parent directory (the output
    directory itself is swapped, so it cannot carry the lock)."""
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


def write(out_dir: Path, files: dict[str, str], lock: dict, *, scope: Scope = None, force: bool = False) -> Changes:
    """Bring out_dir to exactly `files` (within scope) plus the lock, atomically."""
    out_dir = Path(os.path.abspath(out_dir))
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    for path in files:
        _check_relative(out_dir, path)
    with exclusive(out_dir):
        _recover(out_dir)
        if out_dir.exists() and (out_dir.is_symlink() or not out_dir.is_dir()):
            raise _fail(out_dir, "the output path exists and is not a directory")
        old_lock = read_lock(out_dir) if out_dir.is_dir() else {"files": {}}
        for path in list(files) + [LOCK_FILE]:
            if out_dir.is_dir():
                _check_no_symlinks(out_dir, path)
        _refuse_foreign_and_edited(out_dir, files, old_lock, scope, force)
        changes = compare(out_dir, files, scope=scope, lock=lock)
        if not changes.drift:
            return changes
        _swap_in(out_dir, files, _merged_lock(old_lock, lock, scope), changes)
        return changes


def _refuse_foreign_and_edited(out_dir: Path, files: dict[str, str], old_lock: dict, scope: Scope, force: bool) -> None:
    if force or not out_dir.is_dir():
        return
    problems = []
    listed = old_lock["files"]
    for path, sha in sorted(listed.items()):
        if not _in_scope(path, scope):
            continue
        current = _read(out_dir, path)
        if current is not None and _sha(current) != sha:
            problems.append(Problem(Location(str(out_dir / path)), "edited by hand since plgen wrote it; move the change into "
                                    "the manifest or templates, or re-run with --force to overwrite it"))
    for path, text in sorted(files.items()):
        if path in listed:
            continue
        current = _read(out_dir, path)
        if current is not None and current != text.encode("utf-8"):
            problems.append(Problem(Location(str(out_dir / path)), "exists but was not written by plgen (not in the lock "
                                    "file); move it away or re-run with --force to overwrite it"))
    if problems:
        raise WriteError(problems)


def _staging_dirs(out_dir: Path) -> list[Path]:
    prefix = f".{out_dir.name}{STAGING_MARK}"
    return sorted(p for p in out_dir.parent.iterdir() if p.name.startswith(prefix))


def _recover(out_dir: Path) -> None:
    """Clean up after a run that was killed: a staging tree is either an unfinished new tree
    (never swapped in) or the old tree after an exchange; out_dir is complete either way."""
    old = out_dir.parent / f".{out_dir.name}.plgen-previous"
    if not out_dir.exists() and old.is_dir():
        os.rename(old, out_dir)  # killed between the two renames of the fallback swap
    for leftover in _staging_dirs(out_dir) + ([old] if old.exists() else []):
        shutil.rmtree(leftover, ignore_errors=True)


def _swap_in(out_dir: Path, files: dict[str, str], lock: dict, changes: Changes) -> None:
    staging = out_dir.parent / f".{out_dir.name}{STAGING_MARK}{os.getpid()}"
    replaced = set(changes.added) | set(changes.changed) | set(changes.removed) | {LOCK_FILE}
    try:
        if out_dir.is_dir():
            _link_tree(out_dir, staging, skip=replaced)
        else:
            staging.mkdir()
        for path in sorted(set(changes.added) | set(changes.changed)):
            if path == LOCK_FILE:
                continue
            target = staging / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(files[path].encode("utf-8"))
        for path in changes.removed:
            _prune_empty_parents(staging, path)
        (staging / LOCK_FILE).write_bytes(json_text(lock).encode("utf-8"))
        _exchange(staging, out_dir)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


def _link_tree(source: Path, target: Path, skip: set[str]) -> None:
    """Copy a tree by hard links (no data copied), recreating symlinks as links."""
    target.mkdir()
    shutil.copymode(source, target)
    for root, dirs, names in os.walk(source):
        rel_root = os.path.relpath(root, source)
        rel_root = "" if rel_root == "." else rel_root + "/"
        for name in dirs:
            src = os.path.join(root, name)
            dst = target / (rel_root + name)
            if os.path.islink(src):
                os.symlink(os.readlink(src), dst)
            else:
                dst.mkdir()
                shutil.copymode(src, dst)
        dirs[:] = [d for d in dirs if not os.path.islink(os.path.join(root, d))]
        for name in names:
            rel = rel_root + name
            if rel in skip:
                continue
            src = os.path.join(root, name)
            if os.path.islink(src):
                os.symlink(os.readlink(src), target / rel)
            else:
                os.link(src, target / rel)


def _prune_empty_parents(root: Path, path: str) -> None:
    parent = (root / path).parent
    while parent != root:
        try:
            parent.rmdir()
        except OSError:
            return
        parent = parent.parent


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
