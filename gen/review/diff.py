"""From the facts of two sides to events (gen.review.kinds), each in the words of the domain:
the service, link services and their access lists, and tenants here; the provider's resources
and the rest of the output in gen.review.resource_events."""

from __future__ import annotations

from .facts import Facts, LinkService, Tenant
from .model import Change, Event
from .resource_events import (
    backend_events, bundle_events, import_events, residual_events, resource_events, value_events,
)
from .wording import event, names, plural, short

LINK_SERVICE_FORCE_NEW = (("region", "location"), ("resource_group", "resource group"), ("frontend", "load balancer frontend"))


def compare(old: Facts, new: Facts) -> list[Event]:
    events: list[Event] = []
    if old.service != new.service and old.service and new.service:
        tenants = sorted(t.id for t in new.tenants.values() if t.state != "offboarded")
        events.append(event("service_renamed", new.service,
                            f"service {old.service} is renamed to {new.service}: the names plgen generates change; "
                            f"each of {plural(len(tenants), 'tenant')} gets a new bundle whose apply replaces its "
                            "private endpoint (a new connection to approve)", tenants=tenants,
                            changes=[Change(what="service.name", before=old.service, after=new.service)]))
    replaced = resource_events(old, new, events)
    _link_service_events(old, new, events, replaced)
    _tenant_events(old, new, events)
    value_events(old, new, events)
    import_events(old, new, events)
    backend_events(old, new, events)
    bundle_events(old, new, events)
    residual_events(old, new, events)
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
            events.append(event(
                "link_service_added", name,
                f"link service {name} is added in {after.region or 'its region'} with {plural(len(after.nat_ips), 'NAT IP')}"
                f" and {plural(len(after.tenants), 'tenant')}; record its alias in the manifest after the first apply",
                link_service=name, region=after.region, tenants=list(after.tenants)))
            continue
        if after is None:
            events.append(event(
                "link_service_removed", name,
                f"link service {name} is removed: every connection to it ends"
                + (f"; tenants on it: {names(before.tenants)}" if before.tenants else ""),
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
        events.append(event(
            "link_service_replaced", name,
            f"link service {name} is replaced ({why}): it gets a new alias; record it in the manifest after the apply "
            f"and re-send the bundles of {plural(len(after.tenants), 'tenant')}"
            + (f" ({names(after.tenants)})" if after.tenants else ""),
            link_service=name, region=after.region, tenants=list(after.tenants), changes=changes,
            warnings=["every private endpoint connected to the old link service stops working"]))
    if both and before.proxy_protocol != after.proxy_protocol:
        events.append(event(
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
        events.append(event(
            "alias_changed", name,
            f"link service {name}: alias {verb}; re-send the bundles of {plural(len(after.tenants), 'tenant')}"
            + (f" ({names(after.tenants)})" if after.tenants else ""),
            link_service=name, region=after.region, tenants=list(after.tenants),
            changes=[Change(what="alias", before=before.alias, after=after.alias)]))
    if both and before.other != after.other:
        old_other, new_other = dict(before.other), dict(after.other)
        keys = sorted(k for k in set(old_other) | set(new_other) if old_other.get(k) != new_other.get(k))
        events.append(event(
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
    return event("nat_ips_changed", name, summary, link_service=name, region=region, warnings=warnings, changes=changes)


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
        events.append(event(kind, name, f"{_who(subscription, owners)} {words.format(name)}",
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
            events.append(event("tenant_added", tenant_id, f"tenant {tenant_id} is added ({after.state}{approval}, "
                                f"{_where(after)}){bundle}", link_service=after.link_service, **fields))
            continue
        if after is None:
            if before.state == "offboarded":
                events.append(event("offboarded_tenant_dropped", tenant_id,
                                    f"offboarded tenant {tenant_id} leaves the manifest: `plgen approvals` no longer "
                                    f"recognises its connections to {before.link_service}",
                                    link_service=before.link_service, **fields))
            else:
                events.append(event("tenant_removed", tenant_id,
                                    f"tenant {tenant_id} ({before.state}, {_where(before)}) is removed from the manifest "
                                    "without being offboarded: its bundle is deleted, it loses access, and `plgen "
                                    "approvals` no longer knows its connections",
                                    link_service=before.link_service, **fields))
            continue
        link_service = after.link_service or before.link_service
        if before.state != after.state:
            transition = f"{before.state} -> {after.state}"
            if after.state == "offboarded":
                events.append(event("tenant_offboarded", tenant_id, f"tenant {tenant_id} is offboarded ({transition}, "
                                    f"{_where(before)}): its bundle is deleted and it leaves the access lists",
                                    link_service=link_service, **fields))
            elif after.state == "suspended" and before.state == "active":
                events.append(event("tenant_suspended", tenant_id, f"tenant {tenant_id} is suspended ({_where(after)}): "
                                    "it keeps visibility but is no longer auto-approved", link_service=link_service,
                                    **fields))
            else:
                events.append(event("tenant_reactivated", tenant_id,
                                    f"tenant {tenant_id} is reactivated ({transition}, {_where(after)})",
                                    link_service=link_service, **fields))
        if (before.connectivity, before.link_service, before.region) != (after.connectivity, after.link_service, after.region):
            what = "connectivity" if before.connectivity != after.connectivity else "link service"
            events.append(event("tenant_moved", tenant_id,
                                f"tenant {tenant_id} moves from {_where(before).removeprefix('on ')} to "
                                f"{_where(after).removeprefix('on ')}: re-send its bundle; it must re-create its "
                                "endpoint (connection) and remove the old one",
                                link_service=link_service,
                                changes=[Change(what=what, before=before.link_service or _where(before),
                                                 after=after.link_service or _where(after))], **fields))
        if before.approval != after.approval and before.approval and after.approval:
            events.append(event("tenant_approval_changed", tenant_id,
                                f"tenant {tenant_id}: approval {before.approval} -> {after.approval}",
                                link_service=link_service,
                                changes=[Change(what="approval", before=before.approval, after=after.approval)], **fields))
        if before.subscriptions != after.subscriptions and before.connectivity == after.connectivity == "private_link":
            added = sorted(set(after.subscriptions) - set(before.subscriptions))
            removed = sorted(set(before.subscriptions) - set(after.subscriptions))
            parts = ([f"+{names(added)}"] if added else []) + ([f"-{names(removed)}"] if removed else [])
            events.append(event("tenant_subscriptions_changed", tenant_id,
                                f"tenant {tenant_id}: subscriptions {' '.join(parts)}", link_service=link_service,
                                changes=[Change(what="subscriptions", before=list(before.subscriptions),
                                                 after=list(after.subscriptions))], **fields))
