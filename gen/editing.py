"""Writing manifests: the files `plgen split` and `plgen join` make, and one tenant's file
(`plgen tenant add|suspend|reactivate|offboard`).

Every change is validated with the whole manifest before anything is written, and touches
one file: a new tenant is a new file (never an overwrite), a state change rewrites the line of
one tenant's `state` in the file that holds it. New files appear whole (written beside, then
linked into place), so a reader never sees half of one.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
from pathlib import Path, PurePosixPath
from typing import Any

from . import convert, directory, load, validate as validate_stage
from .errors import Location, ManifestError, Problem, WriteError

STATES = ("active", "suspended", "offboarded")
_STATE_VALUE = re.compile(r"\"[^\"\n]*\"|'[^'\n]*'|[A-Za-z_]+")


# --- writing ------------------------------------------------------------------------------------

def write_new_file(target: Path, text: str) -> None:
    """Write `text` to `target`, which must not exist (it is never overwritten)."""
    temp = None
    try:
        fd, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        os.chmod(temp, 0o644)
        os.link(temp, target)  # fails if target exists: no check-then-write race
    except FileExistsError:
        raise WriteError(Problem(Location(str(target)), "exists already; plgen writes a new file here and never "
                                                        "overwrites one")) from None
    except OSError as err:
        raise WriteError(Problem(Location(str(target)), f"cannot write: {err.strerror or err}")) from None
    finally:
        if temp is not None:
            with contextlib.suppress(OSError):
                os.unlink(temp)


def replace_file(target: Path, text: str) -> None:
    """Replace (or create) `target`'s text in one rename, so it is either the old file or the
    whole new one (keeping its permissions; 0644 for a new file)."""
    temp = None
    try:
        mode = target.stat().st_mode & 0o7777 if target.exists() else 0o644
        fd, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        os.chmod(temp, mode)
        os.replace(temp, target)
        temp = None
    except OSError as err:
        raise WriteError(Problem(Location(str(target)), f"cannot write: {err.strerror or err}")) from None
    finally:
        if temp is not None:
            with contextlib.suppress(OSError):
                os.unlink(temp)


def write_new_tree(target: Path, files: dict[str, str]) -> None:
    """Write a manifest directory's files into `target`, which may exist but must not hold
    plgen.yaml or tenants/ yet. Written into a hidden folder beside, then renamed into place."""
    taken = [name for name in (directory.PROVIDER_FILE, directory.TENANTS_DIR) if os.path.lexists(target / name)]
    if target.exists() and not target.is_dir():
        raise WriteError(Problem(Location(str(target)), "exists and is not a directory"))
    if taken:
        raise WriteError(Problem(Location(str(target / taken[0])), "exists already; split writes a new manifest "
                                                                   "directory and never overwrites one"))
    stage = None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        stage = Path(tempfile.mkdtemp(dir=target if target.is_dir() else target.parent, prefix=".plgen-split-"))
        for relative, text in files.items():
            path = stage / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8", newline="")
            os.chmod(path, 0o644)
        if not target.exists():
            os.chmod(stage, 0o755)
            os.rename(stage, target)
            stage = None
            return
        for name in (directory.TENANTS_DIR, directory.PROVIDER_FILE):  # the provider file last: then it is a manifest
            if (stage / name).exists():
                os.rename(stage / name, target / name)
    except OSError as err:
        raise WriteError(Problem(Location(str(target)), f"cannot write: {err.strerror or err}")) from None
    finally:
        if stage is not None:
            shutil.rmtree(stage, ignore_errors=True)


# --- plgen tenant -------------------------------------------------------------------------------

def read_directory(path: Path) -> dict[str, bytes]:
    directory.check_manifest(path)
    if not directory.is_manifest_directory(path):
        raise ManifestError(Problem(Location(str(path)), "is a manifest file; `plgen tenant add` writes a new file into "
                                                         "a manifest directory (make one with `plgen split`)"))
    files, problems = directory.read_tree(path)
    if problems:
        raise ManifestError(problems)
    return files


def tenant_yaml(tenant: dict[str, Any], folder: Path) -> str:
    """The new tenant's file; it starts with the `# yaml-language-server: $schema=...` line
    of the first tenant file beside it that has one (the path to the schema is the same)."""
    modeline = ""
    for sibling in sorted(folder.glob("*.y*ml")) if folder.is_dir() else ():
        with contextlib.suppress(OSError, UnicodeDecodeError), open(sibling, encoding="utf-8") as handle:
            first = handle.readline()
            if first.startswith("# yaml-language-server:"):
                modeline = first if first.endswith("\n") else first + "\n"
                break
    return modeline + convert.dump_tenant(tenant)


def add_tenant(path: Path, tenant: dict[str, Any], folder: str | None = None) -> tuple[Path, str]:
    """Write tenants/[FOLDER/]<id>.yaml for a new tenant into the manifest directory `path`,
    after validating the whole manifest with it. Returns the file and its text."""
    files = read_directory(path)
    tenant_id = tenant["id"]
    where = PurePosixPath(directory.TENANTS_DIR, *(PurePosixPath(folder).parts if folder else ()))
    if folder and (PurePosixPath(folder).is_absolute()
                   or any(part in ("..", ".") or part.startswith(".") for part in PurePosixPath(folder).parts)):
        raise ManifestError(Problem(Location(folder), "--folder must be a plain relative path inside tenants/"))
    if not load.SAFE_TENANT_ID.fullmatch(tenant_id):
        raise ManifestError(Problem(Location(str(path)), f"tenant id {tenant_id!r} cannot name a file: a tenant id is a "
                                                         "slug (a-z, 0-9, -)"))
    relative = str(where / f"{tenant_id}.yaml")
    target = path / relative
    if os.path.lexists(target):
        raise WriteError(Problem(Location(str(target)), "exists already; `plgen tenant add` writes a new file and never "
                                                        "overwrites one"))
    text = tenant_yaml(tenant, target.parent)
    files[relative] = text.encode("utf-8")
    ordered = {directory.PROVIDER_FILE: files.pop(directory.PROVIDER_FILE),
               **{p: files[p] for p in sorted(files, key=lambda p: p.split("/"))}}
    validate_stage.validate(directory.compose(ordered, str(path)))
    target.parent.mkdir(parents=True, exist_ok=True)
    write_new_file(target, text)
    return target, text


def set_state(path: Path, tenant_id: str, state: str) -> tuple[Path | None, str]:
    """Set one tenant's `state` in the file that holds it (a tenant file, or a manifest file),
    after validating the whole manifest with the change. Returns the file written (None when
    the tenant is in that state already) and the state it had."""
    is_directory = directory.is_manifest_directory(path)
    if is_directory:
        files = read_directory(path)
        document = directory.compose(files, str(path))
    else:
        document = load.load_file(path)
    tenants = document.data.get("tenants") if isinstance(document.data, dict) else None
    index = next((t for t, tenant in enumerate(tenants or []) if isinstance(tenant, dict) and tenant.get("id") == tenant_id), None)
    if index is None:
        raise ManifestError(Problem(Location(str(path)), f"no tenant {tenant_id!r} in the manifest"))
    validate_stage.validate(document)
    before = tenants[index].get("state", "active")
    if before == state:
        return None, before
    source = Path(document.source_of(("tenants", index)))
    text = source.read_text(encoding="utf-8") if is_directory else document.text
    edited = _with_state(text, document, index, state)
    if is_directory:
        relative = next(p for p in files if str(path / p) == str(source))
        files[relative] = edited.encode("utf-8")
        after = directory.compose(files, str(path))
    else:
        after = load.load_text(edited, document.source)
    manifest_after = validate_stage.validate(after)
    expected = [dict(tenant) for tenant in tenants]
    expected[index]["state"] = state
    if after.data["tenants"] != expected or manifest_after.tenants[index].state != state:
        raise ManifestError(Problem(document.locate(("tenants", index)), "the edit would change more than the state; "
                                    "nothing was written (please report this as a bug in plgen)"))
    replace_file(source, edited)
    return source, before


def _with_state(text: str, document: load.Document, index: int, state: str) -> str:
    lines = text.splitlines(keepends=True)
    base = ("tenants", index)
    if base + ("state",) in document.marks:
        line, column = document.marks[base + ("state",)]
        row = lines[line - 1]
        match = _STATE_VALUE.match(row, column - 1)
        if match is None:
            raise ManifestError(Problem(document.locate(base + ("state",)), "cannot edit this state value; write "
                                        f"`state: {state}` by hand"))
        lines[line - 1] = row[:match.start()] + state + row[match.end():]
        return "".join(lines)
    line, column = document.marks[base]
    key = document.key_marks.get(base + ("id",))
    if lines[line - 1][column - 1:column] == "{" or key is None:
        raise ManifestError(Problem(document.locate(base), f"a tenant written in flow style (`{{...}}`) is not edited "
                                                           f"by plgen; add `state: {state}` by hand"))
    key_line, key_column = key
    newline = "\r\n" if lines[key_line - 1].endswith("\r\n") else "\n"
    if not lines[key_line - 1].endswith("\n"):
        lines[key_line - 1] += newline
    lines.insert(key_line, " " * (key_column - 1) + f"state: {state}{newline}")
    return "".join(lines)
