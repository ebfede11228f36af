"""The kinds of change `plgen changes` reports, in risk order (the README's table is this one).

Each kind has a base risk; an area event (load balancer, NAT gateway, VPN, network) that
replaces or removes a resource plgen created counts as high whatever its base risk. Events
are sorted by risk, then by this order, then by subject.
"""

from __future__ import annotations

from dataclasses import dataclass

RISKS = ("critical", "high", "medium", "low")


@dataclass(frozen=True)
class Kind:
    name: str
    risk: str
    title: str  # the summary table's words (plural-neutral)
    meaning: str  # what a reviewer should know (README, --help)


KINDS: tuple[Kind, ...] = (
    Kind("link_service_replaced", "critical", "link service replaced",
         "name, location, resource group or load balancer frontend changed: Azure creates a new link service with "
         "a new alias; every connection to the old one ends and the tenants on it need new bundles"),
    Kind("link_service_removed", "critical", "link service removed",
         "a link service and every connection to it go away"),
    Kind("provider_changed", "critical", "provider subscription or settings changed",
         "the azurerm provider block changed (e.g. the provider subscription): every provider resource moves"),
    Kind("proxy_protocol_switched", "critical", "PROXY protocol switched",
         "every connection through the link service changes: backends must switch at the same time"),
    Kind("service_renamed", "high", "service renamed",
         "the names plgen generates change (private endpoints, connections, gateways, alerts): each tenant's "
         "endpoint is replaced when it applies its new bundle"),
    Kind("visibility_lost", "high", "subscription loses visibility",
         "a subscription can no longer see (and request a connection to) a link service"),
    Kind("auto_approval_gained", "high", "subscription gains auto-approval",
         "new connections from the subscription are approved without a human"),
    Kind("auto_approval_lost", "high", "subscription loses auto-approval",
         "new connections from the subscription wait for manual approval"),
    Kind("visibility_gained", "high", "subscription gains visibility",
         "a subscription can see (and request a connection to) a link service"),
    Kind("tenant_removed", "high", "tenant removed from the manifest",
         "a tenant that was not offboarded disappears: its bundle and access go, and `plgen approvals` no longer "
         "knows its connections"),
    Kind("tenant_offboarded", "high", "tenant offboarded", "its bundle is deleted and it leaves the access lists"),
    Kind("tenant_moved", "high", "tenant moved to another link service",
         "its alias changes: re-send its bundle; it must re-create its private endpoint"),
    Kind("nat_ips_changed", "medium", "NAT IPs changed", "count or static addresses of a link service's NAT IPs"),
    Kind("alias_changed", "medium", "alias set or changed",
         "the alias in the tenants' bundles changes: re-send them"),
    Kind("tenant_suspended", "medium", "tenant suspended", "still visible, no longer auto-approved"),
    Kind("tenant_reactivated", "medium", "tenant reactivated", "back from suspended or offboarded"),
    Kind("tenant_added", "medium", "tenant added", "a new tenant: send its bundle"),
    Kind("link_service_added", "medium", "link service added", "a new link service (shard)"),
    Kind("tenant_approval_changed", "medium", "tenant approval mode changed", "auto <-> manual"),
    Kind("tenant_subscriptions_changed", "medium", "tenant subscriptions changed", "subscriptions added or removed"),
    Kind("load_balancer_changed", "medium", "load balancer changed",
         "the created load balancer (frontends, rules, probe, NAT rules) or the existing one plgen reads"),
    Kind("nat_gateway_changed", "medium", "NAT gateway changed", "public IPs, idle timeout, subnets"),
    Kind("vpn_changed", "medium", "VPN gateway or connection changed", "gateway, SKU, connections"),
    Kind("network_changed", "medium", "network changed", "NAT subnet, virtual network"),
    Kind("adoption_changed", "medium", "adoption (import) changed",
         "Terraform imports an existing resource instead of creating it, or no longer does"),
    Kind("backend_config_changed", "medium", "backend configuration changed",
         "nginx/HAProxy/Envoy configuration of a region: deploy it with the provider change"),
    Kind("alert_changed", "low", "alert changed", "NAT port alerts and their action group"),
    Kind("link_service_changed", "low", "link service setting changed", "another argument of a link service"),
    Kind("tags_changed", "low", "provider tags changed", "service.tags on every provider resource"),
    Kind("bundle_changed", "low", "tenant bundle changed", "files in tenants/<id>/ change: re-send the bundle"),
    Kind("offboarded_tenant_dropped", "low", "offboarded tenant dropped",
         "an offboarded tenant leaves the manifest: `plgen approvals` no longer recognises its connections"),
    Kind("output_changed", "low", "output changed without a recognised cause",
         "generated files differ but no fact plgen reads does: a template release or plgen version change"),
)

BY_NAME = {kind.name: kind for kind in KINDS}
ORDER = {kind.name: index for index, kind in enumerate(KINDS)}
RISK_ORDER = {risk: index for index, risk in enumerate(RISKS)}

# Events of these kinds replace or remove something in use when they say so (Event.escalated)
AREA_KINDS = ("load_balancer_changed", "nat_gateway_changed", "vpn_changed", "network_changed")
