"""Every name the rendered Bicep gives Azure: resources, their named child items, deployments
(module calls) and the names modules receive as parameters."""

from __future__ import annotations

from typing import Any, Iterator

from ..bicep import BicepUnit

# ARM type -> the rule of its name, and of the names of its child items by property path
RESOURCE_NAMES: dict[str, tuple[str, dict[str, str]]] = {
    "Microsoft.Network/privateLinkServices": ("private_link_service", {"properties.ipConfigurations": "ip_configuration"}),
    "Microsoft.Network/loadBalancers": ("load_balancer", {
        "properties.frontendIPConfigurations": "load_balancer_child", "properties.backendAddressPools": "load_balancer_child",
        "properties.probes": "load_balancer_child", "properties.loadBalancingRules": "load_balancer_child",
        "properties.inboundNatRules": "load_balancer_child"}),
    "Microsoft.Network/publicIPAddresses": ("public_ip", {}),
    "Microsoft.Network/natGateways": ("nat_gateway", {}),
    "Microsoft.Network/virtualNetworkGateways": ("virtual_network_gateway", {"properties.ipConfigurations": "ip_configuration"}),
    "Microsoft.Network/virtualNetworks": ("virtual_network", {}),
    "Microsoft.Network/virtualNetworks/subnets": ("subnet", {}),
    "Microsoft.Network/connections": ("connection", {}),
    "Microsoft.Network/privateEndpoints": ("private_endpoint", {
        "properties.manualPrivateLinkServiceConnections": "private_endpoint_connection",
        "properties.privateLinkServiceConnections": "private_endpoint_connection",
        "properties.ipConfigurations": "ip_configuration"}),
    "Microsoft.Network/privateDnsZones": ("dns_zone", {}),
    "Microsoft.Network/privateDnsZones/virtualNetworkLinks": ("dns_zone_link", {}),
    "Microsoft.Network/privateDnsZones/A": ("dns_record", {}),
    "Microsoft.Network/networkInterfaces": ("ip_configuration", {}),
    "Microsoft.Insights/metricAlerts": ("metric_alert", {}),
    "Microsoft.Insights/actionGroups": ("action_group", {"properties.emailReceivers": "action_group_receiver"}),
    "Microsoft.KeyVault/vaults": ("key_vault", {}),
}
# module file -> its parameters that are names, and their rule; any other parameter whose name
# ends in "Name" is reported, so a new one cannot go unchecked
MODULE_NAME_PARAMETERS: dict[str, dict[str, str]] = {
    "modules/subnet.bicep": {"vnetName": "virtual_network", "subnetName": "subnet"},
    "modules/subnet-read.bicep": {"vnetName": "virtual_network", "subnetName": "subnet"},
    "modules/subnet-nat-gateway.bicep": {"vnetName": "virtual_network", "subnetName": "subnet"},
    "modules/vnet2vnet-connection.bicep": {"name": "connection"},
    "vnet2vnet-connection.bicep": {"name": "connection"},
    "endpoint-ip.bicep": {"networkInterfaceName": "ip_configuration"},
}


def _items(value: Any, path: list[str]) -> list:
    for key in path:
        if not isinstance(value, dict):
            return []
        value = value.get(key)
    return value if isinstance(value, list) else []


def _value(unit: BicepUnit, raw: Any) -> Any:
    value = unit.value(raw)
    # a reference the unit cannot resolve (a variable, another resource's property) is not a name
    return None if isinstance(raw, str) and unit.main.is_reference(raw) and value == raw else value


def names(unit: BicepUnit) -> Iterator[tuple[str, str | None, Any]]:
    """(where, rule kind or None when unknown, value) for every name in the unit."""
    parsed = unit.main.parsed
    for symbol, resource in sorted((parsed.get("resources") or {}).items()):
        kind, children = RESOURCE_NAMES.get(resource["type"], (None, {}))
        config = resource["config"]
        yield f"resource {symbol} ({resource['type']}) name", kind, _value(unit, config.get("name"))
        for path, child_kind in children.items():
            for item in _items(config, path.split(".")):
                if isinstance(item, dict):
                    yield f"resource {symbol} {path}[].name", child_kind, _value(unit, item.get("name"))
    for symbol, module in sorted((parsed.get("modules") or {}).items()):
        config = module["config"]
        path = module.get("detail", {}).get("path")
        yield f"module {symbol} (deployment) name", "deployment", _value(unit, config.get("name"))
        known = MODULE_NAME_PARAMETERS.get(path, {})
        for parameter, value in sorted((config.get("params") or {}).items()):
            if parameter in known or parameter == "name" or parameter.endswith("Name"):
                yield f"module {symbol} parameter {parameter}", known.get(parameter), _value(unit, value)


def symbol_problems(unit: BicepUnit) -> Iterator[str]:
    """Symbols are unique across parameters, variables, resources, modules and outputs
    (Bicep refuses a repeat, BCP028); the parser keeps each section apart, so check across them."""
    seen: dict[str, str] = {}
    for section in ("parameters", "variables", "resources", "modules", "outputs"):
        for symbol in unit.main.parsed.get(section) or {}:
            if symbol in seen:
                yield f"symbol {symbol!r} is declared as one of the {seen[symbol]} and one of the {section} (Bicep refuses it, BCP028)"
            seen.setdefault(symbol, section)
