"""The fake cloud behind the double's resources: a JSON file of Azure objects.

The environment variable TFDOUBLE_CLOUD names the file (harness.make_sandbox(cloud=True) sets
it). Its content is one JSON object, keyed by the lower-cased Azure resource id (Azure ids are
case-insensitive):

    {
      "/subscriptions/…/resourcegroups/rg-x/providers/microsoft.network/publicipaddresses/pip-x": {
        "type": "azurerm_public_ip",
        "attributes": {"id": "/subscriptions/…/resourceGroups/rg-x/providers/Microsoft.Network/publicIPAddresses/…",
                       "name": "pip-x", "location": "eastus2", …}
      }
    }

`attributes` is the object as the provider's Read would report it: every attribute of the
resource type's schema, in state-file JSON (no `timeouts`: Azure does not know them). An
association whose id is another resource's id (azurerm_subnet_nat_gateway_association: the
subnet's) is stored under `<lower-cased id>#<type>` so that it does not overwrite the subnet.

Terraform applies up to 10 resources at a time and runs a provider process per command, so
every read holds a shared and every change an exclusive flock on `<file>.lock`, and a change
rewrites the file atomically.

Also here: the Azure resource id of a resource (from the import id format of
azurerm-replacement.json), the parsing of an import id (with the go-azure-helpers parser's
error messages), and the values of computed attributes when an object is created.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import tempfile
import uuid
from pathlib import Path
from typing import Any, Callable

from . import cty, datasources, schema
from .cty import UNKNOWN

CLOUD_ENV = "TFDOUBLE_CLOUD"

# Associations whose Azure id is the id of the object they modify.
SHARED_ID_TYPES = ("azurerm_subnet_nat_gateway_association", "azurerm_subnet_network_security_group_association")

# Import id formats of the schema's resource types that azurerm-replacement.json does not cover
# (plgen does not emit them): the double's own reading of the Azure id of each, so that they get
# plausible ids too.
EXTRA_IMPORT_IDS = {
    "azurerm_resource_group": "/subscriptions/{subscription_id}/resourceGroups/{name}",
    "azurerm_virtual_network":
        "/subscriptions/{subscription_id}/resourceGroups/{resource_group_name}/providers/Microsoft.Network/"
        "virtualNetworks/{name}",
    "azurerm_virtual_network_peering":
        "/subscriptions/{subscription_id}/resourceGroups/{resource_group_name}/providers/Microsoft.Network/"
        "virtualNetworks/{virtual_network_name}/virtualNetworkPeerings/{name}",
    "azurerm_network_interface":
        "/subscriptions/{subscription_id}/resourceGroups/{resource_group_name}/providers/Microsoft.Network/"
        "networkInterfaces/{name}",
    "azurerm_network_security_group":
        "/subscriptions/{subscription_id}/resourceGroups/{resource_group_name}/providers/Microsoft.Network/"
        "networkSecurityGroups/{name}",
    "azurerm_local_network_gateway":
        "/subscriptions/{subscription_id}/resourceGroups/{resource_group_name}/providers/Microsoft.Network/"
        "localNetworkGateways/{name}",
    "azurerm_public_ip_prefix":
        "/subscriptions/{subscription_id}/resourceGroups/{resource_group_name}/providers/Microsoft.Network/"
        "publicIPPrefixes/{name}",
    "azurerm_lb_outbound_rule":
        "/subscriptions/{subscription_id}/resourceGroups/{resource_group_name}/providers/Microsoft.Network/"
        "loadBalancers/{loadbalancer_name}/outboundRules/{name}",
    "azurerm_private_dns_aaaa_record":
        "/subscriptions/{subscription_id}/resourceGroups/{resource_group_name}/providers/Microsoft.Network/"
        "privateDnsZones/{zone_name}/AAAA/{name}",
    "azurerm_private_dns_cname_record":
        "/subscriptions/{subscription_id}/resourceGroups/{resource_group_name}/providers/Microsoft.Network/"
        "privateDnsZones/{zone_name}/CNAME/{name}",
    "azurerm_subnet_network_security_group_association":
        "/subscriptions/{subscription_id}/resourceGroups/{resource_group_name}/providers/Microsoft.Network/"
        "virtualNetworks/{virtual_network_name}/subnets/{subnet_name}",
    "azurerm_nat_gateway_public_ip_prefix_association":
        "/subscriptions/{subscription_id}/resourceGroups/{resource_group_name}/providers/Microsoft.Network/"
        "natGateways/{nat_gateway_name}|/subscriptions/{subscription_id}/resourceGroups/{resource_group_name}/"
        "providers/Microsoft.Network/publicIPPrefixes/{public_ip_prefix_name}",
    "azurerm_private_endpoint_application_security_group_association":
        "/subscriptions/{subscription_id}/resourceGroups/{resource_group_name}/providers/Microsoft.Network/"
        "privateEndpoints/{private_endpoint_name}|/subscriptions/{subscription_id}/resourceGroups/"
        "{resource_group_name}/providers/Microsoft.Network/applicationSecurityGroups/{application_security_group_name}",
}

# The error azurerm's Create returns when the object already exists (internal/tf/errors.go).
IMPORT_AS_EXISTS = ("A resource with the ID {id} already exists - to be managed via Terraform this resource needs to "
                    "be imported into the State. Please see the resource documentation for {type} for more "
                    "information.")


def go_quote(text: str) -> str:
    """Go's %q for an ordinary string."""
    return json.dumps(text, ensure_ascii=False)


