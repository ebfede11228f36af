"""The atomic swap: a staging tree brought to the new content beside (or, as the spare, in
the cache directory on the same file system as) the output directory, then exchanged with
it; and recovery after a run that was killed part way."""

from __future__ import annotations

import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .cachedir import output_key
from .changes import Changes
from .disk import Disk, Snapshot, file_key
from .osfs import O_BINARY, crash_point, exchange, link_or_copy, previous_path

STAGING_MARK = ".plgen-staging-"

Progress = Callable[[str, int, int], None]


def _staging_dirs(out_dir: Path) -> list[Path]:
    prefix = f".{out_dir.name}{STAGING_MARK}"
    return sorted(p for p in out_dir.parent.iterdir() if p.name.startswith(prefix))


def recover(out_dir: Path) -> None:
    """Clean up after a run that was killed: a staging tree is either an unfinished new tree
    (never swapped in) or the old tree after an exchange; out_dir is complete either way."""
    previous = previous_path(out_dir)
    if not out_dir.exists() and previous.is_dir():
        os.rename(previous, out_dir)  # killed between the two renames of the fallback swap
    for leftover in _staging_dirs(out_dir) + ([previous] if previous.exists() else []):
        shutil.rmtree(leftover, ignore_errors=True)


def spare_path(cache_dir: Path | None, out_dir: Path) -> Path | None:
    """Where the previous tree is kept between runs (double buffering), or None.

    The spare must be on the output directory's file system (the swap is a rename) and is
    kept in the cache directory, never beside out/, so it cannot end up in a repository.
    (gen.write.cachedir records whose it is and prunes it.)
    """
    if cache_dir is None:
        return None
    spares = cache_dir / "spares"
    try:
        spares.mkdir(parents=True, exist_ok=True)
        if os.stat(spares).st_dev != os.stat(out_dir.parent).st_dev:
            return None
    except OSError:
        return None
    return spares / output_key(out_dir)


@dataclass(frozen=True)
class SpareContents:
    """What a spare holds, as recorded when it became the spare: the tree the swap replaced
    (or the output it was primed from), as the write's own scan saw it, so the next write need
    not scan the spare again. Each directory's modification time is recorded too: a file
    added, removed or renamed anywhere in the spare changes its directory's, so a spare
    changed by anything but plgen is scanned again rather than trusted (stat of each directory:
    a third of the entries of a tenant's tree, and no listing)."""

    root: tuple[int, int]  # (st_dev, st_ino) of the spare's directory
    files: dict[str, int]  # path -> inode
    dirs: tuple[str, ...]
    links: tuple[str, ...]
    others: tuple[str, ...]
    dir_times: tuple[int, ...]  # st_mtime_ns of the spare's directory, then of each of `dirs`

    @classmethod
    def of(cls, spare: Path, tree: Snapshot) -> "SpareContents | None":
        try:
            st = os.stat(spare)
            dirs = tuple(tree.dirs)
            # The tree a swap replaced: its directories are as its walk saw them (nothing writes
            # in them since; the exchange moves only its root). Otherwise (0: not read) stat them.
            walked = tree.dirs.values()
            times = (st.st_mtime_ns, *walked) if 0 not in walked else _dir_times(spare, dirs)
        except OSError:
            return None
        return cls((st.st_dev, st.st_ino), {p: key[2] for p, key in tree.files.items()}, dirs,
                   tuple(tree.links), tuple(tree.others), times)

    def snapshot_of(self, spare: Path) -> Snapshot | None:
        """The spare's contents, if the spare is still the directory recorded, no write was
        interrupted while changing it (its busy mark would still be there) and no directory in
        it changed since."""
        try:
            st = os.stat(spare)
            if (st.st_dev, st.st_ino) != self.root or busy_mark(spare).exists() or \
                    _dir_times(spare, self.dirs) != self.dir_times:
                return None
        except OSError:
            return None
        return Snapshot(spare, dict(self.files), dict.fromkeys(self.dirs, 0), set(self.links), set(self.others))


def _dir_times(spare: Path, dirs: tuple[str, ...]) -> tuple[int, ...]:
    if os.stat not in os.supports_dir_fd:
        return (os.stat(spare).st_mtime_ns, *(os.stat(spare / d).st_mtime_ns for d in dirs))
    fd = os.open(spare, os.O_RDONLY)
    try:  # relative to the spare: a shorter path walk for each
        return (os.fstat(fd).st_mtime_ns, *(os.stat(d, dir_fd=fd, follow_symlinks=False).st_mtime_ns for d in dirs))
    finally:
        os.close(fd)


