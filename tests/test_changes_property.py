"""Issue 12: `plgen changes` is complete, tested rather than hoped.

Every manifest field the plan reads is mutated (each field of the pydantic models, found by
walking them, so a field added later fails here until it gets a mutation or a reason in
NOT_READ). For every mutation that validate accepts, both manifests are rendered in memory and
compared as `plgen changes BASE NEW` does:

- if any generated file differs, there is at least one event, and none of them is the
  catch-all `output_changed` (each change is explained in the words of the domain);
- if no file differs, there is no event;
- a field in NOT_READ never changes a file (so the exclusion is checked too).

The deterministic part mutates the example manifests field by field (every field must be
mutated validly at least once); the Hypothesis part mutates generated manifests
(`manifest_strategy.manifests()`), derandomized, PLGEN_CHANGES_EXAMPLES of them (default 100).
Both run in about half a minute on two cores.
"""

from __future__ import annotations

import copy
import ipaddress
import os
import re
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
import yaml
from hypothesis import HealthCheck, Phase, assume, event, given, note, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from gen import errors
from gen.manifest import VPN_GENERATIONS, VPN_SKUS, Manifest
from gen.review import text_side
from gen.review.diff import compare
from gen.review.facts import read_facts
from manifest_strategy import manifests

ROOT = Path(__file__).resolve().parent.parent
# the example and every manifest in tests/data (each field must be present in one of them)
BASES = ("examples/tenants.yaml",) + tuple(f"tests/data/{p.name}" for p in sorted((ROOT / "tests" / "data").glob("*.yaml")))
PER_FIELD = 2  # valid mutations checked per field and base manifest (time bound)

# Manifest fields the plan does not read: mutating them must not change a single file.
NOT_READ = {
    "version": "the format version (only 1 exists)",
    "tenants.expected_connections": "capacity planning only (`plgen capacity`)",
}

ENUMS = {
    "state": ["active", "suspended", "offboarded"],
    "approval": ["auto", "manual"],
    "visibility": ["restricted", "public"],
    "connectivity": ["private_link", "vnet_to_vnet"],
    "protocol": ["Tcp", "Http", "Https"],
    "sku": list(VPN_SKUS),
    "generation": list(VPN_GENERATIONS),
}
GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
LOCATIONS = ["northeurope", "westus3", "uksouth"]


def model_fields(model: type[BaseModel] = Manifest, prefix: str = "") -> set[str]:
    """Every field path of the manifest models, without list indices."""
    found = set()
    for name, field in model.model_fields.items():
        path = f"{prefix}.{name}" if prefix else name
        found.add(path)
        stack, subs = [field.annotation], []
        while stack:
            annotation = stack.pop()
            if isinstance(annotation, type) and issubclass(annotation, BaseModel):
                subs.append(annotation)
            stack.extend(typing.get_args(annotation))
        for sub in subs:
            found |= model_fields(sub, path)
    return found


@dataclass(frozen=True)
class Mutation:
    field: str  # the model path (no indices)
    what: str
    apply: Callable[[dict], None]


def _field(path: tuple) -> str:
    return ".".join(str(p) for p in path if not isinstance(p, int))


def _get(data: Any, path: tuple) -> Any:
    for part in path:
        data = data[part]
    return data


def _setter(path: tuple, value: Any) -> Callable[[dict], None]:
    def apply(data: dict) -> None:
        _get(data, path[:-1])[path[-1]] = copy.deepcopy(value)
    return apply


def _remover(path: tuple) -> Callable[[dict], None]:
    def apply(data: dict) -> None:
        container = _get(data, path[:-1])
        del container[path[-1]]
    return apply


def _rename_everywhere(old: str, new: str) -> Callable[[dict], None]:
    """Rename an identifier and every reference to it (equal strings, and dot-separated
    segments of aliases)."""
    def walk(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: walk(v) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v) for v in value]
        if value == old:
            return new
        if isinstance(value, str) and value.endswith(".azure.privatelinkservice"):
            return ".".join(new if part == old else part for part in value.split("."))
        return value

    def apply(data: dict) -> None:
        replaced = walk(data)
        data.clear()
        data.update(replaced)
    return apply


