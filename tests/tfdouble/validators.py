"""What azurerm's ValidateResourceConfig / ValidateDataResourceConfig check beyond the schema:
the argument validators, ConflictsWith / ExactlyOneOf / AtLeastOneOf / RequiredWith, block
MinItems / MaxItems and deprecation warnings, with the messages terraform-plugin-sdk/v2 and the
provider's helpers produce.

Rules come from schemas/reference/azurerm-validation.json (decoded from the provider's Go
source at v4.79.0; see its `conventions`). Unknown values are skipped, as the SDK does; so are
validators whose decoded form this module does not understand (they are listed by
`unsupported_rules()` so a test can keep that list honest).
"""

from __future__ import annotations

import ipaddress
import json
import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Iterator
from urllib.parse import urlparse

from . import cty
from .cty import UNKNOWN

# ---------------------------------------------------------------- diagnostics


@dataclass
class Diag:
    severity: str  # "error" | "warning"
    summary: str
    detail: str = ""
    # tfplugin6 AttributePath steps: ("attr", name) | ("int", index) | ("str", key)
    path: list[tuple[str, Any]] = field(default_factory=list)


def _error(summary: str, path, detail: str = "") -> Diag:
    return Diag("error", summary, detail, list(path))


# ---------------------------------------------------------------- Go formatting


def go_quote(value: Any) -> str:
    """Go's %q of a string."""
    return json.dumps(str(value), ensure_ascii=False)


def go_value(value: Any) -> str:
    """Go's %v / %s / %d of a value."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def go_format(message: str, *args: Any) -> str:
    """fmt.Sprintf for the verbs the provider's messages use (%q %s %v %d), in order."""
    values = list(args)

    def substitute(match: re.Match) -> str:
        verb = match.group(0)
        if verb == "%%":
            return "%"
        value = values.pop(0) if values else "%!" + verb[1] + "(MISSING)"
        return go_quote(value) if verb == "%q" else go_value(value)

    return re.sub(r"%%|%[qsvd]", substitute, message)


def go_quote_list(values: list[str]) -> str:
    """Go's %q of a []string: ["a" "b"]."""
    return "[" + " ".join(go_quote(v) for v in values) + "]"


# ---------------------------------------------------------------- RE2 -> Python re

_SHORTHAND = set("dwsDWS")


def go_regex(pattern: str) -> re.Pattern:
    """Compile a Go RE2 pattern with Python's re. RE2 reads `-` next to a class escape inside
    a character class ([\\d-_]) as a literal; Python rejects it as a bad range."""
    out: list[str] = []
    in_class = False
    previous_shorthand = False
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\" and i + 1 < len(pattern):
            escape = pattern[i:i + 2]
            out.append("\\Z" if escape == "\\z" else escape)
            previous_shorthand = in_class and pattern[i + 1] in _SHORTHAND
            i += 2
            continue
        if in_class:
            if char == "]" and out and out[-1] != "[" and out[-1] != "[^":
                in_class = False
                out.append(char)
            elif char == "-":
                next_is_shorthand = pattern[i + 1:i + 2] == "\\" and pattern[i + 2:i + 3] in _SHORTHAND
                out.append("\\-" if previous_shorthand or next_is_shorthand else "-")
            else:
                out.append(char)
        elif char == "[":
            in_class = True
            if pattern[i + 1:i + 2] == "^":
                out.append("[^")
                i += 2
                previous_shorthand = False
                continue
            out.append("[")
        else:
            out.append(char)
        previous_shorthand = False
        i += 1
    return re.compile("".join(out), re.ASCII)


# ---------------------------------------------------------------- one validator

# The `when` conditions azurerm-validation.json transcribes from the helpers (Go expressions).
WHEN: dict[str, Callable[[str], bool]] = {
    "len(value) != 1": lambda v: len(v.encode()) != 1,
    "len(value) == 1": lambda v: len(v.encode()) == 1,
    "len(strings.TrimSpace(value)) >= 3": lambda v: len(v.strip().encode()) >= 3,
    "len(strings.TrimSpace(value)) < 3 and len(value) != 0": lambda v: len(v.strip().encode()) < 3 and len(v) != 0,
}


class Unsupported(Exception):
    """A decoded validator this module cannot evaluate (skipped, never a false error)."""


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


_ARM_ID = re.compile(r"^/subscriptions/[^/]+(/[^/]+/[^/]+)*/?$", re.IGNORECASE)


