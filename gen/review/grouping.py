"""Tenant bundles that a template release changes, grouped by identical change.

A release changes most bundles the same way, but no two bundles have the same bytes: each
holds its tenant's id, names, subscriptions and so on. So each changed file's unified diff is
taken as `plgen render --diff` prints it, and each of the tenant's values (every text field of
its plan: gen.plan.tenants) is replaced in it by a placeholder, `⟦field⟧` (e.g. `⟦id⟧`,
`⟦sites[0].endpoint_name⟧`). Bundles whose files' abstracted diffs are all the same form a
group, shown once.

Exact by construction: values are replaced longest first, and never one that contains a
placeholder's brackets or a newline or that occurs in a placeholder's name, so putting the
tenant's values back (`concretize`) gives its own diff, byte for byte. A tenant whose diff
holds the brackets itself keeps its concrete text (a group of its own). The diff of a file
whose bytes several tenants share (the consumer module) is computed once.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import json
import re
from dataclasses import dataclass, field
from typing import Any, Iterable

from ..quoting import markdown_cell_code, markdown_text
from .release_model import FileDiff, Group

OPEN, CLOSE = "\u27e6", "\u27e7"  # ⟦ ⟧
PLACEHOLDER = re.compile(f"{OPEN}([^{OPEN}{CLOSE}]+){CLOSE}")
# enum words and service-wide facts: the same words in every bundle, not the tenant's values
NOT_VALUES = frozenset({"state", "approval", "expected_status", "verify_status", "dns_zone_name", "existing"})
MIN_LENGTH = 3  # shorter values would match inside ordinary words
UNSAFE_START = (" ", "+", "-", "@", "\\", "\t")  # a diff line's prefix: a value starting so could swallow it
_ESCAPED = re.compile(r'[\\`*_\[\]|~<>&"\x00-\x1f\x7f]')  # what JSON or Markdown escaping (gen.quoting) changes


def unified(path: str, old: str | None, new: str | None) -> str:
    """A file's unified diff, as `plgen render --diff` prints it (gen.write.changes)."""
    lines = (lambda text: [] if text is None else text.splitlines(keepends=True))
    return "".join(difflib.unified_diff(lines(old), lines(new), f"a/{path}" if old is not None else "/dev/null",
                                        f"b/{path}" if new is not None else "/dev/null"))


@functools.lru_cache(maxsize=4096)
def _grouped_opcodes(pattern: tuple[tuple[int, ...], tuple[int, ...]]) -> tuple:
    return tuple(tuple(group) for group in difflib.SequenceMatcher(None, *pattern).get_grouped_opcodes(3))


def _range(start: int, stop: int) -> str:
    """difflib's unified range: `start,length`, 1-based, `start` alone for one line."""
    length = stop - start
    return f"{start + 1}" if length == 1 else f"{start if not length else start + 1},{length}"


def unified_body(old: str | None, new: str | None) -> str:
    """`unified` without its two header lines, made faster for many similar files: difflib's
    matching reads lines only through their equality, so two pairs of files whose lines are
    equal in the same places (the same pattern) get the same hunks; each pattern is matched
    once and each file's own lines are laid out in the hunks as difflib does."""
    a = [] if old is None else old.splitlines(keepends=True)
    b = [] if new is None else new.splitlines(keepends=True)
    ids: dict[str, int] = {}
    pattern = (tuple(ids.setdefault(line, len(ids)) for line in a), tuple(ids.setdefault(line, len(ids)) for line in b))
    out: list[str] = []
    for group in _grouped_opcodes(pattern):
        out.append(f"@@ -{_range(group[0][1], group[-1][2])} +{_range(group[0][3], group[-1][4])} @@\n")
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                out.extend(" " + line for line in a[i1:i2])
                continue
            if tag in ("replace", "delete"):
                out.extend("-" + line for line in a[i1:i2])
            if tag in ("replace", "insert"):
                out.extend("+" + line for line in b[j1:j2])
    return "".join(out)


def line_counts(diff: str) -> tuple[int, int]:
    added = removed = 0
    for line in diff.splitlines()[2:]:
        if line.startswith("+"):
            added += 1
        elif line.startswith("-"):
            removed += 1
    return added, removed


def tenant_values(subject: Any) -> dict[str, str]:
    """Placeholder name -> value: every text field of a tenant's plan (nested sites and
    lists by index), and the escaped forms templates write of each (JSON, Markdown), when
    escaping changes it."""
    found: dict[str, str] = {}
    _walk("", subject, found)
    variants = {}
    for name, value in found.items():
        if not _ESCAPED.search(value):
            continue  # no template escaping changes it
        for suffix, escaped in (("json", json.dumps(value, ensure_ascii=False)[1:-1]), ("md", markdown_text(value)),
                                ("md_cell_code", markdown_cell_code(value))):
            if value not in escaped:
                variants[f"{name}|{suffix}"] = escaped
    return {**found, **variants}


@functools.cache
def _fields(kind: type) -> tuple[str, ...]:
    return tuple(item.name for item in dataclasses.fields(kind) if item.name not in NOT_VALUES)


