"""`plgen capacity`: how close each link service is to Azure's ceilings, with advice.

Microsoft does not document how many concurrent connections one NAT IP carries; the report
states the assumption it uses (the ephemeral TCP port range per NAT IP) rather than hiding it.
"""

from __future__ import annotations

import ipaddress
import json
from dataclasses import asdict, dataclass, field

from .manifest import Manifest
from .validate import (MAX_ENDPOINTS_PER_LINK_SERVICE, MAX_LINK_SERVICES_PER_LB, MAX_NAT_IPS,
                       MAX_SUBSCRIPTIONS_PER_LIST, usable_addresses)
from .naming import planned_endpoints, tenant_link_service

PORTS_PER_NAT_IP = 64_512  # assumption: TCP ports 1024-65535 per NAT IP; not documented by Microsoft
WARN_RATIO = 0.8


@dataclass
class LinkServiceCapacity:
    link_service: str
    region: str
    endpoints: int
    endpoints_limit: int
    visibility_subscriptions: int | str
    auto_approval_subscriptions: int
    subscriptions_limit: int
    nat_ips: int
    nat_ips_limit: int
    nat_subnet: str
    nat_subnet_free: int
    link_services_on_load_balancer: int
    link_services_per_load_balancer_limit: int
    expected_connections: int | None  # the sum of the figures tenants give; None when none gives one
    tenants_without_expected_connections: int
    connection_capacity: int
    ports_per_nat_ip_assumed: int
    exceeded: list[str] = field(default_factory=list)
    advice: list[str] = field(default_factory=list)


def report(manifest: Manifest) -> list[LinkServiceCapacity]:
    rows = []
    public = manifest.provider.visibility == "public"
    for region in sorted(manifest.provider.regions, key=lambda r: r.location):
        nat_total = sum(ls.nat_ips if isinstance(ls.nat_ips, int) else len(ls.nat_ips) for ls in region.link_services)
        free = usable_addresses(region.nat_subnet.address_prefix) - nat_total
        for ls in sorted(region.link_services, key=lambda l: l.name):
            tenants = [t for t in manifest.tenants if tenant_link_service(manifest, t) == ls.name and t.state != "offboarded"]
            endpoints = sum(planned_endpoints(t) for t in tenants)
            visible = len({s for t in tenants for s in t.subscriptions})
            auto = len({s for t in tenants if t.state == "active" and t.approval == "auto" for s in t.subscriptions})
            nat_ips = ls.nat_ips if isinstance(ls.nat_ips, int) else len(ls.nat_ips)
            given = [t.expected_connections for t in tenants if t.expected_connections is not None]
            row = LinkServiceCapacity(
                link_service=ls.name, region=region.location,
                endpoints=endpoints, endpoints_limit=MAX_ENDPOINTS_PER_LINK_SERVICE,
                visibility_subscriptions="*" if public else visible, auto_approval_subscriptions=auto,
                subscriptions_limit=MAX_SUBSCRIPTIONS_PER_LIST,
                nat_ips=nat_ips, nat_ips_limit=MAX_NAT_IPS,
                nat_subnet=region.nat_subnet.address_prefix, nat_subnet_free=free,
                link_services_on_load_balancer=len(region.link_services),
                link_services_per_load_balancer_limit=MAX_LINK_SERVICES_PER_LB,
                expected_connections=sum(given) if given else None,
                tenants_without_expected_connections=len(tenants) - len(given), connection_capacity=nat_ips * PORTS_PER_NAT_IP,
                ports_per_nat_ip_assumed=PORTS_PER_NAT_IP,
            )
            _judge(row, public)
            rows.append(row)
    return rows


