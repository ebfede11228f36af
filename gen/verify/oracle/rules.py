"""Azure's rules, stated once, each with where it comes from.

This table is the oracle's own statement of the rules: it does not import what `validate` or
`naming` believe, so a rule forgotten there is still caught here, in the rendered output.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

NAME_RULES_URL = "https://learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules#microsoftnetwork"
DEPLOYMENT_NAME_URL = "https://learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules#microsoftresources"
LIMITS_URL = "https://learn.microsoft.com/azure/azure-resource-manager/management/azure-subscription-service-limits#private-link-limits"
PLS_URL = "https://learn.microsoft.com/azure/private-link/private-link-service-overview"
PLS_POLICY_URL = "https://learn.microsoft.com/azure/private-link/disable-private-link-service-network-policy"
SUBNET_URL = "https://learn.microsoft.com/azure/virtual-network/virtual-networks-faq#are-there-any-restrictions-on-using-ip-addresses-within-these-subnets"
GATEWAY_SUBNET_URL = "https://learn.microsoft.com/azure/vpn-gateway/vpn-gateway-about-vpn-gateway-settings#gwsub"
VPN_SKU_URL = "https://learn.microsoft.com/azure/vpn-gateway/about-gateway-skus"
LB_RULES_URL = "https://learn.microsoft.com/azure/load-balancer/components#rules"
LB_FLOATING_IP_URL = "https://learn.microsoft.com/azure/load-balancer/load-balancer-floating-ip"
DNS_ZONE_URL = "https://learn.microsoft.com/azure/dns/private-dns-privatednszone#restrictions"
TAGS_URL = "https://learn.microsoft.com/azure/azure-resource-manager/management/tag-resources#limitations"
AZURERM_VALIDATION = "schemas/reference/azurerm-validation.json"
TERRAFORM_DATA_URL = "https://developer.hashicorp.com/terraform/language/data-sources#data-resource-behavior"
COMMONMARK_URL = "https://spec.commonmark.org/0.31.2/#code-spans"
GFM_TABLES_URL = "https://github.github.com/gfm/#tables-extension-"


@dataclass(frozen=True)
class NameRule:
    what: str
    min_length: int
    max_length: int
    characters: str  # regex character class body
    start: str
    end: str
    source: str = NAME_RULES_URL
    lowercase: bool = False

    def problem(self, name: str) -> str | None:
        if not self.min_length <= len(name) <= self.max_length:
            return f"{self.what} names are {self.min_length}-{self.max_length} characters, {name!r} has {len(name)}"
        if not re.fullmatch(f"[{self.characters}]+", name):
            return f"{name!r} has a character {self.what} names may not contain"
        if not re.fullmatch(f"[{self.start}]", name[0]):
            return f"{self.what} names may not start with {name[0]!r}: {name!r}"
        if not re.fullmatch(f"[{self.end}]", name[-1]):
            return f"{self.what} names may not end with {name[-1]!r}: {name!r}"
        if self.lowercase and name != name.lower():
            return f"{self.what} names are lowercase: {name!r}"
        return None


_ALNUM = "a-zA-Z0-9"
# Microsoft.Network: alphanumerics, underscores, periods and hyphens; start with an
# alphanumeric; end with an alphanumeric or underscore.
_NETWORK = dict(characters=r"a-zA-Z0-9_.\-", start=_ALNUM, end=_ALNUM + "_")


_ALERT_CHARS = r"^*#&+:<>?@%{}\\/\x00-\x1f"  # negated classes: any character but these
_ACTION_GROUP_CHARS = r"^:<>+/&%\\?\x00-\x1f"


def _network(what: str, low: int, high: int) -> NameRule:
    return NameRule(what, low, high, **_NETWORK)


NAME_RULES: dict[str, NameRule] = {
    "resource_group": NameRule("resource group", 1, 90, r"\w().\-", r"\w().\-", r"\w()\-"),
    "virtual_network": _network("virtual network", 2, 64),
    "subnet": _network("subnet", 1, 80),
    "load_balancer": _network("load balancer", 1, 80),
    # frontend IP configurations, pools, probes, rules and NAT rules of a load balancer
    "load_balancer_child": _network("load balancer child (frontend, pool, probe, rule, NAT rule)", 1, 80),
    "private_link_service": _network("private link service", 2, 80),
    "ip_configuration": _network("IP configuration", 1, 80),
    "private_endpoint": _network("private endpoint", 2, 64),
    "private_endpoint_connection": _network("private link service connection", 1, 80),
    "public_ip": _network("public IP address", 1, 80),
    "nat_gateway": _network("NAT gateway", 1, 80),
    "virtual_network_gateway": _network("virtual network gateway", 1, 80),
    "connection": _network("connection", 1, 80),
    "dns_zone_link": _network("virtual network link", 1, 80),
    # Microsoft.Insights: metricAlerts and actionGroups 1-260, no *#&+:<>?@%{}\/ (alerts) or
    # :<>+/&%\? (action groups), no control characters, not ending with space or period.
    "metric_alert": NameRule("metric alert", 1, 260, _ALERT_CHARS, _ALERT_CHARS, _ALERT_CHARS + " ."),
    "action_group": NameRule("action group", 1, 260, _ACTION_GROUP_CHARS, _ACTION_GROUP_CHARS, _ACTION_GROUP_CHARS + " ."),
    # azurerm: short_name is 1-12 characters (schemas/reference/azurerm-validation.json)
    "action_group_short_name": NameRule("action group short", 1, 12, r"^\x00-\x1f", r"^\x00-\x1f", r"^\x00-\x1f",
                                        source=AZURERM_VALIDATION),
    "action_group_receiver": NameRule("action group receiver", 1, 260, r"^\x00-\x1f", r"^\x00-\x1f ", r"^\x00-\x1f ",
                                      source=AZURERM_VALIDATION),
    # Key Vault secrets: 1-127 alphanumerics and hyphens
    "key_vault_secret": NameRule("Key Vault secret", 1, 127, r"a-zA-Z0-9\-", r"a-zA-Z0-9\-", r"a-zA-Z0-9\-"),
    "key_vault": NameRule("Key Vault", 3, 24, r"a-zA-Z0-9\-", "a-zA-Z", _ALNUM),
    # Microsoft.Resources/deployments (a Bicep module call is one)
    "deployment": NameRule("deployment", 1, 64, r"\w().\-", r"\w().\-", r"\w().\-", source=DEPLOYMENT_NAME_URL),
    # a private DNS record set name: '@' or labels; azurerm requires lowercase
    "dns_record": NameRule("private DNS record set", 1, 253, r"a-z0-9@._\-", r"a-z0-9@_", r"a-z0-9@", source=DNS_ZONE_URL,
                           lowercase=True),
}


def dns_zone_name_problem(name: str) -> str | None:
    """A private DNS zone name: 2-34 labels of 1-63 characters, at most 253 in all; azurerm
    compares it lowercase (private DNS zone restrictions)."""
    labels = name.split(".")
    if len(name) > 253 or not 2 <= len(labels) <= 34:
        return f"private DNS zone names have 2-34 labels and at most 253 characters: {name!r}"
    for label in labels:
        if not re.fullmatch(r"[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?", label):
            return f"label {label!r} of private DNS zone {name!r} is not 1-63 lowercase letters, digits, hyphens or underscores"
    return None


def resource_group_problem(name: str) -> str | None:
    if name.endswith("."):
        return f"resource group names may not end with a period: {name!r}"
    return NAME_RULES["resource_group"].problem(name)


# --- limits and facts (DESIGN §7, with their sources) ----------------------------------------

MAX_NAT_IPS_PER_LINK_SERVICE = 8  # PLS_URL / LIMITS_URL
MAX_LINK_SERVICES_PER_LOAD_BALANCER = 8  # LIMITS_URL
MAX_SUBSCRIPTIONS_PER_LIST = 100  # LIMITS_URL (visibility and auto-approval)
MAX_REQUEST_MESSAGE = 140  # ARM requestMessage; azurerm counts bytes (AZURERM_VALIDATION)
RESERVED_FIRST, RESERVED_LAST = 4, 1  # SUBNET_URL: the network, three Azure addresses, broadcast
SMALLEST_SUBNET_PREFIX = 29  # SUBNET_URL
GATEWAY_SUBNET = "GatewaySubnet"  # GATEWAY_SUBNET_URL: the name is required, other resources are not allowed in it
GATEWAY_SUBNET_MAX_PREFIX = 27  # GATEWAY_SUBNET_URL: /27 or larger for zone-redundant and active-active gateways
VPN_SKU_GENERATIONS = {  # VPN_SKU_URL
    "VpnGw1AZ": {"Generation1"},
    "VpnGw2AZ": {"Generation1", "Generation2"},
    "VpnGw3AZ": {"Generation1", "Generation2"},
    "VpnGw4AZ": {"Generation2"},
    "VpnGw5AZ": {"Generation2"},
}
MAX_TAG_NAME, MAX_TAG_VALUE, MAX_TAGS = 512, 256, 50  # TAGS_URL
TAG_NAME_FORBIDDEN = set('<>%&\\?/')  # TAGS_URL
ALIAS_RE = re.compile(r"(?P<name>.+)\.(?P<guid>[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})"
                      r"\.(?P<location>[a-z0-9]+)\.azure\.privatelinkservice")  # PLS_URL: prefix.GUID.region.azure.privatelinkservice
GUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
