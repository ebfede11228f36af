"""Manifest format version 1 (DESIGN §2) as pydantic models.

Field names are the contract. Models check what one field can check on its own (formats,
ranges, enums); rules that relate fields to each other live in `gen.validate`.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from dataclasses import dataclass
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


def _pattern(regex: re.Pattern, what: str):
    def check(value: str) -> str:
        if not regex.fullmatch(value):
            raise ValueError(f"not {what}: {value!r}")
        return value

    return check


def _free_text(value: str) -> str:
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
def _request_message(value: str) -> str:
    if len(value) > MAX_REQUEST_MESSAGE:
        raise ValueError(f"at most {MAX_REQUEST_MESSAGE} characters (Azure's limit), not {len(value)}")
    size = len(value.encode("utf-8"))
    if size > MAX_REQUEST_MESSAGE:
        # the azurerm provider checks the length in bytes (Go's len), Azure in characters
        raise ValueError(f"at most {MAX_REQUEST_MESSAGE} bytes in UTF-8 (the azurerm provider counts bytes, so each "
                         f"non-ASCII letter counts 2-4), not {size}")
    return value


# Folder names on Windows checkouts of the GitOps repository cannot be device names.
_WINDOWS_DEVICE_NAMES = {"con", "prn", "aux", "nul"} | {f"{d}{n}" for d in ("com", "lpt") for n in range(1, 10)}


def _tenant_id(value: str) -> str:
    _slug(value)
    if value in _WINDOWS_DEVICE_NAMES:
        raise ValueError(f"{value!r} is a reserved device name on Windows and cannot name a folder")
    return value


Guid = Annotated[str, AfterValidator(_guid), JsonPattern(ecma_pattern(GUID_RE))]
Slug = Annotated[str, AfterValidator(_slug), JsonPattern(ecma_pattern(SLUG_RE))]
Location = Annotated[str, AfterValidator(_location), JsonPattern(ecma_pattern(LOCATION_RE))]
Fqdn = Annotated[str, AfterValidator(_fqdn),
                 JsonPattern(rf"^(?:{FQDN_LABEL_RE.pattern}\.)+{FQDN_LABEL_RE.pattern}$", max_length=253)]
IPv4 = Annotated[str, AfterValidator(_ipv4), JsonPattern(IPV4_PATTERN)]
Cidr = Annotated[str, AfterValidator(_cidr), JsonPattern(CIDR_PATTERN)]
FreeText = Annotated[str, AfterValidator(_free_text)]
AzureName = Annotated[str, Field(min_length=1, max_length=90)]  # per-type rules: gen.naming
SubnetId = Annotated[str, AfterValidator(_pattern(SUBNET_ID_RE, "a subnet resource id (/subscriptions/…/subnets/NAME)")),
                     JsonPattern(ecma_pattern(SUBNET_ID_RE))]
GatewayId = Annotated[str, AfterValidator(_pattern(GATEWAY_ID_RE, "a virtual network gateway resource id")),
                      JsonPattern(ecma_pattern(GATEWAY_ID_RE))]
KeyVaultId = Annotated[str, AfterValidator(_pattern(KEY_VAULT_ID_RE, "a Key Vault resource id")),
                       JsonPattern(ecma_pattern(KEY_VAULT_ID_RE))]
Email = Annotated[str, AfterValidator(_pattern(EMAIL_RE, "an e-mail address")), JsonPattern(ecma_pattern(EMAIL_RE))]
Port = Annotated[int, Field(ge=1, le=65535)]


class Model(BaseModel):
    # Each field's docstring becomes its `description` in schemas/manifest.schema.json.
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, use_attribute_docstrings=True)


HTTPS_URL_RE = re.compile(r"https://[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+(/[A-Za-z0-9._~/%?&=+#-]*)?")


class Support(Model):
    """Whom customers contact (printed in every tenant guide)."""

    email: Email | None = None
    """Support e-mail address, e.g. support@contoso-saas.com."""
    url: Annotated[str, Field(max_length=512), AfterValidator(_pattern(HTTPS_URL_RE, "an https:// URL")),
                   JsonPattern(ecma_pattern(HTTPS_URL_RE))] | None = None
    """Support page: an https:// URL with a lowercase host name."""


class Service(Model):
    """The product exposed over Private Link."""

    name: Slug
    """Slug (3-32 of a-z 0-9 -, starting with a letter); prefixes the names plgen generates."""
    fqdn: Fqdn
    """The lowercase name consumers dial; their TLS must match it. Each consumer gets a private DNS zone for it."""
    ports: Annotated[list[Port], Field(min_length=1, max_length=16)]
    """TCP ports consumers use (1-16 of them)."""
    proxy_protocol: bool = True
    """PROXY protocol v2 on every Private Link Service, so backends see the client address and LinkID."""
    support: Support | None = None
    """Whom customers contact; printed in every tenant guide."""
    tags: dict[Annotated[str, Field(min_length=1, max_length=512), AfterValidator(_free_text)], FreeText] = {}
    """Azure tags (text to text) on the provider's resources."""


