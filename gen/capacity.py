"""`plgen capacity`: how close each link service is to Azure's ceilings, with advice.

Connections are counted as Microsoft counts them: ports per NAT IP per backend VM behind the
Standard Load Balancer. The manifest does not say how many VMs that is, so the command line may
(`--backend-vms`); without it the report gives the figures per VM.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

from .manifest import Manifest
from .validate import (MAX_ENDPOINTS_PER_LINK_SERVICE, MAX_LINK_SERVICES_PER_LB, MAX_NAT_IPS,
                       MAX_SUBSCRIPTIONS_PER_LIST, usable_addresses)
from .naming import planned_endpoints, tenant_link_service

# https://learn.microsoft.com/azure/private-link/private-link-faq ("How can I scale my Private Link
# service?"): "Each NAT IP provides 64k TCP connections (64k ports) per VM behind the Standard Load
# Balancer." 64k is taken as 64,000, the lower reading.
PORTS_PER_NAT_IP_PER_VM = 64_000
WARN_RATIO = 0.8
# Issue 15, from the same FAQ: NAT IPs once added cannot be removed. Said wherever the advice is
# to add NAT IPs, so that adding VMs (which can go again) is preferred when either works.
NAT_IPS_ARE_PERMANENT = ("NAT IPs are permanent: a NAT IP configuration added to a Private Link Service cannot be "
                         "removed, so prefer backend VMs when either works")


@dataclass
class BackendVms:
    """Backend VMs behind the load balancer, from the command line: one count for every link
    service, and counts for named link services."""
    every: int | None = None
    by_link_service: dict[str, int] = field(default_factory=dict)

    @classmethod
    def parse(cls, values: tuple[str, ...] | list[str]) -> BackendVms:
        """Each value is N or LINK_SERVICE=N, N a whole number of at least 1; ValueError says
        what is wrong with the first bad one."""
        parsed = cls()
        for value in values:
            name, equals, count = value.rpartition("=")
            name = name.strip()
            try:
                number = int(count)
            except ValueError:
                raise ValueError(f"{value!r}: N must be a whole number of backend VMs") from None
            if number < 1:
                raise ValueError(f"{value!r}: a load balancer needs at least 1 backend VM")
            if equals and not name:
                raise ValueError(f"{value!r}: name the link service before '='")
            if not equals:
                if parsed.every is not None:
                    raise ValueError(f"N for every link service is given twice ({parsed.every} and {number})")
                parsed.every = number
            elif name in parsed.by_link_service:
                raise ValueError(f"{name} is given twice ({parsed.by_link_service[name]} and {number})")
            else:
                parsed.by_link_service[name] = number
        return parsed

    def of(self, link_service: str) -> int | None:
        return self.by_link_service.get(link_service, self.every)


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
    connection_capacity: int  # at backend_vms, or for one VM when backend_vms is None
    ports_per_nat_ip_assumed: int  # kept for existing readers: ports_per_nat_ip_per_vm
    backend_vms: int | None
    ports_per_nat_ip_per_vm: int
    connection_capacity_per_vm: int
    backend_vms_needed: int | None  # at the current NAT IPs, for the expected connections
    nat_ips_needed: int | None  # at backend_vms, for the expected connections; may exceed nat_ips_limit
    nat_ips_addable: int  # within nat_ips_limit and the NAT subnet's free addresses (shared by the region)
    exceeded: list[str] = field(default_factory=list)
    advice: list[str] = field(default_factory=list)


def report(manifest: Manifest, backend_vms: BackendVms | None = None) -> list[LinkServiceCapacity]:
    backend_vms = backend_vms or BackendVms()
    rows = []
    public = manifest.provider.visibility == "public"
    members_of: dict[str | None, list] = {}  # grouped once, not scanned per link service
    for tenant in manifest.tenants:
        if tenant.state != "offboarded":
            members_of.setdefault(tenant_link_service(manifest, tenant), []).append(tenant)
    for region in sorted(manifest.provider.regions, key=lambda r: r.location):
        nat_total = sum(ls.nat_ips if isinstance(ls.nat_ips, int) else len(ls.nat_ips) for ls in region.link_services)
        free = usable_addresses(region.nat_subnet.address_prefix) - nat_total
        for ls in sorted(region.link_services, key=lambda l: l.name):
            tenants = members_of.get(ls.name, [])
            endpoints = sum(planned_endpoints(t) for t in tenants)
            visible = len({s for t in tenants for s in t.subscriptions})
            auto = len({s for t in tenants if t.state == "active" and t.approval == "auto" for s in t.subscriptions})
            nat_ips = ls.nat_ips if isinstance(ls.nat_ips, int) else len(ls.nat_ips)
            given = [t.expected_connections for t in tenants if t.expected_connections is not None]
            expected = sum(given) if given else None
            vms = backend_vms.of(ls.name)
            per_vm = nat_ips * PORTS_PER_NAT_IP_PER_VM
            row = LinkServiceCapacity(
                link_service=ls.name, region=region.location,
                endpoints=endpoints, endpoints_limit=MAX_ENDPOINTS_PER_LINK_SERVICE,
                visibility_subscriptions="*" if public else visible, auto_approval_subscriptions=auto,
                subscriptions_limit=MAX_SUBSCRIPTIONS_PER_LIST,
                nat_ips=nat_ips, nat_ips_limit=MAX_NAT_IPS,
                nat_subnet=region.nat_subnet.address_prefix, nat_subnet_free=free,
                link_services_on_load_balancer=len(region.link_services),
                link_services_per_load_balancer_limit=MAX_LINK_SERVICES_PER_LB,
                expected_connections=expected, tenants_without_expected_connections=len(tenants) - len(given),
                connection_capacity=per_vm * (vms or 1), ports_per_nat_ip_assumed=PORTS_PER_NAT_IP_PER_VM,
                backend_vms=vms, ports_per_nat_ip_per_vm=PORTS_PER_NAT_IP_PER_VM, connection_capacity_per_vm=per_vm,
                backend_vms_needed=_needed(expected, per_vm),
                nat_ips_needed=None if vms is None else _needed(expected, PORTS_PER_NAT_IP_PER_VM * vms),
                nat_ips_addable=max(min(MAX_NAT_IPS - nat_ips, free), 0),
            )
            _judge(row, public)
            rows.append(row)
    return rows


def unknown_link_services(backend_vms: BackendVms, rows: list[LinkServiceCapacity]) -> list[str]:
    known = {row.link_service for row in rows}
    return sorted(name for name in backend_vms.by_link_service if name not in known)


def _needed(connections: int | None, per_unit: int) -> int | None:
    """Units of `per_unit` connections that carry `connections`; a link service always has one."""
    return None if connections is None else max(1, -(-connections // per_unit))


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
    row.advice += _connection_advice(row)
    if row.nat_ips < row.nat_ips_limit and row.nat_subnet_free < row.nat_ips_limit - row.nat_ips:
        row.advice.append(f"the NAT subnet has {_count(max(row.nat_subnet_free, 0), 'free address', 'es')}: size it before creation "
                          "if NAT IPs may grow (a subnet cannot grow in place)")


def _connection_advice(row: LinkServiceCapacity) -> list[str]:
    """Expected connections beyond the capacity: how many backend VMs at the current NAT IPs, and
    how many NAT IPs at the given VMs (within 8 per link service and the NAT subnet's room)."""
    expected = row.expected_connections
    if expected is None or expected <= row.connection_capacity:
        return []
    if row.backend_vms is None:
        return [f"{expected:,} expected connections need at least {_count(row.backend_vms_needed, 'backend VM')} at "
                f"{_count(row.nat_ips, 'NAT IP')} ({row.connection_capacity_per_vm:,} per VM): give --backend-vms to "
                "compare them with the VMs behind the load balancer and to size NAT IPs"]
    at_vms = f"at {_count(row.backend_vms, 'backend VM')}"
    advice = [f"expected connections exceed {_count(row.nat_ips, 'NAT IP')} x {_count(row.backend_vms, 'backend VM')} x "
              f"{PORTS_PER_NAT_IP_PER_VM:,} ports: add backend VMs ({row.backend_vms_needed} in all carry them at "
              f"{_count(row.nat_ips, 'NAT IP')})"]
    needed = row.nat_ips_needed
    if needed > row.nat_ips_limit:
        advice.append(f"NAT IPs alone cannot carry them: {needed} would be needed {at_vms}, and a link service has at most "
                      f"{row.nat_ips_limit}; add backend VMs or a shard")
    elif needed - row.nat_ips > row.nat_ips_addable:
        advice.append(f"{needed} NAT IPs would carry them {at_vms}, but the NAT subnet {row.nat_subnet} has "
                      f"{_count(max(row.nat_subnet_free, 0), 'free address', 'es')} for the region's NAT IPs; add backend VMs, "
                      "or plan a larger NAT subnet (a subnet cannot grow in place)")
    else:
        advice.append(f"or add {_count(needed - row.nat_ips, 'NAT IP')} ({needed} in all carry them {at_vms}); {NAT_IPS_ARE_PERMANENT}")
    return advice


def as_json(rows: list[LinkServiceCapacity]) -> str:
    return json.dumps([asdict(row) for row in rows], indent=2, ensure_ascii=False)


def _count(count: int, noun: str, plural: str = "s") -> str:
    return f"{count} {noun}{'' if count == 1 else plural}"


def _capacity_text(row: LinkServiceCapacity) -> str:
    return f"~{row.connection_capacity:,}" + (" per VM" if row.backend_vms is None else "")


def _expected_connections_text(row: LinkServiceCapacity) -> str:
    if row.expected_connections is None:
        return f"not set (capacity {_capacity_text(row)})"
    text = f"{row.expected_connections:,} of {_capacity_text(row)}"
    if row.tenants_without_expected_connections:
        text += f" (not set for {_count(row.tenants_without_expected_connections, 'tenant')})"
    return text


def _header(rows: list[LinkServiceCapacity]) -> list[str]:
    lines = [f"Connection capacity: {PORTS_PER_NAT_IP_PER_VM:,} TCP ports per NAT IP per backend VM behind the load balancer",
             "(Microsoft's Private Link FAQ); watch the PLSNatPortsUsage metric."]
    if any(row.backend_vms is None for row in rows):
        lines += ["Without a backend VM count the figures are per VM: --backend-vms N (or LINK_SERVICE=N) multiplies",
                  "them by the VMs and says how many NAT IPs or VMs the expected connections need."]
    return lines + [""]


def as_text(rows: list[LinkServiceCapacity]) -> str:
    lines = _header(rows)
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
            f"  backend VMs          {'not given (capacity per VM)' if row.backend_vms is None else row.backend_vms}",
            f"  expected connections {_expected_connections_text(row)}",
        ]
        lines += [f"  EXCEEDED: {text}" for text in row.exceeded]
        lines += [f"  advice: {text}" for text in row.advice]
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"
