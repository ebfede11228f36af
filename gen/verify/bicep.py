"""Bicep checks: parse (pycep), a strict scan of string literals (pycep accepts invalid
escapes and raw line breaks), resource bodies against the bicep-types data, module parameters,
and the facts a template states, for the equivalence check.

pycep returns string literals and symbol references alike as plain strings (with escapes left
raw); a string is read as a reference when it names a declared symbol, else as a literal and
decoded with `decode_string_body`.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from ..resources import reference_file

TYPES_FILE = "bicep-types.json"
FLAG_REQUIRED, FLAG_READ_ONLY = 1, 2
RESOURCE_META = {"parent", "scope", "dependsOn"}
_ESCAPES = {"\\": "\\", "'": "'", "n": "\n", "r": "\r", "t": "\t", "$": "$"}


class BicepError(ValueError):
    pass


_parser = None  # a pycep BicepParser, made when first needed (as gen.verify.hcl imports python-hcl2)


def parse(text: str) -> dict[str, Any]:
    global _parser
    if _parser is None:
        from pycep import BicepParser

        _parser = BicepParser()
    try:
        return _parser.parse(text=text)
    except Exception as err:  # pycep raises lark errors of many types
        first = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise BicepError(f"does not parse as Bicep: {first}") from None


def decode_string_body(body: str) -> str:
    """The value of the inside of a Bicep single-quoted string; BicepError on an invalid
    escape, an unescaped quote, a raw line break or an interpolation."""
    out: list[str] = []
    i = 0
    while i < len(body):
        char = body[i]
        if char == "\\":
            nxt = body[i + 1:i + 2]
            if nxt in _ESCAPES:
                out.append(_ESCAPES[nxt])
                i += 2
            elif nxt == "u":
                match = re.match(r"\\u\{([0-9a-fA-F]{1,6})\}", body[i:])
                if not match or int(match.group(1), 16) > 0x10FFFF:
                    raise BicepError(f"invalid \\u escape in '{body}'")
                out.append(chr(int(match.group(1), 16)))
                i += match.end()
            else:
                raise BicepError(f"invalid escape \\{nxt} in '{body}'")
        elif char == "'":
            raise BicepError(f"unescaped quote in '{body}'")
        elif char in "\r\n":
            raise BicepError(f"raw line break in '{body}'")
        elif char == "$" and body[i + 1:i + 2] == "{":
            raise BicepError(f"interpolation ${{ in what must be a literal: '{body}'")
        else:
            out.append(char)
            i += 1
    return "".join(out)


def literal_problems(text: str) -> Iterator[str]:
    """Scan every string literal in Bicep source: only valid escapes, no raw line breaks, no
    multi-line ''' strings (data never travels in them). Interpolations are allowed only in
    literals that the templates write themselves, which never contain data."""
    i, line = 0, 1
    while i < len(text):
        char = text[i]
        if char == "\n":
            line += 1
            i += 1
        elif text.startswith("//", i):
            i = text.find("\n", i) if "\n" in text[i:] else len(text)
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            if end < 0:
                yield f"line {line}: unterminated comment"
                return
            line += text.count("\n", i, end)
            i = end + 2
        elif text.startswith("'''", i):
            yield f"line {line}: multi-line ''' string (not allowed in generated Bicep)"
            end = text.find("'''", i + 3)
            i = len(text) if end < 0 else end + 3
        elif char == "'":
            j = i + 1
            while j < len(text) and text[j] != "'" and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            if j >= len(text) or text[j] == "\n":
                yield f"line {line}: string literal not closed on its line"
                i = j
                continue
            body = text[i + 1:j]
            try:
                # an interpolation starts at a `${` whose `$` is not escaped (an even run of backslashes)
                decode_string_body(re.sub(r"(?<!\\)((?:\\\\)*)\$\{[^}]*\}", r"\1", body))
            except BicepError as err:
                yield f"line {line}: {err}"
            i = j + 1
        else:
            i += 1