def _id_pattern(fmt: str, case_insensitive: bool) -> re.Pattern:
    parts = re.split(r"(\{[^}]+\})", fmt)
    regex = "".join("(?P<%s>[^/]+)" % p[1:-1] if p.startswith("{") else re.escape(p) for p in parts)
    return re.compile("^" + regex + "$", re.IGNORECASE if case_insensitive else 0)


def run_validator(spec: dict, value: Any, key: str) -> list[str]:
    """Errors (SDK / helper wording) of one decoded validator for a known, non-null value."""
    kind = spec["kind"]
    when = spec.get("when")
    if when is not None:
        if when not in WHEN:
            raise Unsupported(f"when {when!r}")
        if not isinstance(value, str) or not WHEN[when](value):
            return []
    message = spec.get("message")

    if kind in ("any_of", "all_of"):
        results = [run_validator(inner, value, key) for inner in spec["validators"]]
        if kind == "all_of":
            return [e for errors in results for e in errors]
        if any(not errors for errors in results):
            return []
        return [e for errors in results for e in errors]

    if kind in ("int_between", "int_at_least", "int_at_most"):
        number = _as_int(value)
        if number is None:
            return [f"expected type of {key} to be integer"]
        low, high = spec.get("min"), spec.get("max")
        if kind == "int_between" and not low <= number <= high:
            return [f"expected {key} to be in the range ({low} - {high}), got {number}"]
        if kind == "int_at_least" and number < low:
            return [f"expected {key} to be at least ({low}), got {number}"]
        if kind == "int_at_most" and number > high:
            return [f"expected {key} to be at most ({high}), got {number}"]
        return []

    if kind == "no_zero_values":
        if value in ("", 0, False):
            noun = "empty" if isinstance(value, str) else "zero"
            return [f"{key} must not be {noun}, got {go_value(value)}"]
        return []

    if kind.startswith("map_"):
        if not isinstance(value, dict):
            return []
        if kind == "map_max_entries" and len(value) > spec["max"]:
            return [message or f"a maximum of {spec['max']} entries is allowed"]
        if kind == "map_key_max_len":
            return [f"the maximum length for a tag key is {spec['max']} characters: {go_quote(k)} is {len(k)} characters"
                    for k in value if len(k) > spec["max"]]
        if kind == "map_value_max_len":
            return [f"the maximum length for a tag value is {spec['max']} characters: the value for {go_quote(k)} is "
                    f"{len(v)} characters" for k, v in value.items() if isinstance(v, str) and len(v) > spec["max"]]
        return []

    # Everything below validates strings.
    if not isinstance(value, str):
        return [f"expected type of {key} to be string"]

    if kind == "string_in_slice":
        valid = spec["values"]
        if value in valid or (spec.get("ignore_case") and value.lower() in {v.lower() for v in valid}):
            return []
        return [f"expected {key} to be one of {go_quote_list(valid)}, got {value}"]
    if kind == "string_is_not_empty":
        return [] if value != "" else [f"expected {go_quote(key)} to not be an empty string, got {value}"]
    if kind == "string_is_empty":
        return [] if value == "" else [f"expected {go_quote(key)} to be an empty string: got {value}"]
    if kind == "string_is_not_whitespace":
        return [] if value.strip() else [go_format(message or "%q must not be empty", key)]
    if kind == "string_len_between":
        low, high = spec["min"], spec["max"]
        if not low <= len(value.encode()) <= high:
            return [f"expected length of {key} to be in the range ({low} - {high}), got {value}"]
        return []
    if kind == "string_len_at_least":
        if len(value.encode()) < spec["min"]:
            return [go_format(message or "expected length of %s to be at least %d", key, spec["min"])]
        return []
    if kind == "string_matches_regex":
        if go_regex(spec["regex"]).search(value):
            return []
        return [go_format(message or "invalid value for %s (%s)", key, value)]
    if kind == "string_does_not_end_with":
        return [go_format(message, key, value)] if value.endswith(spec["suffix"]) else []
    if kind == "string_has_suffix":
        return [] if value.endswith(spec["suffix"]) else [go_format(message, key, value)]
    if kind == "string_does_not_contain":
        return [go_format(message, key, value)] if any(c in value for c in spec["chars"]) else []
    if kind == "string_is_lower_case":
        return [] if value == value.lower() else [go_format(message, key, value)]
    if kind == "is_uuid":
        try:
            uuid.UUID(value)
            ok = len(value) == 36
        except ValueError:
            ok = False
        return [] if ok else [f"expected {go_quote(key)} to be a valid UUID, got {value}"]
    if kind in ("is_ipv4_address", "is_ip_address"):
        try:
            address = ipaddress.ip_address(value)
            ok = kind == "is_ip_address" or address.version == 4
        except ValueError:
            ok = False
        if ok:
            return []
        noun = "IPv4 address" if kind == "is_ipv4_address" else "IP"
        return [f"expected {key} to contain a valid {noun}, got: {value}"]
    if kind == "ip_in_range":
        try:
            inside = (ipaddress.ip_address(spec["start"]) <= ipaddress.ip_address(value)
                      <= ipaddress.ip_address(spec["end"]))
        except (ValueError, TypeError):
            inside = False
        return [] if inside else [go_format(message, value, spec["start"], spec["end"])]
    if kind == "is_rfc3339_time":
        try:
            datetime.fromisoformat(value.replace("Z", "+00:00"))
            return []
        except ValueError:
            return [f"{go_quote(key)}: invalid RFC3339 timestamp"]
    if kind == "string_is_json":
        try:
            json.loads(value)
            return []
        except ValueError as error:
            return [f"{go_quote(key)} contains an invalid JSON: {error}"]
    if kind == "is_url_with_scheme":
        parsed = urlparse(value)
        if parsed.scheme in spec["schemes"] and parsed.netloc:
            return []
        return [f"expected {go_quote(key)} to have a url with schema of: {go_quote(','.join(spec['schemes']))}, "
                f"got {value}"]
    if kind == "resource_id":
        if spec["id_type"] == "any":
            ok = bool(_ARM_ID.match(value)) and len(value.strip("/").split("/")) % 2 == 0
            return [] if ok else [f"Can not parse {go_quote(key)} as a resource id: {value}"]
        pattern = _id_pattern(spec["format"], bool(spec.get("case_insensitive")))
        if pattern.match(value):
            return []
        id_name = spec["id_type"].split()[0]
        return [f"parsing {go_quote(value)}: expected a {id_name} that matched {go_quote(spec['format'])}"]
    if kind == "id_segment_equals":
        segment = spec["segment"]
        if segment != "subnetName":
            raise Unsupported(f"id_segment_equals on {segment}")
        match = re.search(r"^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.Network/"
                          r"virtualNetworks/[^/]+/subnets/([^/]+)$", value, re.IGNORECASE)
        if match is None:
            return [f"parsing {go_quote(value)}: expected a SubnetId"]
        actual = match.group(1)
        equal = actual.lower() == spec["value"].lower() if spec.get("ignore_case") else actual == spec["value"]
        return [] if equal else [go_format(message, key, actual)]
    if kind == "dot_segments":
        segments = value.split(".")
        ok = (spec["min_segments"] <= len(segments) <= spec["max_segments"]
              and all(spec["segment_min_len"] <= len(s) <= spec["segment_max_len"] for s in segments))
        return [] if ok else [go_format(message, key, value)]
    if kind == "pipe_separated_uuids":
        parts = value.split("|")
        ok = len(parts) == spec["parts"]
        for part in parts:
            try:
                uuid.UUID(part)
            except ValueError:
                ok = False
        return [] if ok else [go_format(message, key, value)]
    raise Unsupported(kind)