# ---------------------------------------------------------------- the file


def cloud_path() -> Path | None:
    value = os.environ.get(CLOUD_ENV)
    return Path(value) if value else None


@contextlib.contextmanager
def _locked(path: Path, exclusive: bool):
    lock = open(str(path) + ".lock", "a+")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        yield
    finally:
        fcntl.flock(lock, fcntl.LOCK_UN)
        lock.close()


def _read(path: Path) -> dict:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    return json.loads(text) if text.strip() else {}


def _write(path: Path, objects: dict) -> None:
    handle, temporary = tempfile.mkstemp(prefix=path.name + ".", dir=str(path.parent))
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        json.dump(objects, out, indent=1, sort_keys=True)
        out.write("\n")
    os.replace(temporary, path)


def load(path: Path | None = None) -> dict:
    path = path or cloud_path()
    if path is None:
        return {}
    with _locked(path, exclusive=False):
        return _read(path)


def change(function: Callable[[dict], Any], path: Path | None = None) -> Any:
    """Run function(objects) under the exclusive lock and write back what it left in objects."""
    path = path or cloud_path()
    assert path is not None, f"{CLOUD_ENV} is not set"
    with _locked(path, exclusive=True):
        objects = _read(path)
        result = function(objects)
        _write(path, objects)
        return result


def key(type_name: str, resource_id: str) -> str:
    lowered = resource_id.lower()
    return f"{lowered}#{type_name}" if type_name in SHARED_ID_TYPES else lowered


def get(type_name: str, resource_id: str, path: Path | None = None) -> dict | None:
    """The attributes of the object of that type and id, or None when the cloud has none."""
    entry = load(path).get(key(type_name, resource_id))
    if not entry or entry.get("type") != type_name:
        return None
    return entry["attributes"]


def entry(type_name: str, attributes: dict) -> dict:
    """A cloud entry for an object (state JSON attributes); `timeouts` is not part of Azure."""
    return {"type": type_name, "attributes": {k: v for k, v in attributes.items() if k != "timeouts"}}


# ---------------------------------------------------------------- resource ids


def import_id_format(type_name: str) -> str | None:
    return schema.replacement(type_name).get("import_id") or EXTRA_IMPORT_IDS.get(type_name)


def _tokens(template_part: str) -> list[str]:
    return template_part.strip("/").split("/")


def _placeholder(token: str) -> str | None:
    match = re.fullmatch(r"\{(\w+)\}", token)
    return match.group(1) if match else None


