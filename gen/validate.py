"""Stage 2, validate: loaded document -> Manifest, or every problem found, each located.

Pydantic checks each field; the semantic rules below check how fields relate (limits that
Azure enforces only at apply time, references between tenants and regions, address plans).
"""

from __future__ import annotations

import difflib
import ipaddress
import typing
from collections import Counter, defaultdict
from collections.abc import Iterator
from typing import Any

import pydantic

from . import azure
from .errors import ManifestError, Problem
from .load import Document, PathKey, format_path
from .manifest import ALIAS_RE, SUBNET_ID_RE, Manifest, Region
from .naming import generated_endpoint_name, generated_region_names, name_problem, planned_endpoints, tenant_link_service

MAX_ENDPOINTS_PER_LINK_SERVICE = 1000
MAX_SUBSCRIPTIONS_PER_LIST = 100
MAX_LINK_SERVICES_PER_LB = 8
MAX_NAT_IPS = 8
RESERVED_PER_SUBNET = 5  # the network, three Azure addresses after it, and broadcast
SMALLEST_SUBNET_PREFIX = 29
GATEWAY_SUBNET_MAX_PREFIX = 27

Finding = tuple[PathKey, str]
TaggedFinding = tuple[PathKey, str, bool]  # ... and whether it is a capacity limit


def validate(document: Document, *, enforce_limits: bool = True) -> Manifest:
    """Raise ManifestError listing every located problem, or return the Manifest.

    enforce_limits=False skips the Azure capacity limits (endpoints, list sizes, link services
    per load balancer, NAT subnet size) so that `plgen capacity` can report on them.
    """
    try:
        manifest = Manifest.model_validate(document.data, strict=True)
    except pydantic.ValidationError as err:
        raise ManifestError([_pydantic_problem(document, e) for e in err.errors()]) from None
    findings = [(path, message) for path, message, is_limit in semantic_findings(manifest)
                if enforce_limits or not is_limit]
    if findings:
        raise ManifestError([Problem(document.locate(path), message) for path, message in findings])
    return manifest


def _pydantic_problem(document: Document, error: dict[str, Any]) -> Problem:
    path = tuple(error["loc"])
    kind = error["type"]
    if kind == "extra_forbidden":
        return Problem(document.locate(path, at_key=True), f"unknown field {path[-1]!r}{_did_you_mean(path)}")
    if kind == "missing":
        return Problem(document.locate(path), "required field is missing")
    if kind == "value_error":
        return Problem(document.locate(path), str(error["ctx"]["error"]))
    if kind == "string_type":
        got = error["input"]
        if got is None or isinstance(got, (dict, list)):
            return Problem(document.locate(path), f"expected text, got {_yaml_kind(got)}")
        return Problem(document.locate(path), f"expected text, but YAML reads this value as {_yaml_kind(got)} ({got!r}); quote it to keep it as text")
    if kind in ("int_type", "bool_type", "list_type", "dict_type", "model_type"):
        expected = {"int_type": "a whole number", "bool_type": "true or false", "list_type": "a list",
                    "dict_type": "a mapping", "model_type": "a mapping"}[kind]
        return Problem(document.locate(path), f"expected {expected}, got {_yaml_kind(error['input'])} {error['input']!r}")
    return Problem(document.locate(path), error["msg"][:1].lower() + error["msg"][1:])


def _did_you_mean(path: PathKey) -> str:
    """'; did you mean 'approval'?' for a misspelt field, from the fields of the model at that place."""
    model = _model_at(path[:-1])
    matches = difflib.get_close_matches(str(path[-1]), list(model.model_fields), n=1) if model else []
    return f"; did you mean {matches[0]!r}?" if matches else ""


def _model_at(path: PathKey) -> type[pydantic.BaseModel] | None:
    annotation: Any = Manifest
    for part in path:
        if isinstance(part, int):
            continue  # a list item: _model_in looks through list[...] to the item's model
        model = _model_in(annotation)
        if model is None or part not in model.model_fields:
            return None
        annotation = model.model_fields[part].annotation
    return _model_in(annotation)


