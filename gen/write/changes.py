"""Comparing: what writing a {path: text} map (and its lock) would change under the output
directory, which files were edited by hand, and the unified diffs for --diff."""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass, field
from pathlib import Path

from .. import __version__
from ..errors import Location, Problem, WriteError
from ..plan import Plan
from ..resources import template_release
from . import lockfile
from .disk import LOCK_FILE, Disk, sha


@dataclass
class Changes:
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: int = 0
    diffs: dict[str, str] = field(default_factory=dict)
    # Files a write stops at unless forced: generated files edited by hand since plgen wrote
    # them, and files at generated paths that plgen did not write (not in the lock).
    edited: list[str] = field(default_factory=list)
    foreign: list[str] = field(default_factory=list)

    @property
    def drift(self) -> bool:
        return bool(self.added or self.changed or self.removed)

    def as_dict(self) -> dict:
        return {"added": self.added, "changed": self.changed, "removed": self.removed, "unchanged": self.unchanged,
                "edited": self.edited, "foreign": self.foreign}


Scope = tuple[str, ...] | None  # path prefixes this render owns; None: all of them


def scope_for(plan: Plan) -> Scope:
    if not plan.only:
        return None
    return ("provider/",) + tuple(f"tenants/{tenant_id}/" for tenant_id in plan.only)


def in_scope(path: str, scope: Scope) -> bool:
    return scope is None or path.startswith(scope)


def owned_by(scope: Scope):
    """unit name -> whether a render with `scope` owns that unit's files."""
    return lambda unit: in_scope(f"{unit}/", scope)


def lock_header(manifest_sha256: str, templates: Path | None = None, manifest_files: dict | None = None) -> dict:
    """The lock file's entries besides the file list. A manifest directory adds the sha256 of
    each of its files (`manifest_files`, by path in the directory); a manifest file does not."""
    header = {
        "tool_version": __version__,
        "template_release": template_release(templates) if templates else template_release(),
        "manifest_sha256": manifest_sha256,
    }
    if manifest_files is not None:
        header["manifest_files"] = dict(sorted(manifest_files.items()))
    return header


def lock_for(rendered, templates: Path | None = None) -> dict:
    return {**lock_header(rendered.manifest_sha256, templates, getattr(rendered, "manifest_files", None)),
            "files": {path: sha(text.encode("utf-8")) for path, text in sorted(rendered.files.items())}}


def _merged_lock(old_lock: dict, lock: dict, scope: Scope) -> dict:
    """A partial render (--only) keeps the lock entries of the tenants it did not render."""
    kept = {p: s for p, s in old_lock.get("files", {}).items() if not in_scope(p, scope)}
    return {**lock, "files": dict(sorted({**kept, **lock["files"]}.items()))}


def wanted_files(files: dict[str, str], lock: dict | None, old_lock: dict, scope: Scope,
                 splice: lockfile.OldLock | None = None) -> tuple[dict[str, bytes], dict[str, str], lockfile.Layout]:
    """The bytes and sha256 of every file the output should hold, the lock file included, and
    the lock's layout. With `splice` (the old lock's bytes and layout, `old_lock` holding only
    the units in scope), the units out of scope keep their runs of the old lock's text."""
    wanted = {path: text.encode("utf-8") for path, text in files.items()}
    shas = dict(lock["files"]) if lock else {path: sha(data) for path, data in wanted.items()}
    layout: lockfile.Layout = ()
    if lock is not None:
        if splice is not None:
            assert scope is not None, "only a render that owns some units splices"
            data, layout = lockfile.encode(lock, splice, owned=owned_by(scope))
        else:
            data, layout = lockfile.encode(_merged_lock(old_lock, lock, scope))
        wanted[LOCK_FILE] = data
        shas[LOCK_FILE] = sha(data)
    return wanted, shas, layout


def changes(disk: Disk, wanted: dict[str, bytes], wanted_sha: dict[str, str], old_lock: dict, scope: Scope,
            diff: bool, whole_lock: dict | None = None) -> Changes:
    """What writing `wanted` changes, and which of those files are not plgen's to overwrite:
    edited (in scope, differing from the sha the lock says plgen wrote) or foreign (at a
    generated path the lock does not list, and about to change). `old_lock` needs only the
    entries in scope; `whole_lock` (default: old_lock), all of them, for --diff's summary."""
    found = Changes()
    listed = old_lock["files"]
    for path in sorted(wanted):
        current = disk.sha(path)
        written = listed.get(path)
        if current is not None and written is not None and current != written and in_scope(path, scope):
            found.edited.append(path)
        if current is None:
            found.added.append(path)
        elif current != wanted_sha[path]:
            found.changed.append(path)
            if written is None and path != LOCK_FILE:
                found.foreign.append(path)
        else:
            found.unchanged += 1
            continue
        if diff:
            found.diffs[path] = (_lock_summary(whole_lock or old_lock, wanted[path]) if path == LOCK_FILE
                                 else _unified(path, disk.read(path) if current else None, wanted[path]))
    for path in sorted(listed):
        if path not in wanted and in_scope(path, scope) and disk.exists(path):
            found.removed.append(path)
            if disk.sha(path) != listed[path]:
                found.edited.append(path)
            if diff:
                found.diffs[path] = _unified(path, disk.read(path), None)
    found.edited.sort()
    return found


def refuse_edited_and_foreign(out_dir: Path, found: Changes) -> None:
    problems = [Problem(Location(str(out_dir / path)), "edited by hand since plgen wrote it; move the change into "
                        "the manifest or templates, or re-run with --force to overwrite it") for path in found.edited]
    problems += [Problem(Location(str(out_dir / path)), "exists but was not written by plgen (not in the lock file); "
                         "move it away or re-run with --force to overwrite it") for path in found.foreign]
    if problems:
        raise WriteError(problems)


def _lock_summary(old_lock: dict, new: bytes) -> str:
    """--diff shows what changes, not the lock's hash churn: one line says what of it moves."""
    lock = json.loads(new)
    old_files, new_files = old_lock.get("files", {}), lock.get("files", {})
    changed = sum(1 for path, digest in new_files.items() if old_files.get(path, digest) != digest)
    counts = [(changed, "changed"), (len(new_files.keys() - old_files.keys()), "added"),
              (len(old_files.keys() - new_files.keys()), "removed")]
    parts = [f"{number} file digest{'s' if number != 1 else ''} {what}" for number, what in counts if number]
    parts += [f"{key} changes" for key in sorted(lock.keys() - {"files"}) if lock.get(key) != old_lock.get(key)]
    return f"# {LOCK_FILE}: {', '.join(parts) or 'formatting changes'} (its diff is not shown)\n"


def _unified(path: str, old: bytes | None, new: bytes | None) -> str:
    def lines(data: bytes | None) -> list[str]:
        return [] if data is None else data.decode("utf-8", "replace").splitlines(keepends=True)

    return "".join(difflib.unified_diff(lines(old), lines(new), f"a/{path}" if old is not None else "/dev/null",
                                        f"b/{path}" if new is not None else "/dev/null"))
