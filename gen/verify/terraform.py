"""Terraform checks: each file against the azurerm provider schema, each module's references,
and the values a module receives, read back from the parsed files."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from ..resources import reference_file
from . import hcl

PROVIDER_KEY = "registry.terraform.io/hashicorp/azurerm"
SCHEMA_FILE = "azurerm-provider-schema.json"
META_ARGUMENTS = {"count", "for_each", "depends_on", "lifecycle", "provider"}
NOT_SETTABLE = {"id"}  # the dump marks `id` optional+computed, but it is the provider's to set


@functools.cache
def provider_schema(path: Path | None = None) -> dict[str, Any]:
    with open(path or reference_file(SCHEMA_FILE), encoding="utf-8") as handle:
        data = json.load(handle)
    return data["provider_schemas"][PROVIDER_KEY]


def _blocks(body: Any) -> list[dict]:
    return body if isinstance(body, list) else [body]


def _label(raw: str) -> str:
    return raw[1:-1] if raw.startswith('"') and raw.endswith('"') else raw


@dataclass
class ParsedModule:
    """The declarations and bodies of one directory of .tf files."""

    files: dict[str, dict[str, Any]]
    variables: dict[str, dict] = field(default_factory=dict)
    locals: dict[str, Any] = field(default_factory=dict)
    resources: dict[tuple[str, str], dict] = field(default_factory=dict)
    data: dict[tuple[str, str], dict] = field(default_factory=dict)
    outputs: dict[str, dict] = field(default_factory=dict)
    modules: dict[str, dict] = field(default_factory=dict)
    where: dict[tuple, str] = field(default_factory=dict)
    moved: list[tuple[str, dict]] = field(default_factory=list)  # (file, block)
    imports: list[tuple[str, dict]] = field(default_factory=list)
    terraform_blocks: dict[str, list[dict]] = field(default_factory=dict)  # file -> its terraform {} blocks

    @classmethod
    def from_files(cls, files: dict[str, dict[str, Any]]) -> "ParsedModule":
        module = cls(files)
        for name, parsed in sorted(files.items()):
            for top in parsed.get("variable", []):
                for label, body in top.items():
                    module.variables[_label(label)] = body
                    module.where[("variable", _label(label))] = name
            for top in parsed.get("locals", []):
                for key, value in top.items():
                    if key != "__is_block__":
                        module.locals[key] = value
                        module.where[("local", key)] = name
            for kind, table in (("resource", module.resources), ("data", module.data)):
                for top in parsed.get(kind, []):
                    for type_label, instances in top.items():
                        for name_label, body in instances.items():
                            key = (_label(type_label), _label(name_label))
                            table[key] = body
                            module.where[(kind,) + key] = name
            for top in parsed.get("output", []):
                for label, body in top.items():
                    module.outputs[_label(label)] = body
                    module.where[("output", _label(label))] = name
            for top in parsed.get("module", []):
                for label, body in top.items():
                    module.modules[_label(label)] = body
            module.moved += [(name, block) for block in parsed.get("moved", [])]
            module.imports += [(name, block) for block in parsed.get("import", [])]
            if parsed.get("terraform"):
                module.terraform_blocks[name] = list(parsed["terraform"])
        return module


def schema_problems(parsed: dict[str, Any], schema: dict[str, Any] | None = None) -> Iterator[str]:
    """Every resource and data block checked against the azurerm schema."""
    schema = schema or provider_schema()
    for kind, table_name in (("resource", "resource_schemas"), ("data", "data_source_schemas")):
        for top in parsed.get(kind, []):
            for type_label, instances in top.items():
                type_name = _label(type_label)
                for name_label, body in instances.items():
                    where = f'{kind} "{type_name}" "{_label(name_label)}"'
                    entry = schema[table_name].get(type_name)
                    if entry is None:
                        yield f"{where}: unknown {kind} type for azurerm {schema.get('provider_version', '')}".rstrip()
                        continue
                    yield from (f"{where}: {p}" for p in _block_problems(body, entry["block"], is_data=kind == "data"))


def _block_problems(body: dict[str, Any], block: dict[str, Any], *, is_data: bool = False, path: str = "") -> Iterator[str]:
    attributes = block.get("attributes", {})
    block_types = block.get("block_types", {})
    counts: dict[str, int] = {}
    for key, value in body.items():
        if key == "__is_block__" or key in META_ARGUMENTS:
            continue
        if key == "dynamic":
            for dyn in _blocks(value):
                for label, dyn_body in dyn.items():
                    if label == "__is_block__":
                        continue
                    name = _label(label)
                    if name not in block_types:
                        yield f"{path}dynamic {name}: not a block of this type"
                        continue
                    for content in _blocks(dyn_body).__iter__():
                        for inner in _blocks(content.get("content", [{}])):
                            yield from _block_problems(inner, block_types[name]["block"], path=f"{path}{name}.")
            continue
        if key in block_types and isinstance(value, list) and value and all(isinstance(v, dict) and v.get("__is_block__") for v in value):
            spec = block_types[key]
            counts[key] = len(value)
            for instance in value:
                yield from _block_problems(instance, spec["block"], path=f"{path}{key}.")
            continue
        spec = attributes.get(key)
        if spec is None:
            yield f"{path}{key}: unknown {'block' if isinstance(value, list) and value and isinstance(value[0], dict) else 'argument'}"
            continue
        if spec.get("deprecated"):
            yield f"{path}{key}: deprecated argument"
        if (spec.get("computed") and not spec.get("optional") and not spec.get("required")) or key in NOT_SETTABLE:
            yield f"{path}{key}: computed by the provider, cannot be set"
        problem = _literal_type_problem(value, spec["type"])
        if problem:
            yield f"{path}{key}: {problem}"
    for key, spec in attributes.items():
        if spec.get("required") and key not in body:
            yield f"{path}{key}: required argument is missing"
    for key, spec in block_types.items():
        count = counts.get(key, 0)
        dynamic = any(_label(label) == key for dyn in _blocks(body.get("dynamic", [])) for label in dyn if label != "__is_block__")
        low = spec.get("min_items", 0)
        high = spec.get("max_items") or (1 if spec.get("nesting_mode") == "single" else None)
        if count < low and not dynamic:
            yield f"{path}{key}: at least {low} block(s) required, found {count}"
        if high is not None and count > high:
            yield f"{path}{key}: at most {high} block(s) allowed, found {count}"


def _literal_type_problem(value: Any, schema_type: Any) -> str | None:
    """Type-check values that are literals; expressions are Terraform's to check at plan time."""
    if hcl.is_expression(value):
        return None
    kind = schema_type if isinstance(schema_type, str) else schema_type[0]
    if kind == "bool" and not isinstance(value, bool):
        return f"expects true or false, got {value!r}"
    if kind == "number" and (isinstance(value, bool) or not isinstance(value, (int, float))):
        return f"expects a number, got {value!r}"
    if kind in ("list", "set") and not isinstance(value, list):
        return f"expects a list, got {value!r}"
    if kind == "map" and not isinstance(value, dict):
        return f"expects a map, got {value!r}"
    if kind == "string" and not (hcl.is_string_literal(value) or isinstance(value, (int, float, bool))):
        return f"expects a string, got {value!r}"
    if kind == "string" and hcl.is_string_literal(value):
        try:
            hcl.decode_string(value)
        except hcl.HclError as err:
            if "template sequence" not in str(err):
                return str(err)
    return None


