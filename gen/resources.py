"""Where the package's data lives: inside the wheel (gen/_data) or, for an editable install or
a source checkout, at the top of the repository."""

from __future__ import annotations

import functools
import hashlib
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


@functools.cache
def template_release(directory: Path | None = None) -> str:
    return ((directory or templates_dir()) / "VERSION").read_text(encoding="utf-8").strip()


@functools.cache
def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