class VnetRef(Model):
    """An existing virtual network."""

    name: AzureName
    """Name of the virtual network."""
    resource_group: AzureName
    """Resource group that holds it."""


class SubnetSpec(Model):
    """A subnet plgen creates."""

    name: AzureName
    """Subnet name."""
    address_prefix: Cidr
    """IPv4 prefix in canonical form, host bits zero, e.g. 10.50.1.0/24."""


class NatSubnetSpec(SubnetSpec):
    """The subnet of the link services' NAT IPs."""

    existing: bool = False
    """The subnet exists already (adoption): Terraform imports it instead of creating it."""


class FrontendSpec(Model):
    """A frontend IP configuration with a static private address."""

    name: AzureName
    """Frontend IP configuration name."""
    private_ip: IPv4
    """Static private IPv4 address in the frontend subnet (not one of the 5 Azure reserves)."""


PROBE_PATH_RE = re.compile(r"/[A-Za-z0-9._~/-]{0,200}")


class Probe(Model):
    """The load balancer's health probe."""

    protocol: Literal["Tcp", "Http", "Https"]
    """Tcp on a rule's backend port, or Http with a path on a health port (Https fails with PROXY protocol on)."""
    port: Port
    """Backend port the probe connects to."""
    # the backend configs answer this path: letters, digits and - . _ ~ / only
    path: Annotated[str, AfterValidator(_pattern(PROBE_PATH_RE, "a probe path such as '/healthz' (letters, digits, - . _ ~ /)")),
                    JsonPattern(ecma_pattern(PROBE_PATH_RE))] | None = None
    """Http probes only: a path such as /healthz (letters, digits, - . _ ~ /)."""


class InboundNatRule(Model):
    """Forwards one frontend port to one backend port of one VM (e.g. RDP to a jump box)."""

    name: AzureName
    """Rule name."""
    frontend: AzureName
    """Frontend it listens on; use routed_frontend while PROXY protocol is on."""
    frontend_port: Port
    """Port on the frontend, unique per frontend."""
    backend_port: Port
    """Port on the target VM's network interface."""


class LoadBalancerCreate(Model):
    """An internal Standard Load Balancer plgen creates ("double NAT"), with a NIC-based backend pool."""

    frontend_subnet: SubnetSpec
    """Subnet plgen creates for the frontends."""
    frontends: Annotated[list[FrontendSpec], Field(min_length=1, max_length=8)]
    """One frontend per link service (1-8), static private IPs in frontend_subnet."""
    backend_port: Port
    """Backend port of the first load-balancing rule; each further rule takes the next port."""
    probe: Probe
    """Health probe of every rule."""
    inbound_nat_rules: list[InboundNatRule] = []
    """NAT rules to single VMs, e.g. RDP for routed partners."""
    # A frontend no link service uses, for vnet_to_vnet tenants: their traffic is routed, so it
    # arrives without a PROXY header and needs rules (and backend listeners) of its own.
    routed_frontend: FrontendSpec | None = None
    """Frontend for vnet_to_vnet tenants: routed traffic without a PROXY header, to plain TLS listeners."""


class LoadBalancer(Model):
    """The Standard Load Balancer behind the link services: an existing one (`frontends`) or one plgen creates (`create`)."""

    name: AzureName
    """Load balancer name (an existing one must be in provider.resource_group)."""
    frontends: list[AzureName] = []
    """An existing load balancer's frontend IP configuration names; not with `create`."""
    create: LoadBalancerCreate | None = None
    """Let plgen create an internal load balancer; not with `frontends`."""
    existing: bool = False
    """With `create` only: the load balancer, its frontend subnet, pool, probe and rules exist already under plgen's names; Terraform imports them."""


class LinkService(Model):
    """One Private Link Service (a shard), on its own load balancer frontend."""

    name: AzureName
    """Private Link Service name."""
    frontend: AzureName
    """Load balancer frontend it uses; one link service per frontend."""
    nat_ips: NatIps = 1
    """1-8 dynamic NAT IPs, or a list of 1-8 static IPv4 addresses in the NAT subnet."""
    alias: Annotated[str, JsonPattern(ecma_pattern(ALIAS_RE))] | None = None
    """<name>.<guid>.<location>.azure.privatelinkservice: the Terraform output <name>_alias after the first apply."""
    nat_ip_names: Annotated[list[AzureName], Field(min_length=1, max_length=8)] | None = None
    """Names of the NAT IP configurations, primary first (default nat-ip-1, nat-ip-2, ...); an adopted link service keeps its own."""
    existing: bool = False
    """The link service exists already (adoption): Terraform imports it, so its alias and connections stay."""


