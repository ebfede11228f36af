"""The two sides `plgen changes` compares. A side is a generated tree: a manifest rendered in
memory, or what an output directory holds (the files its .plgen-lock.json lists). Both are
read by the same fact extraction (gen.review.facts), so `changes BASE NEW` and `changes
MANIFEST -o out` say the same thing about the same trees."""

from __future__ import annotations

import hashlib
import json
import posixpath
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from .. import __version__
from ..errors import Location, PlgenError, Problem
from ..resources import template_release
from .model import SideInfo

LOCK_FILE = ".plgen-lock.json"  # gen.write.disk.LOCK_FILE; the layout is fixed by the design


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass
class Side:
    label: str
    source: str  # "manifest" | "output"
    shas: dict[str, str]  # every generated file (the lock file excluded) -> sha256
    read: Callable[[str], str | None]  # a file's text, None when it is missing
    manifest_sha256: str | None = None
    template_release: str | None = None
    tool_version: str | None = None
    notes: list[str] = field(default_factory=list)
    manifest_files: dict[str, str] | None = None  # a manifest directory: each file's sha256

    def text(self, path: str) -> str | None:
        return self.read(path) if path in self.shas else None

    def json(self, path: str) -> object:
        text = self.text(path)
        if text is None:
            return None
        try:
            return json.loads(text)
        except ValueError:
            self.notes.append(f"{self.label}: {path} is not valid JSON; its facts are left out")
            return None

    def info(self) -> SideInfo:
        return SideInfo(label=self.label, source=self.source, manifest_sha256=self.manifest_sha256,
                        template_release=self.template_release, tool_version=self.tool_version, files=len(self.shas))


def rendered_side(label: str, files: dict[str, str], manifest_sha256: str) -> Side:
    """A manifest rendered in memory by this plgen and its built-in templates."""
    return Side(label=label, source="manifest", shas={path: sha256(text) for path, text in files.items()},
                read=files.get, manifest_sha256=manifest_sha256, template_release=template_release(),
                tool_version=__version__)


def _safe_relative(path: object) -> bool:
    if not isinstance(path, str) or not path or path.startswith("/") or "\\" in path or "\0" in path:
        return False
    return all(part not in ("", ".", "..") for part in path.split("/")) and posixpath.normpath(path) == path


def output_side(out_dir: Path) -> Side:
    """What `out_dir` holds, as plgen wrote it: the files its lock lists, with the sha256 the
    lock records (a file edited since is read as it is, and named in the notes)."""
    lock_path = out_dir / LOCK_FILE
    if not out_dir.is_dir():
        raise PlgenError(Problem(Location(str(out_dir)), "not a directory; render into it first, or compare two "
                                                         "manifests: plgen changes BASE NEW"))
    try:
        lock = json.loads(lock_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PlgenError(Problem(Location(str(lock_path)), "missing: this directory was not written by plgen render "
                                                           "(nothing to compare with)")) from None
    except (OSError, UnicodeDecodeError) as err:
        raise PlgenError(Problem(Location(str(lock_path)), f"cannot read: {getattr(err, 'strerror', None) or err}")) from None
    except ValueError as err:
        raise PlgenError(Problem(Location(str(lock_path), getattr(err, "lineno", 0), getattr(err, "colno", 0)),
                                 f"not valid JSON: {getattr(err, 'msg', err)}")) from None
    files = lock.get("files") if isinstance(lock, dict) else None
    if not isinstance(files, dict) or not all(_safe_relative(p) and isinstance(s, str) for p, s in files.items()):
        raise PlgenError(Problem(Location(str(lock_path)), "not a plgen lock file: `files` must map relative paths "
                                                           "inside the directory to sha256 digests"))
    side = Side(label=str(out_dir), source="output", shas={p: s for p, s in files.items() if p != LOCK_FILE},
                read=lambda path: None, manifest_sha256=_text(lock.get("manifest_sha256")),
                template_release=_text(lock.get("template_release")), tool_version=_text(lock.get("tool_version")),
                manifest_files=_digests(lock.get("manifest_files")))

    def read(path: str) -> str | None:
        try:
            data = (out_dir / path).read_bytes()
        except FileNotFoundError:
            side.notes.append(f"{out_dir}/{path} is listed in the lock but missing: its facts are left out")
            return None
        except OSError as err:
            raise PlgenError(Problem(Location(str(out_dir / path)), f"cannot read: {err.strerror or err}")) from None
        if hashlib.sha256(data).hexdigest() != side.shas[path]:
            side.notes.append(f"{out_dir}/{path} was edited by hand since plgen wrote it: read as it is now")
        return data.decode("utf-8", "replace")

    side.read = read
    return side


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _digests(value: object) -> dict[str, str] | None:
    if isinstance(value, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        return value
    return None
