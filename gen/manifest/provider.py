"""The provider's side of a manifest: the service, and the provider's regions, load
balancers, link services and neighbours (NAT Gateway, VPN gateway, monitoring)."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from .fields import (
    ALIAS_RE, AzureName, Cidr, Email, Fqdn, FreeText, Guid, IPv4, JsonPattern, Location, Model, NatIps, Port, Slug,
    check_free_text, check_pattern, ecma_pattern,
)

HTTPS_URL_RE = re.compile(r"https://[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+(/[A-Za-z0-9._~/%?&=+#-]*)?")


class Support(Model):
    """Whom customers contact (printed in every tenant guide)."""

    email: Email | None = None
    """Support e-mail address, e.g. support@contoso-saas.com."""
    url: Annotated[str, Field(max_length=512), AfterValidator(check_pattern(HTTPS_URL_RE, "an https:// URL")),
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
    tags: dict[Annotated[str, Field(min_length=1, max_length=512), AfterValidator(check_free_text)], FreeText] = {}
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
    path: Annotated[str, AfterValidator(check_pattern(PROBE_PATH_RE, "a probe path such as '/healthz' (letters, digits, - . _ ~ /)")),
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
