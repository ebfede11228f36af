"""Events of the provider's resources, area by area (network, NAT gateway, load balancer,
VPN, alerts), and of what else the output holds: provider values, adoption imports, backend
configurations, tenant bundles, and provider files that change with no change in the facts."""

from __future__ import annotations

import json
from typing import Any

from ..plan.identities import replacement_reference
from ..verify import hcl
from .facts import Facts, Resource
from .kinds import AREA_KINDS, BY_NAME
from .model import Change, Event
from .wording import SUMMARY_ITEMS, event, plural, short

# The resource types reviewed here, area by area (link services and consumer resources have
# their own events). Which of their arguments azurerm replaces them for comes from the same
# reference the plan's identities and the replacement guard read
# (schemas/reference/azurerm-replacement.json); a block listed there is replaced when its
# count changes (terraform-plugin-sdk semantics).
REVIEWED_TYPES = (
    "azurerm_subnet", "azurerm_nat_gateway", "azurerm_nat_gateway_public_ip_association",
    "azurerm_subnet_nat_gateway_association", "azurerm_public_ip", "azurerm_lb", "azurerm_lb_backend_address_pool",
    "azurerm_lb_probe", "azurerm_lb_rule", "azurerm_lb_nat_rule", "azurerm_virtual_network_gateway",
    "azurerm_virtual_network_gateway_connection", "azurerm_monitor_action_group", "azurerm_monitor_metric_alert",
)
FORCE_NEW: dict[str, tuple[str, ...]] = {kind: tuple(facts["force_new"]) for kind, facts in replacement_reference().items()
                                         if kind in REVIEWED_TYPES}
# What identifies the existing object a data source reads: when one of these changes, it reads another.
DATA_IDENTITY = ("name", "resource_group_name", "key_vault_id", "virtual_network_name")

NOUNS = {
    "azurerm_subnet": "subnet", "azurerm_virtual_network": "virtual network", "azurerm_nat_gateway": "NAT gateway",
    "azurerm_nat_gateway_public_ip_association": "public IP association",
    "azurerm_subnet_nat_gateway_association": "subnet association", "azurerm_public_ip": "public IP",
    "azurerm_lb": "load balancer", "azurerm_lb_backend_address_pool": "backend pool", "azurerm_lb_probe": "probe",
    "azurerm_lb_rule": "load-balancing rule", "azurerm_lb_nat_rule": "inbound NAT rule",
    "azurerm_virtual_network_gateway": "VPN gateway", "azurerm_virtual_network_gateway_connection": "VPN connection",
    "azurerm_key_vault_secret": "Key Vault secret", "azurerm_monitor_action_group": "action group",
    "azurerm_monitor_metric_alert": "metric alert", "provider": "provider block",
}
AREA_WORDS = {"network": "network", "nat_gateway": "NAT gateway", "load_balancer": "load balancer", "vpn": "VPN",
              "alert": "alerts", "provider": "provider"}


# --- provider resources by area --------------------------------------------------------------------


def _refs(value: Any) -> set[str]:
    """Blocks a parsed value refers to, as resource keys (azurerm_lb.x, data.azurerm_lb.x)."""
    found: set[str] = set()
    if isinstance(value, str):
        for ref in hcl.value_references(value):
            if ref[0] == "data" and len(ref) > 2:
                found.add(f"data.{ref[1]}.{ref[2]}")
            elif ref[0].startswith("azurerm_") and len(ref) > 1:
                found.add(f"{ref[0]}.{ref[1]}")
    elif isinstance(value, list):
        for item in value:
            found |= _refs(item)
    elif isinstance(value, dict):
        for item in value.values():
            found |= _refs(item)
    return found


def _force_new_changes(before: Resource, after: Resource) -> list[str]:
    if after.data or not isinstance(before.body, dict) or not isinstance(after.body, dict):
        return []
    changed = []
    for attribute in FORCE_NEW.get(after.type, ()):
        left, right = before.body.get(attribute), after.body.get(attribute)
        if isinstance(left, list) and left and isinstance(left[0], dict):  # a block: its count
            left, right = len(left), len(right or [])
        if left != right:
            changed.append(attribute)
    return changed


def _diff_keys(before: Any, after: Any) -> list[str]:
    if not isinstance(before, dict) or not isinstance(after, dict):
        return [] if before == after else ["(body)"]
    return sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))


