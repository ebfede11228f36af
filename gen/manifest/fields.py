"""Field types of the manifest: the format one value must have on its own (GUIDs, slugs,
locations, addresses, resource ids, free text), each with the validator plgen applies and the
JSON Schema pattern editors see, and the base of every manifest model."""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PlainValidator, WithJsonSchema

GUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
SLUG_RE = re.compile(r"[a-z][a-z0-9-]{1,30}[a-z0-9]")
FQDN_LABEL_RE = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")
LOCATION_RE = re.compile(r"[a-z][a-z0-9]{1,39}")
EMAIL_RE = re.compile(r"[^@\s]+@[a-z0-9-]+(\.[a-z0-9-]+)+")
ARM_ID_SEGMENT = r"[^/\s]+"
SUBNET_ID_RE = re.compile(
    rf"/subscriptions/(?P<subscription>{ARM_ID_SEGMENT})/resourceGroups/(?P<resource_group>{ARM_ID_SEGMENT})"
    rf"/providers/Microsoft\.Network/virtualNetworks/(?P<vnet>{ARM_ID_SEGMENT})/subnets/(?P<subnet>{ARM_ID_SEGMENT})"
)
GATEWAY_ID_RE = re.compile(
    rf"/subscriptions/(?P<subscription>{ARM_ID_SEGMENT})/resourceGroups/(?P<resource_group>{ARM_ID_SEGMENT})"
    rf"/providers/Microsoft\.Network/virtualNetworkGateways/(?P<name>{ARM_ID_SEGMENT})"
)
KEY_VAULT_ID_RE = re.compile(
    rf"/subscriptions/(?P<subscription>{ARM_ID_SEGMENT})/resourceGroups/(?P<resource_group>{ARM_ID_SEGMENT})"
    rf"/providers/Microsoft\.KeyVault/vaults/(?P<name>[a-zA-Z][a-zA-Z0-9-]{{1,22}}[a-zA-Z0-9])"
)
ALIAS_RE = re.compile(rf"(?P<name>.+)\.(?P<guid>{GUID_RE.pattern})\.(?P<location>[a-z0-9]+)\.azure\.privatelinkservice")
SECRET_NAME_RE = re.compile(r"[0-9a-zA-Z-]{1,127}")
_IPV4_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"  # no leading zeros: the canonical form
IPV4_PATTERN = rf"^(?:{_IPV4_OCTET}\.){{3}}{_IPV4_OCTET}$"
CIDR_PATTERN = rf"^(?:{_IPV4_OCTET}\.){{3}}{_IPV4_OCTET}/(?:3[0-2]|[12]?[0-9])$"

MAX_REQUEST_MESSAGE = 140
MAX_FREE_TEXT = 1024

# Characters that make text read differently from what it is: C0/C1 controls, bidi controls
# and zero-width characters (Unicode categories Cc and Cf cover them, plus U+2028/U+2029).
_INVISIBLE_CATEGORIES = {"Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"}


def ecma_pattern(regex: re.Pattern) -> str:
    """The JSON Schema form of a regex used with fullmatch: anchored, and ECMA-262 (editors
    run it as JavaScript), so Python's named groups lose their names."""
    body = re.sub(r"\(\?P<\w+>", "(?:", regex.pattern)
    return f"^(?:{body})$" if "|" in body else f"^{body}$"


@dataclass(frozen=True)
class JsonPattern:
    """Annotation that adds a JSON Schema `pattern` for editors; the validator beside it stays
    the check plgen applies (a pattern cannot say, for example, that a prefix has no host bits)."""

    pattern: str
    max_length: int | None = None

    def __get_pydantic_json_schema__(self, core_schema, handler):
        schema = handler(core_schema)
        schema["pattern"] = self.pattern
        if self.max_length is not None:
            schema["maxLength"] = self.max_length
        return schema


def _guid(value: str) -> str:
    if not GUID_RE.fullmatch(value):
        raise ValueError(f"not a lowercase GUID (8-4-4-4-12 hex digits): {value!r}")
    return value


def _slug(value: str) -> str:
    if not SLUG_RE.fullmatch(value):
        raise ValueError(
            f"not a slug: {value!r} (3-32 characters: lowercase letters, digits and hyphens, "
            "starting with a letter, not ending with a hyphen)"
        )
    return value


def _location(value: str) -> str:
    if not LOCATION_RE.fullmatch(value):
        raise ValueError(f"not an Azure location name such as 'eastus2': {value!r}")
    return value


def _fqdn(value: str) -> str:
    labels = value.split(".")
    if len(value) > 253 or len(labels) < 2 or not all(FQDN_LABEL_RE.fullmatch(label) for label in labels):
        raise ValueError(f"not a lowercase fully qualified domain name: {value!r}")
    return value


def _ipv4(value: str) -> str:
    try:
        address = ipaddress.IPv4Address(value)
    except ValueError:
        raise ValueError(f"not an IPv4 address: {value!r}") from None
    if str(address) != value:
        raise ValueError(f"not a canonical IPv4 address: {value!r} (write {address})")
    return value


def _cidr(value: str) -> str:
    try:
        network = ipaddress.IPv4Network(value, strict=True)
    except ValueError as err:
        raise ValueError(f"not an IPv4 CIDR prefix: {value!r} ({err})") from None
    if str(network) != value or "/" not in value:
        raise ValueError(f"not a canonical IPv4 CIDR prefix: {value!r} (write {network})")
    return value