def _bump_guid(value: str) -> str:
    return value[:-1] + ("0" if value[-1] != "0" else "1")


def _scalar_variants(key: str, value: Any) -> Iterator[tuple[str, Any]]:
    if key in ENUMS:
        for other in ENUMS[key]:
            if other != value:
                yield f"{value} -> {other}", other
        return
    if isinstance(value, bool):
        yield "flip", not value
    elif isinstance(value, int):
        yield "+1", value + 1
        if value > 1:
            yield "-1", value - 1
    elif isinstance(value, str):
        if GUID.match(value):
            yield "another GUID", _bump_guid(value)
        elif re.fullmatch(r"\d+\.\d+\.\d+\.\d+", value):
            for step in (1, 3, -1):
                try:
                    yield f"{step:+d}", str(ipaddress.IPv4Address(value) + step)
                except ValueError:  # not an address, or past the end of the address space
                    pass
        elif re.fullmatch(r"\d+\.\d+\.\d+\.\d+/\d+", value):
            try:
                network = ipaddress.IPv4Network(value, strict=False)
                yield "wider", str(network.supernet())
                yield "another", str(network.supernet().supernet().supernet())
            except ValueError:  # a /0 has no supernet
                pass
        elif value.startswith("/subscriptions/"):
            yield "another last segment", value + "x"
        elif "@" in value:
            yield "another address", "x" + value
        elif value.startswith("https://"):
            yield "another URL", value + "x"
        elif key == "location" and value in LOCATIONS + ["eastus2", "westeurope", "eastus", "westus2", "centralus",
                                                          "switzerlandnorth"]:
            yield "another location", next(loc for loc in LOCATIONS if loc != value)
        elif value.startswith("/"):
            yield "another path", value + "x"
        else:
            yield "longer", value[:-1] + ("x" if value[-1] != "x" else "y") if len(value) >= 24 else value + "x"


def mutations(data: dict) -> list[Mutation]:
    found: list[Mutation] = []

    def visit(value: Any, path: tuple) -> None:
        key = next((p for p in reversed(path) if not isinstance(p, int)), "")
        field = _field(path)
        if isinstance(value, dict):
            for name, item in value.items():
                sub = path + (name,)
                if name not in ("version",) and path:
                    found.append(Mutation(_field(sub), f"remove {_field(sub)}", _remover(sub)))
                visit(item, sub)
            return
        if isinstance(value, list):
            if len(value) > 1:
                found.append(Mutation(field, f"drop the last of {field}", _remover(path + (len(value) - 1,))))
            if value and not isinstance(value[0], (dict, list)):
                for what, other in _scalar_variants(key, value[-1]):
                    if other not in value:
                        found.append(Mutation(field, f"add to {field} ({what})", _setter(path, value + [other])))
                        break
            for index, item in enumerate(value):
                visit(item, path + (index,))
            return
        if key == "alias":
            found.append(Mutation(field, "alias changes", _alias_setter(path, new_guid=True)))
            continue_with_null = value is not None
            if continue_with_null:
                found.append(Mutation(field, "alias unset", _setter(path, None)))
            return
        for what, other in _scalar_variants(key, value):
            found.append(Mutation(field, f"{field} {what}", _setter(path, other)))
        if isinstance(value, str) and key in ("name", "location", "frontends", "frontend", "id", "link_service"):
            for what, other in _scalar_variants(key, value):
                found.append(Mutation(field, f"rename {value} everywhere", _rename_everywhere(value, other)))
                break

    visit(data, ())
    found += _moves(data) + _composites(data)
    return found


