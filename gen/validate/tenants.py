"""Rules of the tenants: references to regions and link services, endpoints, and the limits
of each link service's lists."""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from collections.abc import Iterator

from ..load import PathKey
from ..manifest import SUBNET_ID_RE, Manifest, Region
from ..naming import generated_endpoint_name, name_problem, planned_endpoints, tenant_link_service
from .common import (MAX_ENDPOINTS_PER_LINK_SERVICE, MAX_SUBSCRIPTIONS_PER_LIST, Finding, Refs, limit)

SINGLE_FILE = Refs()


def _tenant_rules(manifest: Manifest, refs: Refs = SINGLE_FILE) -> Iterator[Finding]:
    regions = {region.location: region for region in manifest.provider.regions}
    ids: dict[str, int] = {}
    for t, tenant in enumerate(manifest.tenants):
        base: PathKey = ("tenants", t)
        if tenant.id in ids:
            yield base + ("id",), f"tenant id {tenant.id!r} is already used by {refs.tenant(ids[tenant.id])}"
        ids.setdefault(tenant.id, t)
        for s, count in Counter(tenant.subscriptions).items():
            if count > 1:
                yield base + ("subscriptions", tenant.subscriptions.index(s, tenant.subscriptions.index(s) + 1)), f"subscription {s} is listed twice"
        region = regions.get(tenant.region)
        if region is None:
            yield base + ("region",), f"no region {tenant.region!r} in provider.regions (known: {', '.join(sorted(regions))})"
        if tenant.connectivity == "vnet_to_vnet":
            yield from _vnet_to_vnet_tenant_rules(tenant, region, base)
            continue
        if tenant.vnet_to_vnet is not None:
            yield base + ("vnet_to_vnet",), "only tenants with `connectivity: vnet_to_vnet` take a vnet_to_vnet section"
        if region is not None:
            names = [ls.name for ls in region.link_services]
            if tenant.link_service is None and len(names) > 1:
                yield base + ("link_service",), f"region {region.location} has {len(names)} link services; name one of {', '.join(names)}"
            elif tenant.link_service is not None and tenant.link_service not in names:
                yield base + ("link_service",), f"no link service {tenant.link_service!r} in region {region.location} (known: {', '.join(names)})"
        yield from _endpoint_site_rules(manifest, tenant, base, refs)


def _endpoint_site_rules(manifest: Manifest, tenant, base: PathKey, refs: Refs) -> Iterator[Finding]:
    """Each endpoint (the single `endpoint`, or every one of `endpoint_sites`) lives in one of
    the tenant's subscriptions, in a VNet and resource group of its own."""
    sites = [(base + ("endpoint",), tenant.endpoint, None)] if tenant.endpoint else []
    sites += [(base + ("endpoint_sites", i), site, site.name) for i, site in enumerate(tenant.endpoint_sites)]
    if tenant.endpoint and tenant.endpoint_sites:
        yield base + ("endpoint_sites",), "give either `endpoint` (one endpoint) or `endpoint_sites` (several), not both"
    if tenant.endpoint_sites and "endpoints" in tenant.model_fields_set and tenant.endpoints != len(tenant.endpoint_sites):
        yield base + ("endpoints",), (
            f"endpoints is {tenant.endpoints} but the tenant has {len(tenant.endpoint_sites)} endpoint_sites, and its "
            "bundle creates one endpoint per site: remove `endpoints` (it then counts the sites) or make them agree")
    first: dict[tuple, PathKey] = {}  # (what, key) -> the site that used it first
    for path, site, name in sites:
        match = SUBNET_ID_RE.fullmatch(site.subnet_id)
        if match and match["subscription"] not in tenant.subscriptions:
            yield path + ("subnet_id",), (
                f"the endpoint subnet is in subscription {match['subscription']}, which is not among this tenant's "
                "subscriptions, so its connection could not be matched to the tenant"
            )
        if name is not None and (earlier := first.setdefault(("name", name), path)) != path:
            yield path + ("name",), f"site name {name!r} is already used by {refs.path(earlier)}"
        if match is None:
            continue
        vnet = (match["subscription"].lower(), match["resource_group"].lower(), match["vnet"].lower())
        if (earlier := first.setdefault(("vnet",) + vnet, path)) != path:
            # ARM refuses a second zone of the same name linked to one VNet ("A virtual network
            # cannot be linked to multiple zones with overlapping namespaces").
            yield path + ("subnet_id",), (
                f"virtual network {match['vnet']} already has an endpoint ({refs.path(earlier)}); one "
                f"endpoint per virtual network: its private DNS zone {manifest.service.fqdn} can be linked to a "
                "virtual network only once")
        if (earlier := first.setdefault(("group", match["subscription"].lower(), site.resource_group.lower()), path)) != path:
            yield path + ("resource_group",), (
                f"resource group {site.resource_group} already holds the endpoint of {refs.path(earlier)}; "
                f"each site needs its own resource group, because each creates a private DNS zone named "
                f"{manifest.service.fqdn}")
    if tenant.state == "offboarded":
        return
    for path, _, name in sites or [(base, None, None)]:
        problem = name_problem("private_endpoint", generated_endpoint_name(manifest.service.name, tenant.id, name))
        if problem:
            yield (path + ("name",) if name else base + ("id",)), (
                f"generated {problem}; shorten the service name{', tenant id or site name' if name else ' or tenant id'}")


