"""The provider side of the plan: what each region deploys, as frozen values."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Mapping

from .. import azure


@dataclass(frozen=True)
class NatIpPlan:
    name: str
    primary: bool
    private_ip: str | None  # None: allocated dynamically from the NAT subnet


@dataclass(frozen=True)
class LinkServicePlan:
    name: str
    tf_id: str
    bicep_id: str
    location: str
    frontend: str
    nat_ips: tuple[NatIpPlan, ...]
    visibility_subscription_ids: tuple[str, ...]
    auto_approval_subscription_ids: tuple[str, ...]
    alias: str | None
    tenant_ids: tuple[str, ...]
    endpoints: int
    existing: bool = False  # adopted: imported, never created


@dataclass(frozen=True)
class NatGatewayPlan:
    name: str
    public_ip_names: tuple[str, ...]
    idle_timeout_minutes: int
    subnets: tuple[str, ...]
    existing: bool = False  # adopted with its public IPs and associations


@dataclass(frozen=True)
class FrontendPlan:
    name: str
    private_ip: str


@dataclass(frozen=True)
class LbRulePlan:
    name: str
    frontend: str
    frontend_port: int
    backend_port: int


@dataclass(frozen=True)
class CreatedLoadBalancerPlan:
    """An internal Standard load balancer plgen creates (the "double NAT" setup): frontends in
    their own subnet, a NIC-based backend pool, a probe, a rule per service port and link
    service frontend (and routed frontend), and inbound NAT rules."""

    frontend_subnet_name: str
    frontend_subnet_prefix: str
    frontends: tuple[FrontendPlan, ...]  # the routed frontend last, when there is one
    backend_pool_name: str
    probe_name: str
    probe_protocol: str
    probe_port: int
    probe_path: str | None
    rules: tuple[azure.LbRule, ...]
    nat_rules: tuple[LbRulePlan, ...]
    routed_frontend: FrontendPlan | None = None
    probe_interval_seconds: int = azure.PROBE_INTERVAL_SECONDS
    probe_threshold: int = azure.PROBE_THRESHOLD
    zones: tuple[str, ...] = azure.ZONES
    existing: bool = False  # adopted with its frontend subnet, pool, probe and rules


@dataclass(frozen=True)
class BackendListenerPlan:
    """A port the backends listen on, and what arrives there."""

    port: int
    service_port: int  # the port consumers dial (for the health listener: the probe's port)
    kind: str  # "private_link" | "routed" | "health"
    proxy_protocol: bool  # a PROXY v2 header is expected, and believed only from trusted_sources


@dataclass(frozen=True)
class BackendPlan:
    """The backend configuration of one region (provider/backend/<location>/): the ports its
    load balancer really forwards to, and the only sources whose PROXY header is believed."""

    location: str
    listeners: tuple[BackendListenerPlan, ...]
    trusted_sources: tuple[str, ...]  # the region's NAT subnet, and the health probe source
    nat_subnet_prefix: str
    health_path: str | None
    load_balancer_created: bool

    def of_kind(self, kind: str) -> tuple[BackendListenerPlan, ...]:
        return tuple(listener for listener in self.listeners if listener.kind == kind)


@dataclass(frozen=True)
class VpnConnectionPlan:
    tenant_id: str
    name: str
    tf_id: str
    bicep_id: str
    peer_gateway_id: str
    key_vault_id: str
    key_vault_name: str
    key_vault_resource_group: str
    key_vault_subscription: str
    secret_name: str


@dataclass(frozen=True)
class VpnGatewayPlan:
    name: str
    public_ip_names: tuple[str, ...]  # two when active-active: one per gateway instance
    sku: str
    generation: str
    active_active: bool
    gateway_subnet_prefix: str
    connections: tuple[VpnConnectionPlan, ...]
    existing: bool = False  # adopted with its GatewaySubnet and public IPs

    @property
    def gateway_id_suffix(self) -> str:
        return f"/providers/Microsoft.Network/virtualNetworkGateways/{self.name}"


@dataclass(frozen=True)
class RegionPlan:
    location: str
    tf_id: str
    bicep_suffix: str
    nat_subnet_bicep_id: str
    vnet_name: str
    vnet_resource_group: str
    nat_subnet_name: str
    nat_subnet_prefix: str
    load_balancer_name: str
    link_services: tuple[LinkServicePlan, ...]
    nat_gateway: NatGatewayPlan | None = None
    created_load_balancer: CreatedLoadBalancerPlan | None = None
    vpn_gateway: VpnGatewayPlan | None = None
    backend: BackendPlan | None = None
    routed_tenant_ids: tuple[str, ...] = ()
    nat_subnet_existing: bool = False  # adopted: imported, never created

    @property
    def bicep_vnet_writers(self) -> tuple[str, ...]:
        """The Bicep modules that write subnets of this region's VNet, in deployment order.
        Azure refuses parallel subnet PUTs on one VNet (AnotherOperationInProgress,
        Azure/bicep#5132), so each one depends on the one before it."""
        writers = [self.nat_subnet_bicep_id]
        if self.created_load_balancer:
            writers.append(f"lbFrontendSubnet{self.bicep_suffix}")
        if self.vpn_gateway:
            writers.append(f"gatewaySubnet{self.bicep_suffix}")
        if self.nat_gateway:
            writers += [f"natGatewaySubnet{self.bicep_suffix}_{i + 1}" for i in range(len(self.nat_gateway.subnets))]
        return tuple(writers)

    def bicep_writer_before(self, symbol: str) -> str | None:
        writers = self.bicep_vnet_writers
        index = writers.index(symbol)
        return writers[index - 1] if index else None


@dataclass(frozen=True)
class MonitoringPlan:
    """A metric alert per link service on PLSNatPortsUsage, and an action group when an
    e-mail address is given (the address travels in tfvars/parameters, not inlined)."""

    nat_port_usage_percent: int
    action_group_email: str | None
    action_group_name: str
    action_group_short_name: str

    def alert_name(self, link_service: "LinkServicePlan") -> str:
        return f"alert-{link_service.name}-nat-ports"


@dataclass(frozen=True)
class ProviderPlan:
    subscription_id: str
    resource_group: str
    visibility: str
    proxy_protocol: bool
    tags: Mapping[str, str]
    regions: tuple[RegionPlan, ...]
    monitoring: MonitoringPlan | None = None
    zones: tuple[str, ...] = azure.ZONES  # public IPs and created load balancer frontends

    @functools.cached_property
    def link_services(self) -> tuple[LinkServicePlan, ...]:
        return tuple(ls for region in self.regions for ls in region.link_services)

    @functools.cached_property
    def link_service_by_name(self) -> dict[str, LinkServicePlan]:
        return {ls.name: ls for ls in self.link_services}

    @property
    def adopted(self) -> tuple[str, ...]:
        """What the manifest says exists already (`existing`), as the provider's guide names it."""
        found = []
        for region in self.regions:
            if region.nat_subnet_existing:
                found.append(f"NAT subnet {region.nat_subnet_name} ({region.location})")
            if region.created_load_balancer and region.created_load_balancer.existing:
                found.append(f"load balancer {region.load_balancer_name} with its frontend subnet, pool, probe and rules")
            if region.nat_gateway and region.nat_gateway.existing:
                found.append(f"NAT gateway {region.nat_gateway.name} with its public IPs")
            if region.vpn_gateway and region.vpn_gateway.existing:
                found.append(f"VPN gateway {region.vpn_gateway.name} with GatewaySubnet and its public IPs")
            found += [f"link service {ls.name}" for ls in region.link_services if ls.existing]
        return tuple(found)

    def tfvars(self) -> dict[str, Any]:
        values: dict[str, Any] = {"tags": dict(self.tags)}
        if self.monitoring and self.monitoring.action_group_email:
            values["action_group_email"] = self.monitoring.action_group_email
        return values

    def bicep_parameters(self) -> dict[str, Any]:
        values: dict[str, Any] = {"tags": dict(self.tags)}
        if self.monitoring and self.monitoring.action_group_email:
            values["actionGroupEmail"] = self.monitoring.action_group_email
        return deployment_parameters(values)


def deployment_parameters(values: dict[str, Any]) -> dict[str, Any]:
    """An ARM deployment parameters file (what `az deployment group create --parameters @file` reads)."""
    return {
        "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentParameters.json#",
        "contentVersion": "1.0.0.0",
        "parameters": {name: {"value": value} for name, value in sorted(values.items())},
    }
