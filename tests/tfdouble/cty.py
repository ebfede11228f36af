"""cty values as plain Python data, and cty's msgpack wire format.

Terraform sends and receives values as tfplugin6 DynamicValue messages whose `msgpack` field
holds the value encoded the way go-cty's msgpack package does it:

- null is msgpack nil; an unknown value is a msgpack extension (code 0, or code 12 for an
  unknown carrying refinements such as "not null" or a string prefix: both decode to UNKNOWN);
- strings, numbers and bools are the msgpack primitives (a number too large for int64/float64
  is sent as its decimal string);
- lists, sets and tuples are arrays; maps and objects are maps (an object always carries every
  attribute of its type, null or not);
- a value of type "dynamic" travels as a two-element array [JSON of its real type, value].

Types are kept in their JSON form (what `terraform providers schema -json` prints): "string",
"number", "bool", "dynamic", ["list", T], ["set", T], ["map", T], ["object", {name: T}],
["tuple", [T, ...]].

Python representation of a value: None (null), UNKNOWN, str, int/float, bool, list (list, set,
tuple), dict (map, object), Dynamic (a value of type "dynamic", with its concrete type).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import msgpack


class _Unknown:
    """The single unknown value (Terraform's "known after apply")."""

    _instance = None

    def __new__(cls):
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNKNOWN"

    def __reduce__(self):
        return (_Unknown, ())


UNKNOWN = _Unknown()

# go-cty msgpack extension codes (cty/msgpack/unknown.go).
EXT_UNKNOWN = 0
EXT_UNKNOWN_REFINED = 12


@dataclass(frozen=True)
class Dynamic:
    """A value whose schema type is "dynamic": the wire carries its concrete type along."""

    type: Any
    value: Any


# ---------------------------------------------------------------- types


def kind(ty: Any) -> str:
    """'string' | 'number' | 'bool' | 'dynamic' | 'list' | 'set' | 'map' | 'object' | 'tuple'."""
    if isinstance(ty, str):
        return ty
    return ty[0]


def element_type(ty: Any) -> Any:
    return ty[1]


def object_attributes(ty: Any) -> dict[str, Any]:
    return ty[1]


def is_primitive(ty: Any) -> bool:
    return isinstance(ty, str) and ty != "dynamic"


def block_type(block: dict) -> list:
    """The object type a schema block implies (attributes plus nested blocks)."""
    attrs: dict[str, Any] = {}
    for name, attr in block.get("attributes", {}).items():
        attrs[name] = attribute_type(attr)
    for name, nested in block.get("block_types", {}).items():
        inner = block_type(nested["block"])
        mode = nested["nesting_mode"]
        if mode in ("single", "group"):
            attrs[name] = inner
        elif mode == "list":
            attrs[name] = ["list", inner]
        elif mode == "set":
            attrs[name] = ["set", inner]
        elif mode == "map":
            attrs[name] = ["map", inner]
        else:
            raise ValueError(f"unknown nesting mode {mode!r}")
    return ["object", attrs]


def attribute_type(attr: dict) -> Any:
    if "type" in attr:
        return attr["type"]
    nested = attr["nested_type"]  # protocol 6 nested attributes (framework providers)
    inner = ["object", {n: attribute_type(a) for n, a in nested["attributes"].items()}]
    mode = nested["nesting_mode"]
    return inner if mode == "single" else [mode, inner]


def infer_type(value: Any) -> Any:
    """The type of a JSON-ish Python value (for "dynamic" attributes filled from JSON)."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return ["tuple", [infer_type(v) for v in value]]
    if isinstance(value, dict):
        return ["object", {k: infer_type(v) for k, v in value.items()}]
    return "dynamic"


# ---------------------------------------------------------------- msgpack wire format


def _ext_hook(code: int, data: bytes) -> Any:
    if code in (EXT_UNKNOWN, EXT_UNKNOWN_REFINED):
        return UNKNOWN
    raise ValueError(f"unexpected msgpack extension code {code} in a cty value")


def unpack(raw: bytes, ty: Any) -> Any:
    """Decode DynamicValue.msgpack bytes of the given type."""
    if not raw:
        return None
    wire = msgpack.unpackb(raw, raw=False, ext_hook=_ext_hook, strict_map_key=False)
    return from_wire(wire, ty)


def from_wire(v: Any, ty: Any) -> Any:
    if v is None or v is UNKNOWN:
        return v
    k = kind(ty)
    if k == "dynamic":
        concrete = json.loads(v[0])
        return Dynamic(concrete, from_wire(v[1], concrete))
    if k in ("list", "set"):
        return [from_wire(x, ty[1]) for x in v]
    if k == "tuple":
        return [from_wire(x, t) for x, t in zip(v, ty[1])]
    if k == "map":
        return {key: from_wire(x, ty[1]) for key, x in v.items()}
    if k == "object":
        return {name: from_wire(v.get(name), t) for name, t in ty[1].items()}
    if k == "number" and isinstance(v, str):
        return _number_from_string(v)
    return v


def _number_from_string(text: str) -> int | float:
    try:
        return int(text)
    except ValueError:
        return float(text)


def pack(value: Any, ty: Any) -> bytes:
    """Encode a value of the given type as DynamicValue.msgpack bytes."""
    return msgpack.packb(to_wire(value, ty), use_bin_type=True)


def to_wire(v: Any, ty: Any) -> Any:
    if v is None:
        return None
    if v is UNKNOWN:
        return msgpack.ExtType(EXT_UNKNOWN, b"\x00")
    k = kind(ty)
    if k == "dynamic":
        if isinstance(v, Dynamic):
            concrete, inner = v.type, v.value
        else:
            concrete, inner = infer_type(v), v
        return [json.dumps(concrete, separators=(",", ":")).encode(), to_wire(inner, concrete)]
    if k in ("list", "set"):
        return [to_wire(x, ty[1]) for x in v]
    if k == "tuple":
        return [to_wire(x, t) for x, t in zip(v, ty[1])]
    if k == "map":
        return {key: to_wire(x, ty[1]) for key, x in sorted(v.items())}
    if k == "object":
        return {name: to_wire(v.get(name), t) for name, t in ty[1].items()}
    if k == "string":
        if not isinstance(v, str):
            raise TypeError(f"expected a string, got {v!r}")
        return v
    if k == "bool":
        if not isinstance(v, bool):
            raise TypeError(f"expected a bool, got {v!r}")
        return v
    if k == "number":
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise TypeError(f"expected a number, got {v!r}")
        return v
    raise TypeError(f"unknown type {ty!r}")


# ---------------------------------------------------------------- JSON (state files, fixtures)


def from_json(v: Any, ty: Any) -> Any:
    """A JSON value (as in a state file) converted to the given type, missing attributes null."""
    if v is None:
        return None
    k = kind(ty)
    if k == "dynamic":
        return Dynamic(infer_type(v), v)
    if k in ("list", "set"):
        return [from_json(x, ty[1]) for x in v]
    if k == "tuple":
        return [from_json(x, t) for x, t in zip(v, ty[1])]
    if k == "map":
        return {key: from_json(x, ty[1]) for key, x in v.items()}
    if k == "object":
        return {name: from_json(v.get(name), t) for name, t in ty[1].items()}
    if k == "string":
        if isinstance(v, bool):
            return "true" if v else "false"
        return v if isinstance(v, str) else json.dumps(v)
    if k == "number":
        return _number_from_string(v) if isinstance(v, str) else v
    if k == "bool":
        return v if isinstance(v, bool) else str(v).lower() == "true"
    raise TypeError(f"unknown type {ty!r}")


def to_json(v: Any) -> Any:
    """A wholly known value as JSON (the inverse of from_json, as a state file holds it)."""
    if v is UNKNOWN:
        raise ValueError("an unknown value has no JSON form")
    if isinstance(v, Dynamic):
        return to_json(v.value)
    if isinstance(v, list):
        return [to_json(x) for x in v]
    if isinstance(v, dict):
        return {k: to_json(x) for k, x in v.items()}
    return v


def is_known(v: Any) -> bool:
    """True when the value and everything inside it is known."""
    if v is UNKNOWN:
        return False
    if isinstance(v, Dynamic):
        return is_known(v.value)
    if isinstance(v, list):
        return all(is_known(x) for x in v)
    if isinstance(v, dict):
        return all(is_known(x) for x in v.values())
    return True
