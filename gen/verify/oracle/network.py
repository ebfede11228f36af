"""Azure's rules for the provider's network as the rendered Terraform declares it: subnets,
load balancers, link services, gateways. Each rule names its source (see rules.py)."""

from __future__ import annotations

import ipaddress
from collections import Counter, defaultdict
from typing import Any, Iterator

from . import rules
from .terraform import Network


def _fold(name: Any) -> str:
    return str(name).lower()  # Azure compares names without case (resource-name-rules)


def _reserved_problem(address: str, subnet: ipaddress.IPv4Network) -> str | None:
    ip = ipaddress.IPv4Address(address)
    if ip not in subnet:
        return f"{address} is outside its subnet {subnet}"
    offset = int(ip) - int(subnet.network_address)
    if offset < rules.RESERVED_FIRST or offset >= subnet.num_addresses - rules.RESERVED_LAST:
        return f"{address} is one of the addresses Azure reserves in {subnet} (the first four and the last) [{rules.SUBNET_URL}]"
    return None


def _usable(subnet: ipaddress.IPv4Network) -> list[ipaddress.IPv4Address]:
    first = int(subnet.network_address) + rules.RESERVED_FIRST
    last = int(subnet.broadcast_address) - rules.RESERVED_LAST
    return [ipaddress.IPv4Address(i) for i in range(first, last + 1)]


def problems(net: Network) -> Iterator[str]:
    yield from _subnet_problems(net)
    yield from _load_balancer_problems(net)
    yield from _link_service_problems(net)
    yield from _gateway_problems(net)


def _subnet_problems(net: Network) -> Iterator[str]:
    by_vnet: dict[tuple, list] = defaultdict(list)
    for subnet in net.subnets.values():
        by_vnet[tuple(map(_fold, subnet.vnet))].append(subnet)
        for prefix in subnet.prefixes:
            if prefix.prefixlen > rules.SMALLEST_SUBNET_PREFIX:
                yield f"subnet {subnet.name!r}: {prefix} is smaller than Azure's smallest subnet /29 [{rules.SUBNET_URL}]"
        if _fold(subnet.name) == _fold(rules.GATEWAY_SUBNET):
            if subnet.name != rules.GATEWAY_SUBNET:
                yield f"subnet {subnet.name!r}: a gateway subnet must be named exactly {rules.GATEWAY_SUBNET!r} [{rules.GATEWAY_SUBNET_URL}]"
            for prefix in subnet.prefixes:
                if prefix.prefixlen > rules.GATEWAY_SUBNET_MAX_PREFIX:
                    yield (f"subnet {subnet.name!r}: {prefix} is smaller than /{rules.GATEWAY_SUBNET_MAX_PREFIX}, the gateway subnet "
                           f"size zone-redundant and active-active gateways need [{rules.GATEWAY_SUBNET_URL}]")
    for vnet, subnets in sorted(by_vnet.items()):
        for name, count in Counter(_fold(s.name) for s in subnets).items():
            if count > 1:
                yield f"virtual network {vnet[1]!r}: {count} subnets are named {name!r}; a name is unique in its virtual network"
        for i, first in enumerate(subnets):
            for second in subnets[i + 1:]:
                for a in first.prefixes:
                    for b in second.prefixes:
                        if a.overlaps(b):
                            yield f"virtual network {vnet[1]!r}: subnet {second.name!r} ({b}) overlaps subnet {first.name!r} ({a})"
    created = {(tuple(map(_fold, s.vnet)), _fold(s.name)): s for s in net.subnets.values()}
    for read in net.read_subnets.values():
        made = created.get((tuple(map(_fold, read.vnet)), _fold(read.name)))
        if made is not None:
            yield (f"data azurerm_subnet {read.label!r} reads subnet {read.name!r}, which this configuration creates: Terraform "
                   f"reads data sources while planning, before the subnet exists, so the plan fails [{rules.TERRAFORM_DATA_URL}]")
    for gateway, key in net.nat_gateway_subnets:
        kind, label = key.split(".", 1)
        subnet = (net.read_subnets if kind == "data" else net.subnets).get(label)
        if subnet is not None and _fold(subnet.name) == _fold(rules.GATEWAY_SUBNET):
            yield (f"NAT gateway {gateway!r} is associated with {subnet.name!r}; only virtual network gateways may use the "
                   f"gateway subnet [{rules.GATEWAY_SUBNET_URL}]")


