"""Domain facts of one side, read from its generated files:

- provider/approvals.json: the link services (alias, region) and every private-link tenant
  (state, approval, subscriptions, offboarded ones included);
- provider/terraform/*.tf, parsed: each link service's access lists, NAT IPs, PROXY protocol,
  frontend and resource group, and every other provider resource and data source (NAT
  gateway, load balancer, VPN, subnets, alerts), by area and region;
- provider/terraform/terraform.tfvars.json: tags and the alert e-mail address;
- tenants/<id>/: the files of each bundle (sha256) and, read only where a bundle differs, its
  values files; vnet_to_vnet tenants are found here (they are not in approvals.json);
- provider/backend/<region>/: the backend configuration files (sha256).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from typing import Any

from ..verify import hcl
from ..verify.terraform import ParsedModule, _label
from .sides import Side

APPROVALS = "provider/approvals.json"
PROVIDER_TERRAFORM = "provider/terraform/"
PROVIDER_TFVARS = "provider/terraform/terraform.tfvars.json"
BACKEND = "provider/backend/"
TENANTS = "tenants/"

# Terraform files by name prefix: the area their resources belong to (the rest of the name is
# the region). Types that say their area themselves are mapped by TYPE_AREAS first.
FILE_AREAS = (("load-balancer-", "load_balancer"), ("nat-gateway-", "nat_gateway"), ("region-", "network"),
              ("vpn-", "vpn"), ("monitoring", "alert"))
TYPE_AREAS = (("azurerm_lb", "load_balancer"), ("azurerm_nat_gateway", "nat_gateway"),
              ("azurerm_subnet_nat_gateway_association", "nat_gateway"), ("azurerm_virtual_network_gateway", "vpn"),
              ("azurerm_key_vault_secret", "vpn"), ("azurerm_monitor_", "alert"),
              ("azurerm_virtual_network", "network"))
PLS = "azurerm_private_link_service"


def normalise(value: Any) -> Any:
    """A parsed HCL value as plain data: string literals decoded, expressions kept as `${...}`
    text, blocks as dicts without python-hcl2's marker."""
    if isinstance(value, str):
        if hcl.is_string_literal(value):
            try:
                return hcl.decode_string(value)
            except hcl.HclError:
                return value
        return value
    if isinstance(value, list):
        return [normalise(item) for item in value]
    if isinstance(value, dict):
        return {_label(key): normalise(item) for key, item in value.items() if key != "__is_block__"}
    return value


@dataclass(frozen=True)
class LinkService:
    name: str
    region: str | None = None
    alias: str | None = None
    resource_group: str | None = None
    frontend: str | None = None  # "<lb resource group>/<lb name>/<frontend name>"
    frontend_resource: str | None = None  # the load balancer block it comes from, e.g. azurerm_lb.westeurope
    nat_ips: tuple[tuple[str, bool, str | None], ...] = ()  # (name, primary, static address)
    nat_subnet_resource: str | None = None
    visibility: tuple[str, ...] = ()
    auto_approval: tuple[str, ...] = ()
    proxy_protocol: Any = None
    other: tuple[tuple[str, Any], ...] = ()  # every other argument, for link_service_changed
    tenants: tuple[str, ...] = ()  # active and suspended tenants (approvals.json)
    in_terraform: bool = False


@dataclass(frozen=True)
class Tenant:
    id: str
    connectivity: str  # private_link | vnet_to_vnet
    state: str
    link_service: str | None = None
    approval: str | None = None
    subscriptions: tuple[str, ...] = ()
    region: str | None = None  # vnet_to_vnet: the region of the provider gateway it connects to


@dataclass(frozen=True)
class Resource:
    key: str  # azurerm_nat_gateway.westeurope, data.azurerm_lb.eastus2, provider.azurerm
    type: str
    data: bool
    area: str
    region: str | None
    name: str | None
    body: Any  # normalised
    raw: Any  # as parsed (for references)


@dataclass
class Facts:
    side: Side
    service: str | None = None  # service.name (approvals.json)
    link_services: dict[str, LinkService] = field(default_factory=dict)
    tenants: dict[str, Tenant] = field(default_factory=dict)
    resources: dict[str, Resource] = field(default_factory=dict)
    provider_values: dict[str, Any] = field(default_factory=dict)
    imports: dict[str, Any] = field(default_factory=dict)  # Terraform import blocks: target address -> id/identity
    terraform_files: dict[str, dict] = field(default_factory=dict)  # provider/terraform/<name>.tf, parsed
    units: dict[str, dict[str, str]] = field(default_factory=dict)  # unit -> {path: sha256}


def unit_of(path: str) -> str:
    if path.startswith(BACKEND):
        return "backend " + path[len(BACKEND):].split("/", 1)[0]
    if path.startswith(TENANTS):
        return "tenant " + path[len(TENANTS):].split("/", 1)[0]
    return "provider"