# ---------------------------------------------------------------- walking a config value


@dataclass
class Occurrence:
    key: str                          # SDK flatmap key, e.g. frontend_ip_configuration.0.name
    path: list[tuple[str, Any]]       # tfplugin6 attribute path
    value: Any


def _child_schema(block: dict, name: str):
    """('block', nested block entry) or ('attr', attribute entry) or (None, None)."""
    if name in block.get("block_types", {}):
        return "block", block["block_types"][name]
    if name in block.get("attributes", {}):
        return "attr", block["attributes"][name]
    return None, None


def _elements(value: Any, mode: str, key: str, path: list) -> Iterator[tuple[str, list, Any]]:
    """The elements of a block value, with their SDK keys and attribute paths."""
    if value is None or value is UNKNOWN:
        return
    if mode in ("single", "group"):
        yield key + ".0", path, value
    elif mode == "list":
        for index, element in enumerate(value):
            yield f"{key}.{index}", path + [("int", index)], element
    elif mode == "set":
        # Set elements have no index Terraform can point at: diagnostics stop at the set.
        for index, element in enumerate(value):
            yield f"{key}.{index}", path, element
    elif mode == "map":
        for name, element in value.items():
            yield f"{key}.{name}", path + [("str", name)], element


def occurrences(block: dict, config: Any, dotted: str) -> Iterator[Occurrence]:
    """Every place `dotted` (validation.json form: block.sub.attr) occurs in a config value."""
    segments = dotted.split(".")
    frontier = [("", [], config, block)]
    for depth, name in enumerate(segments):
        last = depth == len(segments) - 1
        following = []
        for key, path, obj, schema_block in frontier:
            if obj is None or obj is UNKNOWN or not isinstance(obj, dict):
                continue
            what, entry = _child_schema(schema_block, name)
            if what is None:
                continue
            child_key = f"{key}.{name}" if key else name
            child_path = path + [("attr", name)]
            value = obj.get(name)
            if last:
                following.append((child_key, child_path, value, None))
            elif what == "block":
                for element_key, element_path, element in _elements(value, entry["nesting_mode"], child_key, child_path):
                    following.append((element_key, element_path, element, entry["block"]))
        frontier = following
    for key, path, value, _ in frontier:
        yield Occurrence(key, path, value)


