"""The Azure identity of every Terraform resource plgen writes: one row per resource kind.

A row says, for one kind, its Terraform type and address label, the plan objects it is written
for (its walk), the arguments plgen gives it, whether the manifest says it exists already, and
whether replacing it hurts someone (its guard). The import id format and the arguments the
azurerm provider replaces a resource for (ForceNew) come from
schemas/reference/azurerm-replacement.json. So one row gives a resource's address, its identity
(the import id: type, subscription, resource group, parents, name), its replacement facts and its
import block. Read by the plan (imports.tf), the lock (addresses and identities, so a later
render writes moved blocks and guards replacements), and verification (every resource block the
templates write must be a row's, at the row's address).

An argument plgen does not know (a tenant's endpoint values the customer supplies, an alias not
recorded yet) is left out of `args`: a fact nobody knows cannot be compared.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, Callable, Iterator, Mapping

from ..resources import reference_file
from .files import OutputFile, tenant_dir
from .provider_model import ProviderPlan
from .tenants import TenantPlan, VpnTenantPlan

REPLACEMENT_FILE = "azurerm-replacement.json"
PROVIDER_MODULE = "provider/terraform"
IMPORTS_TEMPLATE = "terraform/imports.tf.j2"
IMPORTS_FILE = "imports.tf"
_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


@functools.cache
def replacement_reference() -> dict[str, Any]:
    """azurerm's ForceNew arguments and import id format per resource type (v4.79.0)."""
    with open(reference_file(REPLACEMENT_FILE), encoding="utf-8") as handle:
        return json.load(handle)["resources"]


@dataclass(frozen=True)
class Resource:
    """One resource block plgen writes, with what Azure knows it by."""

    kind: str
    type: str
    label: str
    unit: str  # the Terraform module directory, e.g. provider/terraform or tenants/acme/terraform
    workspace: str | None  # a tenant's endpoint site: its own Terraform workspace and state
    subscription: str
    args: Mapping[str, Any]  # arguments and id parts plgen knows
    existing: bool = False  # the manifest says it exists: imported, not created
    guard: str | None = None  # replacing or destroying it hurts: gen.guard says how
    context: Mapping[str, Any] = field(default_factory=dict)  # what the guard's consequence names
    anchor: tuple = ()  # where it comes from in the manifest, e.g. ("link_service", name)
    variables: Mapping[str, str] = field(default_factory=dict)  # import id part -> module variable

    @property
    def address(self) -> str:
        return f"{self.type}.{self.label}"

    @property
    def name(self) -> str | None:
        return self.args.get("name")

    @property
    def id_format(self) -> str:
        return replacement_reference()[self.type]["import_id"]

    @functools.cached_property
    def import_id(self) -> str | None:
        """The Azure resource id (the import id), or None when a part of it is not known."""
        values = {"subscription_id": self.subscription, **self.args}
        parts = _PLACEHOLDER.findall(self.id_format)
        if any(not isinstance(values.get(part), str) for part in parts):
            return None
        return _PLACEHOLDER.sub(lambda m: values[m.group(1)], self.id_format)

    @property
    def force_new(self) -> dict[str, Any]:
        """The known values of the arguments azurerm replaces this resource for."""
        return {arg: self.args[arg] for arg in replacement_reference()[self.type]["force_new"] if arg in self.args}


@dataclass(frozen=True)
class Row:
    kind: str
    type: str
    label: str  # str.format over the walk's names, e.g. "pls_nat_{region.tf_id}"
    walk: str
    args: Callable[[SimpleNamespace], dict[str, Any]]
    existing: Callable[[SimpleNamespace], bool] = lambda v: False
    guard: str | None = None
    context: Callable[[SimpleNamespace], dict[str, Any]] = lambda v: {}
    variables: Mapping[str, str] = field(default_factory=dict)


def _id(type_name: str, subscription: str, **parts: str) -> str:
    return Resource("", type_name, "", "", None, subscription, parts).import_id or ""


def _lb_parts(v) -> dict[str, str]:
    return {"resource_group_name": v.rg, "loadbalancer_name": v.region.load_balancer_name,
            "loadbalancer_id": _id("azurerm_lb", v.sub, resource_group_name=v.rg, name=v.region.load_balancer_name)}


