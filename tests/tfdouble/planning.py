"""PlanResourceChange as an SDKv2 provider answers it, minus the cloud.

Terraform sends the proposed new state (config merged with prior state by Terraform's own
rules: computed attributes the config leaves null keep their prior value); the double then

- fills optional arguments the config leaves null with the schema Default from
  azurerm-validation.json (the SDK does this, on create and update alike, which is why SDKv2
  providers answer with legacy_type_system = true),
- asks `requires_replace()` which attribute paths force a new resource: the `force_new` paths
  of azurerm-replacement.json whose value differs between prior and planned state, and its
  `force_new_if` conditions (transcribed below),
- on create and on replace sets every computed attribute the config leaves null to unknown
  ("known after apply"); on an in-place update computed attributes keep their prior value
  (SDKv2 marks them unknown only on create: SetUnknowns), and a plan the SDK would consider
  equivalent to the prior state is answered with the prior state itself
  (hcl2shim.ValuesSDKEquivalent), so re-planning an applied configuration says "No changes",
- adds `id` to the replace paths whenever something requires replacement or the id is not
  known yet, as helper/schema's PlanResourceChange does,
- runs the provider's CustomizeDiff checks that fail a plan (customize_diff.py).
"""

from __future__ import annotations

import json
from typing import Any

from . import customize_diff, cty, schema
from .cty import UNKNOWN

PRIMITIVE_DEFAULT_TYPES = {"string": str, "number": (int, float), "bool": bool}

Path = list[tuple[str, Any]]


def plan(type_name: str, block: dict, rules: dict | None, prior: Any, proposed: Any, config: Any
         ) -> tuple[Any, list[Path], list[str]]:
    """(planned state, requires-replace attribute paths, plan errors) for one resource instance."""
    if proposed is None:  # destroy: the planned state is null
        return None, [], []
    defaults = _defaults(rules)
    creating = prior is None
    planned = _plan_block(block, proposed, config, defaults, "", creating)
    replace = [] if creating else requires_replace(type_name, block, prior, planned, config)
    if replace:
        # SDKv2 re-diffs a replaced resource against an empty state: its computed attributes
        # are those of a new object, unknown until the create.
        planned = _plan_block(block, _reset_computed(block, proposed, config), config, defaults, "", True)
    elif not creating and sdk_equivalent(prior, planned):
        planned = prior
    errors = customize_diff.errors(type_name, prior, planned, config)
    if replace or not isinstance(planned, dict) or planned.get("id") is None or planned.get("id") is UNKNOWN:
        replace = replace + [[("attr", "id")]]
    return planned, replace, errors


# ---------------------------------------------------------------- ForceNew


def requires_replace(type_name: str, block: dict, prior: Any, planned: Any, config: Any) -> list[Path]:
    """Attribute paths whose change replaces the resource: every `force_new` path of
    azurerm-replacement.json (nested `block.attr`) whose planned value differs from the prior
    one, as terraform-plugin-sdk v2 decides it:

    - null and the type's zero value ("", 0, false, empty collection) are the same value (the
      SDK's flatmap state has no null);
    - an unknown planned value requires replacement (the attribute diff is NewComputed, and
      finalizeDiff sets RequiresNew = Old != New || NewComputed);
    - ForceNew on a block applies to its element count (`block.#`): adding or removing it;
    - a nested attribute of a list block is compared element by element (an element that is
      added or removed counts as a change from/to the zero value), its path keeps the index;
    - paths are trimmed after the last attribute name (hcl2shim.RequiresReplace): a list or
      set of primitives is reported as the attribute itself, a change inside a set block as
      the set.
    """
    if prior is None or planned is None:
        return []
    paths: list[Path] = []
    for dotted in schema.replacement(type_name).get("force_new", []):
        for path in _changed(block, dotted.split("."), prior, planned, []):
            if path not in paths:
                paths.append(path)
    for path in FORCE_NEW_IF.get(type_name, lambda prior, planned: [])(prior, planned):
        if path not in paths:
            paths.append(path)
    return paths


# ---------------------------------------------------------------- conditional ForceNew

# The `force_new_if` entries of azurerm-replacement.json, transcribed by hand from their prose
# (CustomizeDiff calling d.ForceNew / ForceNewIf / ForceNewIfChange). ResourceDiff.ForceNew
# only takes effect when the key has a change, and an unknown value is not a change yet.

