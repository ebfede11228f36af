"""`plgen release-preview` output: text, Markdown (a pull-request comment that always fits a size
limit, as `plgen changes` makes one) and JSON (schemas/release-preview.schema.json)."""

from __future__ import annotations

import html
import json

from .grouping import CLOSE, OPEN
from .output import MARKDOWN_MINIMUM, _fence, _inert, _note, event_lines
from .release_model import FileDiff, Group, ReleaseReport, Replacement

MARKER = "<!-- plgen-release-preview -->"  # lets a CI job find and update its previous comment
FIRST_PASS = 10  # items every section shows before any section shows more
DIFF_CHARS = 6_000  # one item's diff at most, in Markdown
TENANTS_SHOWN = 20  # tenant ids a line names before "and N more"
NOTES_SHOWN = 10


def _plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def _names(items: list[str], limit: int = TENANTS_SHOWN) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit:,} more" if len(items) > limit else "")


def summary(report: ReleaseReport, arrow: str = "->") -> str:
    counts = report.counts
    provider = counts.provider_files_changed + counts.provider_files_added + counts.provider_files_removed
    text = (f"release {report.base.release} {arrow} {report.new.release} changes "
            f"{counts.bundles_changed:,} of {_plural(counts.bundles, 'bundle')} in "
            f"{_plural(counts.groups, 'distinct way')} and {_plural(provider, 'provider file')}")
    if counts.replacements:
        text += f"; {counts.replacements:,} would replace or destroy a resource in Azure"
    return text


def headline(report: ReleaseReport) -> str:
    return f"{report.manifest}: {summary(report)}"


def _file_line(item: FileDiff) -> str:
    return f"{item.status:<8} {item.path} (+{item.added_lines} -{item.removed_lines})"


def _replacement_lines(item: Replacement) -> list[str]:
    lines = [f"{item.action.upper():<8}  {item.message}"]
    if item.tenants:
        lines.append(f"          bundles: {_names(item.tenants)}")
    return lines


def _group_title(group: Group) -> str:
    return f"way {group.id}: {_plural(group.bundles, 'bundle')} ({_names(group.tenants)})"


def _indented(diff: str, prefix: str = "    ") -> list[str]:
    return [prefix + line for line in diff.splitlines()]


def as_text(report: ReleaseReport) -> str:
    lines = [_inert(headline(report)), f"templates: {report.base.templates} -> {report.new.templates}"]
    for item in report.replacements:
        lines += _replacement_lines(item)
    if report.provider:
        lines.append(f"provider: {_plural(len(report.provider), 'file')}")
        lines += ["  " + _file_line(item) for item in report.provider]
        for event in report.events:
            first, *rest = event_lines(event)
            lines.append(f"  {event.risk.upper():<8}  {first}")
            lines += ["            " + line for line in rest]
        for item in report.provider:
            lines += _indented(item.diff)
    for group in report.groups:
        lines.append(_group_title(group))
        lines += ["  " + _file_line(item) for item in group.files]
        for item in group.files:
            lines += _indented(item.diff)
    if any(group.placeholders for group in report.groups):
        lines.append(f"note: {OPEN}field{CLOSE} stands for each tenant's own value of that field of its plan; "
                     "--format json has every tenant's values")
    lines += [f"note: {note}" for note in report.notes]
    return "\n".join(_inert(line) for line in lines) + "\n"


