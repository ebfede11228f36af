"""What the lock remembers of every Terraform resource plgen wrote (its address and its Azure
identity), and the `moved` blocks that follow from it.

The lock's `identities` section lists, per Terraform module directory and workspace, each
resource's address with its identity (the Azure resource id, or for a tenant resource whose
values the customer supplies, its kind) and, for the resources the replacement guard watches,
the values of the arguments azurerm replaces them for. When a render gives an identity that the
previous lock knew a new address (a template release renamed it, or a manifest edit renumbered
it), plgen writes `moved { from, to }` into that module's moved.tf, and keeps the block for
RETENTION later template releases (Terraform needs it until every state has been planned once
with it; removing a moved block is a breaking change for a state that has not).

A lock without the section (written before plgen recorded identities) gives no moved blocks and
no guard, once: the render that reads it records the identities.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .plan.files import OutputFile
from .plan.identities import PROVIDER_MODULE, Resource, plan_resources

LOCK_KEY = "identities"
FORMAT = 1
RETENTION = 5  # template releases a moved block outlives the one that introduced it
MOVED_FILE = "moved.tf"
MOVED_TEMPLATE = "terraform/moved.tf.j2"
DEFAULT_WORKSPACE = "default"

Entries = dict[str, dict[str, Any]]  # address -> entry


@dataclass(frozen=True)
class Move:
    source: str
    target: str
    since: str

    def as_dict(self) -> dict[str, str]:
        return {"from": self.source, "to": self.target, "since": self.since}


@dataclass(frozen=True)
class Unmovable:
    """An identity whose new address cannot be reached by a moved block: its old address is
    declared again (by another resource), or two workspaces disagree where it went."""

    unit: str
    source: str
    target: str
    reason: str


@dataclass
class Refactoring:
    section: dict[str, Any]  # the new lock section (units not rendered kept as they were)
    specs: tuple[OutputFile, ...]  # a moved.tf per rendered module that has moves
    previous: dict[str, Any] | None  # the previous lock's section (None: none recorded)
    rendered_units: frozenset[str]  # the module directories this render wrote
    unmovable: list[Unmovable] = field(default_factory=list)


def entry(resource: Resource) -> dict[str, Any] | str:
    """A resource as the lock records it: its Azure id (just that, for most); its kind where the
    id is unknown (the kind then identifies it in its workspace) or the guard watches it, with
    the ForceNew facts and what its consequence names."""
    if resource.import_id is not None and not resource.guard:
        return resource.import_id
    item: dict[str, Any] = {"id": resource.import_id, "kind": resource.kind}
    if resource.guard:
        item["force_new"] = resource.force_new
        if resource.context:
            item["context"] = dict(resource.context)
    return item


def identity_key(item: dict[str, Any] | str) -> tuple[str, str]:
    """What a resource is across renders: its Azure id, or (unknown id) its kind in the unit."""
    if isinstance(item, str):
        return ("id", item)
    return ("id", item["id"]) if item.get("id") else ("kind", item.get("kind", ""))


def units_of(section: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    """The lock's flat form ({"resources": {"<module>[@<workspace>]": {address: entry}},
    "moved": {module: [...]}}, shallow so the lock stays small) as module -> {"workspaces": {...},
    "moved": [...]}."""
    units: dict[str, dict[str, Any]] = {}
    for key, entries in ((section or {}).get("resources") or {}).items():
        if isinstance(entries, dict):
            unit, _, workspace = key.partition("@")
            units.setdefault(unit, {"workspaces": {}})["workspaces"][workspace or DEFAULT_WORKSPACE] = entries
    for unit, moves in ((section or {}).get("moved") or {}).items():
        if isinstance(moves, list):
            units.setdefault(unit, {"workspaces": {}})["moved"] = moves
    return units


def _flat(units: dict[str, dict[str, Any]]) -> dict[str, Any]:
    resources = {(unit if workspace == DEFAULT_WORKSPACE else f"{unit}@{workspace}"): entries
                 for unit, item in units.items() for workspace, entries in item["workspaces"].items()}
    moved = {unit: item["moved"] for unit, item in units.items() if item.get("moved")}
    return {"resources": dict(sorted(resources.items())), **({"moved": dict(sorted(moved.items()))} if moved else {})}


def unit_entries(resources: tuple[Resource, ...]) -> dict[str, dict[str, Entries]]:
    """module directory -> workspace -> address -> entry."""
    units: dict[str, dict[str, Entries]] = {}
    for resource in resources:
        workspace = resource.workspace or DEFAULT_WORKSPACE
        units.setdefault(resource.unit, {}).setdefault(workspace, {})[resource.address] = entry(resource)
    return units


def previous_section(lock: dict | None) -> dict[str, Any] | None:
    """The previous lock's identities, or None for a lock written before they were recorded
    (or an unreadable section: a guard must not act on facts it cannot read)."""
    section = (lock or {}).get(LOCK_KEY)
    if not isinstance(section, dict) or section.get("format") != FORMAT or not isinstance(section.get("resources"), dict):
        return None
    return section


def _releases(previous: dict | None, release: str) -> list[str]:
    history = [r for r in (previous or {}).get("releases", []) if isinstance(r, str)]
    if not history or history[-1] != release:
        history.append(release)
    return history[-(RETENTION + 1):]


def _unit_moves(unit: str, old: dict[str, Any], new: dict[str, Entries], release: str,
                window: list[str]) -> tuple[list[Move], list[Unmovable]]:
    declared = {address for entries in new.values() for address in entries}
    targets: dict[str, str] = {}  # old address -> where its identity is now
    fresh: dict[str, str] = {}
    unmovable: list[Unmovable] = []
    for workspace, entries in new.items():
        now = {identity_key(item): address for address, item in entries.items()}
        for address, item in (old.get("workspaces", {}).get(workspace) or {}).items():
            target = now.get(identity_key(item))
            if target is None:
                continue
            if targets.setdefault(address, target) != target:
                unmovable.append(Unmovable(unit, address, target, "workspaces disagree where it went"))
                fresh.pop(address, None)
            elif target != address:
                fresh[address] = target
    moves: dict[str, Move] = {}
    for kept in old.get("moved", []):
        target = targets.get(kept.get("to"))
        if kept.get("since") in window and target is not None and kept.get("from") not in declared:
            moves[kept["from"]] = Move(kept["from"], target, kept["since"])
    for source, target in sorted(fresh.items()):
        if source in declared:
            unmovable.append(Unmovable(unit, source, target, f"{source} now declares another resource"))
            continue
        moves[source] = Move(source, target, release)
    return [moves[source] for source in sorted(moves) if moves[source].source != moves[source].target], unmovable


def prepare(plan, lock: dict | None, release: str, owners: dict[str, str], offboarded: set[str]) -> Refactoring:
    """The identities of this render, merged over the previous lock's, and the moved blocks of
    the modules it writes. `owners` maps each module directory this render writes to the plan
    unit that owns its files (see module_owners); modules of the plan it does not write (an
    incremental render skips unchanged ones), and with --only the tenants it leaves alone,
    keep what the previous lock says; modules gone from the plan are dropped."""
    previous = previous_section(lock)
    old_units = units_of(previous)
    rendered = frozenset(owners)
    new_units = unit_entries(plan_resources(plan, rendered))
    window = _releases(previous, release)
    alive = set(module_owners(plan, None, every_tenant=True))
    units: dict[str, Any] = {name: item for name, item in old_units.items()
                             if name not in rendered and isinstance(item, dict)
                             and (name in alive or (plan.only and name != PROVIDER_MODULE))}
    specs: list[OutputFile] = []
    unmovable: list[Unmovable] = []
    for unit in sorted(rendered):
        workspaces = new_units.get(unit, {})
        moves: list[Move] = []
        if isinstance(old_units.get(unit), dict):
            moves, blocked = _unit_moves(unit, old_units[unit], workspaces, release, window)
            unmovable += blocked
        if workspaces or moves:
            units[unit] = {"workspaces": workspaces, "moved": [m.as_dict() for m in moves]}
        if moves:
            specs.append(OutputFile(f"{unit}/{MOVED_FILE}", MOVED_TEMPLATE, unit=owners[unit],
                                    context={"moves": tuple(moves), "retention": RETENTION}))
    section: dict[str, Any] = {"format": FORMAT, "releases": window, **_flat(units)}
    if offboarded:
        section["offboarded"] = sorted(offboarded)
    return Refactoring(section, tuple(specs), previous, rendered, unmovable)


def module_owners(plan, unit_names: set[str] | None = None, *, every_tenant: bool = False) -> dict[str, str]:
    """The Terraform module directories a render writes, each with the plan unit owning its
    files: the provider's and the selected tenants' (all with every_tenant), or only those of
    `unit_names` (plan unit names: "provider", "tenants/<id>") when given."""
    kinds = {t.id: "tenant" for t in plan.tenants} | {t.id: "vpn-tenant" for t in plan.vpn_tenants}
    owners = {}
    if unit_names is None or "provider" in unit_names:
        owners[PROVIDER_MODULE] = "provider"
    for tenant_id, kind in sorted(kinds.items()):
        selected = every_tenant or not plan.only or tenant_id in plan.only
        if selected and (unit_names is None or f"tenants/{tenant_id}" in unit_names):
            owners[f"tenants/{tenant_id}/terraform"] = f"{kind}:{tenant_id}"
    return owners