def _model_in(annotation: Any) -> type[pydantic.BaseModel] | None:
    """The model inside an annotation such as `Support | None` or `list[Tenant]`."""
    if isinstance(annotation, type) and issubclass(annotation, pydantic.BaseModel):
        return annotation
    for argument in typing.get_args(annotation):
        model = _model_in(argument)
        if model is not None:
            return model
    return None


def _yaml_kind(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "a boolean", int: "a number", float: "a number", str: "text", list: "a list",
            dict: "a mapping"}.get(type(value), type(value).__name__)


# --- semantic rules -------------------------------------------------------------------------


LIMIT_MARK = "\x00limit"


def limit(message: str) -> str:
    """Mark a finding as a capacity limit (see validate(enforce_limits=...))."""
    return LIMIT_MARK + message


def semantic_findings(manifest: Manifest) -> Iterator[TaggedFinding]:
    for path, message in [*_service_rules(manifest), *_name_rules(manifest), *_region_rules(manifest), *_tenant_rules(manifest),
                          *_link_service_limits(manifest)]:
        is_limit = message.startswith(LIMIT_MARK)
        yield path, message.removeprefix(LIMIT_MARK), is_limit


def _service_rules(manifest: Manifest) -> Iterator[Finding]:
    support = manifest.service.support
    if support is not None and support.email is None and support.url is None:
        yield ("service", "support"), "give an `email` or a `url` (or both) where customers ask for help, or remove `support`"


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
        if tenant.endpoint:
            yield from check("resource_group", tenant.endpoint.resource_group, ("tenants", t, "endpoint", "resource_group"))
        for i, site in enumerate(tenant.endpoint_sites):
            yield from check("resource_group", site.resource_group, ("tenants", t, "endpoint_sites", i, "resource_group"))
    for key in manifest.service.tags:
        if any(char in key for char in '<>%&\\?/'):
            yield ("service", "tags", key), f"Azure tag names may not contain < > % & \\ ? /: {key!r}"
    for key, value in manifest.service.tags.items():
        if len(value) > 256:
            yield ("service", "tags", key), "Azure tag values are at most 256 characters"


def _region_rules(manifest: Manifest) -> Iterator[Finding]:
    locations = Counter(region.location for region in manifest.provider.regions)
    all_link_services: dict[str, PathKey] = {}
    for r, region in enumerate(manifest.provider.regions):
        base: PathKey = ("provider", "regions", r)
        if locations[region.location] > 1:
            yield base + ("location",), f"region {region.location!r} is listed more than once"
        for s, link_service in enumerate(region.link_services):
            path = base + ("link_services", s, "name")
            if link_service.name in all_link_services:
                yield path, f"link service name {link_service.name!r} is used twice (also at {format_path(all_link_services[link_service.name])})"
            all_link_services.setdefault(link_service.name, path)
            if link_service.alias is not None:
                yield from _alias_rule(link_service.alias, link_service.name, region.location, base + ("link_services", s, "alias"))
        yield from _load_balancer_rules(manifest, region, base)
        yield from _vpn_rules(region, base)
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
    for name, count in Counter(frontend_names + ([routed.name] if routed else [])).items():
        if count > 1:
            yield lb_path, f"frontend {name!r} is listed {count} times"
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
        elif link_service.frontend in used:
            yield path, f"frontend {link_service.frontend!r} is already used by link service {used[link_service.frontend]!r}; each link service needs its own frontend"
        used.setdefault(link_service.frontend, link_service.name)
    if lb.create:
        create = lb.create
        create_path = lb_path + ("create",)
        subnet = ipaddress.IPv4Network(create.frontend_subnet.address_prefix)
        for f, frontend in enumerate(create.frontends):
            problem = _usable_address_problem(frontend.private_ip, subnet)
            if problem:
                yield create_path + ("frontends", f, "private_ip"), problem
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


