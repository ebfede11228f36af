"""What the rendered Terraform declares, read from the parsed files and their values files:
every name with the rule it must follow, and the provider's network as Azure would build it."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from typing import Any, Iterator

from .. import hcl
from ..terraform import ParsedModule, evaluate

# Arguments that name something, by argument name wherever they occur...
NAME_ARGUMENTS = {
    "resource_group_name": "resource_group",
    "virtual_network_name": "virtual_network",
    "frontend_ip_configuration_name": "load_balancer_child",
    "zone_name": "dns_zone",
    "private_dns_zone_name": "dns_zone",
}
# ... and per block type. Every argument that ends in `name` must be in one of these tables or
# in NOT_NAMES, so a template cannot add a name the oracle does not check.
TYPE_NAMES: dict[tuple[str, str], dict[str, str]] = {
    ("resource", "azurerm_subnet"): {"name": "subnet"},
    ("resource", "azurerm_lb"): {"name": "load_balancer", "frontend_ip_configuration.name": "load_balancer_child"},
    ("resource", "azurerm_lb_backend_address_pool"): {"name": "load_balancer_child"},
    ("resource", "azurerm_lb_probe"): {"name": "load_balancer_child"},
    ("resource", "azurerm_lb_rule"): {"name": "load_balancer_child"},
    ("resource", "azurerm_lb_nat_rule"): {"name": "load_balancer_child"},
    ("resource", "azurerm_private_link_service"): {"name": "private_link_service", "nat_ip_configuration.name": "ip_configuration"},
    ("resource", "azurerm_public_ip"): {"name": "public_ip"},
    ("resource", "azurerm_nat_gateway"): {"name": "nat_gateway"},
    ("resource", "azurerm_virtual_network_gateway"): {"name": "virtual_network_gateway", "ip_configuration.name": "ip_configuration"},
    ("resource", "azurerm_virtual_network_gateway_connection"): {"name": "connection"},
    ("resource", "azurerm_monitor_metric_alert"): {"name": "metric_alert"},
    ("resource", "azurerm_monitor_action_group"): {"name": "action_group", "short_name": "action_group_short_name",
                                                   "email_receiver.name": "action_group_receiver"},
    ("resource", "azurerm_private_endpoint"): {"name": "private_endpoint", "private_service_connection.name": "private_endpoint_connection",
                                               "ip_configuration.name": "ip_configuration"},
    ("resource", "azurerm_private_dns_zone"): {"name": "dns_zone"},
    ("resource", "azurerm_private_dns_zone_virtual_network_link"): {"name": "dns_zone_link"},
    ("resource", "azurerm_private_dns_a_record"): {"name": "dns_record"},
    ("data", "azurerm_virtual_network"): {"name": "virtual_network"},
    ("data", "azurerm_subnet"): {"name": "subnet"},
    ("data", "azurerm_lb"): {"name": "load_balancer"},
    ("data", "azurerm_virtual_network_gateway"): {"name": "virtual_network_gateway"},
    ("data", "azurerm_key_vault_secret"): {"name": "key_vault_secret"},
}
NOT_NAMES = {"criteria.metric_name", "criteria.dimension.name", "sku_name"}  # a metric, a dimension, a SKU

_SKIPPED = {"lifecycle", "depends_on", "count", "for_each", "provider", "__start_line__", "__end_line__", "__is_block__"}


def arguments(body: dict, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """(path, value) of every argument of a block, nested blocks and dynamic blocks' content
    included (their paths as if the block were written out)."""
    for key, value in body.items():
        if key in _SKIPPED:
            continue
        if key == "dynamic":
            for dynamic in value:
                for label, spec in dynamic.items():
                    for content in spec.get("content", []):
                        yield from arguments(content, f"{prefix}{label.strip(chr(34))}.")
            continue
        if isinstance(value, list) and value and all(isinstance(item, dict) for item in value):
            for item in value:
                yield from arguments(item, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


class Values:
    """Evaluates what the oracle needs: literals, `var.x` from a values file, and plain
    references to another block's literal argument (`data.azurerm_virtual_network.x.name`)."""

    _ATTRIBUTE = re.compile(r"(data\.)?([a-z0-9_]+)\.([A-Za-z0-9_]+)\.([a-z_]+)")

    def __init__(self, module: ParsedModule, variables: dict[str, Any]):
        self.module, self.variables = module, variables

    def __call__(self, value: Any) -> Any:
        result = evaluate(value, self.variables, self.module)
        if isinstance(result, str) and hcl.is_expression(result):
            match = self._ATTRIBUTE.fullmatch(hcl.expression_body(result).strip())
            if match:
                table = self.module.data if match[1] else self.module.resources
                target = table.get((match[2], match[3]))
                if target is not None and match[4] in target and not hcl.is_expression(target[match[4]]):
                    return self(target[match[4]])
        return result

    def known(self, value: Any) -> bool:
        return value is not None and not (isinstance(value, str) and hcl.is_expression(value))


