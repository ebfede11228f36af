"""The audited quoting filters: the only way a value is inlined into generated code.

Free text never takes this path (it travels in JSON data files); these filters still escape
everything their language treats specially, so an inlined value can only ever be a string.
"""

from __future__ import annotations

import json
import re
import unicodedata

_HCL_SIMPLE = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}
_BICEP_SIMPLE = {"\\": "\\\\", "'": "\\'", "\n": "\\n", "\r": "\\r", "\t": "\\t", "$": "\\$"}


def _needs_unicode_escape(char: str) -> bool:
    # Controls, format characters (bidi, zero-width) and separators would make the source
    # read differently from what it says; escape them so a reviewer sees them.
    return unicodedata.category(char) in {"Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"}


def hcl_quote(value: object) -> str:
    """A Terraform (HCL native syntax) quoted string literal that reads back as `value`.

    HCL template strings interpret `${` and `%{`; doubling the sigil (`$${`, `%%{`) makes them
    literal. Backslash escapes: \\\\ \\" \\n \\r \\t \\uNNNN \\UNNNNNNNN.
    """
    if not isinstance(value, str):
        raise TypeError(f"hcl_quote takes text, not {type(value).__name__}")
    out = []
    for index, char in enumerate(value):
        following = value[index + 1:index + 2]
        if char in _HCL_SIMPLE:
            out.append(_HCL_SIMPLE[char])
        elif char in "$%" and following == "{":
            out.append(char + char)
        elif _needs_unicode_escape(char):
            code = ord(char)
            out.append(f"\\u{code:04X}" if code <= 0xFFFF else f"\\U{code:08X}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def hcl_list(values) -> str:
    """A one-line HCL list of quoted strings."""
    return "[" + ", ".join(hcl_quote(v) for v in values) + "]"


def hcl_bool(value: bool) -> str:
    if not isinstance(value, bool):
        raise TypeError("hcl_bool takes a bool")
    return "true" if value else "false"


def bicep_quote(value: object) -> str:
    """A Bicep single-quoted string literal that reads back as `value`.

    Bicep escapes: \\\\ \\' \\n \\r \\t \\$ (so `${` never interpolates) and \\u{X...}.
    """
    if not isinstance(value, str):
        raise TypeError(f"bicep_quote takes text, not {type(value).__name__}")
    out = []
    for char in value:
        if char in _BICEP_SIMPLE:
            out.append(_BICEP_SIMPLE[char])
        elif _needs_unicode_escape(char):
            out.append(f"\\u{{{ord(char):X}}}")
        else:
            out.append(char)
    return "'" + "".join(out) + "'"


def json_text(value: object) -> str:
    """The one JSON encoding used for every data file: sorted keys, 2-space indent, UTF-8, LF."""
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


_MARKDOWN_SPECIAL = set("\\`*_[]|~")  # free text never starts a line, so # - + need no escape


def markdown_text(value: object) -> str:
    """Free text as inert Markdown inline text: every character Markdown or HTML could read
    as syntax is backslash-escaped (or, for < > &, written as an entity)."""
    text = str(value)
    out = []
    for char in text:
        if char == "<":
            out.append("&lt;")
        elif char == ">":
            out.append("&gt;")
        elif char == "&":
            out.append("&amp;")
        elif char in _MARKDOWN_SPECIAL:
            out.append("\\" + char)
        elif char in "\r\n":
            out.append(" ")
        else:
            out.append(char)
    return "".join(out)


def markdown_code(value: object) -> str:
    """Free text as a Markdown code span whose fence is longer than any backtick run inside."""
    text = str(value).replace("\r", " ").replace("\n", " ")
    fence = "`" * (max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or not text else ""
    return f"{fence}{pad}{text}{pad}{fence}"