def resource_events(old: Facts, new: Facts, events: list[Event]) -> set[str]:
    """One event per area and region. Returns the keys of the resources replaced."""
    keys = sorted(set(old.resources) | set(new.resources))
    changed = {k for k in keys if k in old.resources and k in new.resources
               and old.resources[k].body != new.resources[k].body}
    replaced = {k for k in changed if _force_new_changes(old.resources[k], new.resources[k])}
    moved_reads = {k for k in changed if new.resources[k].data and any(
        _get(old.resources[k].body, a) != _get(new.resources[k].body, a) for a in DATA_IDENTITY)}
    # a resource whose ForceNew argument refers to a replaced resource (or to a data source
    # that now reads another object) gets a new value there after apply: replaced too
    while True:
        more = {k for k in keys if k in old.resources and k in new.resources and k not in replaced
                and not new.resources[k].data
                and any(_refs(new.resources[k].raw.get(a) if isinstance(new.resources[k].raw, dict) else None)
                        & (replaced | moved_reads) for a in FORCE_NEW.get(new.resources[k].type, ()))}
        if not more:
            break
        replaced |= more
    groups: dict[tuple[str, str | None], list[tuple[str, str, Resource, list[Change]]]] = {}
    for key in keys:
        before, after = old.resources.get(key), new.resources.get(key)
        resource = after or before
        if before is None:
            status, changes = "added", []
        elif after is None:
            status, changes = "removed", []
        elif key in changed or key in replaced:
            status = "replaced" if key in replaced else ("reads another object" if key in moved_reads else "changed")
            diff = _diff_keys(before.body, after.body)
            changes = [Change(what=f"{key}.{attribute}", before=_get(before.body, attribute), after=_get(after.body, attribute))
                       for attribute in diff]
            if not changes:  # replaced through a reference only
                changes = [Change(what=f"{key} (replaced: it refers to a replaced resource)")]
        else:
            continue
        groups.setdefault((resource.area, resource.region), []).append((status, key, resource, changes))
    for (area, region), items in sorted(groups.items(), key=lambda item: (item[0][0], item[0][1] or "")):
        events.append(_area_event(area, region, items, old, new))
    return replaced


def _get(body: Any, attribute: str) -> Any:
    return body.get(attribute) if isinstance(body, dict) else None


def _describe(status: str, key: str, resource: Resource, changes: list[Change]) -> str:
    noun = NOUNS.get(resource.type, resource.type)
    name = f"{noun} {resource.name or key}"
    if status in ("added", "removed"):
        return f"{name} {status}"
    attributes = [c.what.rsplit(".", 1)[-1] for c in changes if not c.what.endswith(")")]
    if status == "replaced":
        forced = [a for a in FORCE_NEW.get(resource.type, ()) if a in attributes]
        return f"{name} replaced" + (f" ({', '.join(forced)})" if forced else " (refers to a replaced resource)")
    if len(changes) == 1 and not isinstance(changes[0].before, (dict, list)) and not isinstance(changes[0].after, (dict, list)):
        return f"{name}: {attributes[0]} {short(changes[0].before)} -> {short(changes[0].after)}"
    return f"{name} {status}: {', '.join(attributes)}"


def _area_event(area: str, region: str | None, items: list, old: Facts, new: Facts) -> Event:
    kind = "provider_changed" if area == "provider" else f"{area}_changed"
    subject = region or ("monitoring" if area == "alert" else "provider")
    statuses = {status for status, *_ in items}
    where = f" in {region}" if region else ""
    if statuses == {"added"}:
        head = f"{AREA_WORDS[area]}{where}: added ({plural(len(items), 'resource')})"
        lines = []
    elif statuses == {"removed"}:
        head = f"{AREA_WORDS[area]}{where}: removed ({plural(len(items), 'resource')})"
        lines = []
    else:
        head = f"{AREA_WORDS[area]}{where}"
        lines = [_describe(*item) for item in items]
    shown = lines[:SUMMARY_ITEMS] + ([f"and {len(lines) - SUMMARY_ITEMS} more"] if len(lines) > SUMMARY_ITEMS else [])
    summary = head + (": " + "; ".join(shown) if shown else "")
    changes = []
    for status, key, resource, item_changes in items:
        if status in ("added", "removed"):
            changes.append(Change(what=f"{key} ({status})", before=resource.body if status == "removed" else None,
                                  after=resource.body if status == "added" else None))
        else:
            changes.extend(item_changes)
    risk = None
    escalate = any(status in ("replaced", "removed") and not resource.data for status, _, resource, _ in items)
    if kind in AREA_KINDS and escalate:
        risk = "high"
    warnings = []
    replaced_subnets = {key for status, key, resource, _ in items if status == "replaced" and resource.type == "azurerm_subnet"}
    for link_service in sorted(new.link_services.values(), key=lambda ls: ls.name):
        if link_service.nat_subnet_resource in replaced_subnets and link_service.name in old.link_services:
            warnings.append(f"link service {link_service.name} draws its NAT IPs from the replaced subnet: Terraform "
                            "refuses to change a primary NAT IP's subnet; plan the link service's replacement")
    if any(status == "replaced" and resource.type == "azurerm_virtual_network_gateway" for status, _, resource, _ in items):
        warnings.append("a VPN gateway takes 30-45 minutes to create: every VNet-to-VNet tenant of the region is cut off meanwhile")
    return event(kind, subject, summary, region=region, changes=changes, warnings=warnings, risk=risk)


