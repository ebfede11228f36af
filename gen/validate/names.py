"""Azure's naming rules for every name the manifest gives (and names inside resource ids)."""

from __future__ import annotations

from collections.abc import Iterator

from ..load import PathKey
from ..manifest import GATEWAY_ID_RE, KEY_VAULT_ID_RE, SUBNET_ID_RE, Manifest
from ..naming import name_problem
from .common import Finding


def _name_rules(manifest: Manifest) -> Iterator[Finding]:
    def check(kind: str, name: str, path: PathKey) -> Iterator[Finding]:
        problem = name_problem(kind, name)
        if problem:
            yield path, problem

    yield from check("resource_group", manifest.provider.resource_group, ("provider", "resource_group"))
    for r, region in enumerate(manifest.provider.regions):
        base = ("provider", "regions", r)
        yield from check("virtual_network", region.vnet.name, base + ("vnet", "name"))
        yield from check("resource_group", region.vnet.resource_group, base + ("vnet", "resource_group"))
        yield from check("subnet", region.nat_subnet.name, base + ("nat_subnet", "name"))
        lb = region.load_balancer
        yield from check("load_balancer", lb.name, base + ("load_balancer", "name"))
        for f, frontend in enumerate(lb.frontends):
            yield from check("frontend_ip_configuration", frontend, base + ("load_balancer", "frontends", f))
        if lb.create:
            yield from check("subnet", lb.create.frontend_subnet.name, base + ("load_balancer", "create", "frontend_subnet", "name"))
            for f, frontend in enumerate(lb.create.frontends):
                yield from check("frontend_ip_configuration", frontend.name, base + ("load_balancer", "create", "frontends", f, "name"))
            for n, rule in enumerate(lb.create.inbound_nat_rules):
                yield from check("inbound_nat_rule", rule.name, base + ("load_balancer", "create", "inbound_nat_rules", n, "name"))
        for s, link_service in enumerate(region.link_services):
            yield from check("private_link_service", link_service.name, base + ("link_services", s, "name"))
        if region.nat_gateway:
            for s, subnet in enumerate(region.nat_gateway.subnets):
                yield from check("subnet", subnet, base + ("nat_gateway", "subnets", s))
    for t, tenant in enumerate(manifest.tenants):
        endpoints = [(("tenants", t, "endpoint"), tenant.endpoint)] if tenant.endpoint else []
        endpoints += [(("tenants", t, "endpoint_sites", i), site) for i, site in enumerate(tenant.endpoint_sites)]
        for path, endpoint in endpoints:
            yield from check("resource_group", endpoint.resource_group, path + ("resource_group",))
            yield from _id_name_rules(SUBNET_ID_RE, endpoint.subnet_id, path + ("subnet_id",),
                                      {"resource_group": "resource_group", "vnet": "virtual_network", "subnet": "subnet"})
        if tenant.vnet_to_vnet:
            path = ("tenants", t, "vnet_to_vnet")
            yield from _id_name_rules(GATEWAY_ID_RE, tenant.vnet_to_vnet.gateway_id, path + ("gateway_id",),
                                      {"resource_group": "resource_group", "name": "virtual_network_gateway"})
            yield from _id_name_rules(KEY_VAULT_ID_RE, tenant.vnet_to_vnet.shared_key_secret.key_vault_id,
                                      path + ("shared_key_secret", "key_vault_id"), {"resource_group": "resource_group"})
    for key in manifest.service.tags:
        if any(char in key for char in '<>%&\\?/'):
            yield ("service", "tags", key), f"Azure tag names may not contain < > % & \\ ? /: {key!r}"
    for key, value in manifest.service.tags.items():
        if len(value) > 256:
            yield ("service", "tags", key), "Azure tag values are at most 256 characters"



def _id_name_rules(pattern, resource_id: str, path: PathKey, kinds: dict[str, str]) -> Iterator[Finding]:
    """The names inside a resource id follow their own types' rules: Azure refuses the id
    otherwise, and the names reach the generated files and guides."""
    match = pattern.fullmatch(resource_id)
    for group, kind in kinds.items() if match else ():
        problem = name_problem(kind, match[group])
        if problem:
            yield path, f"in the resource id: {problem}"
