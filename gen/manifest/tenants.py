"""A tenant of a manifest: the customer, its subscriptions, and how it connects (a private
endpoint, several endpoint sites, adoption of existing endpoints, or a VNet-to-VNet VPN)."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from .fields import (
    SECRET_NAME_RE, SLUG_RE, WINDOWS_DEVICE_NAMES, AzureName, FreeText, GatewayId, Guid, IPv4, JsonPattern,
    KeyVaultId, Location, Model, SubnetId, check_free_text, check_pattern, check_request_message,
    check_tenant_id, ecma_pattern,
)

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
    name: Annotated[str, AfterValidator(check_pattern(SITE_RE, "a site name (1-16 lowercase letters, digits, hyphens)")),
                    JsonPattern(ecma_pattern(SITE_RE))]
    """Site name (1-16 of a-z 0-9 -, starting with a letter); names the endpoint's resources."""


class SecretRef(Model):
    """A secret in Azure Key Vault: the value itself is never in the manifest."""

    key_vault_id: KeyVaultId
    """Resource id of the Key Vault (/subscriptions/…/providers/Microsoft.KeyVault/vaults/NAME)."""
    name: Annotated[str, AfterValidator(check_pattern(SECRET_NAME_RE, "a Key Vault secret name")),
                    JsonPattern(ecma_pattern(SECRET_NAME_RE))]
    """Secret name (1-127 letters, digits and hyphens)."""


class VnetToVnet(Model):
    """The tenant's side of a VNet-to-VNet connection."""

    gateway_id: GatewayId
    """Resource id of the tenant's virtual network gateway."""
    shared_key_secret: SecretRef
    """Key Vault secret holding the connection's shared key."""


TENANT_ID_PATTERN = f"^(?!(?:{'|'.join(sorted(WINDOWS_DEVICE_NAMES))})$){SLUG_RE.pattern}$"


class Tenant(Model):
    """A customer with access to the service."""

    id: Annotated[str, AfterValidator(check_tenant_id), JsonPattern(TENANT_ID_PATTERN)]
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
    request_message: Annotated[str, AfterValidator(check_free_text), AfterValidator(check_request_message)] | None = None
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
