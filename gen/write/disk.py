"""What is on disk: one scan of the output directory, the stat index that spares reading
unchanged files, and the previous lock file.

Paths relative to the output directory always use "/", on every system: they are the keys of
the lock file and of every comparison.
"""

from __future__ import annotations

import functools
import hashlib
import json
import marshal
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from .osfs import call_in_child, fail

LOCK_FILE = ".plgen-lock.json"

# a backslash is a separator and a colon a drive or stream on Windows: such a path would mean
# something else there, so it is refused everywhere
_UNSAFE_PATH = re.compile(r"(^|/)\.{0,2}(/|$)|^/|[\x00\\:]")


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def check_relative(out_dir: Path, path: str) -> None:
    """Refuse absolute paths, empty, '.' and '..' components, NUL, backslashes and colons."""
    if not path or _UNSAFE_PATH.search(path):
        if "\\" in path or ":" in path:
            raise fail(out_dir, f"refusing a path with a backslash or colon (not portable): {path!r}")
        raise fail(out_dir, f"refusing a path that leaves the output directory: {path!r}")


FileKey = tuple[int, int, int]  # (st_size, st_mtime_ns, st_ino): what tells a file changed


def file_key(st: os.stat_result) -> FileKey:
    return (st.st_size, st.st_mtime_ns, st.st_ino)


@dataclass
class Snapshot:
    """One scan of the output directory: regular files with their stat key, directories with
    their modification time, and symbolic links (never followed)."""

    root: Path
    files: dict[str, FileKey] = field(default_factory=dict)  # (inodes_only: the inode)
    dirs: dict[str, int] = field(default_factory=dict)  # st_mtime_ns (0: not read)
    links: set[str] = field(default_factory=set)
    others: set[str] = field(default_factory=set)

    @classmethod
    def scan(cls, root: Path, *, inodes_only: bool = False, dir_times: bool = False) -> "Snapshot":
        """inodes_only: record DirEntry.inode() (no stat call) instead of the full stat;
        dir_times: read directories' modification times too (for a tree that becomes the
        spare: gen.write.swap.SpareContents)."""
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
                        snapshot.dirs[path] = entry.stat(follow_symlinks=False).st_mtime_ns if dir_times else 0
                        pending.append(path)
                    elif entry.is_file(follow_symlinks=False):
                        snapshot.files[path] = (entry.inode() if inodes_only
                                                else file_key(entry.stat(follow_symlinks=False)))
                    else:
                        snapshot.others.add(path)
        return snapshot

    def packed(self) -> tuple:
        """The snapshot as values marshal writes (to come back from a child process)."""
        return self.files, self.dirs, list(self.links), list(self.others)

    @classmethod
    def unpacked(cls, root: Path, packed: tuple) -> "Snapshot":
        files, dirs, links, others = packed
        return cls(root, files, dirs, set(links), set(others))

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
    """What plgen knows of one output directory from its last writes, kept in the cache
    directory (never in the output directory, which is committed):

    - entries: path -> (size, mtime_ns, inode, sha256) of each file plgen wrote, as git's index
      does: a file whose stat still matches is not read again;
    - units: unit name -> (input digest, its paths), for the units last rendered, verified and
      found on disk (gen.plan.units): one whose digest and files' stats still match is not
      rendered, verified or hashed again;
    - lock: the lock file's stat key, header (tool version, template release, manifest
      digest) and layout (where each unit's runs are, gen.write.lockfile: also which units it
      lists) when it was written or checked;
    - link_services: the provider's link services as the oracle read them (pickled), for
      checking tenants rendered while the provider is not;
    - spare: what the spare tree holds (gen.write.swap.SpareContents fields), so that the next
      write need not scan it;
    - run: the run key (gen.api) of the last run after which every unit of its plan was
      recorded here, or None: while the inputs and the files are as then, a run with that key
      is a no-op without loading the manifest.
    """

    FORMAT = 6

    def __init__(self, cache_dir: Path | None, out_dir: Path):
        self.path = None
        self.entries: dict[str, list] = {}
        self.units: dict[str, tuple] = {}
        self.lock: tuple = ()  # (stat key, sorted header items, layout), or () when unknown
        self.link_services: bytes | None = None
        self.spare: tuple | None = None
        self.run: str | None = None
        if cache_dir is not None:
            key = hashlib.sha256(str(out_dir).encode()).hexdigest()[:32]
            # marshal: ten times faster than JSON for 100k entries; its format is tied to
            # the Python version, which is therefore part of the name
            self.path = cache_dir / f"index-{key}.py{sys.version_info[0]}{sys.version_info[1]}.marshal"
            try:
                state = marshal.loads(self.path.read_bytes())
                if isinstance(state, dict) and state.get("format") == self.FORMAT:
                    self.entries, self.units = state["files"], state["units"]
                    self.lock, self.link_services = state["lock"], state["link_services"]
                    self.spare, self.run = state["spare"], state["run"]
            except (OSError, ValueError, EOFError, TypeError, KeyError):
                pass  # a damaged or older index only costs time

    def lookup(self, path: str, key: FileKey) -> str | None:
        entry = self.entries.get(path)
        return entry[3] if entry and tuple(entry[:3]) == key else None

    def save(self, entries: dict[str, tuple], units: dict[str, tuple] | None = None, lock: tuple | None = None,
             link_services: bytes | None = None, spare: tuple | None = None, run: str | None = None) -> None:
        """Replace the state (None: keep that part as it is, but for `run`, which every save
        sets); callers save only after a run that changed something or read files."""
        state = {"format": self.FORMAT, "files": entries,
                 "units": self.units if units is None else units,
                 "lock": self.lock if lock is None else lock,
                 "link_services": self.link_services if link_services is None else link_services,
                 "spare": self.spare if spare is None else spare,
                 "run": run}
        if self.path is None:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            temp = self.path.with_name(f"{self.path.name}.{os.getpid()}.tmp")
            temp.write_bytes(marshal.dumps(state))
            os.replace(temp, self.path)
        except OSError:
            pass  # an optimisation only


