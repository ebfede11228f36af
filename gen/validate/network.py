"""Rules of each region's network: link services, load balancers, addresses, gateways."""

from __future__ import annotations

import ipaddress
from collections import Counter
from collections.abc import Iterator

from .. import azure
from ..load import PathKey, format_path
from ..manifest import ALIAS_RE, Manifest, Region
from ..naming import bicep_identifier, generated_region_names, name_problem, tf_identifier
from .common import (GATEWAY_SUBNET_MAX_PREFIX, MAX_LINK_SERVICES_PER_LB, RESERVED_FIRST, RESERVED_PER_SUBNET,
                     SMALLEST_SUBNET_PREFIX, Finding, limit)


def _region_rules(manifest: Manifest) -> Iterator[Finding]:
    locations = Counter(region.location for region in manifest.provider.regions)
    all_link_services: dict[str, PathKey] = {}
    identifiers: dict[str, tuple[PathKey, str]] = {}
    generated_symbols = {bicep_identifier(kind, region.location) for region in manifest.provider.regions
                         for kind in ("nat_subnet", "lb_frontend_subnet", "gateway_subnet", "load_balancer", "nat_gateway",
                                      "vpn_gateway")}
    generated_symbols |= {bicep_identifier(ls.name, "nat_ports_alert") for region in manifest.provider.regions
                          for ls in region.link_services}
    for r, region in enumerate(manifest.provider.regions):
        base: PathKey = ("provider", "regions", r)
        if locations[region.location] > 1:
            yield base + ("location",), f"region {region.location!r} is listed more than once"
        for s, link_service in enumerate(region.link_services):
            path = base + ("link_services", s, "name")
            if link_service.name in all_link_services:
                yield path, f"link service name {link_service.name!r} is used twice (also at {format_path(all_link_services[link_service.name])})"
            all_link_services.setdefault(link_service.name, path)
            symbol = bicep_identifier(link_service.name)
            if symbol in generated_symbols:
                yield path, (f"link service name {link_service.name!r} becomes the Bicep symbol {symbol!r}, which plgen already "
                             "uses for a region's own resources; rename the link service")
            identifier = tf_identifier(link_service.name)
            if identifier in identifiers and identifiers[identifier][1] != link_service.name:
                yield path, (f"link service names {identifiers[identifier][1]!r} and {link_service.name!r} both become the "
                             f"Terraform and Bicep name {identifier!r} (periods and hyphens both map to '_'); rename one")
            identifiers.setdefault(identifier, (path, link_service.name))
            if link_service.alias is not None:
                yield from _alias_rule(link_service.alias, link_service.name, region.location, base + ("link_services", s, "alias"))
        yield from _load_balancer_rules(manifest, region, base)
        yield from _vpn_rules(region, base)
        yield from _nat_gateway_rules(region, base)
        yield from _created_subnet_rules(region, base)
        yield from _address_rules(region, base)
        yield from _generated_region_names(manifest.service.name, region, base)


def _generated_region_names(service: str, region: Region, base: PathKey) -> Iterator[Finding]:
    names = generated_region_names(service, region.location, region.nat_gateway.public_ips if region.nat_gateway else 0)
    checks = []
    if region.nat_gateway:
        checks += [("nat_gateway", names["nat_gateway"], "nat_gateway")]
        checks += [("public_ip", name, "nat_gateway") for name in names["nat_gateway_public_ips"]]
    if region.vpn_gateway:
        checks += [("virtual_network_gateway", names["vpn_gateway"], "vpn_gateway"),
                   *(("public_ip", name, "vpn_gateway") for name in names["vpn_gateway_public_ips"])]
    for kind, name, field in checks:
        problem = name_problem(kind, name)
        if problem:
            yield base + (field,), f"generated {problem}; shorten the service name"


def _alias_rule(alias: str, name: str, location: str, path: PathKey) -> Iterator[Finding]:
    match = ALIAS_RE.fullmatch(alias)
    expected = f"{name}.<guid>.{location}.azure.privatelinkservice"
    if not match:
        yield path, f"not a Private Link Service alias; expected {expected!r}"
    elif match["name"] != name or match["location"] != location:
        yield path, f"alias {alias!r} belongs to another link service; expected {expected!r}"


