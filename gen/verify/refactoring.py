"""Checks of the blocks that act on Terraform's state rather than on Azure: `moved` (Terraform
1.1+) and `import` (1.5+; an id built from the module's variables needs 1.6+), and of the
addresses themselves: every resource block the templates write is one of the identity table's
(gen.plan.identities), at the table's address, so the lock records what Terraform will see.

Terraform refuses a moved block whose `from` is still declared, whose `to` is not, or two
moved blocks from one address; an import block must target a declared resource, once, with an
id in the resource type's import format (schemas/reference/azurerm-replacement.json).
"""

from __future__ import annotations

import re
from typing import Any, Iterator

from ..plan.identities import replacement_reference
from . import hcl

_ADDRESS = re.compile(r"(azurerm_[a-z0-9_]+)\.([A-Za-z_][A-Za-z0-9_-]*)")
_VARIABLE = re.compile(r"\$\{var\.([A-Za-z_][A-Za-z0-9_]*)\}")
_PLACEHOLDER = re.compile(r"\\\{[a-z_]+\\\}")


def _address(value: Any) -> tuple[str, str] | None:
    match = _ADDRESS.fullmatch(hcl.expression_body(value).strip()) if hcl.is_expression(value) else None
    return (match.group(1), match.group(2)) if match else None


def import_id_pattern(type_name: str) -> re.Pattern | None:
    entry = replacement_reference().get(type_name)
    if entry is None:
        return None
    return re.compile(_PLACEHOLDER.sub(lambda _: r"[^/|]+", re.escape(entry["import_id"])))


def block_problems(module) -> Iterator[str]:
    """Problems of the module's moved and import blocks (module: gen.verify.terraform.ParsedModule)."""
    declared = set(module.resources)
    sources: dict[tuple[str, str], str] = {}
    targets: set[tuple[str, str]] = set()
    for file_name, block in module.moved:
        source, target = _address(block.get("from")), _address(block.get("to"))
        where = f"{file_name}: moved block"
        if source is None or target is None:
            yield f"{where}: `from` and `to` must each be a resource address (azurerm_TYPE.NAME)"
            continue
        shown = f"{'.'.join(source)} -> {'.'.join(target)}"
        if source[0] != target[0]:
            yield f"{where} {shown}: a move cannot change the resource type"
        if target not in declared:
            yield f"{where} {shown}: no resource is declared at the target"
        if source in declared:
            yield f"{where} {shown}: the source is still declared (Terraform refuses to move a declared resource)"
        if source in sources:
            yield f"{where} {shown}: {'.'.join(source)} is moved twice (also in {sources[source]})"
        sources.setdefault(source, file_name)
        targets.add(target)
    for source in sorted(set(sources) & targets):
        yield f"{sources[source]}: moved block: {'.'.join(source)} is both moved and a move's target (a chain)"
    imported: dict[tuple[str, str], str] = {}
    for file_name, block in module.imports:
        target = _address(block.get("to"))
        where = f"{file_name}: import block"
        if target is None:
            yield f"{where}: `to` must be a resource address (azurerm_TYPE.NAME)"
            continue
        shown = f"{where} to {'.'.join(target)}"
        if target not in declared:
            yield f"{shown}: no resource is declared there"
        if target in imported:
            yield f"{shown}: imported twice (also in {imported[target]})"
        imported.setdefault(target, file_name)
        yield from (f"{shown}: {p}" for p in _id_problems(module, file_name, target[0], block.get("id")))


def _id_problems(module, file_name: str, type_name: str, raw: Any) -> Iterator[str]:
    pattern = import_id_pattern(type_name)
    if pattern is None:
        yield f"no import id format is known for {type_name}"
        return
    if not hcl.is_string_literal(raw):
        yield "the id must be a quoted string"
        return
    names = _VARIABLE.findall(raw)
    if names:
        for name in names:
            if name not in module.variables:
                yield f"the id uses undeclared variable var.{name}"
        versions = [str(block.get("required_version", "")) for block in module.terraform_blocks.get(file_name, [])]
        if not any(">= 1.6" in version or ">= 1.7" in version for version in versions):
            yield "an id built from variables needs Terraform 1.6 or later: declare required_version \">= 1.6\" in this file"
        value = _VARIABLE.sub("x", raw[1:-1])
    else:
        try:
            value = hcl.decode_string(raw)
        except hcl.HclError as err:
            yield str(err)
            return
    if not pattern.fullmatch(value):
        yield f"the id {value!r} is not in {type_name}'s import format {replacement_reference()[type_name]['import_id']}"


def address_problems(expected: dict[str, set[str]], modules: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """Each rendered module declares exactly the identity table's addresses for it."""
    for directory, module in sorted(modules.items()):
        if directory not in expected:
            continue
        actual = {f"{type_name}.{label}" for type_name, label in module.resources}
        for address in sorted(actual - expected[directory]):
            yield directory, (f"resource {address} is not in plgen's identity table (gen/plan/identities.py): "
                              "its identity would not be recorded, so a later rename could destroy it")
        for address in sorted(expected[directory] - actual):
            yield directory, f"the identity table expects resource {address}, which the templates do not declare"