def sdk_get(config: Any, block: dict, key: str) -> tuple[bool, Any]:
    """terraform.ResourceConfig.Get(key) for an SDK key such as a.0.b: (present, value).
    Absent blocks and null attributes are not present; an unknown value is present."""
    obj: Any = config
    schema_block: dict | None = block
    parts = key.split(".")
    i = 0
    while i < len(parts):
        if obj is UNKNOWN:
            return True, UNKNOWN
        if not isinstance(obj, dict) or schema_block is None:
            return False, None
        name = parts[i]
        what, entry = _child_schema(schema_block, name)
        if what is None:
            return False, None
        value = obj.get(name)
        if value is None:
            return False, None
        if what == "attr":
            if i == len(parts) - 1:
                return True, value
            # indexing into a list/map attribute
            for part in parts[i + 1:]:
                if value is UNKNOWN:
                    return True, UNKNOWN
                if isinstance(value, list) and part.isdigit() and int(part) < len(value):
                    value = value[int(part)]
                elif isinstance(value, dict) and part in value:
                    value = value[part]
                else:
                    return False, None
            return value is not None, value
        # a block
        if value is UNKNOWN:
            return True, UNKNOWN
        if entry["nesting_mode"] in ("single", "group"):
            elements = [value]
        elif isinstance(value, list):
            elements = value
        else:
            elements = list(value.values())
        if not elements:
            return False, None  # the SDK drops empty block lists from the config
        if i == len(parts) - 1:
            return True, value
        index = parts[i + 1]
        if not index.isdigit() or int(index) >= len(elements):
            return False, None
        obj = elements[int(index)]
        schema_block = entry["block"]
        i += 2
    return obj is not None, obj


# ---------------------------------------------------------------- the checks


_UNSUPPORTED: list[str] = []


def unsupported_rules() -> list[str]:
    """Validators skipped so far in this process because this module cannot evaluate them."""
    return list(_UNSUPPORTED)


def validate(block: dict, rules: dict | None, config: Any) -> list[Diag]:
    """All diagnostics for one resource or data source config (cty value, may hold unknowns)."""
    diags: list[Diag] = []
    diags += _computed_only(block, config, "", [])
    diags += _deprecations(block, config, [])
    diags += _block_counts(block, config, "", [])
    for dotted, rule in sorted((rules or {}).get("attributes", {}).items()):
        for occurrence in occurrences(block, config, dotted):
            diags += _check(block, config, rule, occurrence)
    return diags


