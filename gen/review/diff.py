"""From the facts of two sides to events (gen.review.kinds), each in the words of the domain."""

from __future__ import annotations

import json
from typing import Any, Iterable

from ..verify import hcl
from .facts import Facts, LinkService, Resource, Tenant
from .kinds import AREA_KINDS, BY_NAME
from .model import Change, Event

# ForceNew arguments of the azurerm 4.x resources plgen generates (the provider's Go source at
# v4.79.0, schema ForceNew and the commonschema helpers; see the design's facts table). A
# block listed here is replaced when its count changes (terraform-plugin-sdk semantics).
FORCE_NEW: dict[str, tuple[str, ...]] = {
    "azurerm_subnet": ("name", "resource_group_name", "virtual_network_name"),
    "azurerm_nat_gateway": ("name", "location", "resource_group_name", "sku_name", "zones"),
    "azurerm_nat_gateway_public_ip_association": ("nat_gateway_id", "public_ip_address_id"),
    "azurerm_subnet_nat_gateway_association": ("subnet_id", "nat_gateway_id"),
    "azurerm_public_ip": ("name", "location", "resource_group_name", "edge_zone", "ip_version", "sku", "sku_tier",
                          "public_ip_prefix_id", "ip_tags", "zones"),
    "azurerm_lb": ("name", "location", "resource_group_name", "edge_zone", "sku", "sku_tier"),
    "azurerm_lb_backend_address_pool": ("name", "loadbalancer_id", "synchronous_mode"),
    "azurerm_lb_probe": ("name", "loadbalancer_id"),
    "azurerm_lb_rule": ("name", "loadbalancer_id"),
    "azurerm_lb_nat_rule": ("name", "resource_group_name", "loadbalancer_id"),
    "azurerm_virtual_network_gateway": ("name", "resource_group_name", "location", "type", "vpn_type", "edge_zone",
                                        "private_ip_address_enabled", "generation", "ip_configuration"),
    "azurerm_virtual_network_gateway_connection": ("name", "resource_group_name", "location", "type",
                                                   "virtual_network_gateway_id", "dpd_timeout_seconds",
                                                   "express_route_circuit_id", "peer_virtual_network_gateway_id",
                                                   "local_azure_ip_address_enabled", "connection_protocol",
                                                   "connection_mode"),
    "azurerm_monitor_action_group": ("name", "resource_group_name", "location"),
    "azurerm_monitor_metric_alert": ("name", "resource_group_name"),
}
# What identifies the existing object a data source reads: when one of these changes, it reads another.
DATA_IDENTITY = ("name", "resource_group_name", "key_vault_id", "virtual_network_name")
LINK_SERVICE_FORCE_NEW = (("region", "location"), ("resource_group", "resource group"), ("frontend", "load balancer frontend"))

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
SUMMARY_ITEMS = 3
SHORT = 72


def _event(kind: str, subject: str, summary: str, **fields: Any) -> Event:
    risk = fields.pop("risk", None) or BY_NAME[kind].risk
    return Event(kind=kind, risk=risk, subject=subject, summary=summary, **fields)


def short(value: Any) -> str:
    """A value for a summary line: one line, at most SHORT characters."""
    if value is None:
        text = "none"
    elif isinstance(value, bool):
        text = "on" if value else "off"
    elif isinstance(value, str):
        text = value
    else:
        text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    text = " ".join(text.split())
    return text if len(text) <= SHORT else text[:SHORT - 1] + "…"


def _names(items: Iterable[str], limit: int = 5) -> str:
    items = list(items)
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def compare(old: Facts, new: Facts) -> list[Event]:
    events: list[Event] = []
    if old.service != new.service and old.service and new.service:
        tenants = sorted(t.id for t in new.tenants.values() if t.state != "offboarded")
        events.append(_event("service_renamed", new.service,
                             f"service {old.service} is renamed to {new.service}: the names plgen generates change; "
                             f"each of {_plural(len(tenants), 'tenant')} gets a new bundle whose apply replaces its "
                             "private endpoint (a new connection to approve)", tenants=tenants,
                             changes=[Change(what="service.name", before=old.service, after=new.service)]))
    replaced = _resource_events(old, new, events)
    _link_service_events(old, new, events, replaced)
    _tenant_events(old, new, events)
    _value_events(old, new, events)
    _import_events(old, new, events)
    _backend_events(old, new, events)
    _bundle_events(old, new, events)
    _residual_events(old, new, events)
    return events