def _walk(name: str, value: Any, found: dict[str, str]) -> None:
    if dataclasses.is_dataclass(value):
        for item in _fields(type(value)):
            _walk(f"{name}.{item}" if name else item, getattr(value, item), found)
    elif isinstance(value, str):
        found[name] = value
    elif isinstance(value, tuple):
        for index, item in enumerate(value):
            _walk(f"{name}[{index}]", item, found)


def replacements(values: dict[str, str]) -> list[tuple[str, str]]:
    """(value, placeholder) in the order they are replaced: longest value first; one
    placeholder per value (the first name in that order); unsafe values left out."""
    names = "\0".join(values)
    pairs: dict[str, str] = {}
    for name, value in sorted(values.items(), key=lambda item: (-len(item[1]), item[0])):
        if (len(value) < MIN_LENGTH or "\n" in value or "\r" in value or OPEN in value or CLOSE in value
                or value.startswith(UNSAFE_START) or value in names or value in pairs):
            continue
        pairs[value] = f"{OPEN}{name}{CLOSE}"
    return list(pairs.items())


def abstract(text: str, pairs: list[tuple[str, str]]) -> str:
    for value, token in pairs:
        if value in text:
            text = text.replace(value, token)
    return text


def concretize(text: str, values: dict[str, str]) -> str:
    """Put a tenant's values in place of its placeholders (the names `values` has; any other
    bracketed text is the tenant's own)."""
    return PLACEHOLDER.sub(lambda match: values.get(match.group(1), match.group(0)), text)


@dataclass
class Grouping:
    """Accumulates changed bundles (add) and makes the groups (groups)."""

    members: dict[str, list[str]] = field(default_factory=dict)  # key -> tenant ids
    files: dict[str, list[FileDiff]] = field(default_factory=dict)  # key -> the abstracted file diffs
    values: dict[str, dict[str, str]] = field(default_factory=dict)  # tenant -> its values (changed tenants)
    _diffs: dict[tuple[str, str | None, str | None], str] = field(default_factory=dict)  # shared bytes: body once
    added: int = 0
    removed: int = 0

    def add(self, tenant: str, unit: str, values: dict[str, str],
            changes: Iterable[tuple[str, str | None, str | None, bool]]) -> None:
        """One changed bundle: `changes` are (path, old text, new text, shared) of its files
        that differ (None: the file is missing on that side), under `unit` (tenants/<id>);
        `shared`: a file rendered without the tenant's values (the consumer module), whose
        text is not abstracted, only its path (a word of it may equal some tenant's value)."""
        diffs = []
        for path, old, new, shared in sorted(changes, key=lambda item: item[0]):
            head, body = self._diff(path, unit, old, new, shared)
            diffs.append((path, "added" if old is None else "removed" if new is None else "changed", head, body, shared))
        whole = "".join(head + body for _, _, head, body, _ in diffs)
        literal = OPEN in whole or CLOSE in whole  # brackets of its own: no placeholders for this tenant
        pairs = [] if literal else replacements(values)
        abstracted = [(abstract(path, pairs), status, abstract(head, pairs) + (body if shared else abstract(body, pairs)),
                       head + body) for path, status, head, body, shared in diffs]
        key = ("literal\0" if literal else "") + "\0".join(f"{status}\0{diff}" for _, status, diff, _ in abstracted)
        if key not in self.members:
            self.members[key] = []
            self.files[key] = [FileDiff(path=path, status=status, diff=diff, **dict(zip(
                ("added_lines", "removed_lines"), line_counts(concrete)))) for path, status, diff, concrete in abstracted]
        self.members[key].append(tenant)
        self.values[tenant] = values
        self.added += sum(1 for item in diffs if item[1] == "added")
        self.removed += sum(1 for item in diffs if item[1] == "removed")

    def _diff(self, path: str, unit: str, old: str | None, new: str | None, shared: bool) -> tuple[str, str]:
        """The file's diff as (its two header lines, the rest); the rest of a shared file
        computed once per (path in the unit, old, new)."""
        key = (path[len(unit) + 1:], old, new)
        body = self._diffs.get(key) if shared else None
        if body is None:
            body = unified_body(old, new)
            if shared:
                self._diffs[key] = body
        head = (f"--- {'a/' + path if old is not None else '/dev/null'}\n"
                f"+++ {'b/' + path if new is not None else '/dev/null'}\n")
        return head, body

    def groups(self) -> list[Group]:
        ordered = sorted(self.members, key=lambda key: (-len(self.members[key]), key))
        result = []
        for number, key in enumerate(ordered, 1):
            tenants = sorted(self.members[key])
            files = self.files[key]
            names = [] if key.startswith("literal\0") else sorted(
                {match for item in files for text in (item.path, item.diff) for match in PLACEHOLDER.findall(text)})
            result.append(Group(id=number, bundles=len(tenants), tenants=tenants, files=files, placeholders=names,
                                values={t: {n: self.values[t][n] for n in names} for t in tenants} if names else {}))
        return result


def expand(group: Group) -> dict[str, dict[str, str]]:
    """Each tenant of a group with its own diffs: {tenant: {path: unified diff}}."""
    values = {tenant: group.values.get(tenant, {}) for tenant in group.tenants}
    return {tenant: {concretize(item.path, values[tenant]): concretize(item.diff, values[tenant]) for item in group.files}
            for tenant in group.tenants}
