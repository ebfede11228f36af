"""Manifest format version 1 (DESIGN §2) as pydantic models.

Field names are the contract. Models check what one field can check on its own (formats,
ranges, enums); rules that relate fields to each other live in `gen.validate`.

The models are split by what they describe: field types (gen.manifest.fields), the service
and provider (gen.manifest.provider), the tenants (gen.manifest.tenants); this module holds
the whole manifest and re-exports the names the rest of plgen uses.
"""

from __future__ import annotations

from typing import Literal

from .fields import (
    ALIAS_RE, GATEWAY_ID_RE, GUID_RE, KEY_VAULT_ID_RE, MAX_FREE_TEXT, MAX_REQUEST_MESSAGE, SLUG_RE, SUBNET_ID_RE,
    Model, ecma_pattern,
)
from .provider import (
    VPN_GENERATIONS, VPN_SKUS, FrontendSpec, InboundNatRule, LinkService, LoadBalancer, LoadBalancerCreate,
    Monitoring, NatGateway, NatSubnetSpec, Probe, Provider, Region, Service, SubnetSpec, Support, VnetRef, VpnGateway,
)
from .tenants import Endpoint, EndpointSite, ExistingEndpoint, SecretRef, Tenant, VnetToVnet

__all__ = [
    "ALIAS_RE", "GATEWAY_ID_RE", "GUID_RE", "KEY_VAULT_ID_RE", "MAX_FREE_TEXT", "MAX_REQUEST_MESSAGE", "SLUG_RE",
    "SUBNET_ID_RE", "VPN_GENERATIONS", "VPN_SKUS", "Endpoint", "EndpointSite", "ExistingEndpoint", "FrontendSpec",
    "InboundNatRule", "LinkService", "LoadBalancer", "LoadBalancerCreate", "Manifest", "Model", "Monitoring",
    "NatGateway", "NatSubnetSpec", "Probe", "Provider", "ProviderFile", "Region", "SecretRef", "Service",
    "SubnetSpec", "Support", "Tenant", "VnetRef", "VnetToVnet", "VpnGateway", "ecma_pattern",
]


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