def _match_prefix(tokens: list[str], value: str) -> dict | None:
    """Bindings for the placeholders of a prefix of the template that `value` (an Azure id)
    matches entirely; only prefixes naming a typed object (providers/<ns>/<type>/{name})."""
    parts = value.strip("/").split("/")
    if len(parts) < 8 or len(parts) > len(tokens) or _placeholder(tokens[len(parts) - 1]) is None:
        return None
    bindings = {}
    for token, part in zip(tokens, parts):
        name = _placeholder(token)
        if name is None:
            if token.lower() != part.lower():
                return None
        elif part:
            bindings[name] = part
        else:
            return None
    return bindings


def resource_id(type_name: str, values: dict, subscription: str) -> str:
    """The Azure id of a resource: its import id format filled from its arguments, parent ids
    (loadbalancer_id, subnet_id, …) supplying the segments they name."""
    template = import_id_format(type_name)
    if template is None:
        context = {"subscription": subscription, "resource_group": values.get("resource_group_name") or "rg-double"}
        return datasources.resource_id(type_name, values, context)
    parts = []
    for part in template.split("|"):
        tokens = _tokens(part)
        bindings: dict[str, str] = {"subscription_id": subscription}
        bindings.update({k: v for k, v in values.items() if isinstance(v, str) and v and k != "id"})
        for name, value in sorted(values.items()):
            if name != "id" and name.endswith("_id") and isinstance(value, str) and value.startswith("/"):
                bindings.update(_match_prefix(tokens, value) or {})
        filled = [bindings.get(_placeholder(t), _placeholder(t)) if _placeholder(t) else t for t in tokens]
        parts.append("/" + "/".join(filled))
    return "|".join(parts)


# ---------------------------------------------------------------- import ids


class ImportIdError(Exception):
    """The import id does not parse as the type's id (the provider's importer error)."""


class _ParseError(Exception):
    pass


SUBSCRIPTION_EXAMPLE = "12345678-1234-9876-4563-123456789012"
RESOURCE_GROUP_EXAMPLE = "example-resource-group"
RECORD_TYPES = ["A", "AAAA", "CAA", "CNAME", "MX", "PTR", "SOA", "SRV", "TXT"]
USER_SEGMENT_NAMES = {"loadbalancer_name": "loadBalancer", "zone_name": "privateDnsZone",
                      "public_ip_name": "publicIPAddress"}


def _camel(snake: str) -> str:
    head, *rest = snake.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


def _segments(template_part: str, label: str, commonids: bool) -> list[dict]:
    """The resourceids.Segment list of an id type, from its format. Segment names and example
    values follow the go-azure-sdk generator (static segments `static<Literal>`, resource
    provider `staticMicrosoftNetwork`, user segments `<name>Name`) or, for commonids types, the
    go-azure-helpers one (`subscriptions`, `resourceProvider`, `<name>Value` examples)."""
    segments = []
    tokens = _tokens(template_part)
    for i, token in enumerate(tokens):
        name = _placeholder(token)
        if name == "subscription_id":
            segments.append({"type": "subscription", "name": "subscriptionId", "example": SUBSCRIPTION_EXAMPLE})
        elif name == "resource_group_name":
            segments.append({"type": "resource_group", "name": "resourceGroupName", "example": RESOURCE_GROUP_EXAMPLE})
        elif name is not None:
            segment = (label[:1].lower() + label[1:] if name == "name" else
                       USER_SEGMENT_NAMES.get(name, _camel(name).removesuffix("Name"))) + "Name"
            if name == "name" and label == "RecordType":
                segment = "relativeRecordSetName"
            example = segment.removesuffix("Name") + "Value" if commonids else segment
            segments.append({"type": "user", "name": segment, "example": example})
        elif i > 0 and tokens[i - 1] == "providers":
            segments.append({"type": "provider", "name": "resourceProvider" if commonids else
                             "static" + token.replace(".", ""), "example": token, "value": token})
        elif label == "RecordType" and token in RECORD_TYPES:
            segments.append({"type": "constant", "name": "recordType", "example": token, "values": RECORD_TYPES})
        else:
            segments.append({"type": "static", "name": token if commonids else "static" + token[:1].upper() + token[1:],
                             "example": token, "value": token})
    return segments


