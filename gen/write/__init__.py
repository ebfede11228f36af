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

Speed: the output directory is scanned once (scandir and stat; on Linux in a child process,
while this one reads the state and parses the manifest); a stat index kept in the cache
directory (size, mtime, inode -> sha256, as git's index does) spares reading files that have
not changed since plgen wrote them.

Modules: changes (comparing, hand edits), disk (scan, stat index, lock file), lockfile (the
lock's text in runs per unit: a render that owns a few units reads and encodes only theirs),
swap (staging, spare tree, recovery), osfs (writer lock, exchange, links: the OS-specific parts).
"""

from __future__ import annotations

import dataclasses
import os
import pickle
from contextlib import contextmanager, nullcontext, suppress
from pathlib import Path
from typing import Iterator

from ..plan import unit_of
from .changes import (Changes, Scope, changes, lock_for, lock_header, owned_by, refuse_edited_and_foreign, scope_for,
                      wanted_files)
from .disk import LOCK_FILE, Disk, PendingScan, StatIndex, check_relative
from .osfs import LOCK_WAIT_SECONDS, crash_point, exclusive, fail
from . import cachedir, lockfile
from .swap import STAGING_MARK, Progress, SpareContents, busy_mark, recover, spare_path, swap_in

__all__ = ["Changes", "LOCK_FILE", "LOCK_WAIT_SECONDS", "Output", "Progress", "STAGING_MARK", "Scope", "exclusive",
           "lock_for", "lock_header", "scope_for"]


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


class Output:
    """One output directory as a render sees it: scanned once (the stat walk), with the state
    of plgen's last writes (the stat index, gen.write.disk.StatIndex) and, when writing, the
    one-writer lock held from before the scan until the end, so that what the scan saw stays
    true while the render decides what to skip.

    Use: `with Output.open(out_dir, cache_dir, writing=True) as output:` then
    `unchanged_units`, and `write` or `compare` once.
    """

    def __init__(self, out_dir: Path, cache_dir: Path | None, writing: bool):
        self.out_dir = out_dir
        self.writing = writing
        self.scan = PendingScan(out_dir)  # first: it runs while the state is read and the manifest parsed
        self.index = StatIndex(cache_dir, out_dir)
        self.disk = Disk(out_dir, self.index, self.scan)
        self.cache_dir = cache_dir
        self._spare: tuple | None = None  # (spare path, SpareContents fields) after a swap
        self._partial: tuple | None = None  # (scope, the lock's header and units in scope, lockfile.OldLock)
        self._restatted = False  # entries whose stat changed, bytes as recorded: new stats to save
        self._listing: dict[str, dict[str, str]] | None = None  # a changed lock's files, by unit

    @classmethod
    @contextmanager
    def open(cls, out_dir: Path | str, cache_dir: Path | None, *, writing: bool) -> Iterator["Output"]:
        out_dir = output_dir(out_dir)
        if writing:
            out_dir.parent.mkdir(parents=True, exist_ok=True)
        with exclusive(out_dir) if writing else nullcontext():
            if writing:
                recover(out_dir)
                _refuse_non_directory(out_dir)
            output = cls(out_dir, cache_dir, writing)
            try:
                yield output
            finally:
                output.scan.stop()  # a run that ends early (bad input) does not leave the walk running

    def unchanged_units(self, digests: dict[str, str]) -> dict[str, int]:
        """Units whose input digest is the one last rendered, verified and found on disk, and
        whose files all hold the bytes plgen recorded (none edited, replaced or deleted since:
        the stat recorded, or else the bytes), with their number of files. If the lock file
        is not the one recorded (a checkout of another commit), a unit also needs the lock to
        list exactly its recorded files with their recorded sha256."""
        if not self.index.units:
            return {}
        listing = None if self._lock_untouched() else self._lock_listing()
        unchanged = {}
        for name, digest in digests.items():
            record = self.index.units.get(name)
            if record is not None and record[0] == digest and self._as_recorded(record[1]) and (
                    listing is None or listing.get(name) == {p: self.index.entries[p][3] for p in record[1]}):
                unchanged[name] = len(record[1])
        return unchanged

    def _lock_listing(self) -> dict[str, dict[str, str]]:
        """The files the lock on disk lists, by unit (the lock parsed once)."""
        if self._listing is None:
            listing: dict[str, dict[str, str]] = {}
            for path, digest in self.disk.lock()["files"].items():
                listing.setdefault(unit_of(path), {})[path] = digest
            self._listing = listing
        return self._listing

    def unchanged_run(self, run_key: str) -> dict[str, int] | None:
        """Every unit with its number of files, if the last complete run had this run key (the
        same inputs: gen.api.run_key) and all its units are unchanged (unchanged_units, with
        the digests it recorded): a run with that key would render, verify and write nothing."""
        if self.index.run != run_key or not self._lock_untouched():
            return None  # (another lock: compared by a run that renders what changed)
        unchanged = self.unchanged_units({name: digest for name, (digest, _) in self.index.units.items()})
        if len(unchanged) != len(self.index.units):
            return None
        if self._restatted:
            self.index.save(self.index.entries, run=run_key)
        return unchanged

    def remember_run(self, run_key: str, digests: dict[str, str]) -> None:
        """After a no-op found unit by unit (`digests`: every unit of the plan), record its run
        key if it is not the state's already (the same run is then a no-op found by the key),
        and the new stats of files found unchanged by their bytes."""
        if (self.index.run != run_key or self._restatted) and _complete(self.index.units, digests):
            self.index.save(self.index.entries, run=run_key)

    def _as_recorded(self, paths: tuple[str, ...]) -> bool:
        stats, entries = self.disk.snapshot.files, self.index.entries
        for path in paths:
            key, entry = stats.get(path), entries.get(path)
            if key is None or entry is None:
                return False
            if (entry[0] != key[0] or entry[1] != key[1] or entry[2] != key[2]) and not self._same_bytes(path, key):
                return False
        return True

    def _same_bytes(self, path: str, key: tuple) -> bool:
        """Whether a file whose stat is not the one recorded still holds the bytes recorded (a
        fresh checkout with the cache directory restored, a copy, a touch). As git does, plgen
        then hashes it, and keeps its new stat so that the next run need not."""
        entry = self.index.entries[path]
        if entry[0] != key[0]:
            return False  # another size: other bytes
        try:
            if self.disk.sha(path) != entry[3]:
                return False
        except OSError:
            return False
        self.index.entries[path] = (*key, entry[3])
        self._restatted = True
        return True

    def lock_header(self) -> dict | None:
        """The lock file's header as plgen wrote or read it, if the lock is untouched since."""
        return dict(self.index.lock[1]) if self._lock_untouched() else None

    def _layout(self) -> lockfile.Layout | None:
        """Where each unit's runs are in the lock file, if it is untouched since plgen wrote or
        checked it."""
        return self.index.lock[2] if self._lock_untouched() else None

    def _lock_untouched(self) -> bool:
        """Whether the lock file is the one plgen wrote or checked last, as any file it wrote:
        its stat as recorded, or, after a new stat, its bytes (_as_recorded)."""
        if not self.index.lock or not self._as_recorded((LOCK_FILE,)):
            return False
        self.index.lock = (tuple(self.index.entries[LOCK_FILE][:3]), *self.index.lock[1:])  # its stat now
        return True

    def link_services(self) -> dict | None:
        if self.index.link_services is None:
            return None
        try:
            return pickle.loads(self.index.link_services)
        except Exception:  # noqa: BLE001 - a damaged state only costs a check; never trust it
            return None

    def compare(self, files: dict[str, str], *, scope: Scope = None, lock: dict | None = None,
                diff: bool = False) -> Changes:
        """What writing `files` (and `lock`) would change; writes nothing to out_dir."""
        old_lock, splice = self._lock_in(scope)
        wanted, shas, layout = wanted_files(files, lock, old_lock, scope, splice)
        self._remember(scope, files, shas, None, set(), layout)
        # --diff sums up what changes in the lock, all of it
        whole = self.disk.lock(trusted=self._lock_untouched()) if diff and splice is not None else old_lock
        return changes(self.disk, wanted, shas, old_lock, scope, diff, whole)

    def _remember(self, scope: Scope, files: dict[str, str], shas: dict[str, str],
                  written: dict[str, tuple] | None, removed: set[str], layout: lockfile.Layout) -> None:
        self._scope, self._files = scope, files
        self._shas, self._written, self._removed, self._new_layout = shas, written, removed, layout

    def old_lock(self, scope: Scope = None) -> dict:
        """The lock file as it is (parsed once; shared: do not change it). Given the scope of a
        render that owns some units, and while the lock is the one plgen wrote or checked, only
        its header and the entries of the units in scope are read (gen.write.lockfile); compare
        and write with that scope then keep the other units' entries as they are."""
        return self._lock_in(scope)[0]

    def _lock_in(self, scope: Scope) -> tuple[dict, lockfile.OldLock | None]:
        if self._partial is None and scope is not None and (layout := self._layout()):
            try:
                data = self.disk.read(LOCK_FILE)
                self._partial = (scope, lockfile.read(data, layout, owned_by(scope)), lockfile.OldLock(data, layout))
            except (OSError, ValueError, UnicodeDecodeError):
                pass  # read the whole lock, as without a layout
        if self._partial is not None and self._partial[0] == scope:
            return self._partial[1], self._partial[2]
        return self.disk.lock(trusted=self._lock_untouched()), None

    def lock_units(self) -> set[str]:
        """The units the lock file lists, if it is untouched since plgen wrote or checked it, or
        if unchanged_units read it."""
        if self._lock_untouched():
            return set(lockfile.file_units(self.index.lock[2]))
        return set(self._listing) if self._listing is not None else set()

    def write(self, files: dict[str, str], lock: dict, *, scope: Scope = None, force: bool = False,
              jobs: int | None = None, progress: Progress = _no_progress) -> Changes:
        """Bring out_dir to exactly `files` (within scope) plus the lock, atomically."""
        assert self.writing, "opened for reading"
        for path in files:
            check_relative(self.out_dir, path)
        disk = self.disk
        old_lock, splice = self._lock_in(scope)
        if splice is None:  # (the lock's own paths are checked when it is read)
            old_lock = disk.lock(checked=files, trusted=self._lock_untouched())
        wanted, shas, layout = wanted_files(files, lock, old_lock, scope, splice)
        _refuse_links(disk, wanted)
        found = changes(disk, wanted, shas, old_lock, scope, diff=False)
        if not force:
            refuse_edited_and_foreign(self.out_dir, found)
        crash_point("compared")
        written = None
        if found.drift:
            spare = spare_path(self.cache_dir, self.out_dir)
            recorded = SpareContents(*self.index.spare) if self.index.spare else None
            written, spare_tree = swap_in(disk, wanted, found, jobs or os.cpu_count() or 1, progress, spare, recorded)
            contents = SpareContents.of(spare, spare_tree) if spare is not None and spare_tree is not None else None
            # () records that nothing is known of the spare
            self._spare = (spare, tuple(getattr(contents, f.name) for f in dataclasses.fields(contents)) if contents else ())
        self._remember(scope, files, shas, written, set(found.removed), layout)
        return found

    def _save(self, entries: dict[str, tuple], units: dict[str, tuple], lock: tuple, link_services: bytes | None,
              run: str | None) -> None:
        spare = self._spare
        self.index.save(entries, units, lock, link_services, spare[1] if spare else None, run)
        if spare and spare[0] is not None:
            with suppress(OSError):
                busy_mark(spare[0]).unlink()  # what the state says of the spare is true again
        if self.cache_dir is not None:
            spare_bytes = sum(key[0] for key in self.disk.snapshot.files.values()) if spare and spare[1] else None
            cachedir.note_use(self.cache_dir, self.out_dir, spare_bytes)
            max_age, max_size = cachedir.limits_from_environment()
            cachedir.prune(self.cache_dir, max_age_days=max_age, max_size=max_size, keep=self.out_dir, measure=False,
                           protect_recent=True)

    def record(self, found: Changes, digests: dict[str, str], lock_header: dict, link_services: dict | None,
               run: tuple[str, dict[str, str]] | None = None) -> None:
        """Remember, in the state, the units just rendered and verified (`digests`) whose files
        are now on disk as rendered, forget units the lock no longer lists, keep the rest.
        After `write` every rendered unit is on disk; after `compare` only those without drift
        or hand edits are. run: (run key, the digest of every unit of the plan); the key is
        kept if the state now holds exactly those units with those digests (unchanged_run)."""
        differing = set(found.added) | set(found.changed) | set(found.removed) | set(found.edited)
        if not self.writing and LOCK_FILE in differing:
            return  # a check that found drift wrote nothing: the state still describes the disk
        partial = self._scope is not None and self._lock_untouched()
        if self.writing:
            entries = self.disk.index_entries(self._shas, self._written, self._removed, partial)
        else:
            entries = self.disk.index_entries({p: s for p, s in self.disk.shas.items()
                                               if s is not None and p not in differing}, None, partial=partial)
        rendered: dict[str, list[str]] = {name: [] for name in digests}
        for path in self._files:
            rendered[unit_of(path)].append(path)
        lock_units = set(lockfile.file_units(self._new_layout))  # the units of the lock just written or compared
        units = {name: record for name, record in self.index.units.items() if name in lock_units and name not in digests}
        for name, digest in digests.items():
            if self.writing or not differing.intersection(rendered[name]):
                units[name] = (digest, tuple(sorted(rendered[name])))
        lock_entry = entries.get(LOCK_FILE)
        if lock_entry is None:
            lock, units = (), {}  # no lock on disk: trust no unit
        else:
            lock = (tuple(lock_entry[:3]), tuple(sorted(lock_header.items())), self._new_layout)
        pickled = pickle.dumps(link_services) if link_services is not None else self.index.link_services
        complete = run is not None and bool(lock) and _complete(units, run[1])
        self._save(entries, units, lock, pickled, run[0] if complete else None)

def _complete(units: dict[str, tuple], digests: dict[str, str]) -> bool:
    """Whether the state's units are exactly these, with these digests."""
    return len(units) == len(digests) and all(units.get(name, ("",))[0] == digest for name, digest in digests.items())


def _refuse_links(disk: Disk, wanted: dict[str, bytes]) -> None:
    for path in wanted:
        link = disk.snapshot.through_link(path)
        if link is not None:
            raise fail(disk.out_dir, "is a symbolic link; plgen does not write through links (remove it)", link)