ER_GATEWAY_AZ_SKUS = {"ErGw1AZ", "ErGw2AZ", "ErGw3AZ", "ErGwScale"}


def _lb_force_new_if(prior: dict, planned: dict) -> list[Path]:
    """azurerm_lb: removing every frontend_ip_configuration replaces the load balancer; so does
    changing the zones of a frontend that keeps its name."""
    old, new = prior.get("frontend_ip_configuration") or [], planned.get("frontend_ip_configuration")
    if new is UNKNOWN:
        return []
    new = new or []
    if old and not new:
        return [[("attr", "frontend_ip_configuration")]]
    paths = []
    old_by_name = {f.get("name"): f for f in old if isinstance(f, dict)}
    for i, frontend in enumerate(new):
        if not isinstance(frontend, dict) or frontend.get("name") not in old_by_name:
            continue
        zones = frontend.get("zones")
        if cty.is_known(zones) and _differs(old_by_name[frontend["name"]].get("zones"), zones, ["set", "string"]):
            paths.append([("attr", "frontend_ip_configuration"), ("int", i), ("attr", "zones")])
    return paths


def _public_ip_force_new_if(prior: dict, planned: dict) -> list[Path]:
    """azurerm_public_ip: ForceNewIfChange("domain_name_label_scope", old != "" || new == "")."""
    old, new = prior.get("domain_name_label_scope") or "", planned.get("domain_name_label_scope")
    if new is UNKNOWN:
        return []
    new = new or ""
    return [[("attr", "domain_name_label_scope")]] if old != new and (old != "" or new == "") else []


def _gateway_force_new_if(prior: dict, planned: dict) -> list[Path]:
    """azurerm_virtual_network_gateway: an ExpressRoute gateway whose sku change crosses the
    availability-zone boundary (ErGw1AZ/ErGw2AZ/ErGw3AZ/ErGwScale on one side only)."""
    old, new = prior.get("sku"), planned.get("sku")
    if planned.get("type") != "ExpressRoute" or not isinstance(new, str) or not isinstance(old, str) or old == new:
        return []
    return [[("attr", "sku")]] if (old in ER_GATEWAY_AZ_SKUS) != (new in ER_GATEWAY_AZ_SKUS) else []


FORCE_NEW_IF = {
    "azurerm_lb": _lb_force_new_if,
    "azurerm_public_ip": _public_ip_force_new_if,
    "azurerm_virtual_network_gateway": _gateway_force_new_if,
}


def _changed(block: dict, parts: list[str], old: Any, new: Any, path: Path) -> list[Path]:
    name, rest = parts[0], parts[1:]
    old = old if isinstance(old, dict) else {}
    if new is UNKNOWN:
        return [path + [("attr", name)]]
    new = new if isinstance(new, dict) else {}
    here = path + [("attr", name)]
    if name in block.get("attributes", {}):
        attr = block["attributes"][name]
        return [here] if _differs(old.get(name), new.get(name), cty.attribute_type(attr)) else []
    nested = block.get("block_types", {}).get(name)
    if nested is None:
        return []
    mode = nested["nesting_mode"]
    old_value, new_value = old.get(name), new.get(name)
    if new_value is UNKNOWN:
        return [here]
    if not rest:  # ForceNew on the block itself: its element count
        return [here] if _count(old_value) != _count(new_value) else []
    inner = nested["block"]
    if mode in ("single", "group"):
        return _changed(inner, rest, old_value, new_value, here)
    if mode == "list":
        olds, news = old_value or [], new_value or []
        found = []
        for i in range(max(len(olds), len(news))):
            found += _changed(inner, rest, olds[i] if i < len(olds) else None, news[i] if i < len(news) else None,
                              here + [("int", i)])
        return found
    if mode == "set":  # elements have no stable index: any difference names the set
        def projection(elements):
            return sorted(json.dumps(_normal(_get_path(e, rest)), sort_keys=True, default=str)
                          for e in elements or [])
        news = new_value or []
        if any(not cty.is_known(e) for e in news) or projection(old_value) != projection(news):
            return [here]
        return []
    if mode == "map":
        olds, news = old_value or {}, new_value or {}
        found = []
        for key in sorted(set(olds) | set(news)):
            found += _changed(inner, rest, olds.get(key), news.get(key), here + [("str", key)])
        return found
    return []