# --- link services and access lists -------------------------------------------------------------


def _owners(facts: Facts, link_service: str) -> dict[str, list[str]]:
    owners: dict[str, list[str]] = {}
    for tenant in sorted(facts.tenants.values(), key=lambda t: (t.state == "offboarded", t.id)):
        if tenant.link_service == link_service:
            for subscription in tenant.subscriptions:
                owners.setdefault(subscription, []).append(tenant.id)
    return owners


def _who(subscription: str, tenants: list[str]) -> str:
    if subscription == "*":
        return "every subscription (*)"
    return f"subscription {subscription}" + (f" ({', '.join(tenants)})" if tenants else "")


def _link_service_events(old: Facts, new: Facts, events: list[Event], replaced: set[str]) -> None:
    for name in sorted(set(old.link_services) | set(new.link_services)):
        before, after = old.link_services.get(name), new.link_services.get(name)
        if before is None:
            events.append(_event(
                "link_service_added", name,
                f"link service {name} is added in {after.region or 'its region'} with {_plural(len(after.nat_ips), 'NAT IP')}"
                f" and {_plural(len(after.tenants), 'tenant')}; record its alias in the manifest after the first apply",
                link_service=name, region=after.region, tenants=list(after.tenants)))
            continue
        if after is None:
            events.append(_event(
                "link_service_removed", name,
                f"link service {name} is removed: every connection to it ends"
                + (f"; tenants on it: {_names(before.tenants)}" if before.tenants else ""),
                link_service=name, region=before.region, tenants=list(before.tenants)))
            continue
        _one_link_service(old, new, before, after, events, replaced)


def _one_link_service(old: Facts, new: Facts, before: LinkService, after: LinkService, events: list[Event],
                      replaced: set[str]) -> None:
    name = after.name
    both = before.in_terraform and after.in_terraform
    changes = [Change(what=words, before=getattr(before, attr), after=getattr(after, attr))
               for attr, words in LINK_SERVICE_FORCE_NEW if both and getattr(before, attr) != getattr(after, attr)]
    if both and not changes and after.frontend_resource and after.frontend_resource in replaced:
        changes.append(Change(what=f"load balancer {after.frontend_resource} (replaced)", before=before.frontend,
                              after=after.frontend))
    if changes:
        why = "; ".join(f"{c.what} {short(c.before)} -> {short(c.after)}" for c in changes)
        events.append(_event(
            "link_service_replaced", name,
            f"link service {name} is replaced ({why}): it gets a new alias; record it in the manifest after the apply "
            f"and re-send the bundles of {_plural(len(after.tenants), 'tenant')}"
            + (f" ({_names(after.tenants)})" if after.tenants else ""),
            link_service=name, region=after.region, tenants=list(after.tenants), changes=changes,
            warnings=["every private endpoint connected to the old link service stops working"]))
    if both and before.proxy_protocol != after.proxy_protocol:
        events.append(_event(
            "proxy_protocol_switched", name,
            f"link service {name}: PROXY protocol {short(before.proxy_protocol)} -> {short(after.proxy_protocol)}; "
            "every connection through it is affected: deploy the backend configuration at the same time",
            link_service=name, region=after.region,
            changes=[Change(what="proxy_protocol_enabled", before=before.proxy_protocol, after=after.proxy_protocol)]))
    if both:
        _list_events(name, before.visibility, after.visibility, old, new, events, after.region,
                     "visibility_gained", "visibility_lost", "can see link service {}",
                     "can no longer see link service {}")
        _list_events(name, before.auto_approval, after.auto_approval, old, new, events, after.region,
                     "auto_approval_gained", "auto_approval_lost", "is auto-approved on link service {}",
                     "is no longer auto-approved on link service {}: its new connections wait for approval")
    if both and before.nat_ips != after.nat_ips:
        events.append(_nat_event(name, after.region, before, after))
    if before.alias != after.alias:
        verb = "is set" if before.alias is None else ("is removed" if after.alias is None else "changes")
        events.append(_event(
            "alias_changed", name,
            f"link service {name}: alias {verb}; re-send the bundles of {_plural(len(after.tenants), 'tenant')}"
            + (f" ({_names(after.tenants)})" if after.tenants else ""),
            link_service=name, region=after.region, tenants=list(after.tenants),
            changes=[Change(what="alias", before=before.alias, after=after.alias)]))
    if both and before.other != after.other:
        old_other, new_other = dict(before.other), dict(after.other)
        keys = sorted(k for k in set(old_other) | set(new_other) if old_other.get(k) != new_other.get(k))
        events.append(_event(
            "link_service_changed", name, f"link service {name}: {', '.join(keys)} change",
            link_service=name, region=after.region,
            changes=[Change(what=k, before=old_other.get(k), after=new_other.get(k)) for k in keys]))


