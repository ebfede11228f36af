"""`plgen split` and `plgen join`: a manifest file <-> a manifest directory, by cutting and
pasting the YAML text itself.

Each tenant is cut out of the text at the line and column the loader recorded for it, and
dedented (split) or indented under `tenants:` (join), so comments, quoting, key order and
flow style inside a tenant stay exactly as written. What cannot be kept is said, as a warning:
the comment on the `tenants:` line itself, blank lines between tenants, and everything inside
a `tenants` list written in flow style (`tenants: [...]`), whose tenants the YAML library
writes out again.

Where a tenant's file is not the default `tenants/<id>.yaml` (a nested folder, a file holding
several tenants), join writes one comment line before it, `# plgen-file: <path>`, and split
puts the tenant back there; so a directory comes back file for file.

Both check their work before anything is written: the files load to the same values as the
input (tenants compared by id: a directory orders them by path), or nothing is written.
"""

from __future__ import annotations

import json
import os
import posixpath
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from . import directory, load
from .errors import Location, ManifestError, Problem

MARKER = "# plgen-file: "
_MODELINE = re.compile(r"(# yaml-language-server: \$schema=)(\S+)(.*)", re.S)
MANIFEST_SCHEMA, PROVIDER_SCHEMA, TENANT_SCHEMA = "manifest.schema.json", "provider.schema.json", "tenant.schema.json"
_MARKER = re.compile(r"#\s*plgen-file:\s*(\S+)\s*$")
_DASH = re.compile(r" *- +")


@dataclass
class Item:
    """A tenant's text, dedented so that its keys start at column 1 (leading comments kept)."""

    text: str
    data: Any
    target: str | None = None  # from a `# plgen-file:` line
    rewritten: bool = False  # written out by the YAML library (comments lost)


@dataclass
class Converted:
    files: dict[str, str]  # split: paths relative to DIR; join: {"": the manifest}
    warnings: list[str] = field(default_factory=list)


def _is_comment(line: str) -> bool:
    return line.lstrip().startswith("#")


def _is_blank(line: str) -> bool:
    return not line.strip()


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _newline(text: str) -> str:
    return text if text.endswith("\n") or not text else text + "\n"


def cut_items(lines: list[str], starts: list[tuple[int, int]], lo: int, hi: int) -> list[str] | None:
    """Cut lines[lo:hi] of a block sequence into one text per item, dedented; `starts` are the
    1-based line and column of each item's first key. Comment lines right above an item's
    dash are its own; blank lines around items go. None when an item does not start as
    `- key:` on its dash's line or a line is less indented than the item's keys."""
    dashes = [line - 1 for line, _ in starts]
    bounds = []
    for i, (dash, (_, column)) in enumerate(zip(dashes, starts)):
        if not _DASH.fullmatch(lines[dash][:column - 1]):
            return None
        start = dash
        floor = lo if i == 0 else dashes[i - 1] + 1
        while start - 1 >= floor and _is_comment(lines[start - 1]):
            start -= 1
        bounds.append(lo if i == 0 else start)
    texts = []
    for i, (start, (_, column)) in enumerate(zip(bounds, starts)):
        end = bounds[i + 1] if i + 1 < len(bounds) else hi
        width = column - 1
        out = []
        for number in range(start, end):
            line = lines[number]
            if number == dashes[i]:
                out.append(line[width:])
                continue
            if not _is_blank(line) and not _is_comment(line) and _indent(line) < width and number > dashes[i]:
                return None
            out.append(line[min(width, _indent(line)):] if not _is_blank(line) else "\n")
        while out and _is_blank(out[0]):
            out.pop(0)
        while out and _is_blank(out[-1]):
            out.pop()
        texts.append(_newline("".join(out)))
    return texts


