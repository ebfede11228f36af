"""Azure's rules for what a tenant deploys, and for how it meets the provider: the alias names
a link service that exists in that location, and the endpoint's subscription can see it."""

from __future__ import annotations

import ipaddress
import re
from typing import Any, Iterator

from . import rules
from .terraform import LinkService

ARM_ID_RE = re.compile(r"/subscriptions/(?P<subscription>[^/]+)/resourceGroups/(?P<group>[^/]+)/providers/(?P<rest>.+)")
# resource type segment of an id -> the name rule of the name after it
ID_SEGMENTS = {
    "virtualNetworks": "virtual_network",
    "subnets": "subnet",
    "virtualNetworkGateways": "virtual_network_gateway",
    "vaults": "key_vault",
    "privateLinkServices": "private_link_service",
}


def id_problems(where: str, value: Any) -> Iterator[str]:
    """Every name inside a resource id follows its type's rule: an id is how a name from the
    manifest most often reaches Azure unchecked."""
    if not isinstance(value, str) or not value.startswith("/subscriptions/"):
        return
    match = ARM_ID_RE.fullmatch(value)
    if match is None:
        yield f"{where}: {value!r} is not a resource id (/subscriptions/S/resourceGroups/G/providers/...)"
        return
    if not rules.GUID_RE.fullmatch(match["subscription"]):
        yield f"{where}: {match['subscription']!r} in {value!r} is not a subscription id"
    problem = rules.resource_group_problem(match["group"])
    if problem:
        yield f"{where}: {problem} [{rules.NAME_RULES_URL}]"
    segments = match["rest"].split("/")[1:]  # after the namespace
    for type_segment, name in zip(segments[0::2], segments[1::2]):
        kind = ID_SEGMENTS.get(type_segment)
        problem = rules.NAME_RULES[kind].problem(name) if kind else f"no name rule known for {type_segment!r} in {value!r}"
        if problem:
            yield f"{where}: {problem} [{rules.NAME_RULES_URL}]"


def request_message_problems(where: str, message: Any) -> Iterator[str]:
    if message is None:
        return
    if not isinstance(message, str) or not 1 <= len(message) <= rules.MAX_REQUEST_MESSAGE:
        yield f"{where}: a request message is 1-{rules.MAX_REQUEST_MESSAGE} characters [{rules.PLS_URL}]"
    elif len(message.encode("utf-8")) > rules.MAX_REQUEST_MESSAGE:
        yield (f"{where}: the request message is {len(message.encode('utf-8'))} bytes in UTF-8; the azurerm provider counts "
               f"bytes and refuses more than {rules.MAX_REQUEST_MESSAGE} [{rules.AZURERM_VALIDATION}]")


def endpoint_problems(where: str, endpoint: dict[str, Any], link_services: dict[str, LinkService] | None) -> Iterator[str]:
    """One private endpoint's values (alias, subnet, subscription, address) against Azure's
    rules and, when the provider's output is at hand, against the link service it names."""
    alias, subnet_id = endpoint.get("alias"), endpoint.get("subnet_id")
    yield from request_message_problems(where, endpoint.get("request_message"))  # the subnet id's names: id_problems
    subscription = None
    if isinstance(subnet_id, str) and (match := ARM_ID_RE.fullmatch(subnet_id)):
        subscription = match["subscription"]
        if endpoint.get("subscription_id") not in (None, subscription):
            yield f"{where}: subscription_id {endpoint['subscription_id']} is not the subscription of the endpoint subnet ({subscription})"
    private_ip = endpoint.get("private_ip")
    if private_ip is not None:
        try:
            if str(ipaddress.IPv4Address(private_ip)) != private_ip:
                raise ValueError
        except ValueError:
            yield f"{where}: {private_ip!r} is not a canonical IPv4 address"
    if alias is None:
        return
    parsed = rules.ALIAS_RE.fullmatch(alias) if isinstance(alias, str) else None
    if parsed is None:
        yield f"{where}: {alias!r} is not an alias <name>.<guid>.<location>.azure.privatelinkservice [{rules.PLS_URL}]"
        return
    if link_services is None:
        return
    target = link_services.get(parsed["name"].lower())
    if target is None:
        yield f"{where}: the alias names link service {parsed['name']!r}, which the provider's output does not create"
        return
    if parsed["location"] != target.location:
        yield f"{where}: the alias says location {parsed['location']!r}, but link service {target.name!r} is in {target.location!r}"
    if subscription is not None and target.visibility != ["*"] and subscription not in target.visibility:
        yield (f"{where}: the endpoint's subscription {subscription} is not on the visibility list of {target.name!r}, "
               f"so the alias would not resolve for it [{rules.PLS_URL}]")


def workspace_problems(where: str, site: str | None, workspace: Any) -> Iterator[str]:
    if site is not None and workspace != site:
        yield f"{where}: the values of site {site!r} name workspace {workspace!r}"
