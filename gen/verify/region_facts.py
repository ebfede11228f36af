"""Facts of a region's neighbouring resources (NAT gateway, created load balancer, VPN gateway
and its connections), from the plan, the parsed Terraform and the parsed Bicep."""

from __future__ import annotations

from typing import Any

from ..plan import Plan, RegionPlan
from . import hcl
from .bicep import BicepUnit
from .terraform import ParsedModule, evaluate

Facts = dict[str, dict[str, Any]]


def _rule(frontend: str, frontend_port: int, backend_port: int, name: str = "") -> str:
    return f"{name + ':' if name else ''}{frontend}:{frontend_port}->{backend_port}"


def plan_region_facts(plan: Plan) -> Facts:
    return {f"region {region.location}": _plan_region(region) for region in plan.provider.regions}


def _plan_region(region: RegionPlan) -> dict[str, Any]:
    gateway, lb, vpn = region.nat_gateway, region.created_load_balancer, region.vpn_gateway
    return {
        "nat_gateway": {"name": gateway.name, "public_ips": len(gateway.public_ip_names),
                        "idle_timeout": gateway.idle_timeout_minutes, "subnets": sorted(gateway.subnets)} if gateway else None,
        "load_balancer": {
            "name": region.load_balancer_name,
            "frontends": {f.name: f.private_ip for f in lb.frontends},
            "rules": sorted(_rule(r.frontend, r.frontend_port, r.backend_port) for r in lb.rules),
            "nat_rules": sorted(_rule(r.frontend, r.frontend_port, r.backend_port, r.name) for r in lb.nat_rules),
            "probe": f"{lb.probe_protocol}:{lb.probe_port}:{lb.probe_path or ''}",
        } if lb else None,
        "vpn": {
            "gateway": vpn.name, "sku": vpn.sku, "gateway_subnet": vpn.gateway_subnet_prefix,
            "connections": {c.name: {"peer": c.peer_gateway_id, "secret": c.secret_name} for c in vpn.connections},
        } if vpn else None,
    }


# --- Terraform ------------------------------------------------------------------------------


def _ref_label(value: Any, type_name: str, data: bool = False) -> str | None:
    for ref in hcl.value_references(value):
        if data and ref[:2] == ("data", type_name):
            return ref[2]
        if not data and ref[:1] == (type_name,):
            return ref[1]
    return None


def terraform_region_facts(module: ParsedModule) -> Facts:
    variables: dict = {}
    value = lambda v: evaluate(v, variables, module)  # noqa: E731
    of = lambda t: {label: body for (kind, label), body in module.resources.items() if kind == t}  # noqa: E731
    facts: Facts = {}
    locations = {value(b.get("location")) for b in of("azurerm_private_link_service").values()}
    for location in sorted(locations):
        region: dict[str, Any] = {"nat_gateway": None, "load_balancer": None, "vpn": None}
        for label, body in of("azurerm_nat_gateway").items():
            if value(body.get("location")) != location:
                continue
            ips = [b for b in of("azurerm_nat_gateway_public_ip_association").values()
                   if _ref_label(b.get("nat_gateway_id"), "azurerm_nat_gateway") == label]
            subnets = []
            for association in of("azurerm_subnet_nat_gateway_association").values():
                if _ref_label(association.get("nat_gateway_id"), "azurerm_nat_gateway") == label:
                    subnet = module.data.get(("azurerm_subnet", _ref_label(association.get("subnet_id"), "azurerm_subnet", data=True)))
                    subnets.append(value(subnet.get("name")) if subnet else None)
            region["nat_gateway"] = {"name": value(body.get("name")), "public_ips": len(ips),
                                     "idle_timeout": body.get("idle_timeout_in_minutes"), "subnets": sorted(map(str, subnets))}
        for label, body in of("azurerm_lb").items():
            if value(body.get("location")) != location:
                continue
            mine = lambda t: [b for b in of(t).values() if _ref_label(b.get("loadbalancer_id"), "azurerm_lb") == label]  # noqa: E731
            probe = (mine("azurerm_lb_probe") or [{}])[0]
            region["load_balancer"] = {
                "name": value(body.get("name")),
                "frontends": {value(f["name"]): value(f.get("private_ip_address")) for f in body.get("frontend_ip_configuration", [])},
                "rules": sorted(_rule(value(r["frontend_ip_configuration_name"]), r["frontend_port"], r["backend_port"])
                                for r in mine("azurerm_lb_rule")),
                "nat_rules": sorted(_rule(value(r["frontend_ip_configuration_name"]), r["frontend_port"], r["backend_port"], value(r["name"]))
                                    for r in mine("azurerm_lb_nat_rule")),
                "probe": f"{value(probe.get('protocol'))}:{probe.get('port')}:{value(probe.get('request_path')) or ''}",
            }
        for label, body in of("azurerm_virtual_network_gateway").items():
            if value(body.get("location")) != location:
                continue
            configuration = (body.get("ip_configuration") or [{}])[0]
            subnet = module.resources.get(("azurerm_subnet", _ref_label(configuration.get("subnet_id"), "azurerm_subnet")), {})
            connections = {}
            for connection in of("azurerm_virtual_network_gateway_connection").values():
                if _ref_label(connection.get("virtual_network_gateway_id"), "azurerm_virtual_network_gateway") != label:
                    continue
                secret = module.data.get(("azurerm_key_vault_secret",
                                          _ref_label(connection.get("shared_key"), "azurerm_key_vault_secret", data=True)), {})
                connections[value(connection.get("name"))] = {"peer": value(connection.get("peer_virtual_network_gateway_id")),
                                                              "secret": value(secret.get("name"))}
            region["vpn"] = {"gateway": value(body.get("name")), "sku": value(body.get("sku")),
                             "gateway_subnet": (value(subnet.get("address_prefixes")) or [None])[0], "connections": connections}
        facts[f"region {location}"] = region
    return facts


