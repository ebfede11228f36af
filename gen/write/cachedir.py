"""What plgen keeps in its cache directory, and how it is kept small.

Per output directory (key: the first 32 hex digits of the sha256 of its absolute path):
- `index-<key>.py<version>.marshal`: the state of the last writes (gen.write.disk.StatIndex);
- `spares/<key>/`: the spare tree, the output before last (hard links into the output where
  files did not change), and `spares/<key>.origin`: which output directory it belongs to, and
  when it was last used (its modification time);
Shared: `<fingerprint>.verified`, passing verdicts per build fingerprint (gen.verify.cache).

Pruning removes what belongs to output directories that are gone or unused for longer than
the maximum age, then, least recently used first, whatever takes the total over the maximum
size; verdict files older than the maximum age go too. Every write prunes what it can know
cheaply (gone, too old, over the size recorded); `plgen cache prune` measures everything.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

DEFAULT_MAX_AGE_DAYS = 30
DEFAULT_MAX_SIZE = 2 * 2**30
MAX_AGE_ENV = "PLGEN_CACHE_MAX_AGE_DAYS"
MAX_SIZE_ENV = "PLGEN_CACHE_MAX_SIZE"
RECENT_SECONDS = 600
_UNITS = {"": 1, "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40}


def output_key(out_dir: Path) -> str:
    return hashlib.sha256(str(out_dir).encode()).hexdigest()[:32]


def parse_size(text: str) -> int:
    """'500M', '2G', '1024' (bytes), 'k'/'m'/'g'/'t' with an optional 'iB'/'B': powers of 1024."""
    value = text.strip().lower().removesuffix("ib").removesuffix("b")
    unit = value[-1:] if value[-1:] in _UNITS and value[-1:] else ""
    number = value[:-1] if unit else value
    try:
        size = float(number) * _UNITS[unit]
    except ValueError:
        raise ValueError(f"not a size: {text!r} (e.g. 2G, 500M, 1048576)") from None
    if size < 0:
        raise ValueError(f"not a size: {text!r}")
    return int(size)


def limits_from_environment() -> tuple[float, int]:
    """(maximum age in days, maximum size in bytes), from the environment or the defaults; a
    malformed value falls back to the default (pruning must never fail a render)."""
    try:
        age = float(os.environ.get(MAX_AGE_ENV, DEFAULT_MAX_AGE_DAYS))
    except ValueError:
        age = DEFAULT_MAX_AGE_DAYS
    try:
        size = parse_size(os.environ.get(MAX_SIZE_ENV, str(DEFAULT_MAX_SIZE)))
    except ValueError:
        size = DEFAULT_MAX_SIZE
    return age, size


def note_use(cache_dir: Path, out_dir: Path, spare_bytes: int | None = None) -> None:
    """Record that `out_dir` was rendered now (and, if known, its spare's size)."""
    origin = cache_dir / "spares" / f"{output_key(out_dir)}.origin"
    try:
        record = _read_origin(origin) or {}
        record["out_dir"] = str(out_dir)
        if spare_bytes is not None:
            record["spare_bytes"] = spare_bytes
        origin.parent.mkdir(parents=True, exist_ok=True)
        origin.write_text(json.dumps(record, sort_keys=True), encoding="utf-8")
    except OSError:
        pass


def _read_origin(origin: Path) -> dict | None:
    try:
        text = origin.read_text(encoding="utf-8")
    except OSError:
        return None
    try:
        record = json.loads(text)
        return record if isinstance(record, dict) and isinstance(record.get("out_dir"), str) else None
    except ValueError:
        return {"out_dir": text.strip()}  # the plain-path form of earlier releases


@dataclass
class OutputEntry:
    key: str
    out_dir: str | None  # None: no record says which (an index written before records existed)
    last_used: float
    paths: list[Path]
    size: int  # apparent bytes (measured, or as recorded at the last write)

    @property
    def exists(self) -> bool:
        return self.out_dir is not None and Path(self.out_dir).is_dir()


@dataclass
class Inventory:
    cache_dir: Path
    outputs: list[OutputEntry]
    verdicts: list[tuple[Path, float, int]]  # (file, last used, bytes)

    @property
    def size(self) -> int:
        return sum(e.size for e in self.outputs) + sum(size for _, _, size in self.verdicts)


def inventory(cache_dir: Path, *, measure: bool = True) -> Inventory:
    """Everything in the cache directory, by output directory. `measure`: walk the spare trees
    for their size (else take the size the last write recorded)."""
    outputs: dict[str, OutputEntry] = {}

    def entry(key: str) -> OutputEntry:
        return outputs.setdefault(key, OutputEntry(key, None, 0.0, [], 0))

    spares = cache_dir / "spares"
    if spares.is_dir():
        for path in spares.iterdir():
            key = path.name.split(".")[0]
            found = entry(key)
            found.paths.append(path)
            stat = _lstat(path)
            if stat is None:
                continue
            if path.suffix == ".origin":
                record = _read_origin(path) or {}
                found.out_dir = record.get("out_dir")
                found.last_used = max(found.last_used, stat.st_mtime)
                if not measure:
                    found.size += int(record.get("spare_bytes", 0))
            elif path.is_dir() and not path.is_symlink():
                if measure:
                    found.size += _tree_size(path)
            else:
                found.size += stat.st_size
    for path in cache_dir.glob("index-*.marshal"):
        found = entry(path.name.split("-", 1)[1].split(".")[0])
        found.paths.append(path)
        stat = _lstat(path)
        if stat is not None:
            found.size += stat.st_size
            found.last_used = max(found.last_used, stat.st_mtime)
    verdicts = []
    for path in cache_dir.glob("*.verified"):
        stat = _lstat(path)
        if stat is not None:
            verdicts.append((path, stat.st_mtime, stat.st_size))
    return Inventory(cache_dir, sorted(outputs.values(), key=lambda e: (-e.last_used, e.key)), sorted(verdicts))


def _lstat(path: Path) -> os.stat_result | None:
    try:
        return os.lstat(path)
    except OSError:
        return None


def _tree_size(root: Path) -> int:
    total = 0
    for directory, _, names in os.walk(root):
        for name in names:
            stat = _lstat(Path(directory) / name)
            total += stat.st_size if stat else 0
    return total


@dataclass
class Pruned:
    outputs: list[OutputEntry]
    verdicts: list[Path]
    freed: int


def prune(cache_dir: Path, *, max_age_days: float, max_size: int, keep: Path | None = None,
          measure: bool = True, everything: bool = False, protect_recent: bool = False,
          now: float | None = None) -> Pruned:
    """Remove the entries of output directories that are gone, unused for more than
    `max_age_days`, or (least recently used first) beyond `max_size` in all; never those of
    `keep` (the output directory being rendered) nor, with `protect_recent` (the pruning a
    render does), those used in the last RECENT_SECONDS. `everything`: empty the cache (but
    `keep`)."""
    now = time.time() if now is None else now
    found = inventory(cache_dir, measure=measure)
    oldest = now - max_age_days * 86400
    removed: list[OutputEntry] = []
    kept: list[OutputEntry] = []
    keep_key = output_key(keep) if keep is not None else None
    # another plgen may be writing another output directory right now: what was used in the
    # last minutes is not removed automatically
    in_use = now - RECENT_SECONDS if protect_recent else now + 1
    for entry in found.outputs:  # most recently used first
        # (an entry whose output directory is known to be gone is not in use: a render writes
        # the record only once its output exists)
        protected = entry.key == keep_key or (entry.last_used > in_use and (entry.out_dir is None or entry.exists))
        if not protected and (everything or not entry.exists or entry.last_used < oldest):
            removed.append(entry)
        else:
            kept.append(entry)
    stale_verdicts = [(p, used, size) for p, used, size in found.verdicts if everything or used < oldest]
    total = sum(e.size for e in kept) + sum(size for p, _, size in found.verdicts if (p, _, size) not in stale_verdicts)
    for entry in reversed(list(kept)):  # least recently used first
        if total <= max_size:
            break
        if entry.key != keep_key and entry.last_used <= in_use:
            kept.remove(entry)
            removed.append(entry)
            total -= entry.size
    freed = 0
    for entry in removed:
        freed += entry.size
        for path in sorted(entry.paths, key=lambda p: p.suffix == ".origin"):  # the record goes last
            _remove(path)
    for path, _, size in stale_verdicts:
        freed += size
        _remove(path)
    return Pruned(removed, [p for p, _, _ in stale_verdicts], freed)


def _remove(path: Path) -> None:
    try:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink()
    except OSError:
        pass