def _item(text: str, data: Any, source: str) -> Item | None:
    """The tenant in `text`, if it reads back as `data`, with its `# plgen-file:` line taken out."""
    lines = text.splitlines(keepends=True)
    target = None
    for number, line in enumerate(lines):
        if not _is_comment(line):
            break
        match = _MARKER.match(line.strip())
        if match:
            target = match.group(1)
            del lines[number]
            break
    text = "".join(lines)
    try:
        again = load.load_text(text, source, tenants_from=0)
    except ManifestError:
        return None
    if again.marks.get(("tenants",)) is not None or again.data != [data]:
        return None
    return Item(text, data, target)


class _Dumper(yaml.SafeDumper):
    """Lists indented under their key, as plgen's examples write them."""

    def increase_indent(self, flow: bool = False, indentless: bool = False):
        return super().increase_indent(flow, False)


def dump_tenant(data: Any) -> str:
    """A tenant written by the YAML library; if plain style would read back as something else
    (plgen reads `1e3` as a number, as YAML 1.2 does), every string is quoted."""
    options = dict(Dumper=_Dumper, sort_keys=False, allow_unicode=True, default_flow_style=False, width=4096)
    text = yaml.dump(data, **options)
    try:
        if load.load_text(text, "dump", tenants_from=0).data == [data]:
            return text
    except ManifestError:
        pass
    return yaml.dump(data, default_style='"', **options)


def _rewritten(data: Any) -> Item:
    return Item(dump_tenant(data), data, rewritten=True)


def _modeline(text: str, schema: str) -> re.Match | None:
    """The `# yaml-language-server: $schema=...` first line of `text`, if it names `schema`."""
    match = _MODELINE.match(text.split("\n", 1)[0])
    return match if match and posixpath.basename(match.group(2)) == schema else None


def _schema_ref(ref: str, name: str, seen_from: str, to: str) -> str:
    """`ref` (a schema, as the file in `seen_from` names it) -> the schema `name` beside it, as
    a file in `to` names it."""
    if "://" in ref or posixpath.isabs(ref):
        return posixpath.join(posixpath.dirname(ref), name)
    folder = os.path.normpath(os.path.join(seen_from, os.path.dirname(ref)))
    return Path(os.path.relpath(os.path.join(folder, name), to)).as_posix()


def _with_schema_lines(files: dict[str, str], origin: str, target: str) -> dict[str, str]:
    """Split: a manifest whose first line names manifest.schema.json gets a plgen.yaml naming
    provider.schema.json and tenant files naming tenant.schema.json, from where they are."""
    match = _modeline(files[directory.PROVIDER_FILE], MANIFEST_SCHEMA)
    if match is None:
        return files
    ref = match.group(2)
    out = {}
    for path, text in files.items():
        if path == directory.PROVIDER_FILE:
            line = match.group(1) + _schema_ref(ref, PROVIDER_SCHEMA, origin, target) + match.group(3)
            out[path] = line + text[len(match.group(0)):]
        else:
            where = os.path.join(target, os.path.dirname(path))
            line = f"{match.group(1)}{_schema_ref(ref, TENANT_SCHEMA, origin, where)}\n"
            out[path] = text if text.startswith(match.group(1)) else line + text
    return out


# --- split ------------------------------------------------------------------------------------