def _get_path(value: Any, parts: list[str]) -> Any:
    for part in parts:
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _count(value: Any) -> int:
    if value is None:
        return 0
    if isinstance(value, (list, dict)):
        return len(value)
    return 1


def _normal(value: Any) -> Any:
    """The SDK's view of a value: null and zero values alike, sets unordered."""
    if value is None or value == "" or value is False or value == [] or value == {}:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return None if value == 0 else float(value)
    if isinstance(value, cty.Dynamic):
        return _normal(value.value)
    if isinstance(value, dict):
        normal = {k: _normal(v) for k, v in value.items()}
        return {k: v for k, v in normal.items() if v is not None} or None
    if isinstance(value, list):
        return [_normal(v) for v in value]
    return value


def _differs(old: Any, new: Any, ty: Any) -> bool:
    if not cty.is_known(new):
        return True
    a, b = _normal(old), _normal(new)
    if cty.kind(ty) == "set" and isinstance(a, list) and isinstance(b, list):
        key = lambda v: json.dumps(v, sort_keys=True, default=str)  # noqa: E731
        return sorted(a, key=key) != sorted(b, key=key)
    return a != b


def sdk_equivalent(prior: Any, planned: Any) -> bool:
    """hcl2shim.ValuesSDKEquivalent, approximately: equal once null and zero values are
    treated alike and set elements compared without order (and nothing is unknown)."""
    if not cty.is_known(planned):
        return False
    return _canonical(prior) == _canonical(planned)


def _canonical(value: Any) -> Any:
    normal = _normal(value)

    def order(v):
        if isinstance(v, list):
            return sorted((order(x) for x in v), key=lambda x: json.dumps(x, sort_keys=True, default=str))
        if isinstance(v, dict):
            return {k: order(x) for k, x in v.items()}
        return v
    return order(normal)


def _reset_computed(block: dict, value: Any, config: Any) -> Any:
    """The proposed state of a replacement: computed attributes the config leaves null are
    forgotten (they belonged to the object being destroyed)."""
    if not isinstance(value, dict):
        return value
    config = config if isinstance(config, dict) else {}
    result = dict(value)
    for name, attr in block.get("attributes", {}).items():
        if attr.get("computed") and config.get(name) is None:
            result[name] = None
    for name, nested in block.get("block_types", {}).items():
        current, configured = result.get(name), config.get(name)
        mode, inner = nested["nesting_mode"], nested["block"]
        if current is None or current is UNKNOWN:
            continue
        if mode in ("single", "group"):
            result[name] = _reset_computed(inner, current, configured)
        elif mode == "list":
            configured = configured if isinstance(configured, list) else []
            result[name] = [_reset_computed(inner, e, configured[i] if i < len(configured) else None)
                            for i, e in enumerate(current)]
        elif mode == "set":
            # No index to find an element's config by: forget only computed-only attributes.
            result[name] = [_reset_computed(inner, e, {n: e.get(n) for n, a in inner.get("attributes", {}).items()
                                                         if a.get("optional") or a.get("required")})
                            if isinstance(e, dict) else e for e in current]
        elif mode == "map":
            configured = configured if isinstance(configured, dict) else {}
            result[name] = {k: _reset_computed(inner, e, configured.get(k)) for k, e in current.items()}
    return result


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


def _plan_block(block: dict, proposed: Any, config: Any, defaults: dict, prefix: str, creating: bool) -> Any:
    if proposed is None or proposed is UNKNOWN:
        return proposed
    planned = dict(proposed)
    config = config if isinstance(config, dict) else {}
    for name, attr in block.get("attributes", {}).items():
        value = planned.get(name)
        configured = config.get(name)
        if value is None and configured is None:
            if attr.get("computed"):
                if creating:
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
            planned[name] = _plan_block(inner, value, configured, defaults, child_prefix, creating)
        elif mode == "list":
            configured = configured if isinstance(configured, list) else []
            planned[name] = [_plan_block(inner, element, configured[i] if i < len(configured) else None, defaults,
                                         child_prefix, creating) for i, element in enumerate(value)]
        elif mode == "set":
            # Set elements carry no index; Terraform's proposed value holds the config's elements.
            planned[name] = [_plan_block(inner, element, element, defaults, child_prefix, creating)
                             for element in value]
        elif mode == "map":
            configured = configured if isinstance(configured, dict) else {}
            planned[name] = {key: _plan_block(inner, element, configured.get(key), defaults, child_prefix, creating)
                             for key, element in value.items()}
    return planned