def _load_balancer_problems(net: Network) -> Iterator[str]:
    proxy_frontends = {(lb, _fold(frontend)) for ls in net.link_services.values() if ls.proxy_protocol is True
                       for lb, frontend in ls.frontends}
    for lb in net.load_balancers.values():
        if not lb.created:
            continue
        for collection, names in sorted(lb.children.items()):
            for name, count in sorted(Counter(map(_fold, names)).items()):
                if count > 1:
                    yield f"load balancer {lb.name!r}: {count} {collection} are named {name!r}; names are unique per collection"
        seen_addresses: dict[str, Any] = {}
        for frontend in lb.frontends:
            subnet = net.subnets.get(frontend.subnet or "")
            if subnet is not None and isinstance(frontend.address, str) and subnet.prefixes:
                problem = _reserved_problem(frontend.address, subnet.prefixes[0])
                if problem:
                    yield f"load balancer {lb.name!r} frontend {frontend.name!r}: {problem}"
            if subnet is not None and _fold(subnet.name) == _fold(rules.GATEWAY_SUBNET):
                yield f"load balancer {lb.name!r} frontend {frontend.name!r} is in the gateway subnet [{rules.GATEWAY_SUBNET_URL}]"
            if frontend.address in seen_addresses:
                yield f"load balancer {lb.name!r}: frontends {seen_addresses[frontend.address]!r} and {frontend.name!r} share {frontend.address}"
            seen_addresses.setdefault(frontend.address, frontend.name)
        frontends = {_fold(f.name) for f in lb.frontends}
        ports: dict[tuple, str] = {}
        for rule in lb.rules + lb.nat_rules:
            kind = "rule" if rule in lb.rules else "NAT rule"
            if _fold(rule["frontend"]) not in frontends:
                yield f"load balancer {lb.name!r} {kind} {rule['name']!r}: no frontend named {rule['frontend']!r}"
            key = (_fold(rule["frontend"]), rule["protocol"], rule["frontend_port"])
            if key in ports:
                # a frontend port carries one rule per protocol, load-balancing and NAT rules alike
                yield (f"load balancer {lb.name!r}: {kind} {rule['name']!r} and {ports[key]} both use {rule['protocol']} port "
                       f"{rule['frontend_port']} of frontend {rule['frontend']!r} [{rules.LB_RULES_URL}]")
            ports.setdefault(key, f"{kind} {rule['name']!r}")
            if kind == "NAT rule" and (lb.label, _fold(rule["frontend"])) in proxy_frontends:
                yield (f"load balancer {lb.name!r} NAT rule {rule['name']!r} is on frontend {rule['frontend']!r}, which a link "
                       f"service with PROXY protocol uses: its target receives a PROXY header it cannot parse [{rules.PLS_URL}]")
        backends: dict[tuple, str] = {}
        for rule in lb.rules:
            if rule["floating"]:
                continue
            key = (rule["pool"], rule["protocol"], rule["backend_port"])
            if key in backends:
                yield (f"load balancer {lb.name!r}: rules {backends[key]!r} and {rule['name']!r} send {rule['protocol']} to backend "
                       f"port {rule['backend_port']} of one pool without floating IP, which Azure refuses [{rules.LB_FLOATING_IP_URL}]")
            backends.setdefault(key, rule["name"])


def _link_service_problems(net: Network) -> Iterator[str]:
    frontend_users: dict[tuple, list[str]] = defaultdict(list)
    per_load_balancer: Counter = Counter()
    nat_ips_by_subnet: dict[str, list[tuple[Any, Any]]] = defaultdict(list)  # subnet label -> (link service, NatIp)
    for ls in net.link_services.values():
        where = f"link service {ls.name!r}"
        if not 1 <= len(ls.nat_ips) <= rules.MAX_NAT_IPS_PER_LINK_SERVICE:
            yield f"{where}: {len(ls.nat_ips)} NAT IP configurations; Azure allows 1-{rules.MAX_NAT_IPS_PER_LINK_SERVICE} [{rules.LIMITS_URL}]"
        if sum(1 for ip in ls.nat_ips if ip.primary is True) != 1:
            yield f"{where}: exactly one NAT IP configuration must be primary [{rules.PLS_URL}]"
        for name, count in Counter(_fold(ip.name) for ip in ls.nat_ips).items():
            if count > 1:
                yield f"{where}: {count} NAT IP configurations are named {name!r}"
        if not ls.frontends:
            yield f"{where}: no load balancer frontend IP configuration [{rules.PLS_URL}]"
        for lb, frontend in ls.frontends:
            frontend_users[(lb, _fold(frontend))].append(str(ls.name))
            known = net.load_balancers.get(lb or "")
            if known is not None and known.created and _fold(frontend) not in {_fold(f.name) for f in known.frontends}:
                yield f"{where}: load balancer {known.name!r} has no frontend {frontend!r}"
        per_load_balancer.update({lb for lb, _ in ls.frontends[:1]})
        for ip in ls.nat_ips:
            nat_ips_by_subnet[ip.subnet or ""].append((ls, ip))
        yield from _list_problems(where, "visibility", ls.visibility)
        yield from _list_problems(where, "auto-approval", ls.auto_approval)
    for (lb, frontend), users in sorted(frontend_users.items(), key=str):
        if len(users) > 1:
            yield f"link services {', '.join(map(repr, users))} share frontend {frontend!r}; each needs its own [{rules.LIMITS_URL}]"
    for lb, count in sorted(per_load_balancer.items(), key=str):
        if count > rules.MAX_LINK_SERVICES_PER_LOAD_BALANCER:
            yield (f"load balancer {net.load_balancers[lb].name if lb in net.load_balancers else lb!r} carries {count} link "
                   f"services; Azure allows {rules.MAX_LINK_SERVICES_PER_LOAD_BALANCER} [{rules.LIMITS_URL}]")
    for label, members in sorted(nat_ips_by_subnet.items()):
        yield from _nat_subnet_problems(net, label, members)