def check_pattern(regex: re.Pattern, what: str):
    def check(value: str) -> str:
        if not regex.fullmatch(value):
            raise ValueError(f"not {what}: {value!r}")
        return value

    return check


def check_free_text(value: str) -> str:
    """Free text reaches output only as data, but must still read as what it is."""
    # printable ASCII (space to tilde) has none of those categories: skip the per-character
    # look-up for the common case
    for index, char in enumerate("" if value.isascii() and value.isprintable() else value):
        if unicodedata.category(char) in _INVISIBLE_CATEGORIES:
            raise ValueError(
                f"contains the invisible or control character U+{ord(char):04X} "
                f"({unicodedata.name(char, 'a control character')}) at position {index + 1}"
            )
    if len(value) > MAX_FREE_TEXT:
        raise ValueError(f"longer than {MAX_FREE_TEXT} characters")
    if value != value.strip():
        raise ValueError("has leading or trailing white space")
    return value


def _nat_ips(value: Any) -> int | tuple[str, ...]:
    """A count of dynamic NAT IPs, or the static NAT IPs themselves (one error, not one per
    branch of a union)."""
    if isinstance(value, int) and not isinstance(value, bool):
        if not 1 <= value <= 8:
            raise ValueError(f"a Private Link Service has 1-8 NAT IPs, not {value}")
        return value
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        if not 1 <= len(value) <= 8:
            raise ValueError(f"a Private Link Service has 1-8 NAT IPs, not {len(value)}")
        for index, item in enumerate(value):
            try:
                _ipv4(item)
            except ValueError as err:
                raise ValueError(f"item {index}: {err}") from None
        return tuple(value)
    raise ValueError(f"expected a number of NAT IPs (1-8) or a list of static IPv4 addresses, got {value!r}")


NatIps = Annotated[
    Any,
    PlainValidator(_nat_ips),
    WithJsonSchema({"oneOf": [{"type": "integer", "minimum": 1, "maximum": 8},
                              {"type": "array", "items": {"type": "string", "format": "ipv4", "pattern": IPV4_PATTERN},
                               "minItems": 1, "maxItems": 8}]}),
]
def check_request_message(value: str) -> str:
    if len(value) > MAX_REQUEST_MESSAGE:
        raise ValueError(f"at most {MAX_REQUEST_MESSAGE} characters (Azure's limit), not {len(value)}")
    size = len(value.encode("utf-8"))
    if size > MAX_REQUEST_MESSAGE:
        # the azurerm provider checks the length in bytes (Go's len), Azure in characters
        raise ValueError(f"at most {MAX_REQUEST_MESSAGE} bytes in UTF-8 (the azurerm provider counts bytes, so each "
                         f"non-ASCII letter counts 2-4), not {size}")
    return value


# Folder names on Windows checkouts of the GitOps repository cannot be device names.
WINDOWS_DEVICE_NAMES = {"con", "prn", "aux", "nul"} | {f"{d}{n}" for d in ("com", "lpt") for n in range(1, 10)}


def check_tenant_id(value: str) -> str:
    _slug(value)
    if value in WINDOWS_DEVICE_NAMES:
        raise ValueError(f"{value!r} is a reserved device name on Windows and cannot name a folder")
    return value


Guid = Annotated[str, AfterValidator(_guid), JsonPattern(ecma_pattern(GUID_RE))]
Slug = Annotated[str, AfterValidator(_slug), JsonPattern(ecma_pattern(SLUG_RE))]
Location = Annotated[str, AfterValidator(_location), JsonPattern(ecma_pattern(LOCATION_RE))]
Fqdn = Annotated[str, AfterValidator(_fqdn),
                 JsonPattern(rf"^(?:{FQDN_LABEL_RE.pattern}\.)+{FQDN_LABEL_RE.pattern}$", max_length=253)]
IPv4 = Annotated[str, AfterValidator(_ipv4), JsonPattern(IPV4_PATTERN)]
Cidr = Annotated[str, AfterValidator(_cidr), JsonPattern(CIDR_PATTERN)]
FreeText = Annotated[str, AfterValidator(check_free_text)]
AzureName = Annotated[str, Field(min_length=1, max_length=90)]  # per-type rules: gen.naming
SubnetId = Annotated[str, AfterValidator(check_pattern(SUBNET_ID_RE, "a subnet resource id (/subscriptions/…/subnets/NAME)")),
                     JsonPattern(ecma_pattern(SUBNET_ID_RE))]
GatewayId = Annotated[str, AfterValidator(check_pattern(GATEWAY_ID_RE, "a virtual network gateway resource id")),
                      JsonPattern(ecma_pattern(GATEWAY_ID_RE))]
KeyVaultId = Annotated[str, AfterValidator(check_pattern(KEY_VAULT_ID_RE, "a Key Vault resource id")),
                       JsonPattern(ecma_pattern(KEY_VAULT_ID_RE))]
Email = Annotated[str, AfterValidator(check_pattern(EMAIL_RE, "an e-mail address")), JsonPattern(ecma_pattern(EMAIL_RE))]
Port = Annotated[int, Field(ge=1, le=65535)]


class Model(BaseModel):
    # Each field's docstring becomes its `description` in schemas/manifest.schema.json.
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, use_attribute_docstrings=True)