def _walk_expressions(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        if hcl.is_expression(value):
            yield hcl.expression_body(value)
        elif hcl.is_string_literal(value) and "${" in value:
            yield value
    elif isinstance(value, list):
        for item in value:
            yield from _walk_expressions(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            if key != "__is_block__":
                yield from _walk_expressions(item)


def _dynamic_iterators(body: Any) -> set[str]:
    names: set[str] = set()
    if isinstance(body, dict):
        for dyn in _blocks(body.get("dynamic", [])):
            names.update(_label(label) for label in dyn if label != "__is_block__")
        for value in body.values():
            if isinstance(value, (list, dict)):
                for item in _blocks(value) if isinstance(value, list) else [value]:
                    names |= _dynamic_iterators(item)
    return names


def reference_problems(module: ParsedModule) -> Iterator[str]:
    """Every var./local./data./module./resource reference resolves inside the module."""
    scopes: list[tuple[str, Any]] = []
    for (kind, *labels), file_name in sorted(module.where.items()):
        if kind == "variable":
            body = module.variables[labels[0]]
            scopes.append((f'{file_name}: variable "{labels[0]}"', {k: v for k, v in body.items() if k != "type"}))
        elif kind == "local":
            scopes.append((f"{file_name}: local.{labels[0]}", module.locals[labels[0]]))
        elif kind in ("resource", "data"):
            table = module.resources if kind == "resource" else module.data
            scopes.append((f'{file_name}: {kind} "{labels[0]}" "{labels[1]}"', table[tuple(labels)]))
        elif kind == "output":
            scopes.append((f'{file_name}: output "{labels[0]}"', module.outputs[labels[0]]))
    for name, parsed in module.files.items():
        for top in parsed.get("provider", []):
            scopes.append((f"{name}: provider", top))
    for where, body in scopes:
        iterators = _dynamic_iterators(body)
        for expression in _walk_expressions(body):
            for ref in hcl.references(expression):
                problem = _resolve(module, ref, iterators)
                if problem:
                    yield f"{where}: {problem}"
    if module.moved or module.imports:
        from .refactoring import block_problems

        yield from block_problems(module)


def _resolve(module: ParsedModule, ref: tuple[str, ...], iterators: set[str]) -> str | None:
    head = ref[0]
    if head == "var":
        return None if len(ref) > 1 and ref[1] in module.variables else f"undeclared variable {'.'.join(ref[:2])}"
    if head == "local":
        return None if len(ref) > 1 and ref[1] in module.locals else f"undeclared local {'.'.join(ref[:2])}"
    if head == "data":
        return None if len(ref) > 2 and (ref[1], ref[2]) in module.data else f"undeclared data source {'.'.join(ref[:3])}"
    if head == "module":
        return None if len(ref) > 1 and ref[1] in module.modules else f"undeclared module {'.'.join(ref[:2])}"
    if head in iterators:
        return None
    if head.startswith("azurerm_"):
        return None if len(ref) > 1 and (head, ref[1]) in module.resources else f"undeclared resource {'.'.join(ref[:2])}"
    return f"unknown reference {'.'.join(ref)}"


def evaluate(value: Any, variables: dict[str, Any], module: ParsedModule) -> Any:
    """The value of a literal or of a bare `var.NAME` reference (from tfvars, else the
    variable's literal default). Anything else is returned as the expression text."""
    if hcl.is_string_literal(value):
        try:
            return hcl.decode_string(value)
        except hcl.HclError:
            return value  # a quoted template ("pe-${var.x}"): its text, which the comparison then names
    if isinstance(value, list):
        return [evaluate(item, variables, module) for item in value]
    if hcl.is_expression(value):
        body = hcl.expression_body(value).strip()
        if body.startswith("var.") and body[4:].isidentifier() and body[4:] in module.variables:
            name = body[4:]
            if name in variables:
                return variables[name]
            default = module.variables[name].get("default")
            return None if default in (None, "${null}", "null") else evaluate(default, variables, module)
        return value
    return value