def _nat_gateway_rules(region: Region, base: PathKey) -> Iterator[Finding]:
    """A NAT gateway is associated with existing subnets that plgen reads back: not one that
    plgen itself creates in the same deployment (it cannot be read before it exists, and holds
    no VMs to give outbound access to), and not the gateway subnet (VPN gateways only)."""
    if region.nat_gateway is None:
        return
    created = {region.nat_subnet.name.lower(): "the NAT subnet plgen creates for the link services"}
    if region.load_balancer.create:
        created[region.load_balancer.create.frontend_subnet.name.lower()] = "the load balancer frontend subnet plgen creates"
    for s, subnet in enumerate(region.nat_gateway.subnets):
        path = base + ("nat_gateway", "subnets", s)
        if subnet.lower() == "gatewaysubnet":
            yield path, "a NAT gateway cannot be associated with GatewaySubnet, which only VPN gateways may use; name a subnet of your VMs"
        elif subnet.lower() in created:
            yield path, (f"{subnet!r} is {created[subnet.lower()]}: it holds no VMs that need outbound access, and it does not "
                         "exist yet when the NAT gateway association reads it; name a subnet of your backend VMs")
        if subnet.lower() in [other.lower() for other in region.nat_gateway.subnets[:s]]:
            yield path, f"subnet {subnet!r} is listed twice"


def _created_subnet_rules(region: Region, base: PathKey) -> Iterator[Finding]:
    """The subnets plgen creates in one virtual network need names of their own (Azure compares
    names without regard to case)."""
    created = [(base + ("nat_subnet", "name"), region.nat_subnet.name)]
    if region.load_balancer.create:
        created.append((base + ("load_balancer", "create", "frontend_subnet", "name"), region.load_balancer.create.frontend_subnet.name))
    if region.vpn_gateway:
        created.append((base + ("vpn_gateway",), "GatewaySubnet"))
    for path, name in created[:2 if region.load_balancer.create else 1]:
        if name.lower() == "gatewaysubnet":
            yield path, "GatewaySubnet is reserved for virtual network gateways; name this subnet differently"
    seen: dict[str, str] = {}
    for path, name in created:
        if name.lower() in seen:
            yield path, f"subnet name {name!r} is already used by the {seen[name.lower()]} plgen creates in this virtual network"
        seen.setdefault(name.lower(), path[-2] if path[-1] == "name" else "GatewaySubnet")


def _vpn_rules(region: Region, base: PathKey) -> Iterator[Finding]:
    vpn = region.vpn_gateway
    if vpn is not None and vpn.generation is not None and vpn.generation not in azure.VPN_SKU_GENERATIONS[vpn.sku]:
        yield base + ("vpn_gateway", "generation"), (
            f"{vpn.sku} exists only in {' and '.join(azure.VPN_SKU_GENERATIONS[vpn.sku])}; Azure refuses it in "
            f"{vpn.generation} (VirtualNetworkGatewaySkuCannotBeCreatedForSpecifiedVmGeneration): set generation to "
            f"{azure.default_vpn_generation(vpn.sku)} or leave it out")