def split_document(document: load.Document, origin: str | None = None, target: str | None = None) -> Converted:
    """The files of a manifest directory holding what the manifest file `document` holds.
    `origin` and `target` (the folders of the manifest and of the directory) let the lines
    naming JSON Schemas name the directory's schemas from where its files are."""
    text, data = document.text, document.data
    lines = text.splitlines(keepends=True)
    tenants = data.get("tenants") or []
    warnings: list[str] = []
    key = document.key_marks.get(("tenants",))
    if key is None:
        return _split_result(text, [], warnings, document, origin, target)
    if key[1] != 1:  # the whole manifest is a flow mapping: nothing can be cut
        warnings.append("the manifest is one flow-style mapping: plgen.yaml and the tenant files are written by the "
                        "YAML library, without comments")
        provider = {k: v for k, v in data.items() if k != "tenants"}
        return _split_result(yaml.safe_dump(provider, sort_keys=False, allow_unicode=True, width=4096),
                             [_rewritten(t) for t in tenants], warnings, document, origin, target)
    tenants_line = key[0] - 1
    later = sorted(line for path, (line, _) in document.key_marks.items() if len(path) == 1 and line > key[0])
    hi = later[0] - 1 if later else len(lines)
    while hi - 1 > tenants_line and _is_comment(lines[hi - 1]) and _indent(lines[hi - 1]) == 0:
        hi -= 1  # comments at column 0 after the last tenant: the provider file's (or the next key's)
    rest = lines[hi:]
    if "#" in lines[tenants_line] and _is_comment(lines[tenants_line].split(":", 1)[1]):
        warnings.append(f"the comment on the `tenants:` line ({document.source}:{key[0]}) is not kept")
    starts = [document.marks[("tenants", t)] for t in range(len(tenants))]
    sequence = document.marks.get(("tenants",))
    block = sequence is not None and lines[sequence[0] - 1][sequence[1] - 1:].startswith("-")
    texts = cut_items(lines, starts, tenants_line + 1, hi) if block and tenants else None
    items = []
    for t, tenant in enumerate(tenants):
        item = _item(texts[t], tenant, document.source) if texts is not None else None
        items.append(item or _rewritten(tenant))
    if tenants and not block:
        warnings.append("`tenants` is written in flow style: its tenants are written by the YAML library, without comments")
    elif any(item.rewritten for item in items):
        named = ", ".join(item.data.get("id", "?") for item in items if item.rewritten)
        warnings.append(f"tenants written by the YAML library (their text could not be cut out as it is; comments inside "
                        f"them are not kept): {named}")
    if len(tenants) > 1 and any(_is_blank(line) for line in lines[tenants_line + 1:hi]):
        warnings.append("blank lines between tenants are not kept")
    head = "".join(lines[:tenants_line]) + "".join(rest)
    return _split_result(head, items, warnings, document, origin, target)


def _split_result(provider: str, items: list[Item], warnings: list[str], document: load.Document,
                  origin: str | None, target: str | None) -> Converted:
    groups: dict[str, list[Item]] = {}
    problems = []
    for item in items:
        path = item.target or f"{directory.TENANTS_DIR}/{item.data['id']}.yaml"
        problem = _target_problem(path)
        if problem:
            t = next(i for i, tenant in enumerate(document.data["tenants"]) if tenant is item.data)
            problems.append(Problem(document.locate(("tenants", t)), f"{MARKER}{path}: {problem}"))
        groups.setdefault(path, []).append(item)
    if problems:
        raise ManifestError(problems)
    files = {directory.PROVIDER_FILE: _newline(provider)}
    for path, group in groups.items():
        if len(group) == 1 and PurePosixPath(path).stem == group[0].data["id"]:
            files[path] = group[0].text
        else:
            files[path] = "".join(_as_list_item(item.text, "") for item in group)
    if origin is not None and target is not None:
        files = _with_schema_lines(files, origin, target)
    _check(document, directory.compose({p: t.encode("utf-8") for p, t in _ordered(files).items()}, "<split>").data)
    return Converted(_ordered(files), warnings)


def _target_problem(target: str) -> str | None:
    path = PurePosixPath(target)
    if target != path.as_posix() or path.is_absolute() or any(p in ("", ".", "..") or p.startswith(".") for p in path.parts):
        return "not a plain relative path"
    if path.parts[0] != directory.TENANTS_DIR or len(path.parts) < 2 or not target.endswith(directory.SUFFIXES):
        return f"a tenant file is {directory.TENANTS_DIR}/.../<name>.yaml"
    return None


