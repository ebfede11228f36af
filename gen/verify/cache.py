"""Verdict cache: units (the provider, each tenant) whose exact bytes and plan facts were
already verified are not verified again.

A unit's digest covers the tool version, the verifier's source, the template release, both
reference files, the
header line, every file of the unit (path and content hash) and the plan's facts and data
for it, so any change to any input of a check gives a new digest. Only passing verdicts are
stored. The store is one text file of digests per namespace under the cache directory
(default: $XDG_CACHE_HOME/plgen or ~/.cache/plgen), replaced atomically.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import tempfile
from pathlib import Path

from .. import __version__
from ..resources import file_sha256, reference_file, template_release

MAX_DIGESTS = 200_000


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "plgen"


@functools.cache
def verifier_digest() -> str:
    """The verifier's own source: a changed check must not trust verdicts of the old one,
    even before the version number moves."""
    hasher = hashlib.sha256()
    for source in sorted(Path(__file__).parent.glob("*.py")):
        hasher.update(source.name.encode() + b"\0" + source.read_bytes())
    return hasher.hexdigest()


def namespace(templates: Path | None = None) -> str:
    parts = [
        __version__,
        verifier_digest(),
        template_release(templates) if templates else template_release(),
        file_sha256(reference_file("azurerm-provider-schema.json")),
        file_sha256(reference_file("bicep-types.json")),
    ]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:32]


def unit_of(path: str) -> str:
    return "/".join(path.split("/", 2)[:2]) if path.startswith("tenants/") else "provider"


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
