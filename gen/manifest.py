"""Manifest format version 1 (DESIGN §2) as pydantic models.

Field names are the contract. Models check what one field can check on its own (formats,
ranges, enums); rules that relate fields to each other live in `gen.validate`.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from typing import Annotated, Any, Literal

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
ALIAS_RE = re.compile(rf"(?P<name>[^.]+)\.(?P<guid>{GUID_RE.pattern})\.(?P<location>[a-z0-9]+)\.azure\.privatelinkservice")

MAX_REQUEST_MESSAGE = 140
MAX_FREE_TEXT = 1024

# Characters that make text read differently from what it is: C0/C1 controls, bidi controls
# and zero-width characters (Unicode categories Cc and Cf cover them, plus U+2028/U+2029).
_INVISIBLE_CATEGORIES = {"Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"}


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


def _pattern(regex: re.Pattern, what: str):
    def check(value: str) -> str:
        if not regex.fullmatch(value):
            raise ValueError(f"not {what}: {value!r}")
        return value

    return check


def _free_text(value: str) -> str:
    """Free text reaches output only as data, but must still read as what it is."""
    for index, char in enumerate(value):
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
                              {"type": "array", "items": {"type": "string", "format": "ipv4"}, "minItems": 1, "maxItems": 8}]}),
]
def _request_message(value: str) -> str:
    if len(value) > MAX_REQUEST_MESSAGE:
        raise ValueError(f"at most {MAX_REQUEST_MESSAGE} characters (Azure's limit), not {len(value)}")
    return value


# Folder names on Windows checkouts of the GitOps repository cannot be device names.
_WINDOWS_DEVICE_NAMES = {"con", "prn", "aux", "nul"} | {f"{d}{n}" for d in ("com", "lpt") for n in range(1, 10)}


def _tenant_id(value: str) -> str:
    _slug(value)
    if value in _WINDOWS_DEVICE_NAMES:
        raise ValueError(f"{value!r} is a reserved device name on Windows and cannot name a folder")
    return value


Guid = Annotated[str, AfterValidator(_guid)]
Slug = Annotated[str, AfterValidator(_slug)]
Location = Annotated[str, AfterValidator(_location)]
Fqdn = Annotated[str, AfterValidator(_fqdn)]
IPv4 = Annotated[str, AfterValidator(_ipv4)]
Cidr = Annotated[str, AfterValidator(_cidr)]
FreeText = Annotated[str, AfterValidator(_free_text)]
AzureName = Annotated[str, Field(min_length=1, max_length=90)]  # per-type rules: gen.naming
SubnetId = Annotated[str, AfterValidator(_pattern(SUBNET_ID_RE, "a subnet resource id (/subscriptions/…/subnets/NAME)"))]
GatewayId = Annotated[str, AfterValidator(_pattern(GATEWAY_ID_RE, "a virtual network gateway resource id"))]
KeyVaultId = Annotated[str, AfterValidator(_pattern(KEY_VAULT_ID_RE, "a Key Vault resource id"))]
Email = Annotated[str, AfterValidator(_pattern(EMAIL_RE, "an e-mail address"))]
Port = Annotated[int, Field(ge=1, le=65535)]


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


HTTPS_URL_RE = re.compile(r"https://[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+(/[A-Za-z0-9._~/%?&=+#-]*)?")


class Support(Model):
    """Whom customers contact (printed in every tenant guide)."""

    email: Email | None = None
    url: Annotated[str, Field(max_length=512), AfterValidator(_pattern(HTTPS_URL_RE, "an https:// URL"))] | None = None


class Service(Model):
    name: Slug
    fqdn: Fqdn
    ports: Annotated[list[Port], Field(min_length=1, max_length=16)]
    proxy_protocol: bool = True
    support: Support | None = None
    tags: dict[Annotated[str, Field(min_length=1, max_length=512), AfterValidator(_free_text)], FreeText] = {}


class VnetRef(Model):
    name: AzureName
    resource_group: AzureName


class SubnetSpec(Model):
    name: AzureName
    address_prefix: Cidr


class FrontendSpec(Model):
    name: AzureName
    private_ip: IPv4


PROBE_PATH_RE = re.compile(r"/[A-Za-z0-9._~/-]{0,200}")


class Probe(Model):
    protocol: Literal["Tcp", "Http", "Https"]
    port: Port
    # the backend configs answer this path: letters, digits and - . _ ~ / only
    path: Annotated[str, AfterValidator(_pattern(PROBE_PATH_RE, "a probe path such as '/healthz' (letters, digits, - . _ ~ /)"))] | None = None


class InboundNatRule(Model):
    name: AzureName
    frontend: AzureName
    frontend_port: Port
    backend_port: Port


class LoadBalancerCreate(Model):
    frontend_subnet: SubnetSpec
    frontends: Annotated[list[FrontendSpec], Field(min_length=1, max_length=8)]
    backend_port: Port
    probe: Probe
    inbound_nat_rules: list[InboundNatRule] = []
    # A frontend no link service uses, for vnet_to_vnet tenants: their traffic is routed, so it
    # arrives without a PROXY header and needs rules (and backend listeners) of its own.
    routed_frontend: FrontendSpec | None = None


class LoadBalancer(Model):
    name: AzureName
    frontends: list[AzureName] = []
    create: LoadBalancerCreate | None = None


class LinkService(Model):
    name: AzureName
    frontend: AzureName
    nat_ips: NatIps = 1
    alias: str | None = None


class NatGateway(Model):
    public_ips: Annotated[int, Field(ge=1, le=16)] = 1
    idle_timeout_minutes: Annotated[int, Field(ge=4, le=120)] = 4
    subnets: Annotated[list[AzureName], Field(min_length=1)]


VPN_SKUS = ("VpnGw1AZ", "VpnGw2AZ", "VpnGw3AZ", "VpnGw4AZ", "VpnGw5AZ")
VPN_GENERATIONS = ("Generation1", "Generation2")


class VpnGateway(Model):
    sku: Literal[VPN_SKUS]
    gateway_subnet_prefix: Cidr
    generation: Literal[VPN_GENERATIONS] | None = None  # default: gen.validate.VPN_SKU_GENERATIONS
    active_active: bool = True  # Microsoft's recommendation for zone-redundant (AZ) gateways


class Region(Model):
    location: Location
    vnet: VnetRef
    nat_subnet: SubnetSpec
    load_balancer: LoadBalancer
    link_services: Annotated[list[LinkService], Field(min_length=1)]
    nat_gateway: NatGateway | None = None
    vpn_gateway: VpnGateway | None = None


class Monitoring(Model):
    action_group_email: Email | None = None
    nat_port_usage_percent: Annotated[int, Field(ge=1, le=100)] = 80


class Provider(Model):
    subscription_id: Guid
    resource_group: AzureName
    visibility: Literal["restricted", "public"] = "restricted"
    regions: Annotated[list[Region], Field(min_length=1)]
    monitoring: Monitoring | None = None


class Endpoint(Model):
    location: Location
    resource_group: AzureName
    subnet_id: SubnetId
    private_ip: IPv4 | None = None


SITE_RE = re.compile(r"[a-z][a-z0-9-]{0,14}[a-z0-9]|[a-z]")


class EndpointSite(Endpoint):
    """One of several private endpoints of a tenant (one per virtual network)."""

    # names the endpoint's resources and the Terraform workspace: short, lowercase
    name: Annotated[str, AfterValidator(_pattern(SITE_RE, "a site name (1-16 lowercase letters, digits, hyphens)"))]


class SecretRef(Model):
    key_vault_id: KeyVaultId
    name: Annotated[str, AfterValidator(_pattern(re.compile(r"[0-9a-zA-Z-]{1,127}"), "a Key Vault secret name"))]


class VnetToVnet(Model):
    gateway_id: GatewayId
    shared_key_secret: SecretRef


class Tenant(Model):
    id: Annotated[str, AfterValidator(_tenant_id)]
    display_name: FreeText
    region: Location
    link_service: AzureName | None = None
    subscriptions: Annotated[list[Guid], Field(min_length=1)]
    approval: Literal["auto", "manual"] = "manual"
    request_message: Annotated[str, AfterValidator(_free_text), AfterValidator(_request_message)] | None = None
    state: Literal["active", "suspended", "offboarded"] = "active"
    connectivity: Literal["private_link", "vnet_to_vnet"] = "private_link"
    endpoints: Annotated[int, Field(ge=0, le=1_000_000)] = 1  # the 1000 limit is per link service: gen.validate
    expected_connections: Annotated[int, Field(ge=0)] | None = None
    endpoint: Endpoint | None = None
    endpoint_sites: list[EndpointSite] = []  # several endpoints (one per VNet); not with `endpoint`
    vnet_to_vnet: VnetToVnet | None = None


class Manifest(Model):
    """A tenant manifest, format version 1."""

    version: Literal[1]
    service: Service
    provider: Provider
    tenants: list[Tenant] = []