def _tenant_rules(manifest: Manifest) -> Iterator[Finding]:
    regions = {region.location: region for region in manifest.provider.regions}
    ids: dict[str, int] = {}
    for t, tenant in enumerate(manifest.tenants):
        base: PathKey = ("tenants", t)
        if tenant.id in ids:
            yield base + ("id",), f"tenant id {tenant.id!r} is already used by tenants[{ids[tenant.id]}]"
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
        yield from _endpoint_site_rules(manifest, tenant, base)


def _endpoint_site_rules(manifest: Manifest, tenant, base: PathKey) -> Iterator[Finding]:
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
            yield path + ("name",), f"site name {name!r} is already used by {format_path(earlier)}"
        if match is None:
            continue
        vnet = (match["subscription"].lower(), match["resource_group"].lower(), match["vnet"].lower())
        if (earlier := first.setdefault(("vnet",) + vnet, path)) != path:
            # ARM refuses a second zone of the same name linked to one VNet ("A virtual network
            # cannot be linked to multiple zones with overlapping namespaces").
            yield path + ("subnet_id",), (
                f"virtual network {match['vnet']} already has an endpoint ({format_path(earlier)}); one "
                f"endpoint per virtual network: its private DNS zone {manifest.service.fqdn} can be linked to a "
                "virtual network only once")
        if (earlier := first.setdefault(("group", match["subscription"].lower(), site.resource_group.lower()), path)) != path:
            yield path + ("resource_group",), (
                f"resource group {site.resource_group} already holds the endpoint of {format_path(earlier)}; "
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


def _link_service_limits(manifest: Manifest) -> Iterator[Finding]:
    members: dict[str, list[int]] = defaultdict(list)
    for t, tenant in enumerate(manifest.tenants):
        name = tenant_link_service(manifest, tenant)
        if name is not None and tenant.state != "offboarded":
            members[name].append(t)
    public = manifest.provider.visibility == "public"
    for r, region in enumerate(manifest.provider.regions):
        for s, link_service in enumerate(region.link_services):
            path: PathKey = ("provider", "regions", r, "link_services", s)
            tenants = [manifest.tenants[t] for t in members.get(link_service.name, [])]
            endpoints = sum(planned_endpoints(tenant) for tenant in tenants)
            if endpoints > MAX_ENDPOINTS_PER_LINK_SERVICE:
                yield path, limit(
                    f"tenants of link service {link_service.name!r} plan {endpoints} private endpoints; a Private Link "
                    f"Service accepts at most {MAX_ENDPOINTS_PER_LINK_SERVICE}: add a shard (another link service on "
                    "its own frontend) and move tenants to it with `link_service`"
                )
            visible = {s for tenant in tenants for s in tenant.subscriptions}
            auto = {s for tenant in tenants if tenant.state == "active" and tenant.approval == "auto" for s in tenant.subscriptions}
            if not public and len(visible) > MAX_SUBSCRIPTIONS_PER_LIST:
                yield path, limit(
                    f"{len(visible)} subscriptions in the visibility list of {link_service.name!r}; Azure allows at most "
                    f"{MAX_SUBSCRIPTIONS_PER_LIST}: set provider.visibility to public and approve connections with "
                    "`plgen approvals`, or move tenants to another shard"
                )
            if len(auto) > MAX_SUBSCRIPTIONS_PER_LIST:
                yield path, limit(
                    f"{len(auto)} subscriptions in the auto-approval list of {link_service.name!r}; Azure allows at most "
                    f"{MAX_SUBSCRIPTIONS_PER_LIST}: switch some tenants to `approval: manual` (approved with `plgen "
                    "approvals`) or move tenants to another shard"
                )
            owners: dict[str, int] = {}
            for t in members.get(link_service.name, []):
                for i, subscription in enumerate(manifest.tenants[t].subscriptions):
                    if subscription in owners and owners[subscription] != t:
                        yield ("tenants", t, "subscriptions", i), (
                            f"subscription {subscription} also belongs to tenant {manifest.tenants[owners[subscription]].id!r} "
                            f"on link service {link_service.name!r}; approvals could not tell the two apart"
                        )
                    owners.setdefault(subscription, t)