# --- Bicep ----------------------------------------------------------------------------------


def _accessor(value: Any) -> tuple[str | None, Any]:
    operands = value.get("operator", {}).get("operands", {}) if isinstance(value, dict) else {}
    return operands.get("operand_1"), operands.get("operand_2")


def _resource_id_name(value: Any) -> str | None:
    function = value.get("function", {}) if isinstance(value, dict) else {}
    return function.get("parameters", {}).get("resource_name_2") if function.get("type") == "resource_id" else None


def bicep_region_facts(unit: BicepUnit) -> Facts:
    parsed = unit.main.parsed
    resources = parsed.get("resources") or {}
    modules = parsed.get("modules") or {}
    of = lambda t: {s: r["config"] for s, r in resources.items() if r["type"] == t and not r.get("existing")}  # noqa: E731
    calls = lambda path: {s: m["config"] for s, m in modules.items() if m.get("detail", {}).get("path") == path}  # noqa: E731
    facts: Facts = {}
    locations = {unit.value(c.get("location")) for c in of("Microsoft.Network/privateLinkServices").values()}
    for location in sorted(locations):
        region: dict[str, Any] = {"nat_gateway": None, "load_balancer": None, "vpn": None}
        for symbol, config in of("Microsoft.Network/natGateways").items():
            if unit.value(config.get("location")) != location:
                continue
            properties = config.get("properties", {})
            subnets = []
            for call in calls("modules/subnet-nat-gateway.bicep").values():
                params = call["params"]
                if _accessor(params.get("natGatewayId"))[0] != symbol:
                    continue
                name = unit.value(params["subnetName"])
                read = modules.get(_accessor(params.get("currentProperties"))[0] or "", {}).get("config", {}).get("params", {})
                read_name = unit.value(read.get("subnetName"))
                # the properties restated must be the same subnet's
                subnets.append(name if read_name == name else f"{name} (properties read from {read_name})")
            region["nat_gateway"] = {"name": unit.value(config.get("name")), "public_ips": len(properties.get("publicIpAddresses", [])),
                                     "idle_timeout": properties.get("idleTimeoutInMinutes"), "subnets": sorted(subnets)}
        for symbol, config in of("Microsoft.Network/loadBalancers").items():
            if unit.value(config.get("location")) != location:
                continue
            properties = config.get("properties", {})
            probe = (properties.get("probes") or [{}])[0]
            probe_properties = probe.get("properties", {})
            rule = lambda r, named: _rule(_resource_id_name(r["properties"]["frontendIPConfiguration"]["id"]),  # noqa: E731
                                          r["properties"]["frontendPort"], r["properties"]["backendPort"],
                                          unit.value(r["name"]) if named else "")
            region["load_balancer"] = {
                "name": unit.value(config.get("name")),
                "frontends": {unit.value(f["name"]): unit.value(f["properties"].get("privateIPAddress"))
                              for f in properties.get("frontendIPConfigurations", [])},
                "rules": sorted(rule(r, False) for r in properties.get("loadBalancingRules", [])),
                "nat_rules": sorted(rule(r, True) for r in properties.get("inboundNatRules", [])),
                "probe": f"{unit.value(probe_properties.get('protocol'))}:{probe_properties.get('port')}:"
                         f"{unit.value(probe_properties.get('requestPath')) or ''}",
            }
        for symbol, config in of("Microsoft.Network/virtualNetworkGateways").items():
            if unit.value(config.get("location")) != location:
                continue
            properties = config.get("properties", {})
            configuration = (properties.get("ipConfigurations") or [{}])[0].get("properties", {})
            subnet_module = modules.get(_accessor(configuration.get("subnet", {}).get("id"))[0] or "", {}).get("config", {})
            connections = {}
            for call in calls("modules/vnet2vnet-connection.bicep").values():
                params = call["params"]
                if _accessor(params.get("gatewayId"))[0] != symbol:
                    continue
                secret = params.get("sharedKey", {}).get("operator", {}).get("operands", {})
                connections[unit.value(params["name"])] = {
                    "peer": unit.value(params.get("peerGatewayId")),
                    "secret": unit.value(secret.get("operand_2")) if secret.get("func_name") == "getSecret" else None,
                }
            region["vpn"] = {"gateway": unit.value(config.get("name")), "sku": unit.value(properties.get("sku", {}).get("name")),
                             "gateway_subnet": unit.value(subnet_module.get("params", {}).get("addressPrefix")),
                             "connections": connections}
        facts[f"region {location}"] = region
    return facts