@functools.cache
def bicep_types(path: Path | None = None) -> dict[str, Any]:
    with open(path or reference_file(TYPES_FILE), encoding="utf-8") as handle:
        return json.load(handle)


def _deref(types: list, ref: Any) -> dict:
    """Follow a bicep-types link: {"$ref": "#/N"} or the bare "#/N" of the resources map."""
    if isinstance(ref, dict) and "$ref" in ref:
        ref = ref["$ref"]
    return types[int(ref.split("/")[-1])] if isinstance(ref, str) else ref


@dataclass
class BicepFile:
    parsed: dict[str, Any]
    symbols: set[str] = field(default_factory=set)

    @classmethod
    def of(cls, parsed: dict[str, Any]) -> "BicepFile":
        symbols: set[str] = set()
        for section in ("parameters", "variables", "resources", "modules", "outputs"):
            symbols |= set((parsed.get(section) or {}).keys())
        return cls(parsed, symbols)

    def is_reference(self, value: Any) -> bool:
        return isinstance(value, str) and value in self.symbols

    def literal(self, value: Any) -> Any:
        """A literal's value (strings decoded), or the value unchanged when it is a reference
        or an expression."""
        if isinstance(value, str) and not self.is_reference(value):
            try:
                return decode_string_body(value)
            except BicepError:
                return value  # literal_problems() reports it; facts compare the raw text

        if isinstance(value, list):
            return [self.literal(item) for item in value]
        return value


def _is_expression(value: Any) -> bool:
    return isinstance(value, dict) and len(value) == 1 and next(iter(value)) in ("operator", "function", "interpolation")


def resource_problems(bicep: BicepFile) -> Iterator[str]:
    data = bicep_types()
    types = data["types"]
    for symbol, resource in sorted((bicep.parsed.get("resources") or {}).items()):
        key = f"{resource['type']}@{resource['api_version']}"
        where = f"resource {symbol} '{key}'"
        if key not in data["resources"]:
            yield f"{where}: type and API version not in the bicep-types reference"
            continue
        body_type = _deref(types, _deref(types, data["resources"][key])["body"])
        config = resource["config"]
        if resource.get("existing"):
            extra = set(config) - {"name", "parent", "scope"}
            if extra:
                yield f"{where}: an existing resource takes only name, parent and scope, not {', '.join(sorted(extra))}"
            continue
        yield from (f"{where}: {p}" for p in _object_problems(bicep, types, config, body_type, "", meta=RESOURCE_META))


def _object_problems(bicep: BicepFile, types: list, value: Any, object_type: dict, path: str,
                     meta: frozenset | set = frozenset()) -> Iterator[str]:
    if object_type.get("$type") != "ObjectType":
        return
    properties = object_type.get("properties", {})
    if not isinstance(value, dict):
        return
    for key, item in value.items():
        if key in meta:
            continue
        spec = properties.get(key)
        if spec is None:
            if object_type.get("additionalProperties") is None:
                yield f"{path}{key}: unknown property"
            continue
        if spec.get("flags", 0) & FLAG_READ_ONLY:
            yield f"{path}{key}: read-only property cannot be set"
            continue
        yield from _value_problems(bicep, types, item, _deref(types, spec["type"]), f"{path}{key}")
    for key, spec in properties.items():
        if spec.get("flags", 0) & FLAG_REQUIRED and key not in value:
            yield f"{path}{key}: required property is missing"