# --- provider values, backends, bundles, the rest ---------------------------------------------------


def value_events(old: Facts, new: Facts, events: list[Event]) -> None:
    before, after = old.provider_values, new.provider_values
    if before.get("tags") != after.get("tags"):
        old_tags = before.get("tags") if isinstance(before.get("tags"), dict) else {}
        new_tags = after.get("tags") if isinstance(after.get("tags"), dict) else {}
        keys = sorted(k for k in set(old_tags) | set(new_tags) if old_tags.get(k) != new_tags.get(k))
        events.append(event("tags_changed", "provider", f"provider tags: {plural(len(keys), 'tag')} change on every "
                            "provider resource", changes=[Change(what=f"tags[{json.dumps(k, ensure_ascii=False)}]",
                                                                  before=old_tags.get(k), after=new_tags.get(k)) for k in keys]))
    if before.get("action_group_email") != after.get("action_group_email"):
        events.append(event("alert_changed", "monitoring", "alerts: the action group's e-mail address changes",
                            changes=[Change(what="action_group_email", before=before.get("action_group_email"),
                                             after=after.get("action_group_email"))]))
    for key in sorted(set(before) | set(after)):
        if key not in ("tags", "action_group_email") and before.get(key) != after.get(key):
            events.append(event("output_changed", "provider", f"provider value {key} changes",
                                changes=[Change(what=key, before=before.get(key), after=after.get(key))],
                                files=["provider/terraform/terraform.tfvars.json"]))


def import_events(old: Facts, new: Facts, events: list[Event]) -> None:
    """Adoption: Terraform import blocks, one event per area and region."""
    groups: dict[tuple[str, str | None], list[tuple[str, Change]]] = {}
    for target in sorted(set(old.imports) | set(new.imports)):
        before, after = old.imports.get(target), new.imports.get(target)
        if before == after:
            continue
        resource = new.resources.get(target) or old.resources.get(target)
        area, region = (resource.area, resource.region) if resource else ("provider", None)
        noun = f"{NOUNS.get(resource.type, resource.type)} {resource.name or target}" if resource else target
        if before is None:
            line = f"{noun} is imported (adopted) instead of created"
        elif after is None:
            line = f"{noun} is no longer imported"
        else:
            line = f"{noun} is imported from another object"
        groups.setdefault((area, region), []).append((line, Change(what=f"import {target}", before=before, after=after)))
    for (area, region), items in sorted(groups.items(), key=lambda item: (item[0][0], item[0][1] or "")):
        lines = [line for line, _ in items]
        shown = lines[:SUMMARY_ITEMS] + ([f"and {len(lines) - SUMMARY_ITEMS} more"] if len(lines) > SUMMARY_ITEMS else [])
        warnings = (["an import block removed before Terraform imported the resource makes it create one that "
                     "exists (the apply fails); once imported, removing the block changes nothing"]
                    if any(change.after is None for _, change in items) else [])
        events.append(event("adoption_changed", region or "provider",
                            f"adoption{f' in {region}' if region else ''}: {'; '.join(shown)}", region=region,
                            changes=[change for _, change in items], warnings=warnings))


def _file_changes(before: dict[str, str], after: dict[str, str], prefix: str) -> list[str]:
    out = []
    for path in sorted(set(before) | set(after)):
        if before.get(path) != after.get(path):
            status = "added" if path not in before else ("removed" if path not in after else "changed")
            out.append(f"{path[len(prefix):]} ({status})")
    return out


