"""Stage 6, write: the verified {path: text} map -> the output directory, or a comparison.

Safety rules (DESIGN §6):
- Atomic: the new tree is staged beside the output directory (unchanged files hard-linked,
  changed ones written) and swapped in with one renameat2(RENAME_EXCHANGE) on Linux, so a
  crash at any moment leaves either the complete old tree or the complete new one. Elsewhere
  the swap is two renames, and the next run completes one that a crash interrupted.
- Only plgen's files: a file is deleted only if the previous lock lists it; files the lock
  does not list are carried over untouched; a generated file edited by hand stops the run
  unless forced.
- One writer: runs on the same output directory are serialised with a file lock (osfs).
- Nothing is written through a symlink inside the output directory. The output directory
  itself may be a symbolic link to a directory: its target is written, the link stays.

Speed: the output directory is scanned once (scandir); a stat index kept in the cache
directory (size, mtime, inode -> sha256, as git's index does) spares reading files that have
not changed since plgen wrote them.

Modules: changes (comparing, hand edits), disk (scan, stat index, lock file), swap (staging,
spare tree, recovery), osfs (writer lock, exchange, links: the OS-specific parts).
"""

from __future__ import annotations

import os
from pathlib import Path

from .changes import Changes, Scope, changes, lock_for, refuse_edited_and_foreign, scope_for, wanted_files
from .disk import LOCK_FILE, Disk, StatIndex, check_relative
from .osfs import LOCK_WAIT_SECONDS, crash_point, exclusive, fail
from .swap import STAGING_MARK, Progress, recover, spare_path, swap_in

__all__ = ["Changes", "LOCK_FILE", "LOCK_WAIT_SECONDS", "Progress", "STAGING_MARK", "Scope", "compare", "exclusive",
           "lock_for", "scope_for", "write"]


def _no_progress(stage: str, done: int = 0, total: int = 0) -> None:
    pass


def output_dir(given: Path | str) -> Path:
    """The absolute output directory. A symbolic link to a directory stands for its target
    (the swap renames the target; the link stays as it is)."""
    given = Path(given)
    _refuse_file_ancestor(given)
    out_dir = Path(os.path.abspath(given))
    if out_dir.is_symlink() or _is_junction(out_dir):
        out_dir = Path(os.path.realpath(out_dir))
    _refuse_non_directory(out_dir)
    return out_dir


def _refuse_file_ancestor(given: Path) -> None:
    """`-o afile/sub`: say so, rather than fail to create the directory."""
    for ancestor in given.parents:
        if os.path.lexists(ancestor):
            if not ancestor.is_dir():
                raise fail(ancestor, "is a file, not a directory" if ancestor.is_file() else "is not a directory")
            return


def _refuse_non_directory(out_dir: Path) -> None:
    if out_dir.is_symlink() or (out_dir.exists() and not out_dir.is_dir()):
        raise fail(out_dir, "the output path exists and is not a directory")


def _is_junction(path: Path) -> bool:
    # Windows junctions act as links to directories (os.path.isjunction: Python 3.12+)
    return getattr(os.path, "isjunction", lambda _: False)(path)


def compare(out_dir: Path, files: dict[str, str], *, scope: Scope = None, lock: dict | None = None, diff: bool = False,
            cache_dir: Path | None = None) -> Changes:
    """What writing `files` (and `lock`) would change under out_dir; writes nothing."""
    out_dir = output_dir(out_dir)
    disk = Disk(out_dir, StatIndex(cache_dir, out_dir))
    old_lock = disk.lock()
    wanted, shas = wanted_files(files, lock, old_lock, scope)
    return changes(disk, wanted, shas, old_lock, scope, diff)


def write(out_dir: Path, files: dict[str, str], lock: dict, *, scope: Scope = None, force: bool = False,
          cache_dir: Path | None = None, jobs: int | None = None, progress: Progress = _no_progress) -> Changes:
    """Bring out_dir to exactly `files` (within scope) plus the lock, atomically."""
    out_dir = output_dir(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    for path in files:
        check_relative(out_dir, path)
    with exclusive(out_dir):
        recover(out_dir)
        _refuse_non_directory(out_dir)
        index = StatIndex(cache_dir, out_dir)
        disk = Disk(out_dir, index)
        # (the lock's own paths are checked when it is read)
        old_lock = disk.lock(checked=files)
        wanted, shas = wanted_files(files, lock, old_lock, scope)
        _refuse_links(disk, wanted)
        found = changes(disk, wanted, shas, old_lock, scope, diff=False)
        if not force:
            refuse_edited_and_foreign(out_dir, found)
        crash_point("compared")
        if found.drift:
            written = swap_in(disk, wanted, found, jobs or os.cpu_count() or 1, progress, spare_path(cache_dir, out_dir))
            index.save(disk.index_entries(shas, written))
        elif disk.read_count:
            index.save(disk.index_entries(shas, None))
        return found


def _refuse_links(disk: Disk, wanted: dict[str, bytes]) -> None:
    for path in wanted:
        link = disk.snapshot.through_link(path)
        if link is not None:
            raise fail(disk.out_dir, "is a symbolic link; plgen does not write through links (remove it)", link)