def _vnet_to_vnet_tenant_rules(tenant, region: Region | None, base: PathKey) -> Iterator[Finding]:
    if tenant.vnet_to_vnet is None:
        yield base + ("vnet_to_vnet",), "a vnet_to_vnet tenant needs a vnet_to_vnet section (gateway_id, shared_key_secret)"
    if tenant.endpoint_sites:
        yield base + ("endpoint_sites",), "a vnet_to_vnet tenant has no endpoint_sites (it connects through the VPN gateway)"
    for field in ("endpoint", "link_service", "request_message"):
        if getattr(tenant, field) is not None:
            yield base + (field,), f"a vnet_to_vnet tenant has no {field} (it connects through the VPN gateway)"
    if region is not None and region.vpn_gateway is None:
        yield base + ("region",), f"region {region.location} has vnet_to_vnet tenants but no vpn_gateway"
    create = region.load_balancer.create if region is not None else None
    if region is not None and tenant.state != "offboarded" and (create is None or create.routed_frontend is None):
        # Routed traffic reaches the load balancer without a PROXY header; on the link
        # services' frontends the backends would wait for one and reset the connection.
        yield base + ("connectivity",), (
            f"a vnet_to_vnet tenant needs a frontend of its own: give region {region.location}'s created load balancer "
            "a `routed_frontend` (name, private_ip), which gets rules to plain backend listeners"
            + ("" if create else "; plgen can add it only to a load balancer it creates (`load_balancer.create`)"))


def _passed_at(counts: list[int], ceiling: int) -> int:
    """The position at which a running count first passes the ceiling."""
    return next((i for i, count in enumerate(counts) if count > ceiling), len(counts) - 1)


def _link_service_limits(manifest: Manifest, refs: Refs = SINGLE_FILE) -> Iterator[Finding]:
    members: dict[str, list[int]] = defaultdict(list)
    for t, tenant in enumerate(manifest.tenants):
        name = tenant_link_service(manifest, tenant)
        if name is not None and tenant.state != "offboarded":
            members[name].append(t)
    public = manifest.provider.visibility == "public"
    for r, region in enumerate(manifest.provider.regions):
        for s, link_service in enumerate(region.link_services):
            path: PathKey = ("provider", "regions", r, "link_services", s)
            indices = members.get(link_service.name, [])
            tenants = [manifest.tenants[t] for t in indices]
            endpoints = sum(planned_endpoints(tenant) for tenant in tenants)
            if endpoints > MAX_ENDPOINTS_PER_LINK_SERVICE:
                running = list(itertools.accumulate(planned_endpoints(tenant) for tenant in tenants))
                yield path, limit(
                    f"tenants of link service {link_service.name!r} plan {endpoints} private endpoints; a Private Link "
                    f"Service accepts at most {MAX_ENDPOINTS_PER_LINK_SERVICE}: add a shard (another link service on "
                    "its own frontend) and move tenants to it with `link_service`"
                    + refs.passed_at(indices[_passed_at(running, MAX_ENDPOINTS_PER_LINK_SERVICE)])
                )
            visible = {s for tenant in tenants for s in tenant.subscriptions}
            auto = {s for tenant in tenants if tenant.state == "active" and tenant.approval == "auto" for s in tenant.subscriptions}
            if not public and len(visible) > MAX_SUBSCRIPTIONS_PER_LIST:
                yield path, limit(
                    f"{len(visible)} subscriptions in the visibility list of {link_service.name!r}; Azure allows at most "
                    f"{MAX_SUBSCRIPTIONS_PER_LIST}: set provider.visibility to public and approve connections with "
                    "`plgen approvals`, or move tenants to another shard"
                    + refs.passed_at(indices[_passed_at(_growth(tenants, lambda _: True), MAX_SUBSCRIPTIONS_PER_LIST)])
                )
            if len(auto) > MAX_SUBSCRIPTIONS_PER_LIST:
                automatic = _growth(tenants, lambda tenant: tenant.state == "active" and tenant.approval == "auto")
                yield path, limit(
                    f"{len(auto)} subscriptions in the auto-approval list of {link_service.name!r}; Azure allows at most "
                    f"{MAX_SUBSCRIPTIONS_PER_LIST}: switch some tenants to `approval: manual` (approved with `plgen "
                    "approvals`) or move tenants to another shard"
                    + refs.passed_at(indices[_passed_at(automatic, MAX_SUBSCRIPTIONS_PER_LIST)])
                )
            owners: dict[str, int] = {}
            for t in members.get(link_service.name, []):
                for i, subscription in enumerate(manifest.tenants[t].subscriptions):
                    if subscription in owners and owners[subscription] != t:
                        yield ("tenants", t, "subscriptions", i), (
                            f"subscription {subscription} also belongs to tenant {manifest.tenants[owners[subscription]].id!r}"
                            f"{refs.in_file(owners[subscription])} "
                            f"on link service {link_service.name!r}; approvals could not tell the two apart"
                        )
                    owners.setdefault(subscription, t)


def _growth(tenants, counted) -> list[int]:
    """The size of a list of subscriptions after each tenant (those `counted`) is added."""
    seen: set[str] = set()
    sizes = []
    for tenant in tenants:
        if counted(tenant):
            seen.update(tenant.subscriptions)
        sizes.append(len(seen))
    return sizes