class NatGateway(Model):
    """A NAT Gateway for outbound SNAT of backend subnets through fixed public IPs."""

    public_ips: Annotated[int, Field(ge=1, le=16)] = 1
    """Static Standard public IPs (1-16, 64,512 SNAT ports each)."""
    idle_timeout_minutes: Annotated[int, Field(ge=4, le=120)] = 4
    """TCP idle timeout in minutes (4-120)."""
    subnets: Annotated[list[AzureName], Field(min_length=1)]
    """Existing subnets of the region's virtual network to associate."""
    existing: bool = False
    """The NAT gateway, its public IPs and associations exist already under plgen's names; Terraform imports them."""


VPN_SKUS = ("VpnGw1AZ", "VpnGw2AZ", "VpnGw3AZ", "VpnGw4AZ", "VpnGw5AZ")
VPN_GENERATIONS = ("Generation1", "Generation2")


class VpnGateway(Model):
    """A route-based, zone-redundant VPN gateway for vnet_to_vnet tenants."""

    sku: Literal[VPN_SKUS]
    """Gateway SKU (new non-AZ SKUs can no longer be created)."""
    gateway_subnet_prefix: Cidr
    """Prefix of the GatewaySubnet plgen creates: /27 or larger, overlapping no other prefix."""
    generation: Literal[VPN_GENERATIONS] | None = None  # default: gen.validate.VPN_SKU_GENERATIONS
    """Default: Generation1 for VpnGw1AZ (its only one), else Generation2."""
    active_active: bool = True  # Microsoft's recommendation for zone-redundant (AZ) gateways
    """Two instances, two public IPs, two tunnels (Microsoft's recommendation for AZ SKUs)."""
    existing: bool = False
    """The gateway, its GatewaySubnet and public IPs exist already under plgen's names; Terraform imports them."""


class Region(Model):
    """The provider's network in one Azure region."""

    location: Location
    """Azure location name, e.g. eastus2."""
    vnet: VnetRef
    """Existing virtual network that holds the NAT subnet."""
    nat_subnet: NatSubnetSpec
    """Subnet plgen creates (or adopts) for the link services' NAT IPs (/29 or larger)."""
    load_balancer: LoadBalancer
    """Standard Load Balancer the link services sit on."""
    link_services: Annotated[list[LinkService], Field(min_length=1)]
    """Private Link Services (shards) in this region, at most 8 per load balancer."""
    nat_gateway: NatGateway | None = None
    """Optional outbound SNAT for backend subnets."""
    vpn_gateway: VpnGateway | None = None
    """Required in a region with vnet_to_vnet tenants."""


class Monitoring(Model):
    """Alerts on NAT port usage of every link service."""

    action_group_email: Email | None = None
    """Where alerts are e-mailed (an action group with the common alert schema)."""
    nat_port_usage_percent: Annotated[int, Field(ge=1, le=100)] = 80
    """Alert when PLSNatPortsUsage of a NAT IP exceeds this percentage."""


class Provider(Model):
    """The provider's (your) side of Private Link."""

    subscription_id: Guid
    """Subscription of the Private Link Services (lowercase GUID)."""
    resource_group: AzureName
    """Resource group of the Private Link Services and of an existing load balancer."""
    visibility: Literal["restricted", "public"] = "restricted"
    """restricted: only tenant subscriptions can see the service; public: anyone ("*")."""
    regions: Annotated[list[Region], Field(min_length=1)]
    """One entry per Azure region."""
    monitoring: Monitoring | None = None
    """Optional NAT port alerts."""


class ExistingEndpoint(Model):
    """A private endpoint the tenant already has (adoption): Terraform imports it under its own names."""

    name: AzureName
    """The private endpoint's name in Azure."""
    connection_name: AzureName
    """Its private service connection's name (`az network private-endpoint show ... --query "manualPrivateLinkServiceConnections[0].name"`); Azure replaces an endpoint whose connection is renamed."""


class Endpoint(Model):
    """Consumer-side values written into the tenant's bundle."""

    location: Location
    """Azure location of the private endpoint, e.g. eastus."""
    resource_group: AzureName
    """Consumer resource group for the endpoint and its DNS zone."""
    subnet_id: SubnetId
    """Consumer subnet resource id, in one of the tenant's subscriptions."""
    private_ip: IPv4 | None = None
    """Optional static IPv4 address of the endpoint in that subnet."""
    existing: ExistingEndpoint | None = None
    """The endpoint exists already (adoption): its names, so that Terraform imports it instead of creating a new one."""