def name_arguments(module: ParsedModule) -> list[tuple[str, str | None, Any]]:
    """(where, rule kind or None when no rule is known, unevaluated value) of every argument
    that names something; evaluated per values file by the caller."""
    found = []
    for block_kind, table in (("resource", module.resources), ("data", module.data)):
        for (type_name, label), body in sorted(table.items()):
            specific = TYPE_NAMES.get((block_kind, type_name), {})
            for path, value in arguments(body):
                leaf = path.rsplit(".", 1)[-1]
                if path in NOT_NAMES or not (leaf == "name" or leaf.endswith("_name")):
                    continue
                found.append((f"{block_kind} {type_name} {label!r} {path}", specific.get(path) or NAME_ARGUMENTS.get(leaf), value))
    return found


# --- the provider's network -------------------------------------------------------------------


def _ref(value: Any, *head: str) -> tuple[str, ...] | None:
    """The first reference in `value` that starts with `head`, without the head."""
    for ref in hcl.value_references(value):
        if ref[:len(head)] == head:
            return ref[len(head):]
    return None


@dataclass
class Subnet:
    label: str
    name: Any
    vnet: tuple[Any, Any]  # (resource group, virtual network)
    prefixes: list[ipaddress.IPv4Network] = field(default_factory=list)
    created: bool = True
    private_link_policies_disabled: bool = False


@dataclass
class Frontend:
    name: Any
    subnet: str | None  # label of a created subnet
    address: Any


@dataclass
class LoadBalancer:
    label: str
    name: Any
    created: bool
    frontends: list[Frontend] = field(default_factory=list)
    rules: list[dict] = field(default_factory=list)  # name, protocol, frontend, frontend_port, backend_port, floating, pool
    nat_rules: list[dict] = field(default_factory=list)
    children: dict[str, list[Any]] = field(default_factory=dict)  # collection -> names


@dataclass
class NatIp:
    name: Any
    subnet: str | None
    address: Any  # None: dynamic
    primary: Any


@dataclass
class LinkService:
    label: str
    name: Any
    location: Any
    proxy_protocol: Any
    frontends: list[tuple[str, Any]]  # (load balancer label, frontend name)
    nat_ips: list[NatIp]
    visibility: list[Any]
    auto_approval: list[Any]


@dataclass
class Network:
    subnets: dict[str, Subnet] = field(default_factory=dict)
    read_subnets: dict[str, Subnet] = field(default_factory=dict)
    load_balancers: dict[str, LoadBalancer] = field(default_factory=dict)
    link_services: dict[str, LinkService] = field(default_factory=dict)
    gateways: dict[str, dict] = field(default_factory=dict)  # VPN gateways: sku, generation, active_active, ip_configurations
    nat_gateway_subnets: list[tuple[str, str]] = field(default_factory=list)  # (NAT gateway label, subnet key)


