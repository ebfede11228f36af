"""Plan equivalence: the facts a reviewer cares about (names, access lists, NAT IPs, alias,
request message, DNS records), read back from the parsed output and compared with the plan.

Each format has an extractor returning {unit: {fact: value}}; `compare` names both sides of
every disagreement. Bicep extraction joins this in gen.verify.bicep.
"""

from __future__ import annotations

import json
from typing import Any, Iterator

from ..plan import PROVIDER_BICEP, PROVIDER_TERRAFORM, Plan, tenant_dir
from . import behaviour, hcl, region_facts
from .bicep import BicepUnit

from .terraform import ParsedModule, _label, evaluate

Facts = dict[str, dict[str, Any]]


def plan_facts(plan: Plan, tenant_ids: set[str], include_provider: bool = True) -> Facts:
    facts: Facts = {}
    for ls in plan.provider.link_services if include_provider else ():
        facts[f"link service {ls.name}"] = {
            "name": ls.name,
            "location": ls.location,
            "visibility": sorted(ls.visibility_subscription_ids),
            "auto_approval": sorted(ls.auto_approval_subscription_ids),
            "nat_ip_count": len(ls.nat_ips),
            "static_nat_ips": [ip.private_ip for ip in ls.nat_ips if ip.private_ip],
            "proxy_protocol": plan.provider.proxy_protocol,
            "nat_ports_alert": {"metric": "PLSNatPortsUsage", "threshold": plan.provider.monitoring.nat_port_usage_percent,
                                "notifies": bool(plan.provider.monitoring.action_group_email)}
            if plan.provider.monitoring else None,
        }
    for tenant in plan.tenants:
        if tenant.id not in tenant_ids:
            continue
        for site in tenant.sites:
            facts[site_unit(tenant.id, site.name)] = {
                "endpoint_name": site.endpoint_name,
                "alias": tenant.alias,
                "manual_connection": True,
                "request_message": tenant.request_message,
                "private_ip": site.private_ip,
                "dns_zone": tenant.dns_zone_name,
                "dns_records": ["@"],
            }
    for tenant in plan.vpn_tenants:
        if tenant.id in tenant_ids:
            facts[f"tenant {tenant.id}"] = {"vnet_to_vnet": {"connection": tenant.connection_name, "gateway": tenant.gateway_id,
                                                             "peer": tenant.provider_gateway_id}}
    return facts


def site_unit(tenant_id: str, site: str | None) -> str:
    return f"tenant {tenant_id}" + (f" site {site}" if site else "")


def value_file_index(files: dict[str, str], single: str, suffix: str) -> dict[str, dict[str | None, str]]:
    """Every consumer directory's value files by site, in one pass over the tree: `single` (the
    one-endpoint file) and sites/<name><suffix>. (Looking them up per directory would read the
    whole tree once per tenant.)"""
    index: dict[str, dict[str | None, str]] = {}
    for path in files:
        if path.endswith("/" + single):
            index.setdefault(path[:-len(single) - 1], {})[None] = path
        elif path.endswith(suffix) and "/sites/" in path:
            directory, _, name = path.rpartition("/sites/")
            if "/" not in name:
                index.setdefault(directory, {})[name[:-len(suffix)]] = path
    return index


def _single(body: dict, key: str) -> dict:
    blocks = body.get(key) or [{}]
    return blocks[0]


def _label_of(module: ParsedModule, body: dict) -> str | None:
    return next((label for (kind, label), other in module.resources.items() if other is body), None)


def _terraform_alerts(module: ParsedModule, variables: dict) -> dict[str, dict]:
    """Metric alerts by the label of the Private Link Service they watch."""
    alerts = {}
    for (type_name, _), body in module.resources.items():
        if type_name != "azurerm_monitor_metric_alert":
            continue
        criteria = (body.get("criteria") or [{}])[0]
        for scope in body.get("scopes", []):
            refs = [r for r in hcl.value_references(scope) if r[:1] == ("azurerm_private_link_service",)]
            for ref in refs:
                alerts[ref[1]] = {"metric": evaluate(criteria.get("metric_name"), variables, module),
                                  "threshold": criteria.get("threshold"), "notifies": bool(body.get("action"))}
    return alerts


