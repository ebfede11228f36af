"""Plan-time errors azurerm raises from CustomizeDiff (not replacements), per resource type.

Transcribed by hand from the `customize_diff_errors` of the design repository's
reference/azurerm-replacement.json (hashicorp/terraform-provider-azurerm v4.79.0, commit
54e8dfa4), which states each as a condition in prose. Messages quote the provider's Go source
where it was available (private endpoint: `validatePrivateEndpointSettings`); the others are
the double's wording of the condition. Unknown values never fail a check: the SDK's ResourceDiff
sees them as not yet known.

Each check gets (prior, planned, config) as cty values (prior is None on create) and returns
error summaries; the SDK reports a CustomizeDiff error as a diagnostic without an attribute path.
"""

from __future__ import annotations

from typing import Any, Callable

from .cty import UNKNOWN


def _known(value: Any) -> bool:
    return value is not None and value is not UNKNOWN


def _changed(prior: Any, planned: Any, name: str) -> bool:
    old = None if prior is None else prior.get(name)
    new = planned.get(name)
    return new is not UNKNOWN and old != new


def private_endpoint(prior: Any, planned: Any, config: Any) -> list[str]:
    errors = []
    for connection in planned.get("private_service_connection") or []:
        if connection is UNKNOWN or not isinstance(connection, dict):
            continue
        manual, message, name = (connection.get("is_manual_connection"), connection.get("request_message"),
                                 connection.get("name"))
        if manual is UNKNOWN or message is UNKNOWN:
            continue
        message = message or ""
        if manual is False and message != "":
            errors.append(f'"private_service_connection":"{name}" is invalid, the "request_message" attribute cannot '
                          f'be set if the "is_manual_connection" attribute is "false"')
        if manual is True and message.strip() == "":
            errors.append(f'"private_service_connection":"{name}" is invalid, the "request_message" attribute must '
                          f'not be empty')
    return errors


def public_ip(prior: Any, planned: Any, config: Any) -> list[str]:
    errors = []
    sku, tier = planned.get("sku"), planned.get("sku_tier")
    watched = ("name", "resource_group_name", "location", "allocation_method", "edge_zone", "ip_version", "sku",
               "sku_tier", "public_ip_prefix_id", "ip_tags", "zones")
    if sku == "Basic" and any(_changed(prior, planned, n) for n in watched):
        errors.append("Basic SKU public IP addresses can no longer be created or changed: use sku = \"Standard\"")
    if tier == "Global" and _known(sku) and sku != "Standard":
        errors.append('`sku_tier` can only be "Global" when `sku` is "Standard"')
    return errors


def nat_gateway(prior: Any, planned: Any, config: Any) -> list[str]:
    zones = (config or {}).get("zones")
    if planned.get("sku_name") == "StandardV2" and _known(zones) and len(zones) > 0:
        return ['`zones` cannot be set when `sku_name` is "StandardV2" (a StandardV2 NAT Gateway is zone-redundant)']
    return []


def virtual_network_gateway(prior: Any, planned: Any, config: Any) -> list[str]:
    errors = []
    if planned.get("type") == "ExpressRoute":
        for configuration in planned.get("ip_configuration") or []:
            if isinstance(configuration, dict) and _known(configuration.get("public_ip_address_id")):
                errors.append("`public_ip_address_id` cannot be set in `ip_configuration` when `type` is "
                              "\"ExpressRoute\"")
                break
    minimum, maximum = (config or {}).get("minimum_scale_unit"), (config or {}).get("maximum_scale_unit")
    sku = planned.get("sku")
    if (_known(minimum) or _known(maximum)) and _known(sku) and sku != "ErGwScale":
        errors.append('`minimum_scale_unit` and `maximum_scale_unit` can only be set when `sku` is "ErGwScale"')
    if _known(minimum) and _known(maximum) and minimum > maximum:
        errors.append("`minimum_scale_unit` must be less than or equal to `maximum_scale_unit`")
    return errors


def subnet(prior: Any, planned: Any, config: Any) -> list[str]:
    scope = planned.get("sharing_scope")
    if _known(scope) and scope != "" and planned.get("default_outbound_access_enabled") is True:
        return ["`default_outbound_access_enabled` must be set to `false` when `sharing_scope` is set"]
    return []


def private_link_service(prior: Any, planned: Any, config: Any) -> list[str]:
    if prior is None:
        return []
    errors = []
    old = prior.get("nat_ip_configuration") or []
    new = planned.get("nat_ip_configuration") or []
    if new is UNKNOWN:
        return []
    for index, (before, after) in enumerate(zip(old, new)):
        if not isinstance(after, dict):
            continue
        name = after.get("name")
        old_ip, new_ip = before.get("private_ip_address") or "", after.get("private_ip_address")
        if new_ip is not UNKNOWN and old_ip != "" and (new_ip or "") == "":
            errors.append(f'Private Link Service "{planned.get("name")}" (Resource Group '
                          f'"{planned.get("resource_group_name")}") nat_ip_configuration "{name}" private_ip_address '
                          f"once assigned can not be removed")
        old_subnet, new_subnet = before.get("subnet_id") or "", after.get("subnet_id")
        if after.get("primary") is True and new_subnet is not UNKNOWN and old_subnet != "" and new_subnet != old_subnet:
            errors.append(f'Private Link Service "{planned.get("name")}" (Resource Group '
                          f'"{planned.get("resource_group_name")}") nat_ip_configuration "{name}" primary subnet_id '
                          f"once assigned can not be changed")
    return errors


CHECKS: dict[str, Callable[[Any, Any, Any], list[str]]] = {
    "azurerm_private_endpoint": private_endpoint,
    "azurerm_public_ip": public_ip,
    "azurerm_nat_gateway": nat_gateway,
    "azurerm_virtual_network_gateway": virtual_network_gateway,
    "azurerm_subnet": subnet,
    "azurerm_private_link_service": private_link_service,
}


def errors(type_name: str, prior: Any, planned: Any, config: Any) -> list[str]:
    check = CHECKS.get(type_name)
    if check is None or not isinstance(planned, dict):
        return []
    return check(prior, planned, config)