def _composites(data: dict) -> list[Mutation]:
    """Changes that need several fields at once to stay valid: probe protocols, VPN
    generations, a tenant switching connectivity."""
    found = []
    provider = data.get("provider", {})
    for r, region in enumerate(provider.get("regions", [])):
        create = (region.get("load_balancer") or {}).get("create")
        if create and create.get("probe"):
            path = ("provider", "regions", r, "load_balancer", "create", "probe")
            for probe in ({"protocol": "Tcp", "port": create.get("backend_port", 8443)},
                          {"protocol": "Http", "port": 8081, "path": "/healthz"}):
                if probe["protocol"] != create["probe"].get("protocol"):
                    found.append(Mutation(_field(path) + ".protocol", f"probe -> {probe}", _setter(path, probe)))
                    found.append(Mutation(_field(path) + ".path", f"probe -> {probe}", _setter(path, probe)))
        if region.get("vpn_gateway"):
            path = ("provider", "regions", r, "vpn_gateway")
            for generation in VPN_GENERATIONS:
                vpn = {**region["vpn_gateway"], "sku": "VpnGw2AZ", "generation": generation}
                found.append(Mutation(_field(path) + ".generation", f"VpnGw2AZ {generation}", _setter(path, vpn)))
    regions = {region["location"]: region for region in provider.get("regions", [])}
    for index, tenant in enumerate(data.get("tenants") or []):
        region = regions.get(tenant.get("region"), {})
        if tenant.get("connectivity") == "vnet_to_vnet":
            converted = {k: v for k, v in tenant.items() if k not in ("connectivity", "vnet_to_vnet")}
            if len(region.get("link_services", [])) > 1:
                converted["link_service"] = region["link_services"][0]["name"]
        elif region.get("vpn_gateway") and ((region.get("load_balancer") or {}).get("create") or {}).get("routed_frontend"):
            converted = {k: v for k, v in tenant.items()
                         if k not in ("endpoint", "endpoint_sites", "link_service", "request_message", "endpoints")}
            subscription = tenant["subscriptions"][0]
            converted.update(connectivity="vnet_to_vnet", vnet_to_vnet={
                "gateway_id": f"/subscriptions/{subscription}/resourceGroups/rg/providers/Microsoft.Network/"
                              f"virtualNetworkGateways/vgw-{tenant['id']}",
                "shared_key_secret": {"key_vault_id": f"/subscriptions/{provider['subscription_id']}/resourceGroups/rg/"
                                                      "providers/Microsoft.KeyVault/vaults/kv-psk",
                                      "name": f"{tenant['id']}-psk"}})
        else:
            continue
        path = ("tenants", index)
        found.append(Mutation("tenants.connectivity", f"tenant {tenant['id']} switches connectivity", _setter(path, converted)))
        if "vnet_to_vnet" in converted:
            found.append(Mutation("tenants.vnet_to_vnet", f"tenant {tenant['id']} switches connectivity",
                                  _setter(path, converted)))
    return found


def _alias_setter(path: tuple, new_guid: bool) -> Callable[[dict], None]:
    def apply(data: dict) -> None:
        link_service = _get(data, path[:-1])
        region = _get(data, path[:-3])
        guid = "3c1d9b7e-5a7f-4c2e-9d8b-1f0e2a3b4c5e"
        current = link_service.get("alias")
        if current and guid in current:
            guid = _bump_guid(guid)
        link_service["alias"] = f"{link_service['name']}.{guid}.{region['location']}.azure.privatelinkservice"
    return apply


def _moves(data: dict) -> list[Mutation]:
    """A tenant moved to every other link service (region and link_service together)."""
    found = []
    targets = [(region["location"], ls["name"]) for region in data.get("provider", {}).get("regions", [])
               for ls in region.get("link_services", [])]
    for index, tenant in enumerate(data.get("tenants") or []):
        for location, name in targets:
            if tenant.get("link_service") != name and tenant.get("connectivity", "private_link") == "private_link":
                def apply(data: dict, index=index, location=location, name=name) -> None:
                    data["tenants"][index]["region"] = location
                    data["tenants"][index]["link_service"] = name
                found.append(Mutation("tenants.link_service", f"move tenant {tenant.get('id')} to {name}", apply))
                found.append(Mutation("tenants.region", f"move tenant {tenant.get('id')} to {location}/{name}", apply))
    return found


# --- the property ------------------------------------------------------------------------------


def dump(data: dict) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def side_or_none(data: dict):
    try:
        return text_side(dump(data), "mutated.yaml")
    except errors.ManifestError:
        return None