def _scan_packed(root: str) -> tuple:
    return Snapshot.scan(Path(root), dir_times=True).packed()


class PendingScan:
    """The scan of an output directory, started in a child process (gen.write.osfs) so that
    its system calls run on another core while this one loads the state and parses the
    manifest; done here instead where there is no child."""

    def __init__(self, root: Path):
        self.root = root
        self._child = call_in_child(_scan_packed, str(root)) if root.is_dir() else None

    def snapshot(self) -> Snapshot:
        child, self._child = self._child, None
        packed = child.result() if child is not None else None
        if packed is not None:
            return Snapshot.unpacked(self.root, packed)
        return Snapshot.scan(self.root, dir_times=True)

    def stop(self) -> None:
        if self._child is not None:
            self._child.stop()
            self._child = None


class Disk:
    def __init__(self, out_dir: Path, index: StatIndex, scan: PendingScan):
        self.out_dir = out_dir
        self._scan = scan
        self.index = index
        self._lock: dict | None = None
        self._lock_paths_checked = False
        self.shas: dict[str, str | None] = {}

    @functools.cached_property
    def snapshot(self) -> Snapshot:
        return self._scan.snapshot()

    def exists(self, path: str) -> bool:
        return path in self.snapshot.files

    def sha(self, path: str) -> str | None:
        """sha256 of the file now at `path` (None if there is none)."""
        if path in self.shas:
            return self.shas[path]
        st = self.snapshot.files.get(path)
        if st is None:
            if path in self.snapshot.dirs:
                raise fail(self.out_dir, "is in the way: a directory stands where a generated file goes", path)
            digest = None
        else:
            digest = self.index.lookup(path, st)
            if digest is None:
                digest = sha(self.read(path))
        self.shas[path] = digest
        return digest

    def read(self, path: str) -> bytes:
        with open(os.path.join(self.out_dir, path), "rb") as handle:  # (no Path per file: 90,000 after a checkout)
            return handle.read()

    def lock(self, checked: dict | set = frozenset(), trusted: bool = False) -> dict:
        """The previous lock file, read once (its paths checked, except those in `checked`;
        none if `trusted`: the lock is the one plgen wrote and checked, untouched since). A
        fleet's lock is tens of megabytes: callers share the parsed value and must not change
        it."""
        if LOCK_FILE not in self.snapshot.files:
            return {"files": {}}
        if self._lock is None:
            try:
                lock = json.loads(self.read(LOCK_FILE))
                files = lock["files"]
                if not isinstance(files, dict) or not (trusted or all(
                        isinstance(k, str) and isinstance(v, str) for k, v in files.items())):
                    raise ValueError("files is not a map of path to sha256")
            except (ValueError, KeyError, TypeError, UnicodeDecodeError) as err:
                raise fail(self.out_dir, f"unreadable lock file ({err}); restore it from version control", LOCK_FILE) from None
            self._lock = lock
        if not trusted and not self._lock_paths_checked:
            for path in self._lock["files"]:
                if path not in checked:
                    check_relative(self.out_dir, path)
            self._lock_paths_checked = not checked
        return self._lock

    def index_entries(self, shas: dict[str, str], written: dict[str, tuple] | None,
                      gone: set[str] | frozenset = frozenset(), partial: bool = False) -> dict[str, tuple]:
        """The new stat index: files just written, unchanged generated files (hard links keep
        their size, mtime and inode), and the entries of files this run did not compare (an
        incremental render's untouched units) that are still there, unless `gone`. `partial`:
        update the loaded index in place (in proportion to the changes; entries of files
        deleted by hand outside the scope stay until a full run drops them)."""
        # (a carried entry whose file has changed since is harmless: lookups compare the stat)
        if partial:
            entries = self.index.entries
            for path in gone:
                entries.pop(path, None)
        else:
            entries = {path: entry for path, entry in self.index.entries.items()
                       if path not in shas and path not in gone and path in self.snapshot.files}
        for path, digest in shas.items():
            if written is not None and path in written:
                entries[path] = written[path] + (digest,)
            elif path in self.snapshot.files and self.shas.get(path) == digest:
                entries[path] = self.snapshot.files[path] + (digest,)
        return entries
