"""The customer guides: Markdown that renders as written whatever the free text, and facts
that agree with what the provider's output actually configures."""

from __future__ import annotations

import functools
import re
from typing import Iterator

from . import rules
from .terraform import LinkService

_FENCE = re.compile(r"^\s*(```|~~~)")
_AUTOLINK = re.compile(r"<(https://[^\s<>]*|mailto:[^\s<>]*)>")


def _paragraphs(text: str) -> Iterator[tuple[int, list[str]]]:
    """(first line number, lines) of every block outside fenced code. Blocks are split at blank
    lines by str.split (guides are long and many); only blocks with a fence are walked by line."""
    fenced, line = False, 1
    for chunk in text.split("\n\n"):
        if "```" in chunk or "~~~" in chunk:
            block: list[str] = []
            start = line
            for number, row in enumerate(chunk.split("\n"), line):
                if _FENCE.match(row):
                    fenced = not fenced
                    if block:
                        yield start, block
                    block = []
                elif not fenced and row.strip():
                    if not block:
                        start = number
                    block.append(row)
                elif block:
                    yield start, block
                    block = []
            if block:
                yield start, block
        elif not fenced and chunk.strip():
            lead = len(chunk) - len(chunk.lstrip("\n"))
            yield line + lead, chunk.strip("\n").split("\n")
        line += chunk.count("\n") + 2


def _code_span_problems(text: str) -> Iterator[tuple[int, str]]:
    """Every backtick run that opens a code span is closed by a run of the same length (CommonMark
    code spans: an opener may be escaped with a backslash, a closer cannot, since backslashes
    are literal inside a span); an unmatched opener means free text broke out of its span."""
    runs = [(m.start(), len(m.group())) for m in re.finditer(r"`+", text)]
    i = 0
    while i < len(runs):
        start, length = runs[i]
        if start and text[start - 1] == "\\":
            i += 1  # an escaped backtick is literal
            continue
        closing = next((j for j in range(i + 1, len(runs)) if runs[j][1] == length), None)
        if closing is None:
            yield (text.count("\n", 0, start),
                   f"a code span opened with {length} backtick(s) is never closed [{rules.COMMONMARK_URL}]")
            return
        i = closing + 1


def _cells(row: str) -> int:
    # GFM splits a table row at every unescaped pipe, inside code spans too
    body = row.strip()
    body = body[1:] if body.startswith("|") else body
    body = body[:-1] if body.endswith("|") and not body.endswith("\\|") else body
    return len(_PIPE.split(body))


def _outside_code(text: str) -> str:
    # blank out code spans, keeping their line breaks so line numbers stay right
    return _CODE_SPAN.sub(lambda m: "\n" * m.group().count("\n"), text)


_PIPE = re.compile(r"(?<!\\)\|")
_CODE_SPAN = re.compile(r"(?<![\\`])(`+)(?!`)(.+?)(?<!`)\1(?!`)", re.DOTALL)
_DELIMITER_ROW = re.compile(r"\s*\|?[\s:|-]+\|?\s*")
_RAW_HTML = re.compile(r"<[A-Za-z!/?]")


@functools.lru_cache(maxsize=65536)
def _block_problems(block: str) -> tuple[tuple[int, str], ...]:
    """(line offset, message) for one block; most blocks of a guide are the same for every
    tenant, so each distinct block is checked once."""
    found = list(_code_span_problems(block))
    lines = block.split("\n")
    if len(lines) >= 2 and lines[0].lstrip().startswith("|") and _DELIMITER_ROW.fullmatch(lines[1]):
        header = _cells(lines[0])
        for offset, row in enumerate(lines[1:], 1):
            if _cells(row) != header:
                found.append((offset, f"a table row has {_cells(row)} cells, its header {header} (an unescaped '|' in a "
                                      f"value splits a cell) [{rules.GFM_TABLES_URL}]"))
    rest = _AUTOLINK.sub("", _outside_code(block))
    for match in _RAW_HTML.finditer(rest):
        found.append((rest.count("\n", 0, match.start()), "raw HTML outside a code span: free text must reach Markdown escaped"))
    return tuple(found)


def markdown_problems(text: str) -> Iterator[str]:
    for number, lines in _paragraphs(text):
        if number == 1 and lines[0].startswith("<!--") and lines[0].endswith("-->"):
            lines = [""] + lines[1:]  # the header comment
        for offset, message in _block_problems("\n".join(lines)):
            yield f"line {number + offset}: {message}"


def _row(text: str, label: str) -> str | None:
    match = re.search(rf"^\| {re.escape(label)} \| (.*) \|$", text, re.MULTILINE)
    return match.group(1) if match else None


def _code(cell: str | None) -> list[str]:
    return [m.group(2).strip() for m in re.finditer(r"(`+)(.+?)\1", cell or "")]


def fact_problems(text: str, alias_in_values: list[str | None], link_services: dict[str, LinkService]) -> Iterator[str]:
    """A private-link tenant's guide against the provider's link service: the service it names
    exists, PROXY protocol is described as configured, the alias is the one in the values files,
    and automatic approval is promised only to subscriptions on the auto-approval list."""
    service = _code(_row(text, "Private Link Service"))
    if not service:
        yield "the guide names no Private Link Service"
        return
    target = link_services.get(service[0].lower())
    if target is None:
        yield f"the guide names link service {service[0]!r}, which the provider's output does not create"
        return
    says_proxy = "receive your connections with PROXY protocol v2" in text
    says_no_proxy = "does not use PROXY protocol" in text
    if (says_proxy, says_no_proxy) != (target.proxy_protocol is True, target.proxy_protocol is not True):
        yield (f"the guide's PROXY protocol statement does not match link service {target.name!r}, where "
               f"proxy_protocol_enabled is {target.proxy_protocol}")
    aliases = _code(_row(text, "Alias"))
    for alias in alias_in_values:
        if alias is not None and aliases and aliases[0] != alias:
            yield f"the guide's alias {aliases[0]!r} is not the values files' {alias!r}"
    subscriptions = _code(_row(text, "Your subscriptions registered with the provider"))
    approval = _row(text, "Approval") or ""
    automatic = approval.startswith("automatic")
    on_list = bool(subscriptions) and all(s in target.auto_approval for s in subscriptions)
    if automatic and not on_list:
        yield f"the guide promises automatic approval, but {target.name!r}'s auto-approval list lacks the tenant's subscriptions"
    if not automatic and on_list and target.auto_approval != []:
        yield f"the guide says approval is manual, but {target.name!r} auto-approves the tenant's subscriptions"
    if target.visibility != ["*"] and not all(s in target.visibility for s in subscriptions):
        yield f"the guide lists subscriptions that are not on {target.name!r}'s visibility list"