def _frontend_id(v) -> str:
    lb = _id("azurerm_lb", v.sub, resource_group_name=v.rg, name=v.region.load_balancer_name)
    return f"{lb}/frontendIPConfigurations/{v.ls.frontend}"


def _public_ip(v, name: str) -> dict[str, Any]:
    return {"name": name, "location": v.region.location, "resource_group_name": v.rg, "ip_version": "IPv4",
            "sku": "Standard", "zones": list(v.provider.zones)}


def _gateway_id(v) -> str:
    return _id("azurerm_virtual_network_gateway", v.sub, resource_group_name=v.rg, name=v.vpn.name)


def _nat_gateway_id(v) -> str:
    return _id("azurerm_nat_gateway", v.sub, resource_group_name=v.rg, name=v.gw.name)


def _vnet_id(subnet_id: str) -> str:
    return "/".join(subnet_id.split("/")[:9])


def _site_args(v, **args: Any) -> dict[str, Any]:
    """A consumer resource's arguments, leaving out what the manifest does not know (None).
    For a described endpoint, an ip_configuration argument of None is known: no static address."""
    described = v.site.subnet_id is not None
    return {key: value for key, value in args.items()
            if value is not None or (described and key.startswith("ip_configuration."))}

ROWS: tuple[Row, ...] = (
    # --- provider: region.tf ----------------------------------------------------------------
    Row("nat_subnet", "azurerm_subnet", "pls_nat_{region.tf_id}", "region",
        lambda v: {"name": v.region.nat_subnet_name, "resource_group_name": v.region.vnet_resource_group,
                   "virtual_network_name": v.region.vnet_name},
        existing=lambda v: v.region.nat_subnet_existing, guard="nat_subnet",
        context=lambda v: {"link_services": [ls.name for ls in v.region.link_services]}),
    Row("private_link_service", "azurerm_private_link_service", "{ls.tf_id}", "link_service",
        lambda v: {"name": v.ls.name, "location": v.ls.location, "resource_group_name": v.rg,
                   "load_balancer_frontend_ip_configuration_ids": [_frontend_id(v)]},
        existing=lambda v: v.ls.existing, guard="private_link_service",
        context=lambda v: {"tenants": len(v.ls.tenant_ids)}),
    # --- provider: load-balancer.tf ----------------------------------------------------------
    Row("lb_frontend_subnet", "azurerm_subnet", "lb_frontend_{region.tf_id}", "created_lb",
        lambda v: {"name": v.lb.frontend_subnet_name, "resource_group_name": v.region.vnet_resource_group,
                   "virtual_network_name": v.region.vnet_name},
        existing=lambda v: v.lb.existing),
    Row("load_balancer", "azurerm_lb", "{region.tf_id}", "created_lb",
        lambda v: {"name": v.region.load_balancer_name, "location": v.region.location, "resource_group_name": v.rg,
                   "sku": "Standard"},
        existing=lambda v: v.lb.existing),
    Row("lb_backend_pool", "azurerm_lb_backend_address_pool", "{region.tf_id}", "created_lb",
        lambda v: {**_lb_parts(v), "name": v.lb.backend_pool_name}, existing=lambda v: v.lb.existing),
    Row("lb_probe", "azurerm_lb_probe", "{region.tf_id}", "created_lb",
        lambda v: {**_lb_parts(v), "name": v.lb.probe_name}, existing=lambda v: v.lb.existing),
    Row("lb_rule", "azurerm_lb_rule", "{region.tf_id}_{index}", "lb_rule",
        lambda v: {**_lb_parts(v), "name": v.item.name}, existing=lambda v: v.lb.existing),
    Row("lb_nat_rule", "azurerm_lb_nat_rule", "{region.tf_id}_nat_{index}", "lb_nat_rule",
        lambda v: {**_lb_parts(v), "name": v.item.name}, existing=lambda v: v.lb.existing),
    # --- provider: nat-gateway.tf ------------------------------------------------------------
    Row("nat_gateway_public_ip", "azurerm_public_ip", "nat_gateway_{region.tf_id}_{index}", "nat_gateway_ip",
        lambda v: _public_ip(v, v.item), existing=lambda v: v.gw.existing, guard="nat_gateway_public_ip",
        context=lambda v: {"nat_gateway": v.gw.name}),
    Row("nat_gateway", "azurerm_nat_gateway", "{region.tf_id}", "nat_gateway",
        lambda v: {"name": v.gw.name, "location": v.region.location, "resource_group_name": v.rg, "sku_name": "Standard"},
        existing=lambda v: v.gw.existing),
    Row("nat_gateway_public_ip_association", "azurerm_nat_gateway_public_ip_association", "{region.tf_id}_{index}",
        "nat_gateway_ip",
        lambda v: {"resource_group_name": v.rg, "nat_gateway_name": v.gw.name, "public_ip_name": v.item,
                   "nat_gateway_id": _nat_gateway_id(v),
                   "public_ip_address_id": _id("azurerm_public_ip", v.sub, resource_group_name=v.rg, name=v.item)},
        existing=lambda v: v.gw.existing),
    Row("subnet_nat_gateway_association", "azurerm_subnet_nat_gateway_association", "{region.tf_id}_{index}",
        "nat_gateway_subnet",
        lambda v: {"resource_group_name": v.region.vnet_resource_group, "virtual_network_name": v.region.vnet_name,
                   "subnet_name": v.item, "nat_gateway_id": _nat_gateway_id(v),
                   "subnet_id": _id("azurerm_subnet", v.sub, resource_group_name=v.region.vnet_resource_group,
                                    virtual_network_name=v.region.vnet_name, name=v.item)},
        existing=lambda v: v.gw.existing),
    # --- provider: vpn.tf --------------------------------------------------------------------
    Row("gateway_subnet", "azurerm_subnet", "gateway_{region.tf_id}", "vpn_gateway",
        lambda v: {"name": "GatewaySubnet", "resource_group_name": v.region.vnet_resource_group,
                   "virtual_network_name": v.region.vnet_name},
        existing=lambda v: v.vpn.existing),
    Row("vpn_public_ip", "azurerm_public_ip", "vpn_gateway_{region.tf_id}{suffix}", "vpn_ip",
        lambda v: _public_ip(v, v.item), existing=lambda v: v.vpn.existing, guard="vpn_public_ip",
        context=lambda v: {"gateway": v.vpn.name, "tenants": len(v.vpn.connections)}),
    Row("vpn_gateway", "azurerm_virtual_network_gateway", "{region.tf_id}", "vpn_gateway",
        lambda v: {"name": v.vpn.name, "resource_group_name": v.rg, "location": v.region.location, "type": "Vpn",
                   "vpn_type": "RouteBased", "generation": v.vpn.generation,
                   # a block whose ForceNew is on the block: replaced when the number of blocks changes
                   "ip_configuration": len(v.vpn.public_ip_names)},
        existing=lambda v: v.vpn.existing, guard="vpn_gateway",
        context=lambda v: {"tenants": len(v.vpn.connections)}),
    Row("vpn_connection", "azurerm_virtual_network_gateway_connection", "vpn_{item.tf_id}", "vpn_connection",
        lambda v: {"name": v.item.name, "resource_group_name": v.rg, "location": v.region.location, "type": "Vnet2Vnet",
                   "virtual_network_gateway_id": _gateway_id(v), "peer_virtual_network_gateway_id": v.item.peer_gateway_id}),
    # --- provider: monitoring.tf -------------------------------------------------------------
    Row("action_group", "azurerm_monitor_action_group", "nat_ports", "action_group",
        lambda v: {"name": v.monitoring.action_group_name, "resource_group_name": v.rg}),
    Row("metric_alert", "azurerm_monitor_metric_alert", "nat_ports_{ls.tf_id}", "alert",
        lambda v: {"name": v.monitoring.alert_name(v.ls), "resource_group_name": v.rg}),
    # --- tenants: the consumer module (one state per endpoint site) --------------------------
    Row("private_endpoint", "azurerm_private_endpoint", "service", "site",
        lambda v: _site_args(
            v, name=v.site.endpoint_name, location=v.site.location, resource_group_name=v.site.resource_group_name,
            subnet_id=v.site.subnet_id, **{
                "private_service_connection.name": v.site.connection_name or v.tenant.connection_name,
                "private_service_connection.is_manual_connection": True,
                "private_service_connection.private_connection_resource_alias": v.tenant.alias,
                "ip_configuration.name": "static" if v.site.private_ip else None,
                "ip_configuration.private_ip_address": v.site.private_ip}),
        existing=lambda v: v.site.existing, guard="private_endpoint",
        context=lambda v: {"tenant": v.tenant.id, "approval": v.tenant.approval},
        variables={"subscription_id": "subscription_id", "resource_group_name": "resource_group_name",
                   "name": "endpoint_name"}),
    Row("dns_zone", "azurerm_private_dns_zone", "service", "site",
        lambda v: _site_args(v, name=v.tenant.dns_zone_name, resource_group_name=v.site.resource_group_name)),
    Row("dns_zone_link", "azurerm_private_dns_zone_virtual_network_link", "service", "site",
        lambda v: _site_args(v, name=v.site.dns_link_name, private_dns_zone_name=v.tenant.dns_zone_name,
                             resource_group_name=v.site.resource_group_name,
                             virtual_network_id=_vnet_id(v.site.subnet_id) if v.site.subnet_id else None)),
    Row("dns_a_record", "azurerm_private_dns_a_record", "service", "site",
        lambda v: _site_args(v, name="@", zone_name=v.tenant.dns_zone_name, resource_group_name=v.site.resource_group_name)),
    # --- tenants: the VNet-to-VNet bundle ----------------------------------------------------
    Row("vpn_tenant_connection", "azurerm_virtual_network_gateway_connection", "to_provider", "vpn_tenant",
        lambda v: {"name": v.tenant.connection_name, "resource_group_name": v.tenant.gateway_resource_group,
                   "type": "Vnet2Vnet", "virtual_network_gateway_id": v.tenant.gateway_id,
                   "peer_virtual_network_gateway_id": v.tenant.provider_gateway_id}),
)