SITE_RE = re.compile(r"[a-z][a-z0-9-]{0,14}[a-z0-9]|[a-z]")


class EndpointSite(Endpoint):
    """One of several private endpoints of a tenant (one per virtual network)."""

    # names the endpoint's resources and the Terraform workspace: short, lowercase
    name: Annotated[str, AfterValidator(_pattern(SITE_RE, "a site name (1-16 lowercase letters, digits, hyphens)")),
                    JsonPattern(ecma_pattern(SITE_RE))]
    """Site name (1-16 of a-z 0-9 -, starting with a letter); names the endpoint's resources."""


class SecretRef(Model):
    """A secret in Azure Key Vault: the value itself is never in the manifest."""

    key_vault_id: KeyVaultId
    """Resource id of the Key Vault (/subscriptions/…/providers/Microsoft.KeyVault/vaults/NAME)."""
    name: Annotated[str, AfterValidator(_pattern(SECRET_NAME_RE, "a Key Vault secret name")),
                    JsonPattern(ecma_pattern(SECRET_NAME_RE))]
    """Secret name (1-127 letters, digits and hyphens)."""


class VnetToVnet(Model):
    """The tenant's side of a VNet-to-VNet connection."""

    gateway_id: GatewayId
    """Resource id of the tenant's virtual network gateway."""
    shared_key_secret: SecretRef
    """Key Vault secret holding the connection's shared key."""


TENANT_ID_PATTERN = f"^(?!(?:{'|'.join(sorted(_WINDOWS_DEVICE_NAMES))})$){SLUG_RE.pattern}$"


class Tenant(Model):
    """A customer with access to the service."""

    id: Annotated[str, AfterValidator(_tenant_id), JsonPattern(TENANT_ID_PATTERN)]
    """Slug (3-32 of a-z 0-9 -, starting with a letter), unique; names the tenant's folder and resources."""
    display_name: FreeText
    """Free text for guides and descriptions only."""
    region: Location
    """A location in provider.regions."""
    link_service: AzureName | None = None
    """Link service the tenant connects to; required when the region has 2 or more."""
    subscriptions: Annotated[list[Guid], Field(min_length=1)]
    """The tenant's Azure subscriptions (lowercase GUIDs): visibility and auto-approval lists."""
    approval: Literal["auto", "manual"] = "manual"
    """auto: on the auto-approval list; manual: connections wait for `plgen approvals`."""
    request_message: Annotated[str, AfterValidator(_free_text), AfterValidator(_request_message)] | None = None
    """Message the consumer's endpoint sends with its connection request (at most 140 characters)."""
    state: Literal["active", "suspended", "offboarded"] = "active"
    """suspended: still visible, never auto-approved; offboarded: off both lists, no folder."""
    connectivity: Literal["private_link", "vnet_to_vnet"] = "private_link"
    """private_link (a private endpoint) or vnet_to_vnet (two-way routing over a VPN gateway)."""
    endpoints: Annotated[int, Field(ge=0, le=1_000_000)] = 1  # the 1000 limit is per link service: gen.validate
    """Private endpoints this tenant will create (for the 1000-per-link-service limit)."""
    expected_connections: Annotated[int, Field(ge=0)] | None = None
    """Optional: concurrent TCP connections expected, for `plgen capacity`."""
    endpoint: Endpoint | None = None
    """Consumer-side values for the tenant's bundle."""
    endpoint_sites: list[EndpointSite] = []  # several endpoints (one per VNet); not with `endpoint`
    """Several endpoints, one per consumer VNet; not with `endpoint`."""
    vnet_to_vnet: VnetToVnet | None = None
    """Only with connectivity: vnet_to_vnet: the tenant's gateway and shared key."""


class Manifest(Model):
    """A tenant manifest, format version 1."""

    version: Literal[1]
    """Manifest format version: 1."""
    service: Service
    """What consumers connect to: its name, FQDN and ports."""
    provider: Provider
    """The provider's subscription, regions, load balancers and link services."""
    tenants: list[Tenant] = []
    """The customers."""


class ProviderFile(Model):
    """The provider file (plgen.yaml) of a manifest directory: a manifest without its tenants,
    which are in the files under tenants/."""

    version: Literal[1]
    """Manifest format version: 1."""
    service: Service
    """What consumers connect to: its name, FQDN and ports."""
    provider: Provider
    """The provider's subscription, regions, load balancers and link services."""