def _check(block: dict, config: Any, rule: dict, at: Occurrence) -> list[Diag]:
    key, path, value = at.key, at.path, at.value
    # Order as in terraform-plugin-sdk/v2 schemaMap.validate.
    for group, word in (("exactly_one_of", "exactly"), ("at_least_one_of", "at_least")):
        keys = rule.get(group)
        if not keys:
            continue
        all_keys = sorted(set(keys) | {key})
        specified = []
        aborted = False
        for other in all_keys:
            present, other_value = sdk_get(config, block, other)
            if present and other_value is UNKNOWN:
                aborted = True  # an unknown value may become null: the SDK defers the check
                break
            if present:
                specified.append(other)
        if aborted:
            continue
        joined = ",".join(all_keys)
        if not specified:
            return [_error(f"{go_quote(key)}: one of `{joined}` must be specified", path)]
        if word == "exactly" and len(specified) > 1:
            return [_error(f"{go_quote(key)}: only one of `{joined}` can be specified, but "
                           f"`{','.join(specified)}` were specified.", path)]
    if value is None:
        return []
    required_with = rule.get("required_with")
    if required_with:
        all_keys = sorted(set(required_with) | {key})
        for other in all_keys:
            if other == key:
                continue
            if not sdk_get(config, block, other)[0]:
                return [_error(f"{go_quote(key)}: all of `{','.join(all_keys)}` must be specified", path)]
    if not cty.is_known(value):
        return []
    for other in rule.get("conflicts_with") or []:
        present, other_value = sdk_get(config, block, other)
        if present and other_value is not UNKNOWN:
            return [_error(f"{go_quote(key)}: conflicts with {other}", path)]
    diags: list[Diag] = []
    for spec in rule.get("validate", []):
        targets: list[tuple[str, list, Any]]
        if spec.get("applies_to") == "each_element":
            if isinstance(value, list):
                targets = [(f"{key}.{i}", path + [("int", i)], v) for i, v in enumerate(value)]
            elif isinstance(value, dict):
                targets = [(f"{key}.{k}", path + [("str", k)], v) for k, v in value.items()]
            else:
                targets = []
        else:
            targets = [(key, path, value)]
        for target_key, target_path, target in targets:
            if target is None or target is UNKNOWN:
                continue
            if isinstance(target, (list, dict)) and not spec["kind"].startswith("map_") and spec["kind"] not in (
                    "any_of", "all_of"):
                continue  # a validator on Elem that the source applied per element; nothing to do here
            try:
                errors = run_validator(spec, target, target_key)
            except Unsupported as why:
                _UNSUPPORTED.append(f"{target_key}: {why}")
                continue
            diags += [_error(e, target_path) for e in errors]
    return diags


def _computed_only(block: dict, config: Any, prefix: str, path: list) -> list[Diag]:
    """SDK: a value for an attribute that is neither required nor optional."""
    diags: list[Diag] = []
    if not isinstance(config, dict):
        return diags
    for name, attr in sorted(block.get("attributes", {}).items()):
        if not attr.get("required") and not attr.get("optional") and config.get(name) is not None:
            diags.append(_error("Value for unconfigurable attribute", path + [("attr", name)],
                                f"Can't configure a value for {go_quote(prefix + name)}: its value will be decided "
                                f"automatically based on the result of applying this configuration."))
    for name, nested in sorted(block.get("block_types", {}).items()):
        for element_key, element_path, element in _elements(config.get(name), nested["nesting_mode"],
                                                            prefix + name, path + [("attr", name)]):
            diags += _computed_only(nested["block"], element, element_key + ".", element_path)
    return diags


def _deprecations(block: dict, config: Any, path: list) -> list[Diag]:
    diags: list[Diag] = []
    if not isinstance(config, dict):
        return diags
    for name, attr in sorted(block.get("attributes", {}).items()):
        if attr.get("deprecated") and config.get(name) is not None:
            diags.append(Diag("warning", "Argument is deprecated", _deprecation_detail(name, attr),
                              path + [("attr", name)]))
    for name, nested in sorted(block.get("block_types", {}).items()):
        for _, element_path, element in _elements(config.get(name), nested["nesting_mode"], name,
                                                  path + [("attr", name)]):
            diags += _deprecations(nested["block"], element, element_path)
    return diags


def _deprecation_detail(name: str, attr: dict) -> str:
    description = (attr.get("description") or "").strip()
    if description:
        return description
    return (f"The property `{name}` is deprecated in this version of the AzureRM Provider and will be removed in "
            f"version 5.0 of the AzureRM Provider.")


def _block_counts(block: dict, config: Any, prefix: str, path: list) -> list[Diag]:
    """SDK schemaMap.validateList: MaxItems / MinItems of list blocks (known counts only)."""
    diags: list[Diag] = []
    if not isinstance(config, dict):
        return diags
    for name, nested in sorted(block.get("block_types", {}).items()):
        value = config.get(name)
        key = f"{prefix}{name}"
        if value is UNKNOWN:
            continue
        if nested["nesting_mode"] in ("list", "set") and isinstance(value, list):
            count = len(value)
            high, low = nested.get("max_items", 0), nested.get("min_items", 0)
            if high and count > high:
                diags.append(_error(f"{key}: attribute supports {high} item maximum, but config has {count} declared",
                                    path + [("attr", name)]))
            elif low and count < low:
                diags.append(_error(f"{key}: attribute supports {low} item as a minimum, but config has {count} "
                                    f"declared", path + [("attr", name)]))
        for element_key, element_path, element in _elements(value, nested["nesting_mode"], key,
                                                            path + [("attr", name)]):
            diags += _block_counts(nested["block"], element, element_key + ".", element_path)
    return diags
