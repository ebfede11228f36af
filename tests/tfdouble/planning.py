"""PlanResourceChange as an SDKv2 provider answers it, minus the cloud.

Terraform sends the proposed new state (config merged with prior state by Terraform's own
rules); the double then

- sets every computed attribute that is still null to unknown ("known after apply"),
- fills optional arguments the config leaves null with the schema Default from
  azurerm-validation.json (the SDK does this, on create and update alike, which is why SDKv2
  providers answer with legacy_type_system = true),
- asks `requires_replace()` which attribute paths force a new resource (none yet: a later
  change fills it from azurerm-replacement.json's force_new lists; the hook already receives
  everything it needs),
- runs the provider's CustomizeDiff checks that fail a plan (customize_diff.py).
"""

from __future__ import annotations

from typing import Any

from . import customize_diff, cty
from .cty import UNKNOWN

PRIMITIVE_DEFAULT_TYPES = {"string": str, "number": (int, float), "bool": bool}


def plan(type_name: str, block: dict, rules: dict | None, prior: Any, proposed: Any, config: Any
         ) -> tuple[Any, list[list[tuple[str, Any]]], list[str]]:
    """(planned state, requires-replace attribute paths, plan errors) for one resource instance."""
    if proposed is None:  # destroy: the planned state is null
        return None, [], []
    defaults = _defaults(rules)
    planned = _plan_block(block, proposed, config, defaults, "")
    return (planned, requires_replace(type_name, block, prior, planned, config),
            customize_diff.errors(type_name, prior, planned, config))


def requires_replace(type_name: str, block: dict, prior: Any, planned: Any, config: Any
                     ) -> list[list[tuple[str, Any]]]:
    """Attribute paths whose change replaces the resource. Nothing yet: without a prior state
    (every plan the tests make creates) there is nothing to replace."""
    return []


def _defaults(rules: dict | None) -> dict[str, Any]:
    result = {}
    for dotted, rule in (rules or {}).get("attributes", {}).items():
        if rule.get("default") is not None:
            result[dotted] = rule["default"]
    return result


def _default_value(value: Any, ty: Any) -> Any:
    """A Default from the Go source as a value of the attribute's type, or None."""
    kind = cty.kind(ty)
    if kind == "string":
        return value if isinstance(value, str) else None
    if kind == "bool":
        return value if isinstance(value, bool) else None
    if kind == "number":
        return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None
    return None


def _plan_block(block: dict, proposed: Any, config: Any, defaults: dict, prefix: str) -> Any:
    if proposed is None or proposed is UNKNOWN:
        return proposed
    planned = dict(proposed)
    config = config if isinstance(config, dict) else {}
    for name, attr in block.get("attributes", {}).items():
        value = planned.get(name)
        configured = config.get(name)
        if value is None and configured is None:
            if attr.get("computed"):
                planned[name] = UNKNOWN
            elif attr.get("optional") and f"{prefix}{name}" in defaults:
                default = _default_value(defaults[f"{prefix}{name}"], cty.attribute_type(attr))
                if default is not None:
                    planned[name] = default
    for name, nested in block.get("block_types", {}).items():
        value = planned.get(name)
        if value is None or value is UNKNOWN:
            continue
        mode = nested["nesting_mode"]
        inner = nested["block"]
        child_prefix = f"{prefix}{name}."
        configured = config.get(name)
        if mode in ("single", "group"):
            planned[name] = _plan_block(inner, value, configured, defaults, child_prefix)
        elif mode == "list":
            configured = configured if isinstance(configured, list) else []
            planned[name] = [_plan_block(inner, element, configured[i] if i < len(configured) else None, defaults,
                                         child_prefix) for i, element in enumerate(value)]
        elif mode == "set":
            # Set elements carry no index; Terraform's proposed value holds the config's elements.
            planned[name] = [_plan_block(inner, element, element, defaults, child_prefix)
                             for element in value]
        elif mode == "map":
            configured = configured if isinstance(configured, dict) else {}
            planned[name] = {key: _plan_block(inner, element, configured.get(key), defaults, child_prefix)
                             for key, element in value.items()}
    return planned