def read_facts(side: Side) -> Facts:
    facts = Facts(side)
    for path, digest in side.shas.items():
        facts.units.setdefault(unit_of(path), {})[path] = digest
    module = _provider_module(side)
    approvals = side.json(APPROVALS)
    facts.service = _text(approvals.get("service")) if isinstance(approvals, dict) else None
    link_services = approvals.get("link_services") if isinstance(approvals, dict) else None
    if not isinstance(link_services, dict):
        link_services = {}
    for name, entry in sorted(link_services.items()):
        entry = entry if isinstance(entry, dict) else {}
        tenants = entry.get("tenants") if isinstance(entry.get("tenants"), dict) else {}
        members = []
        for tenant_id, tenant in sorted(tenants.items()):
            tenant = tenant if isinstance(tenant, dict) else {}
            state = str(tenant.get("state"))
            facts.tenants[tenant_id] = Tenant(tenant_id, "private_link", state, name, _text(tenant.get("approval")),
                                              tuple(sorted(map(str, tenant.get("subscriptions") or ()))))
            if state != "offboarded":
                members.append(tenant_id)
        facts.link_services[name] = LinkService(name, region=_text(entry.get("region")), alias=_text(entry.get("alias")),
                                                tenants=tuple(members))
    values = side.json(PROVIDER_TFVARS)
    facts.provider_values = values if isinstance(values, dict) else {}
    if module is not None:
        _read_terraform(facts, module)
    _read_vnet_tenants(facts)
    return facts


@functools.lru_cache(maxsize=64)
def _parse(text: str) -> dict:
    """Parsed once per text: the two sides of a comparison usually share most provider files
    (the result is only read, never changed)."""
    return hcl.parse(text)


def _provider_module(side: Side) -> ParsedModule | None:
    parsed: dict[str, dict] = {}
    for path in sorted(side.shas):
        if path.startswith(PROVIDER_TERRAFORM) and path.endswith(".tf") and "/" not in path[len(PROVIDER_TERRAFORM):]:
            text = side.text(path)
            if text is None:
                continue
            try:
                parsed[path[len(PROVIDER_TERRAFORM):]] = _parse(text)
            except hcl.HclError as err:
                side.notes.append(f"{side.label}: {path} {err}; its facts are left out")
    return ParsedModule.from_files(parsed) if parsed else None


def _area(type_name: str, file_name: str) -> tuple[str, str | None]:
    stem = file_name[:-3] if file_name.endswith(".tf") else file_name
    region = None
    area = "network"
    for prefix, file_area in FILE_AREAS:
        if stem.startswith(prefix):
            area, region = file_area, stem[len(prefix):] or None
            break
    for prefix, type_area in TYPE_AREAS:
        if type_name.startswith(prefix):
            area = type_area
            break
    return area, region


def _read_terraform(facts: Facts, module: ParsedModule) -> None:
    facts.terraform_files = module.files
    for parsed in module.files.values():
        for block in parsed.get("import", []):
            block = normalise(block)
            target = block.get("to") if isinstance(block, dict) else None
            if isinstance(target, str):
                target = target[2:-1] if hcl.is_expression(target) else target
                facts.imports[target] = {k: v for k, v in block.items() if k != "to"}
    for kind, table in (("resource", module.resources), ("data", module.data)):
        for (type_name, label), raw in sorted(table.items()):
            file_name = module.where.get((kind, type_name, label), "")
            key = f"{'data.' if kind == 'data' else ''}{type_name}.{label}"
            if kind == "resource" and type_name == PLS:
                _read_link_service(facts, module, key, raw)
                continue
            area, region = _area(type_name, file_name)
            body = normalise(raw)
            if kind == "data" and type_name == "azurerm_lb" and isinstance(body, dict):
                body = _existing_lb(body)
            name = body.get("name") if isinstance(body, dict) and isinstance(body.get("name"), str) else None
            facts.resources[key] = Resource(key, type_name, kind == "data", area, region, name, body, raw)
    for parsed in module.files.values():
        for top in parsed.get("provider", []):
            for label, raw in top.items():
                key = f"provider.{_label(label)}"
                facts.resources[key] = Resource(key, "provider", False, "provider", None, _label(label), normalise(raw), raw)


_EXPECTED_FRONTENDS = re.compile(r"setsubtract\(\[(.*?)\]")


def _existing_lb(body: dict) -> dict:
    """An existing load balancer is read with postconditions (Standard SKU, its location, the
    frontends the manifest names): say what they expect instead of quoting the conditions."""
    conditions = [c.get("condition", "") for block in body.get("lifecycle") or [] if isinstance(block, dict)
                  for c in block.get("postcondition") or [] if isinstance(c, dict)]
    expected = {}
    for condition in conditions:
        frontends = _EXPECTED_FRONTENDS.search(str(condition))
        location = re.search(r'self\.location == "([^"]*)"', str(condition))
        sku = re.search(r'self\.sku == "([^"]*)"', str(condition))
        if frontends:
            expected["expected_frontends"] = [normalise(f.strip()) for f in frontends.group(1).split(",") if f.strip()]
        elif location:
            expected["expected_location"] = location.group(1)
        elif sku:
            expected["expected_sku"] = sku.group(1)
        else:
            return body  # a check this reading does not know: compare the conditions themselves
    return {**{k: v for k, v in body.items() if k != "lifecycle"}, **expected}