def _load_balancer_rules(manifest: Manifest, region: Region, base: PathKey) -> Iterator[Finding]:
    lb = region.load_balancer
    lb_path = base + ("load_balancer",)
    if lb.create and lb.frontends:
        yield lb_path + ("frontends",), "give either `frontends` (an existing load balancer) or `create`, not both"
    if not lb.create and not lb.frontends:
        yield lb_path + ("frontends",), "an existing load balancer needs its frontend IP configuration names in `frontends`"
    frontend_names = [f.name for f in lb.create.frontends] if lb.create else list(lb.frontends)
    routed = lb.create.routed_frontend if lb.create else None
    for name, count in Counter(n.lower() for n in frontend_names + ([routed.name] if routed else [])).items():
        if count > 1:
            # Azure compares names without regard to case
            yield lb_path, f"frontend {name!r} is listed {count} times (names differ only in case count as one)"
    if len(region.link_services) > MAX_LINK_SERVICES_PER_LB:
        yield base + ("link_services",), limit(
            f"{len(region.link_services)} link services on load balancer {lb.name!r}; a Standard Load Balancer "
            f"carries at most {MAX_LINK_SERVICES_PER_LB} (one frontend each): add a load balancer in another region entry"
        )
    used: dict[str, str] = {}
    for s, link_service in enumerate(region.link_services):
        path = base + ("link_services", s, "frontend")
        if link_service.frontend not in frontend_names:
            yield path, f"frontend {link_service.frontend!r} is not a frontend of load balancer {lb.name!r} (known: {', '.join(frontend_names) or 'none'})"
        elif link_service.frontend.lower() in used:
            yield path, f"frontend {link_service.frontend!r} is already used by link service {used[link_service.frontend.lower()]!r}; each link service needs its own frontend"
        used.setdefault(link_service.frontend.lower(), link_service.name)
    if lb.create:
        create = lb.create
        create_path = lb_path + ("create",)
        subnet = ipaddress.IPv4Network(create.frontend_subnet.address_prefix)
        addresses: dict[str, str] = {}
        for f, frontend in enumerate(create.frontends):
            problem = _usable_address_problem(frontend.private_ip, subnet)
            if problem:
                yield create_path + ("frontends", f, "private_ip"), problem
            if frontend.private_ip in addresses:
                yield create_path + ("frontends", f, "private_ip"), f"{frontend.private_ip} is already the address of frontend {addresses[frontend.private_ip]!r}"
            addresses.setdefault(frontend.private_ip, frontend.name)
        if routed is not None:
            problem = _usable_address_problem(routed.private_ip, subnet)
            if problem:
                yield create_path + ("routed_frontend", "private_ip"), problem
            taken = {f.private_ip: f.name for f in create.frontends}
            if routed.private_ip in taken:
                yield create_path + ("routed_frontend", "private_ip"), f"{routed.private_ip} is already the address of frontend {taken[routed.private_ip]!r}"
        rules = azure.created_lb_rules(region, list(manifest.service.ports), manifest.service.proxy_protocol)
        if rules and rules[-1].backend_port > 65535:
            yield create_path + ("backend_port",), (
                f"the {len(rules)} load-balancing rules take backend ports {create.backend_port}-{rules[-1].backend_port} "
                "(one each: Azure lets rules share a backend port only with floating IP); lower backend_port")
        for generated in [r.name for r in rules] + [f"{lb.name}-backend", f"{lb.name}-probe"]:
            problem = name_problem("inbound_nat_rule", generated)
            if problem:
                yield lb_path + ("name",), (f"the generated load balancer rule, pool or probe name {generated!r} is too long or "
                                            f"invalid ({problem}); shorten the load balancer or frontend names")
                break
        nat_names: dict[str, int] = {}
        for n, rule in enumerate(create.inbound_nat_rules):
            if rule.name.lower() in nat_names:
                yield create_path + ("inbound_nat_rules", n, "name"), (
                    f"NAT rule name {rule.name!r} is already used by inbound_nat_rules[{nat_names[rule.name.lower()]}] "
                    "(names differ only in case count as one)")
            nat_names.setdefault(rule.name.lower(), n)
        ports: dict[tuple[str, int], str] = {(r.frontend, r.frontend_port): f"load-balancing rule {r.name!r}" for r in rules}
        proxied = {ls.frontend for ls in region.link_services} if manifest.service.proxy_protocol else set()
        nat_frontends = frontend_names + ([routed.name] if routed else [])
        for n, rule in enumerate(create.inbound_nat_rules):
            rule_path = create_path + ("inbound_nat_rules", n)
            if rule.frontend not in nat_frontends:
                yield rule_path + ("frontend",), f"frontend {rule.frontend!r} is not one of this load balancer's frontends"
            elif rule.frontend in proxied:
                # Private Link Service overview: with PROXY protocol on, every connection through
                # the link service starts with the header; RDP or SSH behind a NAT rule cannot parse it.
                yield rule_path + ("frontend",), (
                    f"frontend {rule.frontend!r} carries a link service with PROXY protocol on, so this NAT rule's "
                    f"backend (port {rule.backend_port}) would receive a PROXY header it cannot parse; put the rule on "
                    "routed_frontend (reached over the VPN) or set service.proxy_protocol to false")
            key = (rule.frontend, rule.frontend_port)
            if key in ports:
                yield rule_path + ("frontend_port",), f"frontend port {rule.frontend_port} on {rule.frontend!r} is already used by {ports[key]}"
            ports.setdefault(key, f"NAT rule {rule.name!r}")
        backend_ports = {r.backend_port for r in rules}
        probe_path = create_path + ("probe",)
        if manifest.service.proxy_protocol and create.probe.protocol == "Https":
            yield probe_path + ("protocol",), (
                "with PROXY protocol on, use a Tcp probe on the backend port or an Http probe on a health port: Azure "
                "documents the PROXY header for Tcp and Http probes only, so an Https probe's TLS handshake would fail")
        elif manifest.service.proxy_protocol and create.probe.protocol == "Tcp" and create.probe.port not in backend_ports:
            yield probe_path + ("port",), (
                f"a Tcp probe on port {create.probe.port} checks a port the backends do not listen on; probe one of the "
                f"rules' backend ports ({', '.join(map(str, sorted(backend_ports)))})")
        elif manifest.service.proxy_protocol and create.probe.protocol == "Http" and create.probe.port in backend_ports:
            yield probe_path + ("port",), (
                f"port {create.probe.port} is a TLS backend port, where a plain Http probe fails; give the probe a port "
                "of its own (the generated backend configs answer the probe path there)")
        if create.probe.protocol == "Tcp" and create.probe.path is not None:
            yield create_path + ("probe", "path"), "a Tcp probe has no path"
        if create.probe.protocol != "Tcp" and not create.probe.path:
            yield create_path + ("probe", "path"), f"an {create.probe.protocol} probe needs a path such as '/healthz'"
        if create.probe.path is not None and not create.probe.path.startswith("/"):
            yield create_path + ("probe", "path"), "probe path must start with '/'"