def check(base_side, base_facts, mutation: Mutation, new_side) -> str:
    """The property for one valid mutation; returns "changed" or "same"."""
    events = compare(base_facts, read_facts(new_side))
    differs = base_side.shas != new_side.shas
    if mutation.field in NOT_READ:
        assert not differs, f"{mutation.field} is listed as not read by the plan, but {mutation.what} changes files"
    if differs:
        paths = sorted(p for p in set(base_side.shas) | set(new_side.shas) if base_side.shas.get(p) != new_side.shas.get(p))
        assert events, f"{mutation.what}: files change ({paths[:5]}) but no event"
        residual = [e for e in events if e.kind == "output_changed"]
        assert not residual, f"{mutation.what}: unexplained change: {[e.summary for e in residual]} ({paths[:5]})"
        return "changed"
    assert not events, f"{mutation.what}: no file changes, yet events: {[e.summary for e in events]}"
    return "same"


@pytest.fixture(scope="module")
def bases():
    loaded = []
    for name in BASES:
        data = yaml.safe_load((ROOT / name).read_text(encoding="utf-8"))
        side = text_side(dump(data), name)
        loaded.append((name, data, side, read_facts(side)))
    return loaded


def test_every_field_the_plan_reads_is_mutated_and_reported(bases):
    fields = model_fields()
    covered: dict[str, int] = {}
    outcomes = {"changed": 0, "same": 0, "refused": 0}
    for name, data, base_side, base_facts in bases:
        per_field: dict[str, int] = {}
        for mutation in mutations(data):
            if per_field.get(mutation.field, 0) >= PER_FIELD:
                continue
            mutated = copy.deepcopy(data)
            mutation.apply(mutated)
            new_side = side_or_none(mutated)
            if new_side is None:
                outcomes["refused"] += 1
                continue
            per_field[mutation.field] = per_field.get(mutation.field, 0) + 1
            outcome = check(base_side, base_facts, mutation, new_side)
            outcomes[outcome] += 1
            if outcome == "changed" or mutation.field in NOT_READ:
                covered[mutation.field] = covered.get(mutation.field, 0) + 1
    # a section (service, provider.regions, ...) counts as covered through its fields
    missing = sorted(f for f in fields - set(covered) - set(NOT_READ)
                     if not any(other.startswith(f + ".") for other in covered))
    assert not missing, ("no valid mutation changed the output for these manifest fields: add a mutation in "
                         f"tests/test_changes_property.py, or list the field in NOT_READ with the reason: {missing}")
    assert outcomes["changed"] > 100, outcomes


# No shrinking unless PLGEN_CHANGES_SHRINK is set: a failure prints its manifest and mutation
# (note()) at once instead of spending minutes rendering smaller manifests.
CHANGES_SETTINGS = settings(
    max_examples=int(os.environ.get("PLGEN_CHANGES_EXAMPLES", "100")),
    phases=[Phase.explicit, Phase.reuse, Phase.generate] + ([Phase.shrink] if os.environ.get("PLGEN_CHANGES_SHRINK") else []),
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=False,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example,
                           HealthCheck.filter_too_much],
)


@CHANGES_SETTINGS
@given(manifest=manifests(max_regions=2, max_tenants=4), picks=st.lists(st.integers(0, 10_000), min_size=4, max_size=4))
def test_generated_manifests_every_mutation_that_changes_output_has_an_event(manifest, picks):
    base_side = side_or_none(manifest)
    assume(base_side is not None)
    base_facts = read_facts(base_side)
    candidates = mutations(manifest)
    assume(candidates)
    for pick in picks:
        mutation = candidates[pick % len(candidates)]
        mutated = copy.deepcopy(manifest)
        mutation.apply(mutated)
        new_side = side_or_none(mutated)
        if new_side is None:
            event("mutation refused by validate")
            continue
        note(f"mutation: {mutation.what}\n--- base ---\n{dump(manifest)}")
        event(f"mutation: output {check(base_side, base_facts, mutation, new_side)}")
