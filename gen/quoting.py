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


_TEMPLATE_PART = re.compile(r"\{([a-z_]+)\}")
_VARIABLE_NAME = re.compile(r"[a-z_][a-z0-9_]*")


def hcl_interpolate(template: str, variables: dict[str, str]) -> str:
    """An HCL string template from `template`, in which each `{part}` of `variables` becomes
    `${var.NAME}` (NAME = variables[part], a plain identifier) and everything else is quoted literally, as
    hcl_quote quotes it. Only for the module's own variables: data never becomes code."""
    out, last = [], 0
    for match in _TEMPLATE_PART.finditer(template):
        if match.group(1) not in variables:
            continue  # not a part this template names: literal text
        name = variables[match.group(1)]
        if not _VARIABLE_NAME.fullmatch(name):
            raise ValueError(f"not a variable name: {name!r}")
        out += [hcl_quote(template[last:match.start()])[1:-1], "${var." + name + "}"]
        last = match.end()
    out.append(hcl_quote(template[last:])[1:-1])
    return '"' + "".join(out) + '"'


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


_encode_string = json.encoder.encode_basestring  # the C implementation when available


def json_text(value: object) -> str:
    """The one JSON encoding used for every data file: sorted keys, 2-space indent, UTF-8, LF.

    Byte-identical to json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) (a test
    holds it to that); written out because json.dumps with indent runs the pure-Python
    encoder, and a fleet has tens of thousands of these files and a lock of tens of megabytes.
    """
    parts: list[str] = []
    _json(value, "", parts.append)
    parts.append("\n")
    return "".join(parts)


class JsonSlot:
    """A hole in a document encoded by json_parts: its caller fills it with the members of an
    object that it encoded itself, with json_member (gen.write.lockfile splices the per-unit
    runs of a fleet's lock file this way). `indent` is the indentation of the object's braces."""

    __slots__ = ("name", "indent")

    def __init__(self, name: object, indent: str = ""):
        self.name, self.indent = name, indent


def json_parts(value: object) -> list:
    """json_text's text in parts: strings, and a JsonSlot (with its indentation) wherever the
    value holds one."""
    parts: list = []
    _json(value, "", parts.append)
    parts.append("\n")
    return parts


def json_member(key: str, value: object, indent: str) -> str:
    """One `"key": value` member of an object whose members are indented by `indent`, as
    json_text writes it."""
    parts = [f"{indent}{_encode_string(key)}: "]
    _json(value, indent, parts.append)
    return "".join(parts)


def _json(value: object, indent: str, append) -> None:
    if type(value) is str:
        append(_encode_string(value))
    elif isinstance(value, dict):
        if not value:
            append("{}")
            return
        inner = indent + "  "
        separator = "{\n"
        for key, item in sorted(value.items()):
            if not isinstance(key, str):
                raise TypeError("JSON object keys must be text")
            if type(item) is str:  # most values: no call
                append(f"{separator}{inner}{_encode_string(key)}: {_encode_string(item)}")
            else:
                append(f"{separator}{inner}{_encode_string(key)}: ")
                _json(item, inner, append)
            separator = ",\n"
        append(f"\n{indent}}}")
    elif isinstance(value, (list, tuple)):
        if not value:
            append("[]")
            return
        inner = indent + "  "
        separator = "[\n"
        for item in value:
            append(separator + inner)
            _json(item, inner, append)
            separator = ",\n"
        append(f"\n{indent}]")
    elif isinstance(value, str):
        append(_encode_string(value))
    elif value is None or isinstance(value, (bool, int, float)):
        append(json.dumps(value))
    elif isinstance(value, JsonSlot):
        append(JsonSlot(value.name, indent))
    else:
        raise TypeError(f"not JSON data: {type(value).__name__}")


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


def markdown_cell_code(value: object) -> str:
    """markdown_code for a table cell: GFM splits a row at every unescaped '|', inside code
    spans too, and removes the escaping backslash there."""
    return markdown_code(value).replace("|", "\\|")