def terraform_facts(plan: Plan, files: dict[str, str], modules: dict[str, ParsedModule]) -> Facts:
    facts: Facts = {}
    provider = modules.get(PROVIDER_TERRAFORM)
    if provider is not None:
        variables = json.loads(files.get(f"{PROVIDER_TERRAFORM}/terraform.tfvars.json", "{}"))
        alerts = _terraform_alerts(provider, variables)
        for (type_name, _), body in sorted(provider.resources.items()):
            if type_name != "azurerm_private_link_service":
                continue
            name = evaluate(body.get("name"), variables, provider)
            nat = body.get("nat_ip_configuration", [])
            facts[f"link service {name}"] = {
                "name": name,
                "location": evaluate(body.get("location"), variables, provider),
                "visibility": sorted(evaluate(body.get("visibility_subscription_ids", []), variables, provider)),
                "auto_approval": sorted(evaluate(body.get("auto_approval_subscription_ids", []), variables, provider)),
                "nat_ip_count": len(nat),
                "static_nat_ips": [evaluate(n["private_ip_address"], variables, provider) for n in nat if "private_ip_address" in n],
                "proxy_protocol": body.get("proxy_protocol_enabled"),
                "nat_ports_alert": alerts.get(_label_of(provider, body)),
            }
    value_files = value_file_index(files, "terraform.tfvars.json", ".tfvars.json")
    for directory, module in modules.items():
        if not directory.startswith("tenants/"):
            continue
        tenant_id = directory.split("/")[1]
        variables = json.loads(files.get(f"{directory}/terraform.tfvars.json", "{}"))
        vpn = next((b for (t, _), b in module.resources.items() if t == "azurerm_virtual_network_gateway_connection"), None)
        if vpn is not None:
            facts[f"tenant {tenant_id}"] = {"vnet_to_vnet": {
                "connection": evaluate(vpn.get("name"), variables, module),
                "gateway": evaluate(vpn.get("virtual_network_gateway_id"), variables, module),
                "peer": evaluate(vpn.get("peer_virtual_network_gateway_id"), variables, module)}}
            continue
        endpoint = next((b for (t, _), b in module.resources.items() if t == "azurerm_private_endpoint"), {})
        connection = _single(endpoint, "private_service_connection")
        zone = next((b for (t, _), b in module.resources.items() if t == "azurerm_private_dns_zone"), {})
        records = [b for (t, _), b in sorted(module.resources.items()) if t == "azurerm_private_dns_a_record"]
        static = any(_label(label) == "ip_configuration" for dyn in endpoint.get("dynamic", []) for label in dyn)
        for site, path in value_files.get(directory, {}).items():
            variables = json.loads(files[path])
            facts[site_unit(tenant_id, site)] = {
                "endpoint_name": evaluate(endpoint.get("name"), variables, module),
                "alias": evaluate(connection.get("private_connection_resource_alias"), variables, module),
                "manual_connection": connection.get("is_manual_connection"),
                "request_message": evaluate(connection.get("request_message"), variables, module),
                "private_ip": evaluate("${var.private_ip}", variables, module) if static else None,
                "dns_zone": evaluate(zone.get("name"), variables, module),
                "dns_records": [evaluate(r.get("name"), variables, module) for r in records],
            }
    return facts


def _conditional_array(value: Any) -> list:
    """`cond ? [] : [x]` (how an optional block is written): the non-empty branch."""
    if isinstance(value, dict) and "operator" in value and value["operator"].get("type") == "conditional":
        operands = value["operator"]["operands"]
        return operands["false_value"] or operands["true_value"]
    return value if isinstance(value, list) else []


def _bicep_alerts(unit: BicepUnit) -> dict[str, dict]:
    """Metric alerts by the symbol of the Private Link Service they watch (scopes: [pls.id])."""
    alerts = {}
    for config in unit.resources("Microsoft.Insights/metricAlerts"):
        properties = config.get("properties", {})
        criteria = (properties.get("criteria", {}).get("allOf") or [{}])[0]
        for scope in properties.get("scopes", []):
            operands = scope.get("operator", {}).get("operands", {}) if isinstance(scope, dict) else {}
            if operands.get("operand_2") == "id":
                alerts[operands.get("operand_1")] = {"metric": unit.value(criteria.get("metricName")),
                                                     "threshold": criteria.get("threshold"),
                                                     "notifies": bool(properties.get("actions"))}
    return alerts