def _value_problems(bicep: BicepFile, types: list, value: Any, value_type: dict, path: str) -> Iterator[str]:
    if _is_expression(value) or bicep.is_reference(value):
        if _is_expression(value) and "operator" in value and value["operator"].get("type") == "conditional":
            operands = value["operator"]["operands"]
            for branch in ("true_value", "false_value"):
                yield from _value_problems(bicep, types, operands[branch], value_type, path)
        return
    kind = value_type.get("$type")
    if kind == "ObjectType":
        if not isinstance(value, dict):
            yield f"{path}: expects an object"
            return
        yield from _object_problems(bicep, types, value, value_type, path + ".")
    elif kind == "ArrayType":
        if not isinstance(value, list):
            yield f"{path}: expects an array"
            return
        item_type = _deref(types, value_type["itemType"])
        for index, item in enumerate(value):
            yield from _value_problems(bicep, types, item, item_type, f"{path}[{index}]")
    elif kind in ("UnionType", "StringLiteralType"):
        allowed = _string_literals(types, value_type)
        if allowed is not None and isinstance(value, str):
            decoded = bicep.literal(value)
            if decoded not in allowed:
                yield f"{path}: {decoded!r} is not one of {', '.join(sorted(allowed))}"
    elif kind == "BooleanType" and not isinstance(value, bool):
        yield f"{path}: expects true or false"
    elif kind == "IntegerType" and (isinstance(value, bool) or not isinstance(value, int)):
        yield f"{path}: expects an integer"
    elif kind == "StringType" and not isinstance(value, str):
        yield f"{path}: expects a string"


def _string_literals(types: list, value_type: dict) -> set[str] | None:
    """The documented values of a string enum, or None for a plain string.

    ARM enums are often "open" (the literals plus any string) for forward compatibility; plgen
    only ever means a documented value, so a value outside the literals is a typo here.
    """
    if value_type.get("$type") == "StringLiteralType":
        return {value_type["value"]}
    allowed = {element["value"] for element in map(lambda e: _deref(types, e), value_type.get("elements", []))
               if element.get("$type") == "StringLiteralType"}
    return allowed or None


def reference_problems(bicep: BicepFile) -> Iterator[str]:
    """Every `symbol.property`, `symbol[index]` and `symbol.function()` names a declared
    parameter, variable, resource or module (pycep leaves the symbol as a plain string)."""
    def walk(value: Any, where: str, chained: bool = False) -> Iterator[str]:
        # pycep nests `a.b[0].c` as accessor(a, accessor(index(b, 0), c)): only the head of
        # a chain is a symbol, the rest are property names.
        if isinstance(value, dict):
            operator = value.get("operator")
            kind = operator.get("type") if isinstance(operator, dict) else None
            if kind in ("property_accessor", "function_accessor", "index_accessor"):
                operands = operator.get("operands", {})
                head = operands.get("operand_1")
                if isinstance(head, str) and not chained and head not in bicep.symbols:
                    yield f"{where}: unknown symbol {head!r}"
                if isinstance(head, dict):
                    yield from walk(head, where, chained)
                yield from walk(operands.get("operand_2"), where, chained=kind == "property_accessor")
                return
            for item in value.values():
                yield from walk(item, where)
        elif isinstance(value, list):
            for item in value:
                yield from walk(item, where)

    for section in ("resources", "modules", "outputs", "variables"):
        for symbol, body in sorted((bicep.parsed.get(section) or {}).items()):
            yield from walk(body, f"{section[:-1]} {symbol}")


def module_problems(bicep: BicepFile, modules: dict[str, BicepFile]) -> Iterator[str]:
    """Each module call passes exactly the parameters its file declares, all required ones."""
    for symbol, module in sorted((bicep.parsed.get("modules") or {}).items()):
        target = module.get("detail", {}).get("path", "")
        called = modules.get(target)
        if called is None:
            yield f"module {symbol}: '{target}' is not a generated file"
            continue
        declared = called.parsed.get("parameters") or {}
        passed = module["config"].get("params") or {}
        for name in sorted(set(passed) - set(declared)):
            yield f"module {symbol}: passes unknown parameter {name}"
        for name, spec in sorted(declared.items()):
            if spec.get("default") is None and name not in passed:
                yield f"module {symbol}: required parameter {name} is not passed"
            allowed = next((d.get("argument") for d in spec.get("decorators", []) if d.get("type") == "allowed"), None)
            value = passed.get(name)
            if allowed is not None and isinstance(value, str) and not bicep.is_reference(value):
                if bicep.literal(value) not in allowed:
                    yield f"module {symbol}: parameter {name} = {bicep.literal(value)!r} is not one of {', '.join(map(str, allowed))}"