_INDEX_KEY = re.compile(r'\[\s*("(?:[^"\\]|\\.)*")\s*\]')
_INDEX_NUMBER = re.compile(r"\.frontend_ip_configuration\[(\d+)\]")


def _frontend(module: ParsedModule, raw_ids: Any) -> tuple[str | None, str | None]:
    """The load balancer frontend a link service uses, as "<resource group>/<lb>/<frontend>",
    and the block of that load balancer; the expression itself when it cannot be resolved."""
    items = raw_ids if isinstance(raw_ids, list) else [raw_ids]
    if len(items) != 1 or not hcl.is_expression(items[0]):
        return (str(normalise(raw_ids)), None)
    expression = items[0]
    lb_ref = None
    for ref in hcl.value_references(expression):
        if ref[0] == "local" and len(ref) > 1:
            for inner in hcl.value_references(module.locals.get(ref[1], "")):
                if inner[:2] == ("data", "azurerm_lb") and len(inner) > 2:
                    lb_ref = ("data", inner[2])
                elif inner[0] == "azurerm_lb" and len(inner) > 1:
                    lb_ref = ("resource", inner[1])
        elif ref[0] == "azurerm_lb" and len(ref) > 1:
            lb_ref = ("resource", ref[1])
    if lb_ref is None:
        return expression, None
    kind, label = lb_ref
    body = (module.data if kind == "data" else module.resources).get(("azurerm_lb", label), {})
    lb = normalise(body)
    frontend = None
    key = _INDEX_KEY.search(expression)
    if key and kind == "data":
        try:
            frontend = hcl.decode_string(key.group(1))
        except hcl.HclError:
            frontend = key.group(1)
    number = _INDEX_NUMBER.search(expression)
    if number and kind == "resource":
        configurations = lb.get("frontend_ip_configuration") or []
        index = int(number.group(1))
        frontend = configurations[index].get("name") if index < len(configurations) else None
    if frontend is None:
        return expression, None
    resource = f"{'data.' if kind == 'data' else ''}azurerm_lb.{label}"
    return f"{lb.get('resource_group_name')}/{lb.get('name')}/{frontend}", resource


HANDLED = {"name", "location", "resource_group_name", "load_balancer_frontend_ip_configuration_ids",
           "nat_ip_configuration", "visibility_subscription_ids", "auto_approval_subscription_ids",
           "proxy_protocol_enabled"}


def _read_link_service(facts: Facts, module: ParsedModule, key: str, raw: dict) -> None:
    body = normalise(raw)
    name = body.get("name")
    if not isinstance(name, str):
        return
    frontend, frontend_resource = _frontend(module, raw.get("load_balancer_frontend_ip_configuration_ids"))
    nat = body.get("nat_ip_configuration") or []
    nat_ips = tuple((str(n.get("name")), bool(n.get("primary")), n.get("private_ip_address")) for n in nat)
    subnets = {ref[1] for n in raw.get("nat_ip_configuration") or [] for ref in hcl.value_references(n.get("subnet_id"))
               if ref[0] == "azurerm_subnet" and len(ref) > 1}
    known = facts.link_services.get(name, LinkService(name))
    facts.link_services[name] = LinkService(
        name=name, region=body.get("location"), alias=known.alias, resource_group=body.get("resource_group_name"),
        frontend=frontend, frontend_resource=frontend_resource, nat_ips=nat_ips,
        nat_subnet_resource=f"azurerm_subnet.{sorted(subnets)[0]}" if subnets else None,
        visibility=tuple(sorted(map(str, body.get("visibility_subscription_ids") or ()))),
        auto_approval=tuple(sorted(map(str, body.get("auto_approval_subscription_ids") or ()))),
        proxy_protocol=body.get("proxy_protocol_enabled"),
        other=tuple(sorted((k, v) for k, v in body.items() if k not in HANDLED)),
        tenants=known.tenants, in_terraform=True)


def _read_vnet_tenants(facts: Facts) -> None:
    """vnet_to_vnet tenants: a bundle with gateway values and no entry in approvals.json;
    active when the provider has a connection to their gateway, suspended otherwise."""
    peers = {r.body.get("peer_virtual_network_gateway_id") for r in facts.resources.values()
             if r.type == "azurerm_virtual_network_gateway_connection" and isinstance(r.body, dict)}
    gateways = {r.name: r.body.get("location") for r in facts.resources.values()
                if r.type == "azurerm_virtual_network_gateway" and isinstance(r.body, dict)}
    for unit in facts.units:
        if not unit.startswith("tenant "):
            continue
        tenant_id = unit[len("tenant "):]
        if tenant_id in facts.tenants:
            continue
        values = facts.side.json(f"{TENANTS}{tenant_id}/terraform/terraform.tfvars.json")
        if not isinstance(values, dict) or "gateway_id" not in values:
            continue
        state = "active" if values.get("gateway_id") in peers else "suspended"
        gateway = str(values.get("provider_gateway_id") or "").rsplit("/", 1)[-1]
        facts.tenants[tenant_id] = Tenant(tenant_id, "vnet_to_vnet", state, region=_text(gateways.get(gateway)))


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None
