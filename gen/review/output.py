"""`plgen changes` output: text (one line per event, details indented), Markdown (a pull-request
comment that always fits a size limit) and JSON (schemas/changes.schema.json)."""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Any

from ..quoting import markdown_code, markdown_text
from .kinds import BY_NAME, RISKS
from .model import Event, Report

# GitHub refuses comments over 65,536 characters; the default leaves room for a CI's own text.
MARKDOWN_LIMIT = 60_000
MARKDOWN_MINIMUM = 16_000  # the headline, the table, the notes and every kind's section always fit
FIRST_PASS = 10  # events every kind shows before any kind shows more
EVENT_CHARS = 1_500  # one event's block at most (a JSON value can be long)
NOTES_SHOWN = 10
NOTE_CHARS = 300
VALUE_CHARS = 200
MARKER = "<!-- plgen-changes -->"  # lets a CI job find and update its previous comment


def _inert(text: str) -> str:
    """No control, format (bidi, zero-width) or line-separator characters reach the output:
    they are shown as \\uXXXX (a hand-edited output directory is not validated like a manifest)."""
    return "".join(f"\\u{ord(c):04x}" if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn")
                   else c for c in text)


def value_text(value: Any) -> str:
    text = "none" if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True)
    text = _inert(text)
    return text if len(text) <= VALUE_CHARS else text[:VALUE_CHARS - 1] + "…"


def event_lines(event: Event, files: bool = True) -> list[str]:
    lines = [_inert(event.summary)]
    for change in event.changes:
        if change.before is None and change.after is None:
            lines.append(f"    {_inert(change.what)}")
        else:
            lines.append(f"    {_inert(change.what)}: {value_text(change.before)} -> {value_text(change.after)}")
    if files and event.files:
        shown = event.files[:8]
        lines.append("    files: " + ", ".join(_inert(f) for f in shown)
                     + (f" and {len(event.files) - len(shown)} more" if len(event.files) > len(shown) else ""))
    lines += [f"    warning: {_inert(w)}" for w in event.warnings]
    return lines


def _headline(report: Report) -> str:
    total = len(report.events)
    if not total:
        return f"{report.base.label} -> {report.new.label}: no changes"
    risks = ", ".join(f"{report.risks[r]} {r}" for r in RISKS if report.risks[r])
    return f"{report.base.label} -> {report.new.label}: {total} change{'' if total == 1 else 's'} ({risks})"


def as_text(report: Report) -> str:
    lines = [_inert(_headline(report))]
    width = max(len(r) for r in RISKS)
    for event in report.events:
        first, *rest = event_lines(event)
        lines.append(f"{event.risk.upper():<{width}}  {first}")
        lines += [" " * (width + 2) + line for line in rest]
    notes = report.notes[:20]
    lines += [f"note: {_inert(n)}" for n in notes]
    if len(report.notes) > len(notes):
        lines.append(f"note: {len(report.notes) - len(notes)} more notes (use --format json)")
    return "\n".join(lines) + "\n"