def backend_events(old: Facts, new: Facts, events: list[Event]) -> None:
    for unit in sorted(u for u in set(old.units) | set(new.units) if u.startswith("backend ")):
        before, after = old.units.get(unit, {}), new.units.get(unit, {})
        if before == after:
            continue
        region = unit[len("backend "):]
        files = _file_changes(before, after, f"provider/backend/{region}/")
        verb = "is added" if not before else ("is removed" if not after else "changes")
        events.append(event("backend_config_changed", region,
                            f"backend configuration of {region} {verb} ({plural(len(files), 'file')}): deploy it to "
                            "the backends together with the provider change", region=region, files=files))


def _values(facts: Facts, tenant_id: str) -> dict[str, dict]:
    """The tenant's Terraform values files (terraform.tfvars.json, sites/<name>.tfvars.json)."""
    prefix = f"tenants/{tenant_id}/"
    out = {}
    for path in facts.units.get(f"tenant {tenant_id}", {}):
        if path.endswith(".tfvars.json"):
            value = facts.side.json(path)
            if isinstance(value, dict):
                out[path[len(prefix):]] = value
    return out


def bundle_events(old: Facts, new: Facts, events: list[Event]) -> None:
    covered = {e.tenant for e in events if e.kind in ("tenant_added", "tenant_removed", "tenant_offboarded",
                                                       "offboarded_tenant_dropped")}
    for unit in sorted(u for u in set(old.units) | set(new.units) if u.startswith("tenant ")):
        before, after = old.units.get(unit, {}), new.units.get(unit, {})
        if before == after:
            continue
        tenant_id = unit[len("tenant "):]
        if (not before or not after) and tenant_id in covered:
            continue
        files = _file_changes(before, after, f"tenants/{tenant_id}/")
        changes = []
        old_values, new_values = _values(old, tenant_id), _values(new, tenant_id)
        for path in sorted(set(old_values) | set(new_values)):
            left, right = old_values.get(path, {}), new_values.get(path, {})
            for key in sorted(set(left) | set(right)):
                if left.get(key) != right.get(key):
                    changes.append(Change(what=f"{path}: {key}", before=left.get(key), after=right.get(key)))
        what = sorted({c.what.split(": ", 1)[1] for c in changes})
        reason = ", ".join(what[:6]) + (f" and {len(what) - 6} more" if len(what) > 6 else "") if what else \
            ("README.md" if files == ["README.md (changed)"] else plural(len(files), "file"))
        verb = "appears" if not before else ("disappears" if not after else "changes")
        events.append(event("bundle_changed", tenant_id, f"tenant {tenant_id}: bundle {verb} ({reason}); re-send it",
                            tenant=tenant_id, files=files, changes=changes))


PROVIDER_LEVEL = {k for k in BY_NAME if k not in ("bundle_changed", "backend_config_changed")}


def _without_moves(facts: Facts, path: str) -> Any:
    """A provider Terraform file without its `moved` blocks (None when it is not one). Moved
    blocks carry state addresses from earlier renders (the lock), not facts of the manifest."""
    name = path[len("provider/terraform/"):]
    if not path.startswith("provider/terraform/") or "/" in name or not name.endswith(".tf"):
        return None
    parsed = facts.terraform_files.get(name, {})
    return {key: value for key, value in parsed.items() if key != "moved"}


def residual_events(old: Facts, new: Facts, events: list[Event]) -> None:
    before, after = old.units.get("provider", {}), new.units.get("provider", {})
    if before == after or any(e.kind in PROVIDER_LEVEL for e in events):
        return
    changed = [p for p in sorted(set(before) | set(after)) if before.get(p) != after.get(p)]
    moves_only = [p for p in changed if _without_moves(old, p) is not None and _without_moves(old, p) == _without_moves(new, p)]
    if moves_only:
        old.side.notes.append(f"Terraform moved blocks differ in {', '.join(moves_only)}: state bookkeeping from earlier "
                              "renders, not a change of the manifest")
    if len(moves_only) == len(changed):
        return
    files = [f for f in _file_changes(before, after, "") if f.split(" (")[0] not in moves_only]
    events.append(event("output_changed", "provider",
                        f"{plural(len(files), 'provider file')} change with no change in the facts plgen reads "
                        "(a template release or plgen version?)", files=files))
