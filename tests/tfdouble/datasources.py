"""ReadDataSource: what an existing Azure object looks like, from fixtures or made up.

Fixtures are a JSON file named by the environment variable TFDOUBLE_FIXTURES:

    {
      "defaults": {"location": "eastus2"},
      "data_sources": {
        "azurerm_lb": [
          {"match": {"name": "lb-saas-eus2", "resource_group_name": "rg-contoso-api"},
           "values": {"location": "eastus2", "sku": "Standard",
                      "frontend_ip_configuration": [{"name": "fe-app-1"}, {"name": "fe-app-2"}]}},
          {"match": {"name": "lb-gone"}, "error": "Load Balancer \\"lb-gone\\" was not found"}
        ]
      }
    }

An entry applies when every `match` key equals the config's argument of that name. Its
`values` set computed attributes; everything it leaves out is generated: ids in Azure resource
id format built from the config (nested objects with a `name` get `<parent id>/<segment>/<name>`),
and a plausible known value for every other computed attribute, so that nothing read is unknown.
An entry with `error` makes the read fail with that message, as the provider does for an object
that does not exist.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any

from . import cty

DEFAULT_SUBSCRIPTION = "00000000-0000-4000-8000-000000000000"
DEFAULT_LOCATION = "eastus2"

# Azure resource id (below the resource group) of each data source, from its arguments.
ARM_PATHS = {
    "azurerm_virtual_network": "Microsoft.Network/virtualNetworks/{name}",
    "azurerm_lb": "Microsoft.Network/loadBalancers/{name}",
    "azurerm_subnet": "Microsoft.Network/virtualNetworks/{virtual_network_name}/subnets/{name}",
    "azurerm_virtual_network_gateway": "Microsoft.Network/virtualNetworkGateways/{name}",
    "azurerm_public_ip": "Microsoft.Network/publicIPAddresses/{name}",
    "azurerm_nat_gateway": "Microsoft.Network/natGateways/{name}",
    "azurerm_private_dns_zone": "Microsoft.Network/privateDnsZones/{name}",
    "azurerm_private_link_service": "Microsoft.Network/privateLinkServices/{name}",
    "azurerm_key_vault": "Microsoft.KeyVault/vaults/{name}",
}

# ARM child collection of a nested object list (attribute name -> id segment).
CHILD_SEGMENTS = {
    "frontend_ip_configuration": "frontendIPConfigurations",
    "backend_address_pool": "backendAddressPools",
    "ip_configuration": "ipConfigurations",
    "nat_ip_configuration": "ipConfigurations",
    "subnet": "subnets",
    "subnets": "subnets",
    "probe": "probes",
}


def load_fixtures() -> dict:
    path = os.environ.get("TFDOUBLE_FIXTURES")
    if not path:
        return {}
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


class ReadError(Exception):
    pass


def read(type_name: str, block: dict, config: dict, subscription_id: str | None, fixtures: dict) -> dict:
    """The state of a data source: config arguments kept, every computed attribute known."""
    entry = _fixture(fixtures, type_name, config)
    if entry is not None and entry.get("error"):
        raise ReadError(entry["error"])
    values = (entry or {}).get("values", {})
    defaults = fixtures.get("defaults", {})
    context = {
        "subscription": subscription_id or defaults.get("subscription_id") or DEFAULT_SUBSCRIPTION,
        "resource_group": config.get("resource_group_name") or defaults.get("resource_group_name") or "rg-double",
        "location": values.get("location") or defaults.get("location") or DEFAULT_LOCATION,
    }
    context["id"] = values.get("id") or resource_id(type_name, config, context)
    state: dict[str, Any] = {}
    for name, attr in block.get("attributes", {}).items():
        ty = cty.attribute_type(attr)
        configured = config.get(name)
        if configured is not None:
            state[name] = configured
        elif attr.get("computed"):
            state[name] = complete(values.get(name), ty, name, context)
        else:
            state[name] = None
    for name in block.get("block_types", {}):
        state[name] = config.get(name)
    return state


def _fixture(fixtures: dict, type_name: str, config: dict) -> dict | None:
    for entry in fixtures.get("data_sources", {}).get(type_name, []):
        if all(config.get(k) == v for k, v in entry.get("match", {}).items()):
            return entry
    return None


def resource_id(type_name: str, config: dict, context: dict) -> str:
    if type_name == "azurerm_key_vault_secret":
        vault = str(config.get("key_vault_id") or "kv-double").rstrip("/").split("/")[-1]
        return f"https://{vault}.vault.azure.net/secrets/{config.get('name')}/0123456789abcdef0123456789abcdef"
    if type_name == "azurerm_resource_group":
        return f"/subscriptions/{context['subscription']}/resourceGroups/{config.get('name')}"
    if type_name == "azurerm_client_config":
        return "clientConfigs/double"
    if type_name == "azurerm_lb_backend_address_pool":
        return f"{config.get('loadbalancer_id')}/backendAddressPools/{config.get('name')}"
    template = ARM_PATHS.get(type_name, "Microsoft.Double/" + type_name.removeprefix("azurerm_") + "s/{name}")
    below = re.sub(r"\{(\w+)\}", lambda m: str(config.get(m.group(1)) or m.group(1)), template)
    return f"/subscriptions/{context['subscription']}/resourceGroups/{context['resource_group']}/providers/{below}"


def _camel_plural(name: str) -> str:
    head, *rest = name.split("_")
    word = head + "".join(part.capitalize() for part in rest)
    return word + ("es" if word.endswith("s") else "s")


def complete(value: Any, ty: Any, name: str, context: dict) -> Any:
    """A fixture value (JSON, possibly partial) completed into a known value of type `ty`."""
    kind = cty.kind(ty)
    if value is None:
        return generate(ty, name, context)
    if kind == "object":
        result = {}
        element_context = dict(context)
        if isinstance(value, dict) and value.get("name") and "id" in ty[1]:
            segment = CHILD_SEGMENTS.get(context.get("collection", ""), _camel_plural(context.get("collection", "item")))
            element_context["id"] = value.get("id") or f"{context['id']}/{segment}/{value['name']}"
            element_context["name"] = value["name"]
        for attr, attr_type in ty[1].items():
            result[attr] = complete(value.get(attr), attr_type, attr, element_context)
        return result
    if kind in ("list", "set"):
        return [complete(v, ty[1], name, {**context, "collection": name}) for v in value]
    if kind == "map":
        return {k: complete(v, ty[1], k, context) for k, v in value.items()}
    return cty.from_json(value, ty)


def generate(ty: Any, name: str, context: dict) -> Any:
    """A plausible known value for a computed attribute nobody described."""
    kind = cty.kind(ty)
    if kind == "string":
        return _string_for(name, context)
    if kind == "number":
        return 1 if name.endswith(("count", "weight", "asn")) else 0
    if kind == "bool":
        return False
    if kind == "map":
        return {}
    if kind == "object":
        return complete({}, ty, name, context)
    if kind in ("list", "set"):
        element = ty[1]
        if cty.kind(element) == "object":
            first = {"name": f"{name}-1"} if "name" in element[1] else {}
            return [complete(first, element, name, {**context, "collection": name})]
        return [generate(element, name, context)]
    if kind == "tuple":
        return [generate(t, name, context) for t in ty[1]]
    return cty.Dynamic("string", name)


ARM_COLLECTIONS = {
    "public_ip_address": "publicIPAddresses",
    "network_security_group": "networkSecurityGroups",
    "route_table": "routeTables",
    "nat_gateway": "natGateways",
    "subnet": "virtualNetworks/vnet-double/subnets",
    "virtual_network": "virtualNetworks",
    "load_balancer": "loadBalancers",
    "key_vault": "vaults",
}


def _string_for(name: str, context: dict) -> str:
    if name == "id":
        return context["id"]
    if name == "name":
        return context.get("name") or "double"
    if name == "location":
        return context["location"]
    if name == "resource_group_name":
        return context["resource_group"]
    if name == "subscription_id":
        return context["subscription"]
    if name in ("tenant_id", "object_id", "client_id", "guid", "resource_guid"):
        return "00000000-0000-4000-8000-0000000000ff"
    if name.endswith("_id") or name.endswith("_ids"):
        stem = name.removesuffix("_ids").removesuffix("_id")
        collection = ARM_COLLECTIONS.get(stem, _camel_plural(stem))
        return (f"/subscriptions/{context['subscription']}/resourceGroups/{context['resource_group']}/providers/"
                f"Microsoft.Network/{collection}/{stem.replace('_', '-')}-1")
    if name.endswith("_date") or name.endswith("_time"):
        return "2030-01-01T00:00:00Z"
    if name.endswith("allocation"):
        return "Dynamic"
    if name.endswith("_version") and "ip" in name:
        return "IPv4"
    if name.endswith("_policies") or name.endswith("_state"):
        return "Disabled"
    if name == "content_type":
        return "text/plain"
    if "prefix" in name or name in ("address_space", "address_spaces"):
        return "10.0.0.0/24"
    if "address" in name or name.endswith("_ip") or name in ("dns_servers",):
        return "10.0.0.4"
    if name in ("sku", "sku_name", "sku_tier", "tier"):
        return "Standard"
    if name == "value":
        return "double-secret-value"
    if name in ("version", "generation"):
        return "1"
    if name == "fqdn" or name.endswith("_fqdn"):
        return "double.example.com"
    if name in ("subnets", "zones"):
        return "1" if name == "zones" else "default"
    return f"{name}-double"
