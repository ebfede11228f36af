"""Where the package's data lives: inside the wheel (gen/_data) or, for an editable install or
a source checkout, at the top of the repository."""

from __future__ import annotations

import functools
import hashlib
import sys
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def _data_dir(name: str) -> Path:
    bundled = _PACKAGE / "_data" / name
    if bundled.is_dir():
        return bundled
    return _PACKAGE.parent / name


def templates_dir() -> Path:
    return _data_dir("templates")


def schemas_dir() -> Path:
    return _data_dir("schemas")


def reference_file(name: str) -> Path:
    return schemas_dir() / "reference" / name


SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def published_schema(schema: dict, name: str, title: str) -> dict:
    """A generated JSON Schema as plgen publishes it, as schemas/<name>.schema.json."""
    return {**schema, "$schema": SCHEMA_DIALECT, "$id": f"https://plgen.invalid/schemas/{name}.schema.json",
            "title": title}


@functools.cache
def template_release(directory: Path | None = None) -> str:
    return ((directory or templates_dir()) / "VERSION").read_text(encoding="utf-8").strip()


@functools.cache
def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def build_fingerprint(templates: Path | None = None) -> str:
    """Everything besides the manifest that shapes or checks the output: plgen's version and
    its source (renderer and verifier alike), every template file (an in-place edit counts,
    VERSION bumped or not) and every reference file. Cached output is trusted only under the
    fingerprint that produced it. Not memoised: a template edited between two renders in
    one process must count (hashing it all takes milliseconds)."""
    from . import __version__

    hasher = hashlib.sha256(f"plgen {__version__} python {sys.version_info[0]}.{sys.version_info[1]}".encode())
    for label, root, pattern in (("code", _PACKAGE, "*.py"), ("templates", templates or templates_dir(), "*"),
                                 ("reference", schemas_dir() / "reference", "*")):
        for path in sorted(p for p in root.rglob(pattern) if p.is_file() and "__pycache__" not in p.parts):
            hasher.update(f"\0{label}/{path.relative_to(root).as_posix()}\0".encode())
            hasher.update(path.read_bytes())
    return hasher.hexdigest()