def _description(segment: dict) -> str:
    kind = segment["type"]
    if kind == "constant":
        return ("should be a Constant with one of the following values ["
                + ", ".join(go_quote(v) for v in segment["values"]) + "]")
    if kind == "resource_group":
        return "should be the name of the Resource Group"
    if kind == "provider":
        return f"should be the name of the Resource Provider [for example '{segment['example']}']"
    if kind == "static":
        return f"should be the literal value {go_quote(segment['value'])}"
    if kind == "subscription":
        return "should be the UUID of the Azure Subscription"
    return (f"should be the user specified value for this {segment['name'].removesuffix('Name')} "
            f"[for example {go_quote(segment['example'])}]")


def _expected(segments: list[dict]) -> str:
    return "/" + "/".join(s["example"].lstrip("/") for s in segments)


def _segment_not_specified(label: str, segments: list[dict], index: int, raw: str) -> str:
    return (f"parsing the {label} ID: the segment at position {index} didn't match\n\n"
            f"Expected a {label} ID that matched:\n\n> {_expected(segments)}\n\n"
            f"However this value was provided:\n\n> {raw}\n\n"
            f"The parsed Resource ID was missing a value for the segment at position {index}\n"
            f"(which {_description(segments[index])}).\n\n")


def _number_of_segments(label: str, segments: list[dict], parsed: dict, raw: str) -> str:
    expected = "\n".join(f"* Segment {i} - this {_description(s)}" for i, s in enumerate(segments))
    found = "\n".join(f"* Segment {i} - parsed as {go_quote(parsed[s['name']])}" if s["name"] in parsed
                      else f"* Segment {i} - not found" for i, s in enumerate(segments))
    return (f"parsing the {label} ID: the number of segments didn't match\n\n"
            f"Expected a {label} ID that matched (containing {len(segments)} segments):\n\n> {_expected(segments)}\n\n"
            f"However this value was provided (which was parsed into {len(parsed)} segments):\n\n> {raw}\n\n"
            f"The following Segments are expected:\n\n{expected}\n\n"
            f"The following Segments were parsed:\n\n{found}\n")


def _parse(segments: list[dict], label: str, raw: str) -> dict:
    """resourceids.Parser.Parse(raw, insensitively=false): case-sensitive, as the importers call it."""
    if raw == "":
        raise _ParseError("cannot parse an empty string")
    split = raw.removeprefix("/").split("/")
    if len(split) < len(segments):
        raise _ParseError(_number_of_segments(label, segments, {}, raw))
    parsed: dict[str, str] = {}
    for i, segment in enumerate(segments):
        value = split[i]
        if segment["type"] in ("static", "provider") and value != segment["value"]:
            raise _ParseError(f"parsing segment {go_quote(segment['name'])}: "
                              + _segment_not_specified(label, segments, i, raw))
        if segment["type"] == "constant" and value not in segment["values"]:
            raise _ParseError(f"parsing segment {go_quote(segment['name'])}: expected the segment "
                              f"{go_quote(segment['name'])} to match one of the values "
                              f"{go_quote(', '.join(segment['values']))} but got {go_quote(value)}")
        parsed[segment["name"]] = value
    rest = "/".join(split[len(segments):])
    if rest:
        raise _ParseError(f"unexpected segment {go_quote(rest)} present at the end of the URI (input {go_quote(raw)})")
    for i, segment in enumerate(segments):
        if parsed[segment["name"]] == "":
            raise _ParseError(_segment_not_specified(label, segments, i, raw))
    return parsed