def busy_mark(spare: Path) -> Path:
    """Exists while a write changes the spare: what was recorded of it is then void."""
    return spare.with_suffix(".busy")


def swap_in(disk: Disk, wanted: dict[str, bytes], changes: Changes, jobs: int, progress: Progress,
            spare: Path | None, spare_contents: SpareContents | None = None) -> tuple[dict[str, tuple], Snapshot | None]:
    """Bring a staging tree to the new content and exchange it with out_dir in one rename.

    The staging tree is the spare (the tree before last, kept from the previous swap) when
    there is one: only what differs from the new tree is touched, so a run costs in
    proportion to its changes (with `spare_contents`, recorded when it became the spare, it
    is not even scanned). Without a spare it is built from nothing. Either way the old tree,
    after the exchange, becomes the next spare (or is removed when there is no place for
    one). Returns the stat index entries of the files written, and what the spare now holds
    (the tree this write replaced, or the new one when the spare was primed), if known.
    """
    out_dir = disk.out_dir
    staging = spare if spare is not None and out_dir.is_dir() else \
        out_dir.parent / f".{out_dir.name}{STAGING_MARK}{os.getpid()}"
    known = spare_contents.snapshot_of(staging) if spare_contents is not None and staging == spare else None
    if spare is not None:
        busy_mark(spare).touch()
    swapped = False
    try:
        written = _build_staging(disk, staging, wanted, changes, jobs, progress, known)
        exchange(staging, out_dir)
        crash_point("exchanged")
        swapped = True
    finally:
        if not swapped and staging != spare and staging.exists():
            _remove_tree(staging, jobs)
    return written, _keep_old_tree_as_spare(disk.snapshot, staging, spare, jobs)


def _build_staging(disk: Disk, staging: Path, wanted: dict[str, bytes], changes: Changes, jobs: int,
                   progress: Progress, known: Snapshot | None) -> dict[str, tuple]:
    out_dir, snapshot = disk.out_dir, disk.snapshot
    # (set operations rather than loops: a change of a few files in a tree of 90,000 should
    # cost little more than those files)
    replaced = set(changes.added) | set(changes.changed) | set(changes.removed)
    to_write = sorted(set(changes.added) | set(changes.changed))
    staying = snapshot.files.keys() - replaced
    final = staying | set(to_write)
    dirs = _final_dirs(snapshot, staying, to_write, set(changes.removed))
    current = known if known is not None else _staging_snapshot(staging, jobs)
    if out_dir.is_dir():
        shutil.copymode(out_dir, staging)
    _prune(staging, current, final, snapshot, dirs)
    for directory in sorted(dirs - current.dirs.keys()):
        mode = os.stat(out_dir / directory).st_mode & 0o7777 if directory in snapshot.dirs else 0o755
        os.mkdir(staging / directory, mode)
    _copy_links(out_dir, staging, snapshot, current)
    crash_point("staging-pruned")
    # the spare is on the live tree's file system (checked in spare_path), so inodes compare
    spare_inodes, live = current.files, snapshot.files
    relink = sorted(p for p in staying if spare_inodes.get(p) != live[p][2])
    written = _place_files(out_dir, staging, current, relink, to_write, wanted, jobs, progress)
    crash_point("staging-complete")
    return written


def _staging_snapshot(staging: Path, jobs: int) -> Snapshot:
    """What the staging tree holds now (the spare's files), creating it if need be."""
    if staging.is_dir() and not staging.is_symlink():
        return Snapshot.scan(staging, inodes_only=True)
    if staging.exists() or staging.is_symlink():
        _remove_tree(staging, jobs)
    os.mkdir(staging)
    return Snapshot(staging)


def _copy_links(out_dir: Path, staging: Path, snapshot: Snapshot, current: Snapshot) -> None:
    """The user's symbolic links inside out/ are carried over as they are."""
    for path in sorted(snapshot.links):
        if path not in current.links or os.readlink(staging / path) != os.readlink(out_dir / path):
            if path in current.links:
                os.unlink(staging / path)
            os.symlink(os.readlink(out_dir / path), staging / path)