def as_json(report: ReleaseReport) -> str:
    return json.dumps(report.model_dump(mode="json"), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


# --- Markdown ----------------------------------------------------------------------------------


def _fenced(text: str, language: str) -> str:
    fence = _fence(text)
    return f"{fence}{language}\n{text}{'' if text.endswith(chr(10)) else chr(10)}{fence}\n"


def _inert_lines(text: str) -> str:
    return "\n".join(_inert(line) for line in text.split("\n"))


def _cut(diff: str) -> str:
    """A diff of at most DIFF_CHARS, cut between lines."""
    if len(diff) <= DIFF_CHARS:
        return diff
    kept = diff[:DIFF_CHARS - 80].rsplit("\n", 1)[0] + "\n"
    left = diff.count("\n") - kept.count("\n")
    return kept + f"… (cut here: {left:,} more lines; the whole diff is in --format json)\n"


def _code(text: str) -> str:
    return f"<code>{html.escape(_inert(text))}</code>"


def _replacement_item(item: Replacement) -> str:
    return _fenced(_inert_lines("\n".join(_replacement_lines(item))) + "\n", "text")


def _event_item(event) -> str:
    lines = event_lines(event)
    return _fenced(_inert_lines("\n".join([f"[{event.risk}] {lines[0]}", *lines[1:]])) + "\n", "text")


def _file_item(item: FileDiff) -> str:
    return (f"<details><summary>{_code(item.path)}: {item.status} (+{item.added_lines} −{item.removed_lines})</summary>"
            f"\n\n{_fenced(_cut(_inert_lines(item.diff)), 'diff')}\n</details>\n")


def _group_item(group: Group) -> str:
    tenants = ", ".join(_code(t) for t in group.tenants[:TENANTS_SHOWN])
    if group.bundles > TENANTS_SHOWN:
        tenants += f" and {group.bundles - TENANTS_SHOWN:,} more"
    files = ", ".join(f"{_code(f.path)} {f.status} (+{f.added_lines} −{f.removed_lines})" for f in group.files[:5])
    if len(group.files) > 5:
        files += f" and {len(group.files) - 5} more files"
    diff = _cut(_inert_lines("".join(item.diff for item in group.files)))
    return (f"<details><summary>way {group.id}: <b>{_plural(group.bundles, 'bundle')}</b></summary>\n\n"
            f"Bundles: {tenants}\n\nFiles: {files}\n\n{_fenced(diff, 'diff')}\n</details>\n")


def _section(title: str, count: int, shown: int, body: str, opened: bool = False) -> str:
    parts = [f"\n<details{' open' if opened else ''}><summary><b>{title}</b> ({count:,})</summary>\n\n", body]
    if count > shown:
        parts.append(f"\n_{count - shown:,} more not shown (use `--format json`)_\n")
    parts.append("\n</details>\n")
    return "".join(parts)


def _footer(left_out: int, total: int, limit: int) -> str:
    return (f"\n**{left_out:,} of {total:,} items not shown** to keep this comment under {limit:,} characters: "
            "run `plgen release-preview` with `--format json` for all of them.\n") if left_out else ""


def as_markdown(report: ReleaseReport, limit: int) -> str:
    """A pull-request comment: the headline and a table of counts, then collapsed sections:
    replacements (open), what the provider's changes mean, each distinct way bundles change
    with its representative diff and its bundles, and each provider file's diff. Sections
    show their first items until `limit` would be passed (every section first gets up to
    FIRST_PASS, then they get more in this order); what is left out is counted. The result
    never exceeds `limit` (at least MARKDOWN_MINIMUM)."""
    limit = max(limit, MARKDOWN_MINIMUM)
    counts = report.counts
    head = [MARKER, "### plgen release-preview", "", f"{_code(report.manifest)}: {html.escape(summary(report, '→'))}", "",
            f"Templates: {_code(report.base.templates)} → {_code(report.new.templates)}", "",
            "| | Count |", "|:--|--:|",
            f"| Bundles changed | {counts.bundles_changed:,} of {counts.bundles:,} |",
            f"| Distinct ways | {counts.groups:,} |",
            f"| Provider files changed, added, removed | {counts.provider_files_changed:,}, "
            f"{counts.provider_files_added:,}, {counts.provider_files_removed:,} |",
            f"| Tenant files added, removed | {counts.tenant_files_added:,}, {counts.tenant_files_removed:,} |",
            f"| Would replace or destroy in Azure | **{counts.replacements:,}** |"]
    if any(group.placeholders for group in report.groups):
        head += ["", f"In a way's diff, <code>{OPEN}field{CLOSE}</code> stands for each bundle's own value of that field "
                     "(`--format json` has every tenant's values)."]
    head += [""] + [f"> note: {_note(note)}" for note in report.notes[:NOTES_SHOWN]]
    sections = [("⚠️ would replace or destroy", [_replacement_item(i) for i in report.replacements], True),
                ("what the provider's changes mean", [_event_item(e) for e in report.events], False),
                ("bundles, by distinct way", [_group_item(g) for g in report.groups], False),
                ("provider files", [_file_item(f) for f in report.provider], False)]
    sections = [(title, items, opened) for title, items, opened in sections if items]
    total = sum(len(items) for _, items, _ in sections)
    head_text = "\n".join(head) + "\n"
    fixed = len(head_text) + len(_footer(total, total, limit)) + sum(
        len(_section(title, len(items), 0, "", opened)) for title, items, opened in sections)
    budget = limit - fixed
    shown = [0] * len(sections)
    for rounds in (FIRST_PASS, None):
        for index, (_, items, _) in enumerate(sections):
            cap = len(items) if rounds is None else min(rounds, len(items))
            while shown[index] < cap and len(items[shown[index]]) <= budget:
                budget -= len(items[shown[index]])
                shown[index] += 1
            if rounds is None and shown[index] < len(items):
                break  # deterministic: once a section is cut, the later ones get no more room
    parts = [head_text]
    for (title, items, opened), count in zip(sections, shown):
        parts.append(_section(title, len(items), count, "".join(items[:count]), opened))
    parts.append(_footer(total - sum(shown), total, limit))
    text = "".join(parts)
    assert len(text) <= limit, (len(text), limit)  # the budget above is an upper bound
    return text