def parameter_file_problems(bicep: BicepFile, parameters: dict[str, Any], may_be_missing: set[str]) -> Iterator[str]:
    declared = bicep.parsed.get("parameters") or {}
    given = parameters.get("parameters", {})
    for name in sorted(set(given) - set(declared)):
        yield f"parameter {name} is not declared in main.bicep"
    for name, spec in sorted(declared.items()):
        if spec.get("default") is None and name not in given and name not in may_be_missing:
            yield f"required parameter {name} has no value"


@dataclass
class BicepUnit:
    """A bicep/ directory: its main template and the values of main.parameters.json."""

    main: BicepFile
    parameters: dict[str, Any]

    def value(self, expression: Any) -> Any:
        """A literal, or a bare parameter reference resolved from the parameters file or the
        parameter's default ('' and missing read as None)."""
        if self.main.is_reference(expression):
            declared = (self.main.parsed.get("parameters") or {}).get(expression)
            if declared is None:
                return expression
            if expression in self.parameters:
                found = self.parameters[expression].get("value")
            else:
                found = self.main.literal(declared.get("default")) if isinstance(declared.get("default"), str) else declared.get("default")
            return None if found in ("", None) else found
        return self.main.literal(expression)

    def resources(self, type_name: str) -> list[dict[str, Any]]:
        return [r["config"] for _, r in sorted((self.main.parsed.get("resources") or {}).items())
                if r["type"] == type_name and not r.get("existing")]


SUBNET_TYPE = "Microsoft.Network/virtualNetworks/subnets"


def _writes_subnets(module_file: BicepFile) -> bool:
    return any(r["type"] == SUBNET_TYPE and not r.get("existing")
               for r in (module_file.parsed.get("resources") or {}).values())


def _referenced_symbols(bicep: BicepFile, value: Any) -> set[str]:
    """Symbols a module or resource body depends on: its dependsOn and every reference."""
    found: set[str] = set()

    def walk(item: Any) -> None:
        if isinstance(item, str) and bicep.is_reference(item):
            found.add(item)
        elif isinstance(item, dict):
            for child in item.values():
                walk(child)
        elif isinstance(item, list):
            for child in item:
                walk(child)

    walk(value)
    return found


def vnet_write_order_problems(bicep: BicepFile, modules: dict[str, BicepFile]) -> Iterator[str]:
    """Deployment order: modules that write subnets of the same VNet must be ordered one after
    another (explicitly or through references), because Azure refuses parallel subnet PUTs on
    one VNet (AnotherOperationInProgress, Azure/bicep#5132). ARM runs everything else in
    parallel."""
    calls = bicep.parsed.get("modules") or {}
    declared = {**(bicep.parsed.get("resources") or {}), **calls}
    edges = {symbol: _referenced_symbols(bicep, body.get("config", {})) for symbol, body in declared.items()}
    writers: dict[tuple, list[str]] = {}
    for symbol, call in sorted(calls.items()):
        called = modules.get(call.get("detail", {}).get("path", ""))
        if called is None or not _writes_subnets(called):
            continue
        config = call["config"]
        vnet = json.dumps([config.get("scope"), (config.get("params") or {}).get("vnetName")], sort_keys=True)
        writers.setdefault(vnet, []).append(symbol)

    def reaches(start: str, goal: str) -> bool:
        seen, todo = set(), [start]
        while todo:
            symbol = todo.pop()
            if symbol == goal:
                return True
            if symbol not in seen:
                seen.add(symbol)
                todo.extend(edges.get(symbol, ()))
        return False

    for vnet, symbols in sorted(writers.items()):
        for i, first in enumerate(symbols):
            for second in symbols[i + 1:]:
                if not reaches(first, second) and not reaches(second, first):
                    yield (f"modules {first} and {second} write subnets of the same virtual network and may run in "
                           "parallel (Azure refuses: AnotherOperationInProgress); chain them with dependsOn")
