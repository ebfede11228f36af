"""How review events put things: an event of a known kind, values in one short line, lists
and counts in words. Shared by gen.review.diff and gen.review.resource_events."""

from __future__ import annotations

import json
from typing import Any, Iterable

from .kinds import BY_NAME
from .model import Event

SUMMARY_ITEMS = 3
SHORT = 72


def event(kind: str, subject: str, summary: str, **fields: Any) -> Event:
    risk = fields.pop("risk", None) or BY_NAME[kind].risk
    return Event(kind=kind, risk=risk, subject=subject, summary=summary, **fields)


def short(value: Any) -> str:
    """A value for a summary line: one line, at most SHORT characters."""
    if value is None:
        text = "none"
    elif isinstance(value, bool):
        text = "on" if value else "off"
    elif isinstance(value, str):
        text = value
    else:
        text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    text = " ".join(text.split())
    return text if len(text) <= SHORT else text[:SHORT - 1] + "…"


def names(items: Iterable[str], limit: int = 5) -> str:
    items = list(items)
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"