def _keep_old_tree_as_spare(old_tree: Snapshot, staging: Path, spare: Path | None, jobs: int) -> Snapshot | None:
    """What the spare now holds, if known: the old tree, or the new one if it was primed."""
    if spare is not None and not spare.exists() and not staging.exists():
        # A first render (nothing to exchange with): prime the spare now, with hard links
        # only, so that the next change already costs in proportion to itself.
        return _prime_spare(old_tree.root, spare, jobs)
    if staging != spare and staging.exists():
        # After the exchange `staging` holds the old tree: it becomes the spare, or goes.
        if spare is not None and not spare.exists():
            try:
                os.rename(staging, spare)
                return old_tree
            except OSError:
                _remove_tree(staging, jobs)
        else:
            _remove_tree(staging, jobs)
        return None
    return old_tree if staging == spare else None


def _prime_spare(out_dir: Path, spare: Path, jobs: int) -> Snapshot | None:
    """A spare of hard links to the output just written; what it holds (the output's scan:
    the same inodes), or None if it could not be made."""
    live = Snapshot.scan(out_dir)
    temp = spare.with_name(spare.name + f".{os.getpid()}.tmp")
    try:
        os.mkdir(temp)
        for directory in sorted(live.dirs):
            os.mkdir(temp / directory)
        for path in live.links:
            os.symlink(os.readlink(out_dir / path), temp / path)

        def link(paths: list[str]) -> bool:
            """Whether every file is a hard link (the spare then has the output's inodes)."""
            linked = True
            for path in paths:
                try:
                    os.link(out_dir / path, temp / path)
                except OSError:
                    link_or_copy(out_dir / path, temp / path)
                    linked = False
            return linked

        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            all_linked = all(list(pool.map(link, _chunks(sorted(live.files), 512))))
        os.rename(temp, spare)
        return live if all_linked else None  # (its directories' times not read: the spare's are new ones)
    except OSError:
        return None  # only an optimisation: the next change builds the spare itself
    finally:
        if temp.exists():
            _remove_tree(temp, jobs)


def _prune(staging: Path, current: Snapshot, keep: set[str], snapshot: Snapshot, dirs: set[str]) -> None:
    """Remove from the staging tree what the new tree does not have (its files, links,
    directories) and whatever stands where something of another kind must go."""
    for path in sorted(current.files.keys() - keep):
        os.unlink(staging / path)
    for path in sorted((current.links | current.others) - snapshot.links):
        os.unlink(staging / path)
    gone = current.dirs.keys() - dirs
    for path in sorted(gone, key=lambda d: (-d.count("/"), d)):
        if (staging / path).is_dir():
            if path in keep or path in snapshot.links or any(True for _ in os.scandir(staging / path)):
                _remove_tree(staging / path, 1)
            else:
                os.rmdir(staging / path)
    if gone:
        current.dirs = {d: m for d, m in current.dirs.items() if d in dirs}


def _place_files(out_dir: Path, staging: Path, current: Snapshot, relink: list[str], rewrite: list[str],
                 wanted: dict[str, bytes], jobs: int, progress: Progress) -> dict[str, tuple]:
    total = len(relink) + len(rewrite)
    done = 0
    written: dict[str, tuple] = {}

    def link(paths: list[str]) -> int:
        for path in paths:
            if path in current.files:
                os.unlink(staging / path)
            link_or_copy(out_dir / path, staging / path)
        return len(paths)

    def create(paths: list[str]) -> dict[str, tuple]:
        keys = {}
        for path in paths:
            if path in current.files:
                os.unlink(staging / path)  # never write into a file the live tree may share
            fd = os.open(staging / path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | O_BINARY, 0o644)
            try:
                os.write(fd, wanted[path])
                keys[path] = file_key(os.fstat(fd))
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
                crash_point("staging-half-written")
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


def _final_dirs(snapshot: Snapshot, staying: set[str], new_files: list[str], removed: set[str]) -> set[str]:
    """Directories of the new tree: every parent of a file or link in it, plus the old
    directories that did not become empty through removals (a user's empty folder stays).
    Without removals that is every old directory (each holds what it held) and the parents
    of the new files."""
    emptied = _parents(removed, set())
    dirs = set(snapshot.dirs) - emptied
    if emptied:  # (a fresh set: _parents stops at a directory it has, which must have its parents)
        dirs |= _parents(staying, set())
    return _parents([*new_files, *snapshot.links], dirs)


def _parents(paths, into: set[str]) -> set[str]:
    """`into`, with every parent directory of `paths` added."""
    for path in paths:
        while "/" in path:
            path = path.rsplit("/", 1)[0]
            if path in into:
                break
            into.add(path)
    return into