def _ns(names: dict[str, Any], **more: Any) -> SimpleNamespace:
    return SimpleNamespace(**{**names, **more})


def _provider_walks(provider: ProviderPlan) -> Iterator[tuple[str, SimpleNamespace]]:
    """(walk, names) for every provider object a row may be written for, in file order."""
    base = {"provider": provider, "rg": provider.resource_group, "sub": provider.subscription_id}
    for region in provider.regions:
        at = {**base, "region": region, "anchor": ("region", region.location)}
        yield "region", _ns(at)
        for ls in region.link_services:
            yield "link_service", _ns(at, ls=ls, anchor=("link_service", ls.name))
        lb = region.created_load_balancer
        if lb:
            yield "created_lb", _ns(at, lb=lb)
            for index, rule in enumerate(lb.rules, 1):
                yield "lb_rule", _ns(at, lb=lb, item=rule, index=index)
            for index, rule in enumerate(lb.nat_rules, 1):
                yield "lb_nat_rule", _ns(at, lb=lb, item=rule, index=index)
        gw = region.nat_gateway
        if gw:
            yield "nat_gateway", _ns(at, gw=gw)
            for index, name in enumerate(gw.public_ip_names, 1):
                yield "nat_gateway_ip", _ns(at, gw=gw, item=name, index=index)
            for index, subnet in enumerate(gw.subnets, 1):
                yield "nat_gateway_subnet", _ns(at, gw=gw, item=subnet, index=index)
        vpn = region.vpn_gateway
        if vpn:
            yield "vpn_gateway", _ns(at, vpn=vpn)
            for index, name in enumerate(vpn.public_ip_names, 1):
                yield "vpn_ip", _ns(at, vpn=vpn, item=name, suffix="" if index == 1 else f"_{index}")
            for connection in vpn.connections:
                yield "vpn_connection", _ns(at, vpn=vpn, item=connection,
                                                        anchor=("tenant", connection.tenant_id))
    monitoring = provider.monitoring
    if monitoring:
        if monitoring.action_group_email:
            yield "action_group", _ns(base, monitoring=monitoring, anchor=("monitoring",))
        for ls in provider.link_services:
            yield "alert", _ns(base, monitoring=monitoring, ls=ls, anchor=("monitoring",))