def _nat_event(name: str, region: str | None, before: LinkService, after: LinkService) -> Event:
    def describe(nat_ips) -> str:
        static = [ip for _, _, ip in nat_ips if ip]
        return f"{len(nat_ips)}" + (f" (static {', '.join(static)})" if static else " (dynamic)")

    static_before = [ip for _, _, ip in before.nat_ips if ip]
    static_after = [ip for _, _, ip in after.nat_ips if ip]
    changes = [Change(what="NAT IP count", before=len(before.nat_ips), after=len(after.nat_ips))] \
        if len(before.nat_ips) != len(after.nat_ips) else []
    if static_before != static_after:
        changes.append(Change(what="static NAT IP addresses", before=static_before, after=static_after))
    if len(before.nat_ips) == len(after.nat_ips) and static_before == static_after:  # names or primary flags
        changes.append(Change(what="NAT IP configurations", before=[list(n) for n in before.nat_ips],
                              after=[list(n) for n in after.nat_ips]))
    warnings = []
    if len(after.nat_ips) < len(before.nat_ips):
        warnings.append("Azure cannot remove NAT IPs from a link service: the apply fails unless the link service is replaced")
    after_addresses = {nat_name: ip for nat_name, _, ip in after.nat_ips}
    if any(ip and nat_name in after_addresses and not after_addresses[nat_name] for nat_name, _, ip in before.nat_ips):
        warnings.append("a static NAT IP address, once assigned, cannot be removed (Terraform refuses the plan)")
    summary = (f"link service {name}: NAT IPs {describe(before.nat_ips)} -> {describe(after.nat_ips)}"
               if changes and changes[0].what != "NAT IP configurations" else
               f"link service {name}: NAT IP configurations renamed or reordered")
    return _event("nat_ips_changed", name, summary, link_service=name, region=region, warnings=warnings, changes=changes)


def _list_events(name: str, before: tuple[str, ...], after: tuple[str, ...], old: Facts, new: Facts, events: list[Event],
                 region: str | None, gained_kind: str, lost_kind: str, gained_words: str, lost_words: str) -> None:
    old_all, new_all = "*" in before, "*" in after
    gained = [] if old_all else (["*"] if new_all else sorted(set(after) - set(before)))
    lost = [] if new_all else (["*"] if old_all else sorted(set(before) - set(after)))
    new_owners, old_owners = _owners(new, name), _owners(old, name)
    for subscription, kind, words, first, second in (
            [(s, gained_kind, gained_words, new_owners, old_owners) for s in gained]
            + [(s, lost_kind, lost_words, old_owners, new_owners) for s in lost]):
        owners = first.get(subscription) or second.get(subscription) or []
        events.append(_event(kind, name, f"{_who(subscription, owners)} {words.format(name)}",
                             link_service=name, subscription=subscription, region=region,
                             tenant=owners[0] if owners else None, tenants=owners))