def _list_problems(where: str, what: str, subscriptions: list) -> Iterator[str]:
    if subscriptions == ["*"]:
        return
    if len(subscriptions) > rules.MAX_SUBSCRIPTIONS_PER_LIST:
        yield f"{where}: {len(subscriptions)} subscriptions in the {what} list; Azure allows {rules.MAX_SUBSCRIPTIONS_PER_LIST} [{rules.LIMITS_URL}]"
    for subscription in subscriptions:
        if not (isinstance(subscription, str) and rules.GUID_RE.fullmatch(subscription)):
            yield f"{where}: {subscription!r} in the {what} list is not a subscription id"
    if len(set(subscriptions)) != len(subscriptions):
        yield f"{where}: the {what} list names a subscription twice"


def _nat_subnet_problems(net: Network, label: str, members: list) -> Iterator[str]:
    subnet = net.subnets.get(label)
    if subnet is None:
        yield (f"link service {members[0][0].name!r}: its NAT IPs are not in a subnet this configuration creates with "
               f"Private Link Service network policies disabled [{rules.PLS_POLICY_URL}]")
        return
    if not subnet.private_link_policies_disabled:
        yield f"subnet {subnet.name!r} holds NAT IPs but its Private Link Service network policies are not disabled [{rules.PLS_POLICY_URL}]"
    if _fold(subnet.name) == _fold(rules.GATEWAY_SUBNET):
        yield f"link service {members[0][0].name!r} takes NAT IPs from the gateway subnet [{rules.GATEWAY_SUBNET_URL}]"
    if not subnet.prefixes:
        return
    prefix = subnet.prefixes[0]
    usable = _usable(prefix)
    if len(members) > len(usable):
        yield f"subnet {subnet.name!r} ({prefix}) has {len(usable)} usable addresses for {len(members)} NAT IPs [{rules.SUBNET_URL}]"
    dynamic = sum(1 for _, ip in members if ip.address is None)
    # Dynamic NAT IPs take the lowest free addresses, and link services are created in
    # parallel: a static address among the first `dynamic` usable ones may already be taken.
    contested = set(map(str, usable[:dynamic]))
    seen: dict[str, str] = {}
    for ls, ip in members:
        if ip.address is None or not isinstance(ip.address, str):
            continue
        problem = _reserved_problem(ip.address, prefix)
        if problem:
            yield f"link service {ls.name!r} NAT IP {ip.name!r}: {problem}"
        elif ip.address in contested:
            yield (f"link service {ls.name!r} NAT IP {ip.name!r}: static {ip.address} is among the {dynamic} lowest usable "
                   f"addresses of {prefix}, which the subnet's {dynamic} dynamic NAT IPs may take first [{rules.SUBNET_URL}]")
        if ip.address in seen:
            yield f"link service {ls.name!r} NAT IP {ip.name!r}: {ip.address} is also used by {seen[ip.address]}"
        seen.setdefault(ip.address, f"link service {ls.name!r}")


def _gateway_problems(net: Network) -> Iterator[str]:
    for gateway in net.gateways.values():
        where = f"virtual network gateway {gateway['name']!r}"
        allowed = rules.VPN_SKU_GENERATIONS.get(gateway["sku"])
        if allowed is None:
            yield f"{where}: SKU {gateway['sku']!r} is not a zone-redundant VpnGw1AZ-VpnGw5AZ SKU [{rules.VPN_SKU_URL}]"
        elif gateway["generation"] not in allowed:
            yield f"{where}: {gateway['sku']} exists in {' and '.join(sorted(allowed))}, not {gateway['generation']} [{rules.VPN_SKU_URL}]"
        configurations = gateway["ip_configurations"]
        expected = 2 if gateway["active_active"] is True else 1
        if len(configurations) != expected:
            yield f"{where}: {'active-active' if expected == 2 else 'active-standby'} needs {expected} IP configurations, not {len(configurations)}"
        if len({c["public_ip"] for c in configurations}) != len(configurations):
            yield f"{where}: each IP configuration needs its own public IP"
        for configuration in configurations:
            subnet = net.subnets.get(configuration["subnet"] or "")
            if subnet is None or subnet.name != rules.GATEWAY_SUBNET:
                yield f"{where}: its subnet must be the one named {rules.GATEWAY_SUBNET!r} [{rules.GATEWAY_SUBNET_URL}]"