def parse_import_id(type_name: str, import_id: str) -> dict:
    """The placeholders of the type's import id format bound from `import_id`, or ImportIdError
    with the message azurerm's importer gives: ImporterValidatingIdentity returns the parser's
    error as it is; ImporterValidatingResourceId (and the load balancer sub-resource importer)
    call a ParseXxxID function, which prefixes `parsing "<id>": `; a composite id
    (`<id>|<id>`) fails with commonids.ParseCompositeResourceID's messages."""
    entry = schema.replacement(type_name)
    template = import_id_format(type_name)
    if template is None:
        raise ImportIdError(f"the azurerm double has no import id format for {type_name}")
    id_type = entry.get("id_type", "")
    template_parts = template.split("|")
    types = re.findall(r"(commonids\.)?(?:\w+\.)?(\w+)Id\b", id_type)
    labels = [(bool(c), name) for c, name in types][:len(template_parts)]
    while len(labels) < len(template_parts):
        labels.append((False, "".join(w.capitalize() for w in type_name.removeprefix("azurerm_").split("_"))))
    bindings: dict[str, str] = {}
    if len(template_parts) == 2:
        components = import_id.split("|")
        if len(components) != 2:
            raise ImportIdError(f"expected 2 resourceids but got {len(components)}")
        for which, part, component, (commonids, label) in zip(("first", "second"), template_parts, components,
                                                               labels):
            try:
                parsed = _parse(_segments(part, label, commonids), label, component)
            except _ParseError as error:
                raise ImportIdError(f"parsing {which} id part {go_quote(component)} of CompositeResourceID: "
                                    f"{error}") from None
            bindings.update(_bind(part, component, parsed))
        return bindings
    commonids, label = labels[0]
    try:
        parsed = _parse(_segments(template, label, commonids), label, import_id)
    except _ParseError as error:
        if "ImporterValidatingIdentity" in id_type:
            raise ImportIdError(str(error)) from None
        raise ImportIdError(f"parsing {go_quote(import_id)}: {error}") from None
    if label == "RecordType" and parsed.get("recordType") != _record_type(template):
        raise ImportIdError(f"the azurerm double: {type_name} imports {_record_type(template)} records only, "
                            f"got a {parsed.get('recordType')} record id")
    return _bind(template, import_id, parsed)


def _record_type(template: str) -> str | None:
    return next((t for t in _tokens(template) if t in RECORD_TYPES), None)


def _bind(template_part: str, raw: str, parsed: dict) -> dict:
    values = raw.removeprefix("/").split("/")
    return {_placeholder(t): v for t, v in zip(_tokens(template_part), values) if _placeholder(t)}


def imported_attributes(type_name: str, import_id: str) -> dict:
    """What the importer itself sets besides the id (before Terraform reads the object)."""
    attributes = {"id": import_id}
    if "loadBalancerSubResourceImporter" in schema.replacement(type_name).get("id_type", ""):
        attributes["loadbalancer_id"] = "/" + "/".join(import_id.removeprefix("/").split("/")[:8])
    return attributes


# ---------------------------------------------------------------- computed values of a new object


