"""`plgen import-pls`: a starting manifest from Private Link Services that already exist.

Reads what `az network private-link-service show` prints (properties flattened) or the REST
GET body (properties nested), one service or a list, and writes a manifest that adopts them
(`existing: true`, so Terraform imports instead of creating) and reproduces their access lists
exactly: every subscription on a visibility or auto-approval list, or behind an approved
connection, becomes one tenant skeleton. What Azure does not know (customer names, the
service's FQDN and ports, the NAT subnet's prefix) is marked TODO. The manifest is checked
with plgen's own rules before it is written.
"""

from __future__ import annotations

import ipaddress
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import Location, ManifestError, Problem
from .manifest import GUID_RE, SLUG_RE

_SEGMENT = r"[^/]+"
PLS_ID_RE = re.compile(rf"/subscriptions/({_SEGMENT})/resourceGroups/({_SEGMENT})/providers/Microsoft\.Network/"
                       rf"privateLinkServices/({_SEGMENT})", re.I)
FRONTEND_ID_RE = re.compile(rf"/subscriptions/({_SEGMENT})/resourceGroups/({_SEGMENT})/providers/Microsoft\.Network/"
                            rf"loadBalancers/({_SEGMENT})/frontendIPConfigurations/({_SEGMENT})", re.I)
SUBNET_ID_RE = re.compile(rf"/subscriptions/({_SEGMENT})/resourceGroups/({_SEGMENT})/providers/Microsoft\.Network/"
                          rf"virtualNetworks/({_SEGMENT})/subnets/({_SEGMENT})", re.I)
ENDPOINT_ID_RE = re.compile(rf"/subscriptions/({_SEGMENT})/resourceGroups/({_SEGMENT})/providers/Microsoft\.Network/"
                            rf"privateEndpoints/({_SEGMENT})", re.I)


@dataclass
class Service:
    """One link service as Azure reports it."""

    source: str
    subscription: str
    resource_group: str
    name: str
    location: str
    alias: str | None
    proxy_protocol: bool
    visibility: list[str]
    auto_approval: list[str]
    nat_ips: list[tuple[str, str | None, bool]]  # (name, address, primary), primary first
    nat_subnet: tuple[str, str, str]  # (vnet resource group, vnet, subnet)
    load_balancer: tuple[str, str]  # (resource group, name)
    frontend: str
    fqdns: list[str]
    tags: dict[str, str]
    connections: list[tuple[str, str, str]] = field(default_factory=list)  # (subscription, endpoint id, status)