def _rows_for(walks: Iterator[tuple[str, SimpleNamespace]], unit: str, subscription: Callable) -> Iterator[Resource]:
    by_walk: dict[str, list[Row]] = {}
    for row in ROWS:
        by_walk.setdefault(row.walk, []).append(row)
    for walk, names in walks:
        for row in by_walk.get(walk, ()):
            yield Resource(
                kind=row.kind, type=row.type, label=row.label.format(**vars(names)), unit=unit,
                workspace=getattr(names, "workspace", None), subscription=subscription(names), args=row.args(names),
                existing=row.existing(names), guard=row.guard, context=row.context(names) if row.guard else {},
                anchor=names.anchor, variables=row.variables)


def provider_resources(provider: ProviderPlan) -> tuple[Resource, ...]:
    return tuple(_rows_for(_provider_walks(provider), PROVIDER_MODULE, lambda v: v.sub))


def tenant_resources(tenant: TenantPlan | VpnTenantPlan) -> tuple[Resource, ...]:
    unit = f"{tenant_dir(tenant.id)}/terraform"
    if isinstance(tenant, VpnTenantPlan):
        walks = [("vpn_tenant", SimpleNamespace(tenant=tenant, anchor=("tenant", tenant.id)))]
        return tuple(_rows_for(iter(walks), unit, lambda v: v.tenant.subscription_id))
    walks = [("site", SimpleNamespace(tenant=tenant, site=site, workspace=site.name,
                                      anchor=("tenant", tenant.id) + ((site.name,) if site.name else ())))
             for site in tenant.sites]
    return tuple(_rows_for(iter(walks), unit, lambda v: v.site.subscription_id))