def bicep_facts(plan: Plan, units: dict[str, BicepUnit]) -> Facts:
    facts: Facts = {}
    provider = units.get(PROVIDER_BICEP)
    if provider is not None:
        alerts = _bicep_alerts(provider)
        symbols = {id(r["config"]): symbol for symbol, r in (provider.main.parsed.get("resources") or {}).items()}
        for config in provider.resources("Microsoft.Network/privateLinkServices"):
            properties = config.get("properties", {})
            name = provider.value(config.get("name"))
            ip_configs = properties.get("ipConfigurations", [])
            facts[f"link service {name}"] = {
                "name": name,
                "location": provider.value(config.get("location")),
                "visibility": sorted(provider.value(properties.get("visibility", {}).get("subscriptions", []))),
                "auto_approval": sorted(provider.value(properties.get("autoApproval", {}).get("subscriptions", []))),
                "nat_ip_count": len(ip_configs),
                "static_nat_ips": [provider.value(c["properties"]["privateIPAddress"]) for c in ip_configs
                                   if "privateIPAddress" in c.get("properties", {})],
                "proxy_protocol": properties.get("enableProxyProtocol"),
                "nat_ports_alert": alerts.get(symbols.get(id(config))),
            }
    for directory, unit in units.items():
        if not directory.startswith("tenants/"):
            continue
        tenant_id = directory.split("/")[1]
        site = directory.split("/sites/")[1] if "/sites/" in directory else None
        calls = [m["config"]["params"] for m in (unit.main.parsed.get("modules") or {}).values()
                 if m.get("detail", {}).get("path") == "vnet2vnet-connection.bicep"]
        if calls:
            facts[f"tenant {tenant_id}"] = {"vnet_to_vnet": {"connection": unit.value(calls[0].get("name")),
                                                             "gateway": unit.value(calls[0].get("gatewayId")),
                                                             "peer": unit.value(calls[0].get("peerGatewayId"))}}
            continue
        endpoint = next(iter(unit.resources("Microsoft.Network/privateEndpoints")), {})
        properties = endpoint.get("properties", {})
        manual = properties.get("manualPrivateLinkServiceConnections") or []
        automatic = properties.get("privateLinkServiceConnections") or []
        connection = (manual or automatic or [{}])[0].get("properties", {})
        ip_configs = _conditional_array(properties.get("ipConfigurations"))
        zone = next(iter(unit.resources("Microsoft.Network/privateDnsZones")), {})
        records = unit.resources("Microsoft.Network/privateDnsZones/A")
        facts[site_unit(tenant_id, site)] = {
            "endpoint_name": unit.value(endpoint.get("name")),
            "alias": unit.value(connection.get("privateLinkServiceId")),
            "manual_connection": bool(manual) and not automatic,
            "request_message": unit.value(connection.get("requestMessage")),
            "private_ip": unit.value(ip_configs[0]["properties"]["privateIPAddress"]) if ip_configs else None,
            "dns_zone": unit.value(zone.get("name")),
            "dns_records": [unit.value(r.get("name")) for r in records],
        }
    return facts


def compare(expected: Facts, actual: Facts, expected_side: str, actual_side: str) -> Iterator[tuple[str, str]]:
    for unit in sorted(set(expected) | set(actual)):
        if unit not in actual:
            yield unit, f"{expected_side} has {unit} but {actual_side} does not"
            continue
        if unit not in expected:
            yield unit, f"{actual_side} has {unit} but {expected_side} does not"
            continue
        for key in sorted(set(expected[unit]) | set(actual[unit])):
            left, right = expected[unit].get(key), actual[unit].get(key)
            if left != right:
                yield unit, f"{key}: {expected_side} says {left!r}, {actual_side} says {right!r}"


def unit_path(unit: str) -> str:
    kind, name = unit.split(" ", 1) if unit.startswith("tenant ") else ("provider", unit)
    return tenant_dir(name.split(" ")[0]) if kind == "tenant" else PROVIDER_TERRAFORM


def equivalence_problems(plan: Plan, files: dict[str, str], modules: dict[str, ParsedModule],
                         bicep_units: dict[str, BicepUnit]) -> Iterator[tuple[str, str]]:
    """The Terraform must state the plan's facts, and the Bicep the Terraform's."""
    rendered_tenants = {path.split("/")[1] for path in files if path.startswith("tenants/")}
    with_provider = any(p.startswith("provider/") for p in files)
    expected = plan_facts(plan, rendered_tenants, include_provider=with_provider)
    terraform = terraform_facts(plan, files, modules)
    bicep = bicep_facts(plan, bicep_units)
    if with_provider:
        expected.update(region_facts.plan_region_facts(plan))
        if PROVIDER_TERRAFORM in modules:
            terraform.update(region_facts.terraform_region_facts(modules[PROVIDER_TERRAFORM]))
        if PROVIDER_BICEP in bicep_units:
            bicep.update(region_facts.bicep_region_facts(bicep_units[PROVIDER_BICEP]))
    for unit, message in compare(expected, terraform, "the plan", "the Terraform"):
        yield unit_path(unit), f"{unit}: {message}"
    for unit, message in compare(terraform, bicep, "the Terraform", "the Bicep"):
        yield unit_path(unit), f"{unit}: {message}"
    yield from _identity_address_problems(plan, modules)
    if PROVIDER_TERRAFORM in modules and PROVIDER_BICEP in bicep_units:
        variables = json.loads(files.get(f"{PROVIDER_TERRAFORM}/terraform.tfvars.json", "{}"))
        for message in behaviour.equivalence_problems(modules[PROVIDER_TERRAFORM], variables, bicep_units[PROVIDER_BICEP]):
            yield PROVIDER_TERRAFORM, message


def _identity_address_problems(plan: Plan, modules: dict[str, ParsedModule]) -> Iterator[tuple[str, str]]:
    """Every resource block is one of the identity table's, at its address (issue 13)."""
    from ..plan.identities import plan_resources
    from .refactoring import address_problems

    expected: dict[str, set[str]] = {}
    for resource in plan_resources(plan, set(modules)):
        expected.setdefault(resource.unit, set()).add(resource.address)
    yield from address_problems(expected, modules)
