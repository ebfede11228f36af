"""Reading generated Terraform back: python-hcl2 parsing plus what python-hcl2 leaves to us.

python-hcl2 (8.x, strip_string_quotes off) returns quoted literals with their quotes and
escapes untouched, and expressions as "${...}" text. `decode_string` turns a quoted literal
into its value by HCL's rules (it is the inverse of gen.quoting.hcl_quote and refuses
interpolation, which a literal must not contain); `references` lists what an expression
refers to.
"""

from __future__ import annotations

import re
import threading
from typing import Any




class HclError(ValueError):
    pass


# python-hcl2 serializes with one mutable context shared by every call in the process, so
# parses in two threads corrupt each other's values silently (python-hcl2 issue #327). Any
# caller of python-hcl2 in this process holds this lock (the tests' own readers too).
HCL2_LOCK = threading.Lock()


def parse(text: str) -> dict[str, Any]:
    # imported here: most incremental renders parse no Terraform, and python-hcl2 with lark
    # is a tenth of plgen's start-up
    import hcl2
    from hcl2.utils import SerializationOptions

    options = SerializationOptions(with_comments=False, explicit_blocks=True, strip_string_quotes=False)
    try:
        with HCL2_LOCK:
            return hcl2.loads(text, serialization_options=options)
    except Exception as err:  # python-hcl2 raises lark errors of many types
        raise HclError(f"does not parse as HCL: {str(err).splitlines()[0] if str(err) else type(err).__name__}") from None


_SIMPLE_ESCAPES = {"\\": "\\", '"': '"', "n": "\n", "r": "\r", "t": "\t"}


def is_string_literal(value: Any) -> bool:
    return isinstance(value, str) and len(value) >= 2 and value[0] == '"' and value[-1] == '"'


def decode_string(raw: str) -> str:
    """The value of an HCL quoted string literal; HclError for anything else (an expression,
    an interpolation, an invalid escape)."""
    if not is_string_literal(raw):
        raise HclError(f"expected a string literal, found {raw!r}")
    body = raw[1:-1]
    out: list[str] = []
    i = 0
    while i < len(body):
        char = body[i]
        if char == "\\":
            nxt = body[i + 1:i + 2]
            if nxt in _SIMPLE_ESCAPES:
                out.append(_SIMPLE_ESCAPES[nxt])
                i += 2
            elif nxt in ("u", "U"):
                width = 4 if nxt == "u" else 8
                digits = body[i + 2:i + 2 + width]
                if len(digits) != width or not re.fullmatch(r"[0-9a-fA-F]+", digits):
                    raise HclError(f"invalid \\{nxt} escape in {raw!r}")
                out.append(chr(int(digits, 16)))
                i += 2 + width
            else:
                raise HclError(f"invalid escape \\{nxt} in {raw!r}")
        elif char in "$%" and body[i + 1:i + 2] == char and body[i + 2:i + 3] == "{":
            out.append(char + "{")
            i += 3
        elif char in "$%" and body[i + 1:i + 2] == "{":
            raise HclError(f"template sequence {char}{{ in what must be a literal: {raw!r}")
        elif char == '"':
            raise HclError(f"unescaped quote inside {raw!r}")
        elif char in "\n\r":
            raise HclError(f"raw line break inside {raw!r}")
        else:
            out.append(char)
            i += 1
    return "".join(out)


def is_expression(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("${") and value.endswith("}")


def expression_body(value: str) -> str:
    return value[2:-1]


_STRING_IN_EXPR = re.compile(r'"(?:[^"\\]|\\.)*"')
_INTERPOLATION = re.compile(r"\$\{([^{}]*)\}")
_TRAVERSAL = re.compile(r"(?<![\w.\"-])([A-Za-z_][\w-]*)((?:\.[A-Za-z_][\w-]*|\[[^\]]*\])*)")
_FOR_BINDINGS = re.compile(r"\bfor\s+([A-Za-z_]\w*)(?:\s*,\s*([A-Za-z_]\w*))?\s+in\b")
_KEYWORDS = {"for", "in", "if", "true", "false", "null", "each", "count", "self", "path", "terraform"}


def value_references(value: Any) -> list[tuple[str, ...]]:
    """references() of a parsed attribute value; a literal refers to nothing."""
    return references(expression_body(value)) if is_expression(value) else []


def references(text: str) -> list[tuple[str, ...]]:
    """Traversals in an expression, as tuples of their attribute names: `var.x` -> ('var', 'x');
    `data.azurerm_lb.eastus2.frontend_ip_configuration` -> ('data', 'azurerm_lb', 'eastus2',
    'frontend_ip_configuration'). Function names, keywords and for-expression variables are
    left out; string literals are read only for their interpolations."""
    inner = [m.group(1) for s in _STRING_IN_EXPR.findall(text) for m in _INTERPOLATION.finditer(s)]
    code = " ".join([_STRING_IN_EXPR.sub('""', text)] + inner)
    bound = {name for match in _FOR_BINDINGS.finditer(code) for name in match.groups() if name}
    found = []
    for match in _TRAVERSAL.finditer(code):
        head, tail = match.group(1), match.group(2)
        following = code[match.end():match.end() + 1]
        if following == "(" or head in _KEYWORDS or head in bound:
            continue
        attrs = tuple(part for part in re.findall(r"\.([A-Za-z_][\w-]*)", re.sub(r"\[[^\]]*\]", "", tail)))
        found.append((head,) + attrs)
    return found
