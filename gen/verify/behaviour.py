"""Terraform <-> Bicep equivalence of behaviour: one declarative table per resource kind
(Terraform argument <-> ARM property <-> what it changes), read by the check.

Every argument that changes how Azure behaves is stated explicitly on both sides and compared:
a value on one side and a provider default on the other is a difference (the defaults of the
azurerm provider and of ARM are not the same). `uncovered_arguments` lists what a template
sets that the table neither compares nor names as identity, so a new argument cannot slip in
unchecked (tests/test_behaviour.py).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Iterator

from . import hcl
from .bicep import BicepUnit
from .terraform import ParsedModule, evaluate

ABSENT = "<not set>"


@dataclass(frozen=True)
class Kind:
    terraform: str
    arm: str  # the ARM resource type the Bicep declares
    collection: str | None = None  # for a child item inside the ARM resource, e.g. "properties.probes"
    compared: dict[str, tuple[str, str]] = field(default_factory=dict)  # tf path -> (ARM path, what it changes)
    identity: frozenset[str] = frozenset()  # arguments that name or wire the resource, compared elsewhere


_IDENTITY = frozenset({"name", "location", "resource_group_name", "tags"})

KINDS: tuple[Kind, ...] = (
    Kind("azurerm_private_link_service", "Microsoft.Network/privateLinkServices", compared={
        "proxy_protocol_enabled": ("properties.enableProxyProtocol", "PROXY v2 header on every connection"),
        "nat_ip_configuration.private_ip_address_version": ("properties.ipConfigurations.properties.privateIPAddressVersion", "NAT IP family"),
        "nat_ip_configuration.primary": ("properties.ipConfigurations.properties.primary", "which NAT IP is primary"),
    }, identity=_IDENTITY | {"load_balancer_frontend_ip_configuration_ids", "visibility_subscription_ids",
                             "auto_approval_subscription_ids", "nat_ip_configuration.name",
                             "nat_ip_configuration.subnet_id", "nat_ip_configuration.private_ip_address"}),
    Kind("azurerm_lb", "Microsoft.Network/loadBalancers", compared={
        "sku": ("sku.name", "Standard: required by Private Link"),
        "frontend_ip_configuration.private_ip_address_allocation": (
            "properties.frontendIPConfigurations.properties.privateIPAllocationMethod", "static frontend address"),
        "frontend_ip_configuration.private_ip_address_version": (
            "properties.frontendIPConfigurations.properties.privateIPAddressVersion", "frontend address family"),
        "frontend_ip_configuration.zones": ("properties.frontendIPConfigurations.zones", "zone redundancy of the frontend"),
    }, identity=_IDENTITY | {"frontend_ip_configuration.name", "frontend_ip_configuration.subnet_id",
                             "frontend_ip_configuration.private_ip_address"}),
    Kind("azurerm_lb_probe", "Microsoft.Network/loadBalancers", "properties.probes", compared={
        "protocol": ("properties.protocol", "how health is checked"),
        "port": ("properties.port", "which backend port is checked"),
        "request_path": ("properties.requestPath", "the Http probe's path"),
        "interval_in_seconds": ("properties.intervalInSeconds", "how fast a failure is seen"),
        "probe_threshold": ("properties.probeThreshold", "failures before a backend is taken out"),
        "number_of_probes": ("properties.numberOfProbes", "failures before a backend is taken out (older API)"),
    }, identity=frozenset({"name", "loadbalancer_id"})),
    Kind("azurerm_lb_rule", "Microsoft.Network/loadBalancers", "properties.loadBalancingRules", compared={
        "protocol": ("properties.protocol", "transport"),
        "frontend_port": ("properties.frontendPort", "the port consumers reach"),
        "backend_port": ("properties.backendPort", "the port backends must listen on"),
        "disable_outbound_snat": ("properties.disableOutboundSnat", "outbound SNAT through the frontend"),
        "floating_ip_enabled": ("properties.enableFloatingIP", "destination address seen by backends"),
        "idle_timeout_in_minutes": ("properties.idleTimeoutInMinutes", "idle flow timeout"),
        "tcp_reset_enabled": ("properties.enableTcpReset", "RST on idle timeout"),
        "load_distribution": ("properties.loadDistribution", "session affinity"),
    }, identity=frozenset({"name", "loadbalancer_id", "frontend_ip_configuration_name", "backend_address_pool_ids",
                           "probe_id"})),
    Kind("azurerm_lb_nat_rule", "Microsoft.Network/loadBalancers", "properties.inboundNatRules", compared={
        "protocol": ("properties.protocol", "transport"),
        "frontend_port": ("properties.frontendPort", "the port consumers reach"),
        "backend_port": ("properties.backendPort", "the target machine's port"),
        "floating_ip_enabled": ("properties.enableFloatingIP", "destination address seen by the target"),
        "idle_timeout_in_minutes": ("properties.idleTimeoutInMinutes", "idle flow timeout"),
        "tcp_reset_enabled": ("properties.enableTcpReset", "RST on idle timeout"),
    }, identity=frozenset({"name", "loadbalancer_id", "frontend_ip_configuration_name", "resource_group_name"})),
    Kind("azurerm_lb_backend_address_pool", "Microsoft.Network/loadBalancers", "properties.backendAddressPools",
         identity=frozenset({"name", "loadbalancer_id"})),
    Kind("azurerm_public_ip", "Microsoft.Network/publicIPAddresses", compared={
        "sku": ("sku.name", "Standard SKU"),
        "allocation_method": ("properties.publicIPAllocationMethod", "the address never changes"),
        "ip_version": ("properties.publicIPAddressVersion", "address family"),
        "zones": ("zones", "zone redundancy"),
    }, identity=_IDENTITY),
    Kind("azurerm_nat_gateway", "Microsoft.Network/natGateways", compared={
        "sku_name": ("sku.name", "NAT gateway SKU"),
        "idle_timeout_in_minutes": ("properties.idleTimeoutInMinutes", "outbound idle timeout"),
    }, identity=_IDENTITY),
    Kind("azurerm_virtual_network_gateway", "Microsoft.Network/virtualNetworkGateways", compared={
        "type": ("properties.gatewayType", "VPN, not ExpressRoute"),
        "vpn_type": ("properties.vpnType", "route-based (VNet-to-VNet needs it)"),
        "sku": ("properties.sku.name", "throughput and zone redundancy"),
        "generation": ("properties.vpnGatewayGeneration", "must match the SKU"),
        "active_active": ("properties.activeActive", "two instances, two tunnels"),
        "bgp_enabled": ("properties.enableBgp", "routing protocol"),
        "ip_configuration.private_ip_address_allocation": (
            "properties.ipConfigurations.properties.privateIPAllocationMethod", "gateway address allocation"),
        "ip_configuration.name": ("properties.ipConfigurations.name", "one configuration per instance"),
    }, identity=_IDENTITY | {"ip_configuration.public_ip_address_id", "ip_configuration.subnet_id"}),
    Kind("azurerm_monitor_metric_alert", "Microsoft.Insights/metricAlerts", compared={
        "severity": ("properties.severity", "alert severity"),
        "frequency": ("properties.evaluationFrequency", "how often it is evaluated"),
        "window_size": ("properties.windowSize", "the window it looks at"),
        "enabled": ("properties.enabled", "whether it fires at all"),
        "auto_mitigate": ("properties.autoMitigate", "resolves itself when usage falls"),
        "criteria.metric_namespace": ("properties.criteria.allOf.metricNamespace", "what is measured"),
        "criteria.metric_name": ("properties.criteria.allOf.metricName", "what is measured"),
        "criteria.aggregation": ("properties.criteria.allOf.timeAggregation", "how samples are combined"),
        "criteria.operator": ("properties.criteria.allOf.operator", "the comparison"),
        "criteria.threshold": ("properties.criteria.allOf.threshold", "when it fires"),
        "criteria.dimension.name": ("properties.criteria.allOf.dimensions.name", "split per NAT IP"),
        "criteria.dimension.operator": ("properties.criteria.allOf.dimensions.operator", "split per NAT IP"),
        "criteria.dimension.values": ("properties.criteria.allOf.dimensions.values", "split per NAT IP"),
    }, identity=_IDENTITY | {"scopes", "description", "action.action_group_id"}),
    Kind("azurerm_monitor_action_group", "Microsoft.Insights/actionGroups", compared={
        "short_name": ("properties.groupShortName", "the sender shown in notifications"),
        "email_receiver.name": ("properties.emailReceivers.name", "receiver"),
        "email_receiver.use_common_alert_schema": ("properties.emailReceivers.useCommonAlertSchema", "payload format"),
    }, identity=_IDENTITY | {"email_receiver.email_address"}),
)

BY_TERRAFORM = {kind.terraform: kind for kind in KINDS}

# Resources whose Bicep side is a module call rather than a resource: their facts are compared
# in gen.verify.region_facts (subnets, associations, VPN connections); these are the arguments
# the templates may set on them.
COMPARED_IN_REGION_FACTS: dict[str, frozenset[str]] = {
    "azurerm_subnet": frozenset({"name", "resource_group_name", "virtual_network_name", "address_prefixes",
                                 "private_link_service_network_policies_enabled"}),
    "azurerm_nat_gateway_public_ip_association": frozenset({"nat_gateway_id", "public_ip_address_id"}),
    "azurerm_subnet_nat_gateway_association": frozenset({"subnet_id", "nat_gateway_id"}),
    "azurerm_virtual_network_gateway_connection": frozenset({"name", "location", "resource_group_name", "type",
                                                             "virtual_network_gateway_id", "peer_virtual_network_gateway_id",
                                                             "shared_key", "tags"}),
}


def _path_value(value: Any, path: list[str]) -> Any:
    """Follow a dotted path; a list on the way maps the rest of the path over its items."""
    if not path:
        return value
    if isinstance(value, list):
        return [_path_value(item, path) for item in value]
    if not isinstance(value, dict) or path[0] not in value:
        return ABSENT
    return _path_value(value[path[0]], path[1:])


def _terraform_items(module: ParsedModule, variables: dict) -> dict[tuple[str, str], dict]:
    items = {}
    for (type_name, _), body in sorted(module.resources.items()):
        if type_name in BY_TERRAFORM:
            items[(type_name, evaluate(body.get("name"), variables, module))] = body
    return items


def _bicep_items(unit: BicepUnit, kind: Kind) -> dict[str, Any]:
    found = {}
    for config in unit.resources(kind.arm):
        if kind.collection is None:
            found[unit.value(config.get("name"))] = config
        else:
            for item in _path_value(config, kind.collection.split(".")) or []:
                if isinstance(item, dict):
                    found[unit.value(item.get("name"))] = item
    return found


def _resolve(value: Any, resolve) -> Any:
    if isinstance(value, list):
        return [_resolve(item, resolve) for item in value]
    return resolve(value)


def equivalence_problems(module: ParsedModule, variables: dict, unit: BicepUnit) -> Iterator[str]:
    """Every compared argument of every table kind: set on both sides, to the same value."""
    terraform_items = _terraform_items(module, variables)
    for kind in KINDS:
        bicep_items = _bicep_items(unit, kind)
        names = sorted({name for (type_name, name) in terraform_items if type_name == kind.terraform})
        for name in names:
            body = terraform_items[(kind.terraform, name)]
            arm = bicep_items.get(name)
            if arm is None:
                yield f"{kind.terraform} {name!r}: the Terraform has it, the Bicep has no {kind.arm} item of that name"
                continue
            for tf_path, (arm_path, meaning) in sorted(kind.compared.items()):
                left = _resolve(_path_value(body, tf_path.split(".")),
                                           lambda v: evaluate(v, variables, module))
                right = _resolve(_path_value(arm, arm_path.split(".")), unit.value)
                if left == ABSENT and right == ABSENT:
                    continue
                if left != right:
                    yield (f"{kind.terraform} {name!r}: {tf_path} ({meaning}) is {json.dumps(left)} in the Terraform "
                           f"but {arm_path} is {json.dumps(right)} in the Bicep; state it explicitly, equal, on both sides")


def uncovered_arguments(module: ParsedModule) -> set[tuple[str, str]]:
    """(resource type, argument path) pairs a rendered module sets that no table row compares or
    names as identity; resource types outside the table are reported with argument '*'."""
    uncovered: set[tuple[str, str]] = set()
    for (type_name, _), body in module.resources.items():
        kind = BY_TERRAFORM.get(type_name)
        if kind is None and type_name not in COMPARED_IN_REGION_FACTS:
            uncovered.add((type_name, "*"))
            continue
        known = set(kind.compared) | set(kind.identity) if kind else COMPARED_IN_REGION_FACTS[type_name]
        for path in _argument_paths(body):
            if path not in known:
                uncovered.add((type_name, path))
    return uncovered


def _argument_paths(body: dict, prefix: str = "") -> Iterator[str]:
    for key, value in body.items():
        if key in ("lifecycle", "depends_on", "count", "for_each", "provider", "dynamic", "__start_line__", "__end_line__", "__is_block__"):
            continue
        if isinstance(value, list) and value and all(isinstance(item, dict) for item in value) and not hcl.is_expression(value):
            for item in value:
                yield from _argument_paths(item, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}"