# --- tenants --------------------------------------------------------------------------------------


def _where(tenant: Tenant) -> str:
    if tenant.connectivity == "vnet_to_vnet":
        return "VNet-to-VNet" + (f" in {tenant.region}" if tenant.region else "")
    return f"on {tenant.link_service}"


def _tenant_events(old: Facts, new: Facts, events: list[Event]) -> None:
    for tenant_id in sorted(set(old.tenants) | set(new.tenants)):
        before, after = old.tenants.get(tenant_id), new.tenants.get(tenant_id)
        fields = {"tenant": tenant_id}
        if before is None:
            approval = f", {after.approval} approval" if after.approval else ""
            bundle = "; send its bundle" if f"tenant {tenant_id}" in new.units else ""
            events.append(_event("tenant_added", tenant_id, f"tenant {tenant_id} is added ({after.state}{approval}, "
                                 f"{_where(after)}){bundle}", link_service=after.link_service, **fields))
            continue
        if after is None:
            if before.state == "offboarded":
                events.append(_event("offboarded_tenant_dropped", tenant_id,
                                     f"offboarded tenant {tenant_id} leaves the manifest: `plgen approvals` no longer "
                                     f"recognises its connections to {before.link_service}",
                                     link_service=before.link_service, **fields))
            else:
                events.append(_event("tenant_removed", tenant_id,
                                     f"tenant {tenant_id} ({before.state}, {_where(before)}) is removed from the manifest "
                                     "without being offboarded: its bundle is deleted, it loses access, and `plgen "
                                     "approvals` no longer knows its connections",
                                     link_service=before.link_service, **fields))
            continue
        link_service = after.link_service or before.link_service
        if before.state != after.state:
            transition = f"{before.state} -> {after.state}"
            if after.state == "offboarded":
                events.append(_event("tenant_offboarded", tenant_id, f"tenant {tenant_id} is offboarded ({transition}, "
                                     f"{_where(before)}): its bundle is deleted and it leaves the access lists",
                                     link_service=link_service, **fields))
            elif after.state == "suspended" and before.state == "active":
                events.append(_event("tenant_suspended", tenant_id, f"tenant {tenant_id} is suspended ({_where(after)}): "
                                     "it keeps visibility but is no longer auto-approved", link_service=link_service,
                                     **fields))
            else:
                events.append(_event("tenant_reactivated", tenant_id,
                                     f"tenant {tenant_id} is reactivated ({transition}, {_where(after)})",
                                     link_service=link_service, **fields))
        if (before.connectivity, before.link_service, before.region) != (after.connectivity, after.link_service, after.region):
            what = "connectivity" if before.connectivity != after.connectivity else "link service"
            events.append(_event("tenant_moved", tenant_id,
                                 f"tenant {tenant_id} moves from {_where(before).removeprefix('on ')} to "
                                 f"{_where(after).removeprefix('on ')}: re-send its bundle; it must re-create its "
                                 "endpoint (connection) and remove the old one",
                                 link_service=link_service,
                                 changes=[Change(what=what, before=before.link_service or _where(before),
                                                 after=after.link_service or _where(after))], **fields))
        if before.approval != after.approval and before.approval and after.approval:
            events.append(_event("tenant_approval_changed", tenant_id,
                                 f"tenant {tenant_id}: approval {before.approval} -> {after.approval}",
                                 link_service=link_service,
                                 changes=[Change(what="approval", before=before.approval, after=after.approval)], **fields))
        if before.subscriptions != after.subscriptions and before.connectivity == after.connectivity == "private_link":
            added = sorted(set(after.subscriptions) - set(before.subscriptions))
            removed = sorted(set(before.subscriptions) - set(after.subscriptions))
            parts = ([f"+{_names(added)}"] if added else []) + ([f"-{_names(removed)}"] if removed else [])
            events.append(_event("tenant_subscriptions_changed", tenant_id,
                                 f"tenant {tenant_id}: subscriptions {' '.join(parts)}", link_service=link_service,
                                 changes=[Change(what="subscriptions", before=list(before.subscriptions),
                                                 after=list(after.subscriptions))], **fields))


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


