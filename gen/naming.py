"""Azure resource naming rules (learn.microsoft.com: resource-name-rules) for the types plgen
names, and the Terraform identifiers derived from names.

Both names from the manifest and names plgen makes up are checked, so a long service name that
would push a generated private endpoint name over 64 characters fails before rendering.
"""

from __future__ import annotations

import functools
import hashlib
import re
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class NameRule:
    kind: str
    min_length: int
    max_length: int
    characters: str  # regex character class body
    characters_text: str
    start: str = "a-zA-Z0-9"
    end: str = "a-zA-Z0-9_"

    def problem(self, name: str) -> str | None:
        """Why `name` is not a valid name of this kind, or None."""
        if not self.min_length <= len(name) <= self.max_length:
            return f"{self.kind} names are {self.min_length}-{self.max_length} characters; {name!r} has {len(name)}"
        characters, start, end = self._patterns
        if not characters.fullmatch(name):
            return f"{self.kind} names may contain only {self.characters_text}: {name!r}"
        if not start.match(name[0]):
            return f"{self.kind} names must start with a letter or digit: {name!r}"
        if not end.match(name[-1]):
            return f"{self.kind} names must end with a letter, digit or underscore: {name!r}"
        return None

    @functools.cached_property
    def _patterns(self) -> tuple[re.Pattern, re.Pattern, re.Pattern]:
        # compiled once: validation checks tens of thousands of names in a fleet
        return re.compile(f"[{self.characters}]+"), re.compile(f"[{self.start}]"), re.compile(f"[{self.end}]")


_NETWORK_CHARS = r"a-zA-Z0-9_.\-"
_NETWORK_TEXT = "letters, digits, underscores, periods and hyphens"


def _network(kind: str, min_length: int, max_length: int) -> NameRule:
    return NameRule(kind, min_length, max_length, _NETWORK_CHARS, _NETWORK_TEXT)


RULES: dict[str, NameRule] = {
    "resource_group": NameRule(
        "resource group", 1, 90, r"\w().\-", "letters, digits, underscores, parentheses, periods and hyphens",
        start=r"\w().\-", end=r"\w()\-",
    ),
    "virtual_network": _network("virtual network", 2, 64),
    "subnet": _network("subnet", 1, 80),
    "load_balancer": _network("load balancer", 1, 80),
    "frontend_ip_configuration": _network("frontend IP configuration", 1, 80),
    "ip_configuration": _network("IP configuration", 1, 80),
    "inbound_nat_rule": _network("inbound NAT rule", 1, 80),
    "private_link_service": _network("private link service", 2, 80),
    "private_endpoint": _network("private endpoint", 2, 64),
    "private_endpoint_connection": _network("private service connection", 1, 80),
    "dns_zone_link": NameRule("virtual network link", 1, 80, _NETWORK_CHARS, _NETWORK_TEXT),
    "nat_gateway": _network("NAT gateway", 1, 80),
    "public_ip": _network("public IP address", 1, 80),
    "virtual_network_gateway": _network("virtual network gateway", 1, 80),
    "connection": _network("connection", 1, 80),
    "action_group": NameRule("action group", 1, 260, r"a-zA-Z0-9_.\-", _NETWORK_TEXT),
    "metric_alert": NameRule("metric alert", 1, 260, r"a-zA-Z0-9_.\-", _NETWORK_TEXT),
}


def name_problem(kind: str, name: str) -> str | None:
    return RULES[kind].problem(name)


def tf_identifier(*parts: str) -> str:
    """A Terraform block label from Azure names and slugs: letters, digits, underscores.

    Different names can map to one identifier ('a-b' and 'a.b'); the plan checks that the
    identifiers it hands out are unique.
    """
    ident = "_".join(re.sub(r"[^a-zA-Z0-9_]", "_", part) for part in parts if part)
    ident = re.sub(r"_+", "_", ident).strip("_").lower()
    if not ident or not ident[0].isalpha():
        ident = "r_" + ident
    return ident


# Bicep keywords and the namespaces every template sees: a symbol may not be one of them
BICEP_RESERVED = {"az", "sys", "resource", "module", "param", "var", "output", "targetScope", "existing", "if", "for",
                  "in", "true", "false", "null", "import", "type", "func", "metadata", "extension", "with", "as"}


def bicep_identifier(*parts: str) -> str:
    """A Bicep symbolic name in lowerCamelCase from the same inputs as tf_identifier."""
    words = tf_identifier(*parts).split("_")
    symbol = words[0] + "".join(word[:1].upper() + word[1:] for word in words[1:])
    return f"r{symbol[:1].upper()}{symbol[1:]}" if symbol in BICEP_RESERVED else symbol


# --- names plgen makes up (validate checks them, plan uses them) ------------------------------


def generated_endpoint_name(service: str, tenant_id: str, site: str | None = None) -> str:
    return f"pe-{service}-{tenant_id}" + (f"-{site}" if site else "")


def planned_endpoints(tenant) -> int:
    """The private endpoints a tenant creates: its `endpoint_sites` unless `endpoints` says
    otherwise (validate refuses a disagreement), else `endpoints`."""
    if tenant.endpoint_sites and "endpoints" not in tenant.model_fields_set:
        return len(tenant.endpoint_sites)
    return tenant.endpoints


def default_request_message(tenant_id: str) -> str:
    """A manual connection needs a request message (azurerm refuses an empty one), and the
    manifest's is optional: this one says which tenant asks, and never decides anything."""
    return f"tenant={tenant_id}"


def generated_region_names(service: str, location: str, public_ips: int) -> dict[str, Any]:
    """Names plgen makes up for a region's neighbouring resources."""
    return {
        "nat_gateway": f"ng-{service}-{location}",
        "nat_gateway_public_ips": tuple(f"pip-ng-{service}-{location}-{i + 1}" for i in range(public_ips)),
        "vpn_gateway": f"vgw-{service}-{location}",
        # the first keeps its historical name, so an existing gateway's address is not replaced
        "vpn_gateway_public_ips": (f"pip-vgw-{service}-{location}", f"pip-vgw-{service}-{location}-2"),
    }


def tenant_link_service(manifest, tenant) -> str | None:
    """The link service a private-link tenant connects to (the region's only one by default)."""
    if tenant.connectivity != "private_link":
        return None
    if tenant.link_service is not None:
        return tenant.link_service
    for region in manifest.provider.regions:
        if region.location == tenant.region and len(region.link_services) == 1:
            return region.link_services[0].name
    return None


MAX_DEPLOYMENT_NAME = 64  # Microsoft.Resources/deployments (a Bicep module call is one)


def deployment_name(name: str) -> str:
    """A Bicep module's deployment name: as given when it fits 64 characters, else shortened
    with a digest of the whole name, so it stays unique and the same on every render."""
    if len(name) <= MAX_DEPLOYMENT_NAME:
        return name
    digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[:8]
    return f"{name[:MAX_DEPLOYMENT_NAME - 9].rstrip('-.')}-{digest}"