def guid(seed: str) -> str:
    """A deterministic GUID derived from a resource id."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "tfdouble:" + seed.lower()))


def _address(seed: str, first: str = "10") -> str:
    digest = hashlib.sha256(seed.lower().encode()).digest()
    return f"{first}.{digest[0]}.{digest[1]}.{4 + digest[2] % 250}"


def _alias(values: dict, context: dict) -> str:
    return f"{values.get('name')}.{guid(context['id'])}.{context['location']}.azure.privatelinkservice"


def _frontend_id(values: dict, context: dict) -> str:
    return f"{values.get('loadbalancer_id')}/frontendIPConfigurations/{values.get('frontend_ip_configuration_name')}"


def _target_resource_type(values: dict, context: dict) -> str:
    scopes = values.get("scopes") or []
    if len(scopes) == 1 and isinstance(scopes[0], str):
        match = re.search(r"/providers/([^/]+/[^/]+)/[^/]+$", scopes[0])
        if match:
            return match.group(1)
    return ""


def _lb_addresses(values: dict) -> list[str]:
    return [f["private_ip_address"] for f in values.get("frontend_ip_configuration") or []
            if isinstance(f, dict) and isinstance(f.get("private_ip_address"), str) and f["private_ip_address"]]


def _network_interface(values: dict, context: dict) -> list[dict]:
    name = f"{values.get('name')}.nic.{guid(context['id'])}"
    return [{"id": f"/subscriptions/{context['subscription']}/resourceGroups/{context['resource_group']}/providers/"
                   f"Microsoft.Network/networkInterfaces/{name}", "name": name}]


# (type, attribute) -> value of a computed attribute left unknown by the plan, from the object's
# other values (already known at apply time) and the context (id, location, subscription, …).
SPECIAL: dict[tuple[str, str], Callable[[dict, dict], Any]] = {
    ("azurerm_private_link_service", "alias"): _alias,
    ("azurerm_public_ip", "ip_address"): lambda v, c: _address(c["id"], "20"),
    ("azurerm_public_ip", "fqdn"): lambda v, c: (f"{v['domain_name_label']}.{c['location']}.cloudapp.azure.com"
                                                 if v.get("domain_name_label") else ""),
    ("azurerm_public_ip_prefix", "ip_prefix"): lambda v, c: _address(c["id"], "20").rsplit(".", 1)[0] + ".0/28",
    ("azurerm_nat_gateway", "resource_guid"): lambda v, c: guid(c["id"]),
    ("azurerm_virtual_network", "guid"): lambda v, c: guid(c["id"]),
    ("azurerm_lb_rule", "frontend_ip_configuration_id"): _frontend_id,
    ("azurerm_lb_nat_rule", "frontend_ip_configuration_id"): _frontend_id,
    ("azurerm_lb_nat_rule", "backend_ip_configuration_id"): lambda v, c: "",
    ("azurerm_lb", "private_ip_address"): lambda v, c: (_lb_addresses(v) or [""])[0],
    ("azurerm_lb", "private_ip_addresses"): lambda v, c: _lb_addresses(v),
    ("azurerm_private_dns_a_record", "fqdn"): lambda v, c: f"{v.get('name')}.{v.get('zone_name')}.",
    ("azurerm_private_dns_aaaa_record", "fqdn"): lambda v, c: f"{v.get('name')}.{v.get('zone_name')}.",
    ("azurerm_private_dns_cname_record", "fqdn"): lambda v, c: f"{v.get('name')}.{v.get('zone_name')}.",
    ("azurerm_private_dns_zone", "number_of_record_sets"): lambda v, c: 1,
    ("azurerm_private_dns_zone", "max_number_of_record_sets"): lambda v, c: 25000,
    ("azurerm_private_dns_zone", "max_number_of_virtual_network_links"): lambda v, c: 1000,
    ("azurerm_private_dns_zone", "max_number_of_virtual_network_links_with_registration"): lambda v, c: 100,
    ("azurerm_monitor_metric_alert", "target_resource_type"): _target_resource_type,
    ("azurerm_monitor_metric_alert", "target_resource_location"): lambda v, c: "",
    ("azurerm_private_endpoint", "network_interface"): _network_interface,
    ("azurerm_private_endpoint", "custom_dns_configs"): lambda v, c: [],
    ("azurerm_private_endpoint", "private_dns_zone_configs"): lambda v, c: [],
    ("azurerm_virtual_network_gateway", "generation"): lambda v, c: "Generation1",
    ("azurerm_virtual_network_gateway_connection", "connection_protocol"): lambda v, c: "IKEv2",
    ("azurerm_virtual_network_gateway_connection", "routing_weight"): lambda v, c: 0,
}

NESTED_SPECIAL: dict[str, Callable[[dict, dict], Any]] = {
    "private_ip_address": lambda v, c: _address(f"{c.get('parent_id')}/{c.get('collection')}/{c.get('name')}"),
    "sa_datasize": lambda v, c: 102400000,
    "sa_lifetime": lambda v, c: 27000,
}

# Deprecated v4.x arguments and their replacements: the API has one value for both.
ALIASES = {"enable_proxy_protocol": "proxy_protocol_enabled", "proxy_protocol_enabled": "enable_proxy_protocol",
           "enable_floating_ip": "floating_ip_enabled", "floating_ip_enabled": "enable_floating_ip",
           "enable_tcp_reset": "tcp_reset_enabled", "tcp_reset_enabled": "enable_tcp_reset",
           "enable_bgp": "bgp_enabled", "bgp_enabled": "enable_bgp"}

CHILD_SEGMENTS = {**datasources.CHILD_SEGMENTS, "private_dns_zone_group": "privateDnsZoneGroups",
                  "private_service_connection": "privateLinkServiceConnections"}


def created(type_name: str, block: dict, planned: dict, subscription: str, location: str) -> dict:
    """The object Azure reports after creating/updating `planned`: every unknown value filled."""
    resource_group = planned.get("resource_group_name") if isinstance(planned.get("resource_group_name"), str) else None
    identifier = planned.get("id")
    if not isinstance(identifier, str):
        identifier = resource_id(type_name, planned, subscription)
    if resource_group is None:
        match = re.search(r"/resourceGroups/([^/|]+)", identifier, flags=re.I)
        resource_group = match.group(1) if match else "rg-double"
    context = {"subscription": subscription, "resource_group": resource_group, "id": identifier,
               "location": planned.get("location") if isinstance(planned.get("location"), str) else location,
               "type": type_name}
    return _fill_block(type_name, block, planned, context, top=True)


def _fill_block(type_name: str, block: dict, value: dict, context: dict, top: bool) -> dict:
    result = dict(value)
    # Nested blocks first: some top-level values (a load balancer's private_ip_address) come
    # from them.
    for name, nested in block.get("block_types", {}).items():
        current = result.get(name)
        inner = nested["block"]
        if current is None:
            continue
        if current is UNKNOWN:
            result[name] = None if nested["nesting_mode"] in ("single", "group") else []
            continue
        if nested["nesting_mode"] in ("single", "group"):
            result[name] = _fill_block(type_name, inner, current, _child(context, name, current, inner), False)
        elif nested["nesting_mode"] in ("list", "set"):
            result[name] = [_fill_block(type_name, inner, e, _child(context, name, e, inner), False)
                            for e in current]
        else:
            result[name] = {k: _fill_block(type_name, inner, e, _child(context, name, e, inner), False)
                            for k, e in current.items()}
    for name, attr in block.get("attributes", {}).items():
        current = result.get(name)
        if cty.is_known(current):
            continue
        ty = cty.attribute_type(attr)
        special = SPECIAL.get((type_name, name)) if top else NESTED_SPECIAL.get(name)
        alias = result.get(ALIASES.get(name, ""))
        if current is UNKNOWN and special is not None:
            result[name] = special(result, context)
        elif current is UNKNOWN and isinstance(alias, bool):
            result[name] = alias
        else:
            result[name] = _fill_value(current, ty, name, context, bool(attr.get("optional")))
    return result


def _child(context: dict, collection: str, element: Any, inner: dict) -> dict:
    """The context of a nested object: its name, and its own id `<parent id>/<collection>/<name>`
    when it has an id (frontend IP configurations, …)."""
    child = dict(context, collection=collection, parent_id=context["id"])
    child.pop("name", None)
    if isinstance(element, dict) and isinstance(element.get("name"), str):
        child["name"] = element["name"]
        if "id" in inner.get("attributes", {}):
            segment = CHILD_SEGMENTS.get(collection, datasources._camel_plural(collection))
            child["id"] = f"{context['id']}/{segment}/{element['name']}"
    return child


def _fill_value(value: Any, ty: Any, name: str, context: dict, optional: bool) -> Any:
    kind = cty.kind(ty)
    if value is UNKNOWN:
        if kind == "string":
            if name == "id":
                return context["id"]
            if optional and name.endswith("_id"):
                return ""  # an optional reference the config leaves out: Azure has none
            return datasources._string_for(name, context)
        if kind in ("list", "set"):
            if cty.kind(ty[1]) == "object":
                return datasources.generate(ty, name, context)
            return []  # back-references and address lists of a new object: empty
        return datasources.generate(ty, name, context)
    if kind in ("list", "set", "tuple"):
        element_types = ty[1] if kind == "tuple" else [ty[1]] * len(value)
        return [_fill_value(v, t, name, context, optional) for v, t in zip(value, element_types)]
    if kind == "map":
        return {k: _fill_value(v, ty[1], k, context, optional) for k, v in value.items()}
    if kind == "object":
        return {k: _fill_value(value.get(k), t, k, context, optional) for k, t in ty[1].items()}
    return value