def _resource_events(old: Facts, new: Facts, events: list[Event]) -> set[str]:
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
        head = f"{AREA_WORDS[area]}{where}: added ({_plural(len(items), 'resource')})"
        lines = []
    elif statuses == {"removed"}:
        head = f"{AREA_WORDS[area]}{where}: removed ({_plural(len(items), 'resource')})"
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
    return _event(kind, subject, summary, region=region, changes=changes, warnings=warnings, risk=risk)


# --- provider values, backends, bundles, the rest ---------------------------------------------------


def _value_events(old: Facts, new: Facts, events: list[Event]) -> None:
    before, after = old.provider_values, new.provider_values
    if before.get("tags") != after.get("tags"):
        old_tags = before.get("tags") if isinstance(before.get("tags"), dict) else {}
        new_tags = after.get("tags") if isinstance(after.get("tags"), dict) else {}
        keys = sorted(k for k in set(old_tags) | set(new_tags) if old_tags.get(k) != new_tags.get(k))
        events.append(_event("tags_changed", "provider", f"provider tags: {_plural(len(keys), 'tag')} change on every "
                             "provider resource", changes=[Change(what=f"tags[{json.dumps(k, ensure_ascii=False)}]",
                                                                  before=old_tags.get(k), after=new_tags.get(k)) for k in keys]))
    if before.get("action_group_email") != after.get("action_group_email"):
        events.append(_event("alert_changed", "monitoring", "alerts: the action group's e-mail address changes",
                             changes=[Change(what="action_group_email", before=before.get("action_group_email"),
                                             after=after.get("action_group_email"))]))
    for key in sorted(set(before) | set(after)):
        if key not in ("tags", "action_group_email") and before.get(key) != after.get(key):
            events.append(_event("output_changed", "provider", f"provider value {key} changes",
                                 changes=[Change(what=key, before=before.get(key), after=after.get(key))],
                                 files=["provider/terraform/terraform.tfvars.json"]))


def _import_events(old: Facts, new: Facts, events: list[Event]) -> None:
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
        events.append(_event("adoption_changed", region or "provider",
                             f"adoption{f' in {region}' if region else ''}: {'; '.join(shown)}", region=region,
                             changes=[change for _, change in items], warnings=warnings))


def _file_changes(before: dict[str, str], after: dict[str, str], prefix: str) -> list[str]:
    out = []
    for path in sorted(set(before) | set(after)):
        if before.get(path) != after.get(path):
            status = "added" if path not in before else ("removed" if path not in after else "changed")
            out.append(f"{path[len(prefix):]} ({status})")
    return out


def _backend_events(old: Facts, new: Facts, events: list[Event]) -> None:
    for unit in sorted(u for u in set(old.units) | set(new.units) if u.startswith("backend ")):
        before, after = old.units.get(unit, {}), new.units.get(unit, {})
        if before == after:
            continue
        region = unit[len("backend "):]
        files = _file_changes(before, after, f"provider/backend/{region}/")
        verb = "is added" if not before else ("is removed" if not after else "changes")
        events.append(_event("backend_config_changed", region,
                             f"backend configuration of {region} {verb} ({_plural(len(files), 'file')}): deploy it to "
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


def _bundle_events(old: Facts, new: Facts, events: list[Event]) -> None:
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
            ("README.md" if files == ["README.md (changed)"] else _plural(len(files), "file"))
        verb = "appears" if not before else ("disappears" if not after else "changes")
        events.append(_event("bundle_changed", tenant_id, f"tenant {tenant_id}: bundle {verb} ({reason}); re-send it",
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


def _residual_events(old: Facts, new: Facts, events: list[Event]) -> None:
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
    events.append(_event("output_changed", "provider",
                         f"{_plural(len(files), 'provider file')} change with no change in the facts plgen reads "
                         "(a template release or plgen version?)", files=files))
