"""Verdict cache: units (the provider, each tenant) whose exact bytes and plan facts were
already verified are not verified again.

A unit's digest covers the build fingerprint (plgen's version and source, the templates and the
reference files: gen.resources.build_fingerprint), the header line, every file of the unit
(path and content hash) and the plan's facts and data for it, so any change to any input of a
check gives a new digest. Only passing verdicts are
stored. The store is one text file of digests per namespace under the cache directory
(default: $XDG_CACHE_HOME/plgen or ~/.cache/plgen), replaced atomically.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import tempfile
from pathlib import Path

from ..resources import build_fingerprint

MAX_DIGESTS = 200_000


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "plgen"


def namespace(templates: Path | None = None) -> str:
    return build_fingerprint(templates)[:32]


def unit_digest(header: str, files: list[tuple[str, str]], facts: object) -> str:
    hasher = hashlib.sha256(header.encode())
    for path, sha in files:
        hasher.update(f"\0{path}\0{sha}".encode())
    hasher.update(json.dumps(facts, sort_keys=True, default=str).encode())
    return hasher.hexdigest()


class VerdictCache:
    def __init__(self, directory: Path | None, space: str):
        self.path = (directory / f"{space}.verified") if directory else None
        self.known: set[str] = set()
        if self.path and self.path.exists():
            try:
                self.known = set(self.path.read_text(encoding="ascii").split())
            except (OSError, UnicodeDecodeError):
                self.known = set()  # a damaged cache only costs time

    def __contains__(self, digest: str) -> bool:
        return digest in self.known

    def save(self, digests: set[str]) -> None:
        if self.path is None or digests <= self.known:
            return
        merged = sorted(self.known | digests)[-MAX_DIGESTS:]
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, temp = tempfile.mkstemp(dir=self.path.parent, prefix=".verified-")
            with os.fdopen(fd, "w", encoding="ascii") as handle:
                handle.write("\n".join(merged) + "\n")
            os.replace(temp, self.path)
        except OSError:
            pass  # the cache is an optimisation: a read-only home must not fail a render


class ParseCache:
    """Small Terraform and Bicep files as parsed and checked before, by content digest, under
    the build fingerprint: the consumer module every tenant shares is parsed once, not again in
    each run that renders a tenant. Only files that passed their checks are kept."""

    MAX_ENTRIES = 64
    MAX_TEXT = 64 * 1024  # the provider's files (access lists of thousands) are not worth keeping

    def __init__(self, directory: Path | None, space: str):
        self.path = (directory / f"{space}.parsed") if directory else None
        self.entries: dict[str, tuple] = {}
        self.added = False
        if self.path and self.path.exists():
            try:
                entries = pickle.loads(self.path.read_bytes())
                self.entries = entries if isinstance(entries, dict) else {}
            except Exception:  # noqa: BLE001 - a damaged cache only costs time
                self.entries = {}

    def get(self, sha: str) -> tuple | None:
        return self.entries.get(sha)

    def add(self, sha: str, text: str, parsed: object, problems: list[str]) -> None:
        if parsed is not None and not problems and len(text) <= self.MAX_TEXT and sha not in self.entries:
            self.entries[sha] = (parsed, problems)
            self.added = True

    def save(self) -> None:
        if self.path is None or not self.added:
            return
        kept = dict(list(self.entries.items())[-self.MAX_ENTRIES:])  # the newest
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, temp = tempfile.mkstemp(dir=self.path.parent, prefix=".parsed-")
            with os.fdopen(fd, "wb") as handle:
                handle.write(pickle.dumps(kept))
            os.replace(temp, self.path)
        except OSError:
            pass