def plan_resources(plan, modules: set[str] | frozenset[str] | None = None) -> tuple[Resource, ...]:
    """Every resource of the units this plan renders (the provider, and the tenants of --only),
    or of the Terraform module directories named in `modules`."""
    selected = lambda tenant: not plan.only or tenant.id in plan.only  # noqa: E731
    tenants = [t for t in plan.tenants if selected(t)] + [t for t in plan.vpn_tenants if selected(t)]
    if modules is not None:
        tenants = [t for t in tenants if f"{tenant_dir(t.id)}/terraform" in modules]
    provider = provider_resources(plan.provider) if modules is None or PROVIDER_MODULE in modules else ()
    return provider + tuple(r for t in tenants for r in tenant_resources(t))


# --- import blocks ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImportBlock:
    address: str
    id: str | None  # a literal id (Terraform >= 1.5) ...
    id_format: str | None = None  # ... or one built from the module's variables (Terraform >= 1.6)
    variables: Mapping[str, str] = field(default_factory=dict)


def import_blocks(resources: tuple[Resource, ...]) -> tuple[ImportBlock, ...]:
    """One import block per adopted resource. A module applied in several workspaces (a
    tenant's endpoint sites) takes its ids from each workspace's values, not literals."""
    blocks: dict[str, ImportBlock] = {}
    for resource in resources:
        if not resource.existing:
            continue
        if resource.workspace is not None:
            blocks[resource.address] = ImportBlock(resource.address, None, resource.id_format, resource.variables)
        elif resource.import_id is not None:
            blocks[resource.address] = ImportBlock(resource.address, resource.import_id)
    return tuple(blocks[address] for address in sorted(blocks))


def import_file(unit: str, resources: tuple[Resource, ...], owner: str) -> tuple[OutputFile, ...]:
    """`<unit>/imports.tf` when the unit adopts anything (owner: the plan unit of the file)."""
    blocks = import_blocks(tuple(r for r in resources if r.unit == unit))
    if not blocks:
        return ()
    return (OutputFile(f"{unit}/{IMPORTS_FILE}", IMPORTS_TEMPLATE, unit=owner,
                       context={"imports": blocks, "expressions": any(b.id is None for b in blocks)}),)


def provider_import_files(provider: ProviderPlan) -> tuple[OutputFile, ...]:
    return import_file(PROVIDER_MODULE, provider_resources(provider), "provider")


def tenant_import_files(tenant: TenantPlan | VpnTenantPlan, owner: str) -> tuple[OutputFile, ...]:
    return import_file(f"{tenant_dir(tenant.id)}/terraform", tenant_resources(tenant), owner)
