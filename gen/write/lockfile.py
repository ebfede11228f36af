"""The lock file's text in runs per unit, so that a render that owns a few units encodes and
reads only theirs.

The lock is one JSON document written by gen.quoting (sorted keys, 2-space indent). Three of
its objects are keyed by paths inside a unit's directory and grow with the fleet (27 MB at
10,000 tenants): SECTIONS. Everything else, the header, is small. Keys are sorted and every
key starts with its unit's directory ("tenants/acme/"; no unit's directory is a prefix of
another's), so each unit's members of a section are one run of text, and the units' runs
follow each other in the order of their directories. The layout records where each run is:

- `encode(lock, old=..., owned=...)`: a render that owns some units (an incremental render,
  --only) copies the other units' runs from the old text, as they are, and encodes only its
  own; without `old`, every run is encoded. Either way the bytes are json_text's (tested).
- `read(data, layout, owned)`: the header and the owned units' entries, without parsing the
  other units' runs.

The layout is only as good as the file it describes: gen.write keeps it in the state with the
lock's stat and uses it only while the lock keeps that stat.
"""

from __future__ import annotations

import json
from typing import Callable

from ..plan import unit_of
from ..quoting import JsonSlot, json_member, json_parts

SECTIONS: tuple[tuple[str, ...], ...] = (("files",), ("identities", "resources"), ("identities", "moved"))
_OMITTED_WHEN_EMPTY = frozenset({("identities", "moved")})  # gen.refactor writes `moved` only when there is one
_SEPARATOR = b",\n"

# Per section: None (absent or empty), or (start, end, {unit: (start, end)}): byte offsets of
# the members' text and of each unit's run in it. Tuples, dicts and ints only (the state is
# marshalled).
Layout = tuple

Owned = Callable[[str], bool]  # unit name ("provider", "tenants/<id>") -> owned by this render


class OldLock:
    """The previous lock file's bytes and layout."""

    def __init__(self, data: bytes, layout: Layout):
        self.data, self.layout = data, layout


def encode(lock: dict, old: OldLock | None = None, owned: Owned | None = None) -> tuple[bytes, Layout]:
    """The lock's bytes and their layout. With `old` and `owned`, a unit not owned keeps its
    runs from the old bytes (its entries in `lock`, if any, are ignored); a unit owned has the
    runs of its entries in `lock`, or none."""
    new_runs = [_runs(_get(lock, path), "  " * len(path) + "  ") for path in SECTIONS]
    kept: list[dict[str, tuple[int, int]]] = [{} for _ in SECTIONS]
    if old is not None:
        assert owned is not None, "splicing needs to know which units this render owns"
        for i, section in enumerate(old.layout):
            if section:
                kept[i] = {unit: span for unit, span in section[2].items() if not owned(unit)}
        new_runs = [{unit: run for unit, run in runs.items() if owned(unit)} for runs in new_runs]
    skeleton = _skeleton(lock, [bool(new_runs[i] or kept[i]) for i in range(len(SECTIONS))])
    out = _Assembly(old.data if old is not None else b"")
    layout: list = [None] * len(SECTIONS)
    for part in json_parts(skeleton):
        if isinstance(part, JsonSlot):
            layout[part.name] = out.section(new_runs[part.name], kept[part.name], part.indent)
        else:
            out.emit(part.encode("utf-8"))
    return b"".join(out.chunks), tuple(layout)


def read(data: bytes, layout: Layout, owned: Owned) -> dict:
    """The lock with its header and, in SECTIONS, only the entries of owned units. Raises
    ValueError if the bytes do not match the layout."""
    areas = sorted((section[0], section[1]) for section in layout if section)
    pieces, position = [], 0
    for start, end in areas:
        if data[start - 2:start] != b"{\n" or data[end:end + 1] != b"\n":
            raise ValueError("the lock file does not match its recorded layout")
        pieces.append(data[position:start])
        position = end
    pieces.append(data[position:])
    lock = json.loads(b"".join(pieces))
    for path, section in zip(SECTIONS, layout):
        if not section:
            continue
        target = _get(lock, path)
        if not isinstance(target, dict):
            raise ValueError("the lock file does not match its recorded layout")
        for unit, (start, end) in section[2].items():
            if owned(unit):
                entries = json.loads(b"{" + data[start:end] + b"}")
                if not all(key.startswith(f"{unit}/") for key in entries):
                    raise ValueError("the lock file does not match its recorded layout")
                target.update(entries)
    return lock


def file_units(layout: Layout) -> list[str]:
    """The units the lock lists files of, in order."""
    files = layout[SECTIONS.index(("files",))] if layout else None
    return list(files[2]) if files else []


def _get(lock: dict, path: tuple[str, ...]) -> dict | None:
    value = lock
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return value if isinstance(value, dict) else None


def _runs(entries: dict | None, indent: str) -> dict[str, bytes]:
    """Each unit's members of a section, encoded."""
    members: dict[str, list[str]] = {}
    for key in sorted(entries or ()):
        members.setdefault(unit_of(key), []).append(json_member(key, entries[key], indent))
    return {unit: ",\n".join(items).encode("utf-8") for unit, items in members.items()}


def _skeleton(lock: dict, filled: list[bool]) -> dict:
    """The lock with each section replaced by a slot (or left out: a section gen.refactor
    omits when empty). The caller's lock is not changed."""
    skeleton = dict(lock)
    for i, path in enumerate(SECTIONS):
        parent = skeleton
        for key in path[:-1]:
            if not isinstance(parent.get(key), dict):
                assert not filled[i], f"the lock has runs for {'.'.join(path)} but no {key}"
                break
            parent[key] = parent = dict(parent[key])
        else:
            if filled[i] or (path[-1] in parent and path not in _OMITTED_WHEN_EMPTY):
                parent[path[-1]] = JsonSlot(i)
            else:
                parent.pop(path[-1], None)
    return skeleton


class _Assembly:
    """The new lock's bytes as chunks, and where each unit's run lands."""

    def __init__(self, old: bytes):
        self.old = memoryview(old)
        self.chunks: list = []
        self.position = 0

    def emit(self, chunk) -> None:
        self.chunks.append(chunk)
        self.position += len(chunk)

    def section(self, new_runs: dict[str, bytes], kept: dict[str, tuple[int, int]], indent: str) -> tuple | None:
        if not new_runs and not kept:
            self.emit(b"{}")
            return None
        self.emit(b"{\n")
        start = self.position
        spans: dict[str, tuple[int, int]] = {}
        copying: tuple[int, int, int] | None = None  # (old start, old end, new start) of consecutive kept runs
        for unit in sorted((*new_runs, *kept), key=lambda name: f"{name}/"):
            span = kept.get(unit)
            if span is not None and copying is not None and span[0] == copying[1] + len(_SEPARATOR):
                copying = (copying[0], span[1], copying[2])  # the old text already has the separator
            else:
                if copying is not None:
                    self.emit(self.old[copying[0]:copying[1]])
                if self.position != start:
                    self.emit(_SEPARATOR)
                copying = None
                if span is not None:
                    copying = (span[0], span[1], self.position)
                else:
                    run_start = self.position
                    self.emit(new_runs[unit])
                    spans[unit] = (run_start, self.position)
                    continue
            spans[unit] = (copying[2] + span[0] - copying[0], copying[2] + span[1] - copying[0])
        if copying is not None:
            self.emit(self.old[copying[0]:copying[1]])
        end = self.position
        self.emit(f"\n{indent}}}".encode("utf-8"))
        return (start, end, spans)