class _Reader:
    def __init__(self, source: str):
        self.source = source
        self.problems: list[Problem] = []

    def fail(self, path: str, message: str) -> None:
        self.problems.append(Problem(Location(self.source, 0, 0, path), message))

    def get(self, item: dict, path: str, *keys: str) -> Any:
        """item[keys...] in either shape: `properties` flattened (az) or nested (REST)."""
        for key in keys:
            if not isinstance(item, dict):
                return None
            if key not in item and isinstance(item.get("properties"), dict):
                item = item["properties"]
            item = item.get(key)
        return item

    def text(self, item: dict, path: str, *keys: str, pattern: re.Pattern | None = None) -> str | re.Match | None:
        value = self.get(item, path, *keys)
        where = f"{path}.{'.'.join(keys)}" if path else ".".join(keys)
        if not isinstance(value, str) or not value:
            self.fail(where, "missing (expected the output of `az network private-link-service show`)")
            return None
        if pattern is not None:
            match = pattern.fullmatch(value)
            if match is None:
                self.fail(where, f"not the resource id expected here: {value!r}")
            return match
        return value

    def guids(self, item: dict, path: str, *keys: str) -> list[str]:
        values = self.get(item, path, *keys) or []
        found = []
        for i, value in enumerate(values if isinstance(values, list) else []):
            lowered = value.lower() if isinstance(value, str) else None
            if lowered == "*":
                found.append("*")
            elif lowered is None or not GUID_RE.fullmatch(lowered):
                self.fail(f"{path}.{'.'.join(keys)}[{i}]", f"not a subscription id: {value!r}")
            else:
                found.append(lowered)
        return found

    def service(self, item: Any, path: str) -> Service | None:
        if not isinstance(item, dict):
            self.fail(path, "not a link service object")
            return None
        ident = self.text(item, path, "id", pattern=PLS_ID_RE)
        location = self.text(item, path, "location")
        frontends = self.get(item, path, "loadBalancerFrontendIpConfigurations") or []
        configs = self.get(item, path, "ipConfigurations") or []
        if len(frontends) != 1:
            self.fail(f"{path}.loadBalancerFrontendIpConfigurations",
                      f"{len(frontends)} load balancer frontends; plgen puts each link service on exactly one")
        if not configs:
            self.fail(f"{path}.ipConfigurations", "no NAT IP configurations")
        if ident is None or location is None or len(frontends) != 1 or not configs:
            return None
        frontend = self.text(frontends[0], f"{path}.loadBalancerFrontendIpConfigurations[0]", "id", pattern=FRONTEND_ID_RE)
        nat_ips, subnets = [], set()
        for i, config in enumerate(configs):
            where = f"{path}.ipConfigurations[{i}]"
            subnet = self.text(config, where, "subnet", "id", pattern=SUBNET_ID_RE)
            name = self.text(config, where, "name")
            if subnet is None or name is None:
                continue
            subnets.add((subnet.group(2), subnet.group(3), subnet.group(4)))
            address = self.get(config, where, "privateIPAddress")
            nat_ips.append((name, address if isinstance(address, str) and address else None,
                            bool(self.get(config, where, "primary"))))
        if len(subnets) > 1:
            self.fail(f"{path}.ipConfigurations", "NAT IPs in several subnets; plgen has one NAT subnet per region")
        if frontend is None or len(subnets) != 1:
            return None
        connections = []
        for i, connection in enumerate(self.get(item, path, "privateEndpointConnections") or []):
            where = f"{path}.privateEndpointConnections[{i}]"
            endpoint = self.text(connection, where, "privateEndpoint", "id", pattern=ENDPOINT_ID_RE)
            status = self.get(connection, where, "privateLinkServiceConnectionState", "status")
            if endpoint is not None:
                connections.append((endpoint.group(1).lower(), endpoint.group(0), str(status or "unknown")))
        tags = item.get("tags") if isinstance(item.get("tags"), dict) else {}
        return Service(
            source=self.source, subscription=ident.group(1).lower(), resource_group=ident.group(2),
            name=ident.group(3), location=location.replace(" ", "").lower(), alias=self.get(item, path, "alias"),
            proxy_protocol=bool(self.get(item, path, "enableProxyProtocol")),
            visibility=self.guids(item, path, "visibility", "subscriptions"),
            auto_approval=self.guids(item, path, "autoApproval", "subscriptions"),
            nat_ips=sorted(nat_ips, key=lambda ip: not ip[2]), nat_subnet=next(iter(subnets)),
            load_balancer=(frontend.group(2), frontend.group(3)), frontend=frontend.group(4),
            fqdns=[f for f in self.get(item, path, "fqdns") or [] if isinstance(f, str)],
            tags={str(k): str(v) for k, v in sorted(tags.items())}, connections=connections)


