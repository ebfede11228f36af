"""Stage 1 for a manifest directory: a provider file and the tenants' files, read into one
Document in which every value still knows its file, line and column.

    DIR/plgen.yaml              version, service, provider: everything but the tenants
    DIR/tenants/**/<id>.yaml    one tenant (a mapping), in a file named after its id; or
    DIR/tenants/**/<any>.yaml   several tenants (a list) in a file of any name

Nested folders are allowed (ownership per team), `.yml` too. Names starting with "." and
files of other types (a README.md or CODEOWNERS beside the tenants) are skipped, and nothing
else in DIR is read. Tenants are taken in path order (a file's in their order), which no
output depends on. The 10 MiB input limit holds per file, so a fleet has no size limit.
"""

from __future__ import annotations

import functools
import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Mapping

from . import load
from .errors import Location, ManifestError, Problem

PROVIDER_FILE = "plgen.yaml"
TENANTS_DIR = "tenants"
SUFFIXES = (".yaml", ".yml")


def manifest_problem(path: Path) -> str | None:
    """Why `path` cannot be read as a MANIFEST (a file, or a manifest directory), or None."""
    if path.is_dir():
        if (path / PROVIDER_FILE).is_file():
            return None
        return f"is a directory without {PROVIDER_FILE} (a manifest directory holds {PROVIDER_FILE} and {TENANTS_DIR}/)"
    if not path.exists():
        return "not found"
    return None


def check_manifest(path: str | Path) -> None:
    if str(path) != load.STDIN:
        problem = manifest_problem(Path(path))
        if problem:
            raise ManifestError(Problem(Location(str(path)), problem))


def is_manifest_directory(path: str | Path) -> bool:
    return str(path) != load.STDIN and Path(path).is_dir()


@dataclass(frozen=True)
class ManifestInput:
    """A manifest read but not parsed: the bytes of a file (or of standard input), or of each
    file of a manifest directory by path relative to it (`files`)."""

    path: str
    raw: bytes = b""
    files: dict[str, bytes] | None = None

    @functools.cached_property
    def file_digests(self) -> dict[str, str] | None:
        """A manifest directory's files' sha256 (the Document's manifest_files), else None."""
        if self.files is None:
            return None
        return {path: hashlib.sha256(data).hexdigest() for path, data in self.files.items()}

    @functools.cached_property
    def sha256(self) -> str:
        """What the loaded Document's manifest_sha256() will be (the bytes of a file that
        loads are UTF-8, which decoding and encoding again keeps as they are)."""
        digests = self.file_digests
        return hashlib.sha256(self.raw).hexdigest() if digests is None else load.files_sha256(digests)


def load_manifest(path: str | Path) -> load.Document:
    """A manifest file, standard input ("-"), or a manifest directory."""
    return parse_manifest(read_manifest(path))


def read_manifest(path: str | Path) -> ManifestInput:
    """The bytes of a manifest file, standard input or manifest directory (a file that cannot
    be read is a ManifestError, as in parse_manifest)."""
    if not is_manifest_directory(path):
        return ManifestInput(str(path), raw=load.read_file(path))
    check_manifest(path)
    files, problems = read_tree(Path(path))
    if problems:
        raise ManifestError(problems)
    return ManifestInput(str(path), files=files)


def parse_manifest(given: ManifestInput) -> load.Document:
    if given.files is None:
        return load.load_bytes(given.raw, load.STDIN_SOURCE if given.path == load.STDIN else given.path)
    return compose(given.files, given.path, given.file_digests)


def tenant_paths(directory: Path) -> tuple[list[str], list[Problem]]:
    """The tenant files under DIR/tenants, as paths relative to DIR, in path order."""
    found: list[str] = []
    problems: list[Problem] = []
    root = directory / TENANTS_DIR
    if not os.path.lexists(root):
        return found, problems
    if not root.is_dir() or root.is_symlink():
        return found, [Problem(Location(str(root)), "must be a directory of tenant files")]

    def walk(folder: str, relative: str) -> None:
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as err:
            problems.append(Problem(Location(folder), f"cannot read: {err.strerror or err}"))
            return
        for entry in entries:
            name = entry.name
            if name.startswith("."):
                continue
            if entry.is_dir(follow_symlinks=False):
                walk(entry.path, f"{relative}/{name}")
            elif entry.is_dir():
                problems.append(Problem(Location(entry.path), "is a symbolic link to a directory; plgen does not follow "
                                                              "it (move the tenant files here)"))
            elif name.endswith(SUFFIXES):
                found.append(f"{relative}/{name}")

    walk(str(root), TENANTS_DIR)
    found.sort(key=lambda p: p.split("/"))
    return found, problems


def read_tree(directory: Path) -> tuple[dict[str, bytes], list[Problem]]:
    """The bytes of the provider file and of every tenant file, by path relative to DIR.

    Read one after the other: with the files in the page cache, a thread pool made reading
    10,000 of them four times slower (0.22 s instead of 0.06 s; the GIL), and a fleet's
    manifest is small next to what a render writes."""
    paths, problems = tenant_paths(directory)
    prefix = str(directory) + os.sep
    limit = load.MAX_MANIFEST_BYTES
    files = {}
    for relative in [PROVIDER_FILE] + paths:
        path = prefix + relative
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
        except OSError as err:
            problems.append(Problem(Location(path), f"cannot read: {err.strerror or err}"))
            continue
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                problems.append(Problem(Location(path), "not a regular file"))
            elif info.st_size > limit:
                problems.append(Problem(Location(path), f"larger than the {limit // (1024 * 1024)} MiB limit "
                                                        f"({info.st_size} bytes)"))
            else:
                data = _read_all(fd, info.st_size, limit)
                if len(data) > limit:
                    problems.append(Problem(Location(path), f"larger than the {limit // (1024 * 1024)} MiB limit"))
                else:
                    files[relative] = data
        except OSError as err:
            problems.append(Problem(Location(path), f"cannot read: {err.strerror or err}"))
        finally:
            os.close(fd)
    return files, problems