def as_json(report: Report) -> str:
    return json.dumps(report.model_dump(mode="json"), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


# --- Markdown ----------------------------------------------------------------------------------


def _fence(text: str) -> str:
    return "`" * max(3, max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)


def _block(event: Event) -> str:
    text = "\n".join(f"[{event.risk}] {line}" if i == 0 else line for i, line in enumerate(event_lines(event)))
    if len(text) > EVENT_CHARS:
        text = text[:EVENT_CHARS - 60].rstrip() + "\n    … (cut here: the whole event is in --format json)"
    return text + "\n"


def _label(text: str) -> str:
    text = _inert(text)
    return markdown_code(text if len(text) <= 120 else "…" + text[-119:])


def _section(kind: str, count: int, shown: int, body: str, fence: str) -> str:
    title = BY_NAME[kind]
    parts = [f"\n<details><summary><b>{title.risk}</b>: {title.title} ({count})</summary>\n\n"]
    if body:
        parts.append(f"{fence}text\n{body}{fence}\n")
    missing = count - shown
    if missing:
        parts.append(f"\n_{missing} more {'event' if missing == 1 else 'events'} of this kind not shown "
                     "(use `--format json`)_\n")
    parts.append("\n</details>\n")
    return "".join(parts)


def _footer(left_out: int, total: int, limit: int) -> str:
    return (f"\n**{left_out} of {total} events not shown** to keep this comment under {limit:,} characters: "
            "run `plgen changes` with `--format json` for all of them.\n") if left_out else ""


def as_markdown(report: Report, limit: int = MARKDOWN_LIMIT) -> str:
    """A pull-request comment: the headline, a table of kinds with counts, then one collapsed
    section per kind. Each section shows its first events in risk order until `limit` would be
    passed (every kind first gets up to FIRST_PASS events, then the highest risks get more); what
    is left out is counted per section and in total. The result never exceeds `limit`
    (at least MARKDOWN_MINIMUM)."""
    limit = max(limit, MARKDOWN_MINIMUM)
    total = len(report.events)
    head = [MARKER, "### plgen changes", ""]
    risks = ", ".join(f"{report.risks[r]} {r}" for r in RISKS if report.risks[r])
    if not total:
        head.append(f"{_label(report.base.label)} → {_label(report.new.label)}: **no changes**")
    else:
        head.append(f"{_label(report.base.label)} → {_label(report.new.label)}: **{total} change{'' if total == 1 else 's'}** "
                    f"({risks})")
        head += ["", "| Risk | Change | Count |", "|:--|:--|--:|"]
        head += [f"| {BY_NAME[kind].risk} | {BY_NAME[kind].title} | {count} |" for kind, count in report.counts.items()]
    notes = report.notes[:NOTES_SHOWN]
    note_lines = [""] + [f"> note: {_note(n)}" for n in notes] if notes else []
    if len(report.notes) > len(notes):
        note_lines.append(f"> {len(report.notes) - len(notes)} more notes (use `--format json`)")
    sections = [(kind, [e for e in report.events if e.kind == kind]) for kind in report.counts]
    blocks = {kind: [_block(e) for e in events] for kind, events in sections}
    fences = {kind: _fence("".join(blocks[kind])) for kind, _ in sections}
    # what a section costs besides its blocks, at most: with nothing shown (the longest
    # "N more" line) plus the fence around a body
    overhead = {kind: len(_section(kind, len(events), 0, "", fences[kind])) + 2 * len(fences[kind]) + len("text\n\n")
                for kind, events in sections}
    fixed = len(_footer(total, total, limit)) + sum(overhead.values())
    head_text = "\n".join(head + note_lines) + "\n"
    if len(head_text) + fixed > limit and notes:  # no room for the notes: count them instead
        head_text = "\n".join(head + ["", f"> {len(report.notes)} notes (use `--format json`)"]) + "\n"
    budget = limit - len(head_text) - fixed
    shown = {kind: 0 for kind, _ in sections}
    for rounds in (FIRST_PASS, None):
        for kind, events in sections:
            cap = len(events) if rounds is None else min(rounds, len(events))
            while shown[kind] < cap and len(blocks[kind][shown[kind]]) <= budget:
                budget -= len(blocks[kind][shown[kind]])
                shown[kind] += 1
            if rounds is None and shown[kind] < len(events):
                break  # deterministic: once a kind is cut, lower risks get no more room
    parts = [head_text]
    for kind, events in sections:
        parts.append(_section(kind, len(events), shown[kind], "".join(blocks[kind][:shown[kind]]), fences[kind]))
    parts.append(_footer(total - sum(shown.values()), total, limit))
    text = "".join(parts)
    assert len(text) <= limit, (len(text), limit)  # the budget above is an upper bound
    return text


def _note(text: str) -> str:
    """A note as inert Markdown of at most NOTE_CHARS characters (cut between escapes)."""
    out, size = [], 0
    for char in _inert(text):
        piece = markdown_text(char)
        if size + len(piece) > NOTE_CHARS - 1:
            out.append("…")
            break
        out.append(piece)
        size += len(piece)
    return "".join(out)