def read_services(paths: list[Path]) -> list[Service]:
    """Every link service in the files; ManifestError naming each problem (file, path)."""
    services, problems = [], []
    for path in paths:
        source = str(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except OSError as err:
            raise ManifestError(Problem(Location(source), f"cannot read: {err.strerror or err}")) from None
        except ValueError as err:
            line, column = getattr(err, "lineno", 0), getattr(err, "colno", 0)
            raise ManifestError(Problem(Location(source, line, column), f"not JSON: {getattr(err, 'msg', err)}")) from None
        if isinstance(data, dict) and isinstance(data.get("value"), list):
            data = data["value"]
        items = data if isinstance(data, list) else [data]
        reader = _Reader(source)
        for i, item in enumerate(items):
            service = reader.service(item, f"[{i}]" if isinstance(data, list) else "")
            if service is not None:
                services.append(service)
        problems += reader.problems
    if problems:
        raise ManifestError(problems)
    if not services:
        raise ManifestError(Problem(Location(", ".join(map(str, paths))), "no link service found"))
    return services


# --- the manifest ---------------------------------------------------------------------------


def _q(value: Any) -> str:
    """A YAML scalar: JSON's double-quoted strings are valid YAML ones (escapes included)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return json.dumps(value, ensure_ascii=False)


def _flow(values: list) -> str:
    return "[" + ", ".join(_q(v) for v in values) + "]"


def _slug(name: str) -> str:
    slug = re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")[:32].rstrip("-")
    return slug if SLUG_RE.fullmatch(slug) else "service"


def _nat_prefix(addresses: list[str]) -> str:
    """A guess that holds every NAT IP: the /24 around them, widened until all fit."""
    networks = [ipaddress.IPv4Network(f"{a}/24", strict=False) for a in addresses]
    prefix = 24
    while prefix > 8 and len({n.supernet(new_prefix=prefix) if prefix < 24 else n for n in networks}) > 1:
        prefix -= 1
    return str(networks[0].supernet(new_prefix=prefix) if prefix < 24 else networks[0])


def _refuse_mixtures(services: list[Service]) -> None:
    problems = []
    first = services[0]

    def refuse(service: Service, message: str) -> None:
        problems.append(Problem(Location(service.source, 0, 0, service.name), message))

    seen: dict[str, Service] = {}
    for service in services:
        if (service.subscription, service.resource_group.lower()) != (first.subscription, first.resource_group.lower()):
            refuse(service, f"is in {service.subscription}/{service.resource_group}, not {first.subscription}/"
                            f"{first.resource_group} like {first.name}: a manifest has one provider subscription and "
                            "resource group (import each group of services into its own manifest)")
        if service.load_balancer[0].lower() != service.resource_group.lower():
            refuse(service, f"its load balancer {service.load_balancer[1]} is in resource group {service.load_balancer[0]}; "
                            "plgen reads the load balancer from the link services' resource group")
        if service.proxy_protocol != first.proxy_protocol:
            refuse(service, "PROXY protocol differs between the services; plgen sets it for all of them")
        if ("*" in service.visibility) != ("*" in first.visibility):
            refuse(service, "visibility is public on some services and restricted on others; plgen sets it for all")
        other = seen.setdefault(service.location, service)
        if (other.nat_subnet, other.load_balancer) != (service.nat_subnet, service.load_balancer):
            refuse(service, f"uses another NAT subnet or load balancer than {other.name} in {service.location}; plgen has "
                            "one of each per region")
        if [s.name for s in services].count(service.name) > 1:
            refuse(service, "appears twice")
    if problems:
        raise ManifestError(sorted(set(problems)))


def _tenant_ids(pairs: list[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """(link service, subscription) -> a tenant id: sub-<first 8 hex digits>, with the last 4
    when two subscriptions share those, and -2, -3 for a subscription on several services."""
    firsts: dict[str, set[str]] = {}
    for _, sub in pairs:
        firsts.setdefault(sub[:8], set()).add(sub)
    ids: dict[tuple[str, str], str] = {}
    used: set[str] = set()
    for service, sub in pairs:
        base = f"sub-{sub[:8]}" + (f"-{sub[-4:]}" if len(firsts[sub[:8]]) > 1 else "")
        candidate, n = base, 2
        while candidate in used:
            candidate, n = f"{base}-{n}", n + 1
        used.add(candidate)
        ids[(service, sub)] = candidate
    return ids


def build_manifest(services: list[Service], sources: list[str]) -> tuple[str, list[str]]:
    """The manifest text and the warnings to print (things to check before rendering)."""
    services = sorted(services, key=lambda s: (s.location, s.name))
    _refuse_mixtures(services)
    first, warnings = services[0], []
    public = "*" in first.visibility
    lines = [f"# Written by `plgen import-pls` from {', '.join(sources)}.",
             "# It adopts these link services (existing: true): Terraform imports them, their aliases and connections stay.",
             "# Rendering it reproduces today's visibility and auto-approval lists. Resolve every TODO before rendering.",
             "version: 1", "service:",
             f"  name: {_q(_slug(first.name))}  # TODO: a short name for the service (prefixes the names plgen makes up)"]
    fqdn = next((f.lower() for s in services for f in s.fqdns), None)
    lines.append(f"  fqdn: {_q(fqdn)}" if fqdn else '  fqdn: "todo.invalid"  # TODO: the name consumers dial')
    lines += ["  ports: [443]  # TODO: the TCP ports consumers use", f"  proxy_protocol: {_q(first.proxy_protocol)}"]
    if first.tags:
        same = all(s.tags == first.tags for s in services)
        lines.append("  tags:" + ("" if same else f"  # TODO: the services' tags differ; these are {first.name}'s"))
        lines += [f"    {_q(k)}: {_q(v)}" for k, v in first.tags.items()]
    lines += ["provider:", f"  subscription_id: {_q(first.subscription)}", f"  resource_group: {_q(first.resource_group)}",
              f"  visibility: {'public' if public else 'restricted'}", "  regions:"]
    for location in sorted({s.location for s in services}):
        in_region = [s for s in services if s.location == location]
        vnet_rg, vnet, subnet = in_region[0].nat_subnet
        addresses = [ip for s in in_region for _, ip, _ in s.nat_ips if ip]
        prefix = _nat_prefix(addresses) if addresses else "10.0.0.0/24"
        warnings.append(f"{location}: check the NAT subnet's prefix (plgen guessed {prefix}; Terraform would change it)")
        lines += [f"    - location: {_q(location)}", f"      vnet: {{name: {_q(vnet)}, resource_group: {_q(vnet_rg)}}}",
                  f"      nat_subnet: {{name: {_q(subnet)}, address_prefix: {_q(prefix)}, existing: true}}  # TODO: its real "
                  f"prefix (az network vnet subnet show -g {vnet_rg} --vnet-name {vnet} -n {subnet} --query addressPrefix)",
                  f"      load_balancer: {{name: {_q(in_region[0].load_balancer[1])}, frontends: "
                  f"{_flow(sorted({s.frontend for s in in_region}))}}}", "      link_services:"]
        for service in in_region:
            ips = [ip for _, ip, _ in service.nat_ips]
            lines += [f"        - name: {_q(service.name)}", f"          frontend: {_q(service.frontend)}"]
            if all(ips):
                lines.append(f"          nat_ips: {_flow(ips)}")
            else:
                lines.append(f"          nat_ips: {len(ips)}  # TODO: Azure reported no address for some NAT IPs")
                warnings.append(f"{service.name}: some NAT IPs have no address in the input; they stay dynamic")
            lines += [f"          nat_ip_names: {_flow([name for name, _, _ in service.nat_ips])}",
                      f"          alias: {_q(service.alias)}" if service.alias else "          alias: null",
                      "          existing: true"]
    lines += _tenants(services, public, warnings)
    return "\n".join(lines) + "\n", warnings


def _tenants(services: list[Service], public: bool, warnings: list[str]) -> list[str]:
    rows = []  # (service, subscription, approval, state, endpoints, note)
    for service in services:
        approved = [(sub, endpoint) for sub, endpoint, status in service.connections if status == "Approved"]
        visible = set() if public else set(service.visibility)
        for sub in sorted(visible | set(service.auto_approval) | {sub for sub, _ in approved}):
            endpoints = [endpoint for s, endpoint in approved if s == sub]
            state, note = "active", None
            if not public and sub not in visible:
                if sub in service.auto_approval:
                    warnings.append(f"{service.name}: {sub} is auto-approved but not on the visibility list; "
                                    "rendering adds it to the visibility list")
                    note = "auto-approved but not visible today: rendering adds it to the visibility list"
                else:
                    state, note = "offboarded", ("has an approved connection but is not on the visibility list: "
                                                 "set state active to list it (rendering would add it)")
            rows.append((service, sub, "auto" if sub in service.auto_approval else "manual", state, endpoints, note))
    ids = _tenant_ids([(service.name, sub) for service, sub, *_ in rows])
    lines = ["tenants:"] if rows else ["tenants: []"]
    for service, sub, approval, state, endpoints, note in sorted(rows, key=lambda r: ids[(r[0].name, r[1])]):
        lines += [f"  - id: {_q(ids[(service.name, sub)])}",
                  f"    display_name: {_q('TODO: customer with subscription ' + sub)}  # TODO: the customer's name",
                  f"    region: {_q(service.location)}", f"    link_service: {_q(service.name)}",
                  f"    subscriptions: [{_q(sub)}]", f"    approval: {approval}"]
        if state != "active":
            lines.append(f"    state: {state}  # TODO: {note}")
        elif note:
            lines.append(f"    # TODO: {note}")
        if len(endpoints) > 1:
            lines.append(f"    endpoints: {len(endpoints)}")
        for endpoint in endpoints:
            lines.append(f"    # existing private endpoint {endpoint} (to adopt it: endpoint: {{location, resource_group, "
                         "subnet_id, existing: {name, connection_name}})")
    return lines


def import_pls(paths: list[Path]) -> tuple[str, list[str]]:
    """The manifest for the services in `paths`, checked by plgen's own rules, and warnings."""
    from . import load, validate

    services = read_services(paths)
    text, warnings = build_manifest(services, [p.name for p in paths])
    try:
        validate.validate(load.load_text(text, "import-pls output"))
    except ManifestError as err:
        raise ManifestError([Problem(p.location, f"the manifest import-pls would write is not valid: {p.message}")
                             for p in err.problems]) from None
    return text, warnings