def _ordered(files: dict[str, str]) -> dict[str, str]:
    """The provider file first, then tenant files in the order the loader reads them."""
    tenants = sorted((p for p in files if p != directory.PROVIDER_FILE), key=lambda p: p.split("/"))
    return {directory.PROVIDER_FILE: files[directory.PROVIDER_FILE], **{p: files[p] for p in tenants}}


def _as_list_item(text: str, indent: str) -> str:
    """A tenant's text as an item of a block sequence whose dashes are at `indent`."""
    out = []
    dashed = False
    for line in text.splitlines(keepends=True):
        if _is_blank(line):
            out.append("\n")
        elif not dashed and _is_comment(line):
            out.append(indent + line)
        elif not dashed:
            out.append(f"{indent}- {line}")
            dashed = True
        else:
            out.append(f"{indent}  {line}")
    return _newline("".join(out))


def _check(before: load.Document, after: Any) -> None:
    """The converted files read back as what was converted (tenants by id), or nothing is written."""
    def canonical(data: Any) -> tuple:
        tenants = sorted(data.get("tenants") or [], key=lambda tenant: json.dumps(tenant, sort_keys=True))
        return {k: v for k, v in data.items() if k != "tenants"}, tenants

    if canonical(before.data) != canonical(after):
        raise ManifestError(Problem(Location(before.source), "the converted files would not read back as the same "
                                    "manifest; nothing was written (please report this as a bug in plgen)"))


# --- join -------------------------------------------------------------------------------------

def join_directory(document: load.Document, texts: dict[str, str], target: str | None = None) -> Converted:
    """One manifest file holding what the manifest directory `document` holds: plgen.yaml, then
    `tenants:` with every tenant file's tenants in path order. `texts`: the text of each of its
    files, by path in the directory, in the order the loader read them. `target` (the folder
    of the new file): a plgen.yaml naming provider.schema.json gives a file naming
    manifest.schema.json from there, and the tenant files' lines naming tenant.schema.json go."""
    warnings: list[str] = []
    items: list[Item] = []
    base = PurePosixPath(PurePosixPath(document.source).parent)
    for path, text in texts.items():
        if path == directory.PROVIDER_FILE:
            continue
        source = str(base / path)
        alone = load.load_text(text, source, tenants_from=0)
        lines = text.splitlines(keepends=True)
        is_list = alone.marks.get(("tenants",)) is not None
        cut = cut_items(lines, [alone.marks[("tenants", k)] for k in range(len(alone.data))], 0, len(lines)) \
            if is_list else [text]
        if cut is not None and cut and _modeline(text, TENANT_SCHEMA) is not None and target is not None:
            cut[0] = cut[0].split("\n", 1)[1]
        for k, tenant in enumerate(alone.data):
            item = _item(cut[k], tenant, source) if cut is not None else None
            if item is None:
                item = _rewritten(tenant)
                warnings.append(f"{source}: tenant {tenant.get('id')} is written by the YAML library (its comments "
                                "are not kept)")
            item.target = None if path == f"{directory.TENANTS_DIR}/{tenant.get('id')}.yaml" else path
            items.append(item)
    body = "".join(_as_list_item(item.text if item.target is None else f"{MARKER}{item.target}\n{item.text}", "  ")
                   for item in items)
    head = _newline(texts[directory.PROVIDER_FILE])
    match = _modeline(head, PROVIDER_SCHEMA)
    if match is not None and target is not None:
        ref = _schema_ref(match.group(2), MANIFEST_SCHEMA, str(PurePosixPath(document.source).parent), target)
        head = match.group(1) + ref + match.group(3) + head[len(match.group(0)):]
    joined = head + ("tenants:\n" + body if items else "")
    again = load.load_text(joined, document.source)
    if {**again.data, "tenants": again.data.get("tenants", [])} != document.data:
        raise ManifestError(Problem(Location(document.source), "the joined manifest would not read back as the same "
                                    "manifest; nothing was written (please report this as a bug in plgen)"))
    return Converted({"": joined}, warnings)