def _usable_address_problem(address: str, subnet: ipaddress.IPv4Network) -> str | None:
    ip = ipaddress.IPv4Address(address)
    if ip not in subnet:
        return f"{address} is outside subnet {subnet}"
    offset = int(ip) - int(subnet.network_address)
    if offset < 4 or ip == subnet.broadcast_address:
        return f"{address} is one of the {RESERVED_PER_SUBNET} addresses Azure reserves in {subnet} (the first four and the last)"
    return None


def usable_addresses(prefix: str) -> int:
    return max(ipaddress.IPv4Network(prefix).num_addresses - RESERVED_PER_SUBNET, 0)


def _address_rules(region: Region, base: PathKey) -> Iterator[Finding]:
    nat_subnet = ipaddress.IPv4Network(region.nat_subnet.address_prefix)
    if nat_subnet.prefixlen > SMALLEST_SUBNET_PREFIX:
        yield base + ("nat_subnet", "address_prefix"), f"/{nat_subnet.prefixlen} is smaller than Azure's smallest subnet (/29)"
    static_seen: dict[str, PathKey] = {}
    total = 0
    for s, link_service in enumerate(region.link_services):
        if isinstance(link_service.nat_ips, int):
            total += link_service.nat_ips
            continue
        total += len(link_service.nat_ips)
        for i, address in enumerate(link_service.nat_ips):
            path = base + ("link_services", s, "nat_ips", i)
            problem = _usable_address_problem(address, nat_subnet)
            if problem:
                yield path, problem
            if address in static_seen:
                yield path, f"NAT IP {address} is already used at {format_path(static_seen[address])}"
            static_seen.setdefault(address, path)
    dynamic = sum(ls.nat_ips for ls in region.link_services if isinstance(ls.nat_ips, int))
    contested = {str(nat_subnet.network_address + RESERVED_FIRST + i) for i in range(dynamic)}
    for address, path in static_seen.items():
        if address in contested:
            # Dynamic NAT IPs take the lowest free addresses and link services are created in
            # parallel, so a static address among the lowest ones may already be taken.
            yield path, (f"{address} is among the {dynamic} lowest usable addresses of {nat_subnet}, which this region's "
                         f"{dynamic} dynamic NAT IP(s) may take first; choose static addresses from "
                         f"{nat_subnet.network_address + RESERVED_FIRST + dynamic} up")
    if nat_subnet.prefixlen <= SMALLEST_SUBNET_PREFIX and total > usable_addresses(str(nat_subnet)):
        yield base + ("nat_subnet", "address_prefix"), limit(
            f"the link services of this region need {total} NAT IPs but {nat_subnet} has only "
            f"{usable_addresses(str(nat_subnet))} usable addresses; size the NAT subnet before it is created"
        )
    declared: list[tuple[ipaddress.IPv4Network, PathKey]] = [(nat_subnet, base + ("nat_subnet", "address_prefix"))]
    if region.load_balancer.create:
        declared.append((ipaddress.IPv4Network(region.load_balancer.create.frontend_subnet.address_prefix),
                         base + ("load_balancer", "create", "frontend_subnet", "address_prefix")))
    if region.vpn_gateway:
        gateway_path = base + ("vpn_gateway", "gateway_subnet_prefix")
        gateway = ipaddress.IPv4Network(region.vpn_gateway.gateway_subnet_prefix)
        if gateway.prefixlen > GATEWAY_SUBNET_MAX_PREFIX:
            yield gateway_path, f"GatewaySubnet must be /{GATEWAY_SUBNET_MAX_PREFIX} or larger, not /{gateway.prefixlen}"
        declared.append((gateway, gateway_path))
    for i, (first, _) in enumerate(declared):
        for second, second_path in declared[i + 1:]:
            if first.overlaps(second):
                yield second_path, f"{second} overlaps {first} declared in the same region"