def _read_all(fd: int, size: int, limit: int) -> bytes:
    """The file's bytes (at most limit + 1 of them): one read when it has the size fstat gave,
    since a read shorter than asked for ends a regular file; more if it grew meanwhile."""
    chunks, total = [], 0
    while total <= limit:
        wanted = max(size + 1 - total, 1 << 16)
        chunk = os.read(fd, wanted)
        chunks.append(chunk)
        total += len(chunk)
        if len(chunk) < wanted:
            break
    return b"".join(chunks)


def compose(files: dict[str, bytes], directory: str, digests: dict[str, str] | None = None) -> load.Document:
    """One Document from the files of a manifest directory ({path relative to DIR: bytes}; the
    provider file first, then the tenant files in path order). YAML problems of every file are
    raised together; a tenant file named after another id is recorded in `problems`, so that
    validation reports it with the rest. `digests`: the files' sha256, if known already."""
    prefix = str(Path(directory))
    prefix = "" if prefix == "." else prefix + "/"
    problems: list[Problem] = []
    provider_source = prefix + PROVIDER_FILE
    provider: Any = None
    try:
        provider = load.load_bytes(files[PROVIDER_FILE], provider_source)
    except ManifestError as err:
        problems += err.problems
    data: dict[str, Any] = {}
    marks: dict = {}
    key_marks: dict = {}
    if provider is not None:
        if not isinstance(provider.data, dict):
            problems.append(Problem(Location(provider_source, 1, 1), f"{PROVIDER_FILE} must be a mapping "
                                                                       "(version, service, provider)"))
        elif "tenants" in provider.data:
            line, column = provider.key_marks[("tenants",)]
            problems.append(Problem(Location(provider_source, line, column, "tenants"), (
                f"tenants do not belong in {PROVIDER_FILE} of a manifest directory: one file per tenant under "
                f"{TENANTS_DIR}/ (or several in a list); `plgen split` writes them")))
        else:
            data, marks, key_marks = dict(provider.data), provider.marks, provider.key_marks
    tenants: list[Any] = []
    sources: list[str] = []
    if digests is None:
        digests = {path: hashlib.sha256(raw).hexdigest() for path, raw in files.items()}
    late: list[Problem] = []
    for relative, raw in files.items():
        if relative == PROVIDER_FILE:
            continue
        source = prefix + relative
        try:
            document = load.load_bytes(raw, source, tenants_from=len(tenants))
        except ManifestError as err:
            problems += err.problems
            continue
        is_list = document.marks.pop(("tenants",), None) is not None
        if not is_list:
            late += _name_problems(document, relative, len(tenants), files)
        tenants += document.data
        sources += [source] * len(document.data)
        marks.update(document.marks)
        key_marks.update(document.key_marks)
    if problems:
        raise ManifestError(problems)
    data["tenants"] = tenants
    return load.Document(provider_source, data, marks, key_marks, tenant_sources=sources, manifest_files=digests,
                         problems=late)


def _name_problems(document: load.Document, relative: str, index: int, files: Mapping[str, bytes]) -> list[Problem]:
    """A one-tenant file is named after its tenant's id."""
    (tenant,) = document.data
    tenant_id = tenant.get("id") if isinstance(tenant, dict) else None
    if not isinstance(tenant_id, str) or relative.endswith((f"/{tenant_id}.yaml", f"/{tenant_id}.yml")):
        return []
    path = PurePosixPath(relative)
    source = PurePosixPath(Path(document.source).as_posix())
    wanted = source.with_name(tenant_id + path.suffix) if load.SAFE_TENANT_ID.fullmatch(tenant_id) else None
    if wanted is None:
        hint = "rename it"
    elif str(path.with_name(wanted.name)) in files:
        hint = f"{wanted} exists: if this is another tenant, give it an id of its own"
    else:
        hint = f"`git mv {source} {wanted}`"
    field = ("tenants", index, "id")
    line, column = document.marks[field]
    where = Location(document.source, line, column, load.format_path(field, lambda _: tenant_id, by_id=True))
    return [Problem(where, (
        f"a file that holds one tenant is named after its id: {path.name} holds tenant {tenant_id!r}; {hint} (or make "
        "the file a list of tenants, which may have any name)"))]


def file_changes(before: Mapping[str, str], after: Mapping[str, str], shown: int = 5) -> str:
    """'1 added (tenants/wonka.yaml), 2 changed (...)': what differs between two maps of
    file digests, naming the first few files of each kind; '' when nothing does."""
    kinds = (("added", sorted(set(after) - set(before))), ("removed", sorted(set(before) - set(after))),
             ("changed", sorted(p for p in set(before) & set(after) if before[p] != after[p])))
    parts = []
    for label, paths in kinds:
        if paths:
            named = ", ".join(paths[:shown]) + (f" and {len(paths) - shown} more" if len(paths) > shown else "")
            parts.append(f"{len(paths)} {label} ({named})")
    return ", ".join(parts)