def network(module: ParsedModule, values: Values) -> Network:
    net = Network()
    for (type_name, label), body in sorted(module.resources.items()):
        if type_name == "azurerm_subnet":
            prefixes = []
            for prefix in values(body.get("address_prefixes")) or []:
                try:
                    prefixes.append(ipaddress.IPv4Network(prefix))
                except (ValueError, TypeError):
                    pass
            net.subnets[label] = Subnet(label, values(body.get("name")), (values(body.get("resource_group_name")),
                                        values(body.get("virtual_network_name"))), prefixes,
                                        private_link_policies_disabled=body.get("private_link_service_network_policies_enabled") is False)
    for (type_name, label), body in sorted(module.data.items()):
        if type_name == "azurerm_subnet":
            net.read_subnets[label] = Subnet(label, values(body.get("name")), (values(body.get("resource_group_name")),
                                             values(body.get("virtual_network_name"))), created=False)
        elif type_name == "azurerm_lb":
            net.load_balancers[label] = LoadBalancer(label, values(body.get("name")), created=False)
    for (type_name, label), body in sorted(module.resources.items()):
        if type_name == "azurerm_lb":
            lb = net.load_balancers[label] = LoadBalancer(label, values(body.get("name")), created=True)
            for frontend in body.get("frontend_ip_configuration", []):
                subnet = _ref(frontend.get("subnet_id"), "azurerm_subnet")
                lb.frontends.append(Frontend(values(frontend.get("name")), subnet[0] if subnet else None,
                                             values(frontend.get("private_ip_address"))))
            lb.children["frontend IP configurations"] = [f.name for f in lb.frontends]
    for (type_name, label), body in sorted(module.resources.items()):
        lb_ref = _ref(body.get("loadbalancer_id"), "azurerm_lb")
        lb = net.load_balancers.get(lb_ref[0]) if lb_ref else None
        if lb is not None and type_name in ("azurerm_lb_rule", "azurerm_lb_nat_rule", "azurerm_lb_probe", "azurerm_lb_backend_address_pool"):
            collection = {"azurerm_lb_rule": "load-balancing rules", "azurerm_lb_nat_rule": "inbound NAT rules",
                          "azurerm_lb_probe": "probes", "azurerm_lb_backend_address_pool": "backend pools"}[type_name]
            lb.children.setdefault(collection, []).append(values(body.get("name")))
            if type_name in ("azurerm_lb_rule", "azurerm_lb_nat_rule"):
                pools = body.get("backend_address_pool_ids") or []
                rule = {"name": values(body.get("name")), "protocol": values(body.get("protocol")),
                        "frontend": values(body.get("frontend_ip_configuration_name")),
                        "frontend_port": body.get("frontend_port"), "backend_port": body.get("backend_port"),
                        "floating": body.get("floating_ip_enabled") is True,
                        "pool": tuple(sorted(str(p) for p in pools))}
                (lb.rules if type_name == "azurerm_lb_rule" else lb.nat_rules).append(rule)
        if type_name == "azurerm_private_link_service":
            net.link_services[label] = _link_service(label, body, values, net)
        elif type_name == "azurerm_virtual_network_gateway":
            configurations = []
            for configuration in body.get("ip_configuration", []):
                subnet = _ref(configuration.get("subnet_id"), "azurerm_subnet")
                configurations.append({"name": values(configuration.get("name")), "subnet": subnet[0] if subnet else None,
                                       "public_ip": _ref(configuration.get("public_ip_address_id"), "azurerm_public_ip")})
            net.gateways[label] = {"name": values(body.get("name")), "sku": values(body.get("sku")),
                                   "generation": values(body.get("generation")), "active_active": body.get("active_active"),
                                   "ip_configurations": configurations}
        elif type_name == "azurerm_subnet_nat_gateway_association":
            data = _ref(body.get("subnet_id"), "data", "azurerm_subnet")
            created = _ref(body.get("subnet_id"), "azurerm_subnet")
            gateway = _ref(body.get("nat_gateway_id"), "azurerm_nat_gateway")
            subnet = ("data", data[0]) if data else ("resource", created[0]) if created else None
            if subnet and gateway:
                net.nat_gateway_subnets.append((gateway[0], f"{subnet[0]}.{subnet[1]}"))
    return net


_LOCAL_FRONTEND = re.compile(r'local\.lb_frontend_ids_([a-z0-9_]+)\["([^"]+)"\]')
_CREATED_FRONTEND = re.compile(r"azurerm_lb\.([A-Za-z0-9_]+)\.frontend_ip_configuration\[(\d+)\]\.id")


def _link_service(label: str, body: dict, values: Values, net: Network) -> LinkService:
    frontends = []
    for item in body.get("load_balancer_frontend_ip_configuration_ids") or []:
        text = hcl.expression_body(item) if hcl.is_expression(item) else str(item)
        if match := _LOCAL_FRONTEND.search(text):
            frontends.append((match[1], match[2]))
        elif match := _CREATED_FRONTEND.search(text):
            lb = net.load_balancers.get(match[1])
            index = int(match[2])
            frontends.append((match[1], lb.frontends[index].name if lb and index < len(lb.frontends) else f"[{index}]"))
        else:
            frontends.append((None, text))
    nat_ips = []
    for configuration in body.get("nat_ip_configuration", []):
        subnet = _ref(configuration.get("subnet_id"), "azurerm_subnet")
        nat_ips.append(NatIp(values(configuration.get("name")), subnet[0] if subnet else None,
                             values(configuration.get("private_ip_address")) if "private_ip_address" in configuration else None,
                             configuration.get("primary")))
    return LinkService(label, values(body.get("name")), values(body.get("location")), body.get("proxy_protocol_enabled"),
                       frontends, nat_ips, values(body.get("visibility_subscription_ids") or []),
                       values(body.get("auto_approval_subscription_ids") or []))
