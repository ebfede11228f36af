"""An older output, for `plgen bundle --changed-since REF`: its lock file, and where it can be
had, the text of its files.

REF is, in this order: a lock file; an output directory (its .plgen-lock.json, and its files
as they are); or a git revision, `REV` (the output directory `out` as of REV) or `REV:DIR`
(DIR as of REV, relative to the current directory like every path plgen takes), read with
`git cat-file` from the repository holding the current directory.
"""

from __future__ import annotations

import hashlib
import json
import os
import posixpath
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from .errors import Location, PlgenError, Problem

LOCK_FILE = ".plgen-lock.json"  # gen.write.disk.LOCK_FILE; the layout is fixed by the design
DEFAULT_OUT = "out"


@dataclass
class OldOutput:
    label: str  # REF as given
    lock: dict
    texts: dict[str, str] = field(default_factory=dict)  # files read so far (see read)
    _reader: object = None  # a callable(paths) -> {path: bytes}, or None: only the lock is known

    @property
    def has_texts(self) -> bool:
        return self._reader is not None

    def read(self, paths: Iterable[str]) -> dict[str, str]:
        """The old text of each path the lock lists with the bytes it records (a file edited
        or gone since is left out: its old text is not known)."""
        files = self.lock.get("files", {})
        paths = list(paths)
        wanted = sorted({p for p in paths if p in files and p not in self.texts})
        if wanted and self._reader is not None:
            by_digest: dict[str, list[str]] = {}
            for path in wanted:  # files with the same bytes (the consumer module) are read once
                by_digest.setdefault(files[path], []).append(path)
            for path, data in self._reader([same[0] for same in by_digest.values()]).items():
                if data is not None and hashlib.sha256(data).hexdigest() == files[path]:
                    text = data.decode("utf-8")
                    for other in by_digest[files[path]]:
                        self.texts[other] = text
        return {p: self.texts[p] for p in paths if p in self.texts}


def _fail(ref: str, message: str) -> PlgenError:
    return PlgenError(Problem(Location(ref), message))


def parse_lock(data: bytes, where: str) -> dict:
    """A lock file's content, checked to be one: `files` maps relative paths to sha256 digests."""
    try:
        lock = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as err:
        raise _fail(where, f"not a plgen lock file (not valid JSON: {getattr(err, 'msg', err)})") from None
    files = lock.get("files") if isinstance(lock, dict) else None
    if not isinstance(files, dict) or not all(_relative(p) and isinstance(s, str) for p, s in files.items()):
        raise _fail(where, "not a plgen lock file: `files` must map relative paths to sha256 digests")
    return lock


def _relative(path: object) -> bool:
    return (isinstance(path, str) and bool(path) and not path.startswith("/") and "\\" not in path
            and "\0" not in path and posixpath.normpath(path) == path and ".." not in path.split("/"))


def open_old_output(ref: str) -> OldOutput:
    if not ref or ref.startswith("-"):
        raise _fail(ref or "''", "not a lock file, an output directory or a git revision")
    path = Path(ref)
    if path.is_dir():
        lock_path = path / LOCK_FILE
        if not lock_path.is_file():
            raise _fail(ref, f"is a directory without {LOCK_FILE} (not an output directory plgen rendered)")
        return OldOutput(ref, _read_lock_file(lock_path), _reader=lambda paths: _read_files(path, paths))
    if path.is_file():
        return OldOutput(ref, _read_lock_file(path))
    return _git_output(ref)


def _read_lock_file(path: Path) -> dict:
    try:
        data = path.read_bytes()
    except OSError as err:
        raise _fail(str(path), f"cannot read: {err.strerror or err}") from None
    return parse_lock(data, str(path))


def _read_files(directory: Path, paths: list[str]) -> dict[str, bytes | None]:
    found: dict[str, bytes | None] = {}
    for path in paths:
        try:
            found[path] = (directory / path).read_bytes()
        except OSError:
            found[path] = None
    return found


def _git(args: list[str], data: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], input=data, capture_output=True, cwd=os.getcwd(), check=False)


def _git_output(ref: str) -> OldOutput:
    revision, colon, directory = ref.partition(":")
    directory = directory if colon else DEFAULT_OUT
    what = "not a lock file or an output directory"
    if shutil.which("git") is None:
        raise _fail(ref, f"{what}, and git is not installed to read it as a revision")
    top = _git(["rev-parse", "--show-toplevel"])
    if top.returncode != 0:
        raise _fail(ref, f"{what}, and {os.getcwd()} is not in a git repository to read it as a revision")
    commit = _git(["rev-parse", "--verify", "--quiet", "--end-of-options", f"{revision}^{{commit}}"])
    if commit.returncode != 0 or not revision:
        raise _fail(ref, f"{what}, nor a revision of the git repository at {top.stdout.decode().strip()}")
    root = Path(top.stdout.decode().strip()).resolve()
    target = (Path(os.getcwd()) / directory).resolve() if not Path(directory).is_absolute() else Path(directory).resolve()
    try:
        inside = target.relative_to(root).as_posix()
    except ValueError:
        raise _fail(ref, f"{directory} is outside the git repository at {root}") from None
    prefix = "" if inside == "." else inside + "/"
    sha = commit.stdout.decode().strip()
    lock_path = f"{prefix}{LOCK_FILE}"
    data = _cat_files(sha, [lock_path]).get(lock_path)
    if data is None:
        raise _fail(f"{revision}:{lock_path}", "not in that revision (was the output rendered and committed there? "
                                               "or name the output directory: REV:DIR)")

    def reader(paths: list[str]) -> dict[str, bytes | None]:
        blobs = _cat_files(sha, [prefix + path for path in paths])
        return {path: blobs[prefix + path] for path in paths}

    return OldOutput(ref, parse_lock(data, f"{revision}:{lock_path}"), _reader=reader)


def _cat_files(commit: str, paths: list[str]) -> dict[str, bytes | None]:
    """The blobs at `commit` of `paths` (None: missing), in one `git cat-file --batch`."""
    request = "".join(f"{commit}:{path}\n" for path in paths).encode("utf-8")
    result = _git(["cat-file", "--batch"], request)
    if result.returncode != 0:
        return {path: None for path in paths}
    out, found, position = result.stdout, {}, 0
    for path in paths:
        end = out.index(b"\n", position)
        header = out[position:end].split()
        position = end + 1
        if len(header) == 3 and header[1] == b"blob":
            size = int(header[2])
            found[path] = out[position:position + size]
            position += size + 1
        else:
            found[path] = None  # "<object> missing", or not a file
    return found