def _judge(row: LinkServiceCapacity, public: bool) -> None:
    if row.endpoints > row.endpoints_limit:
        row.exceeded.append(f"{row.endpoints} endpoints > {row.endpoints_limit}")
    if row.endpoints >= WARN_RATIO * row.endpoints_limit:
        row.advice.append("add a shard: another link service on its own load balancer frontend, and move tenants to it")
    if not public and isinstance(row.visibility_subscriptions, int):
        if row.visibility_subscriptions > row.subscriptions_limit:
            row.exceeded.append(f"{row.visibility_subscriptions} subscriptions in the visibility list > {row.subscriptions_limit}")
        if row.visibility_subscriptions >= WARN_RATIO * row.subscriptions_limit:
            row.advice.append("switch to `visibility: public` and approve connections with `plgen approvals`, or shard")
    if row.auto_approval_subscriptions > row.subscriptions_limit:
        row.exceeded.append(f"{row.auto_approval_subscriptions} subscriptions in the auto-approval list > {row.subscriptions_limit}")
    if row.auto_approval_subscriptions >= WARN_RATIO * row.subscriptions_limit:
        row.advice.append("move tenants to `approval: manual` (approved by `plgen approvals`) or to another shard")
    if row.link_services_on_load_balancer > row.link_services_per_load_balancer_limit:
        row.exceeded.append(f"{row.link_services_on_load_balancer} link services on one load balancer > {row.link_services_per_load_balancer_limit}")
    if row.nat_subnet_free < 0:
        row.exceeded.append(f"NAT subnet {row.nat_subnet} is {-row.nat_subnet_free} addresses short")
    if row.expected_connections is not None and row.expected_connections > row.connection_capacity:
        row.advice.append(f"expected connections exceed {row.nat_ips} NAT IPs x {PORTS_PER_NAT_IP:,} ports (assumed): add NAT IPs "
                          "(up to 8) or a shard, and watch PLSNatPortsUsage")
    if row.nat_ips < row.nat_ips_limit and row.nat_subnet_free < row.nat_ips_limit - row.nat_ips:
        row.advice.append(f"the NAT subnet has {max(row.nat_subnet_free, 0)} free addresses: size it before creation "
                          "if NAT IPs may grow (a subnet cannot grow in place)")


def as_json(rows: list[LinkServiceCapacity]) -> str:
    return json.dumps([asdict(row) for row in rows], indent=2, ensure_ascii=False)


def _expected_connections_text(row: LinkServiceCapacity) -> str:
    if row.expected_connections is None:
        return f"not set (capacity ~{row.connection_capacity:,})"
    text = f"{row.expected_connections:,} of ~{row.connection_capacity:,}"
    if row.tenants_without_expected_connections:
        text += f" (not set for {_tenants(row.tenants_without_expected_connections)})"
    return text


def _tenants(count: int) -> str:
    return f"{count} tenant{'' if count == 1 else 's'}"


def as_text(rows: list[LinkServiceCapacity]) -> str:
    lines = [f"Connection capacity assumes {PORTS_PER_NAT_IP:,} TCP ports per NAT IP (Microsoft documents no figure; "
             "watch the PLSNatPortsUsage metric).", ""]
    for row in rows:
        visibility = row.visibility_subscriptions if row.visibility_subscriptions == "*" else \
            f"{row.visibility_subscriptions}/{row.subscriptions_limit}"
        lines += [
            f"{row.link_service} ({row.region})",
            f"  endpoints            {row.endpoints}/{row.endpoints_limit}",
            f"  visibility list      {visibility}",
            f"  auto-approval list   {row.auto_approval_subscriptions}/{row.subscriptions_limit}",
            f"  NAT IPs              {row.nat_ips}/{row.nat_ips_limit}; {row.nat_subnet} has {row.nat_subnet_free} free addresses",
            f"  link services on LB  {row.link_services_on_load_balancer}/{row.link_services_per_load_balancer_limit}",
            f"  expected connections {_expected_connections_text(row)}",
        ]
        lines += [f"  EXCEEDED: {text}" for text in row.exceeded]
        lines += [f"  advice: {text}" for text in row.advice]
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"
