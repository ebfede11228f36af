"""Plan the consumer side: one unit per tenant (private endpoint or VNet-to-VNet)."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from .. import decisions
from ..manifest import GATEWAY_ID_RE, SUBNET_ID_RE, Manifest
from ..naming import default_request_message, generated_endpoint_name, name_problem, planned_endpoints, tenant_link_service
from .provider_model import LbRulePlan, ProviderPlan, deployment_parameters

APPROVALS_FORMAT = "plgen-approvals/1"


@dataclass(frozen=True)
class SitePlan:
    """One private endpoint of a tenant and the values its deployment takes. The single
    endpoint of most tenants has no name: its values are terraform.tfvars.json and
    main.parameters.json. Named sites get sites/<name>.tfvars.json (applied in the Terraform
    workspace of that name) and bicep/sites/<name>.parameters.json."""

    name: str | None
    subscription_id: str
    endpoint_name: str
    dns_link_name: str
    location: str | None
    resource_group_name: str | None
    subnet_id: str | None
    private_ip: str | None
    existing: bool = False  # adopted: the module imports the endpoint instead of creating it
    connection_name: str | None = None  # an adopted endpoint's own; else the tenant's

    @property
    def tfvars_path(self) -> str:
        return f"terraform/sites/{self.name}.tfvars.json" if self.name else "terraform/terraform.tfvars.json"

    @property
    def parameters_path(self) -> str:
        return f"bicep/sites/{self.name}.parameters.json" if self.name else "bicep/main.parameters.json"

    @property
    def vnet_name(self) -> str | None:
        match = SUBNET_ID_RE.fullmatch(self.subnet_id or "")
        return match["vnet"] if match else None


@dataclass(frozen=True)
class TenantPlan:
    """One consumer unit: the values its module takes (all of them free to change per tenant
    in its variable files, so every tenant's .tf files are the same bytes)."""

    id: str
    display_name: str
    state: str
    approval: str
    region: str
    link_service: str
    subscriptions: tuple[str, ...]
    alias: str | None
    request_message: str | None
    connection_name: str
    dns_zone_name: str
    sites: tuple[SitePlan, ...]
    planned_endpoints: int  # what capacity counts; more than len(sites) when only one is described
    expected_status: str = ""  # gen.decisions: what the new connection will show
    verify_status: str = "Approved"

    @property
    def named_sites(self) -> bool:
        return self.sites[0].name is not None

    def tfvars(self, site: SitePlan) -> dict[str, Any]:
        """A site's variable file: only what is known; unknown values stay required inputs."""
        values: dict[str, Any] = {
            "subscription_id": site.subscription_id,
            "endpoint_name": site.endpoint_name,
            "connection_name": site.connection_name or self.connection_name,
            "dns_zone_name": self.dns_zone_name,
            "dns_link_name": site.dns_link_name,
        }
        optional = {
            "workspace": site.name,
            "private_link_service_alias": self.alias,
            "request_message": self.request_message,
            "location": site.location,
            "resource_group_name": site.resource_group_name,
            "subnet_id": site.subnet_id,
            "private_ip": site.private_ip,
        }
        values.update({key: value for key, value in optional.items() if value is not None})
        return dict(sorted(values.items()))

    def bicep_parameters(self, site: SitePlan) -> dict[str, Any]:
        """A site's parameters file: the same values under the Bicep template's parameter names."""
        return deployment_parameters({BICEP_PARAMETER_NAMES[name]: value for name, value in self.tfvars(site).items()
                                      if name in BICEP_PARAMETER_NAMES})

    def missing_inputs(self, site: SitePlan) -> tuple[str, ...]:
        """Module inputs the manifest does not know yet for a site (the README asks for them)."""
        required = ("private_link_service_alias", "location", "resource_group_name", "subnet_id")
        known = self.tfvars(site)
        return tuple(name for name in required if name not in known)

    @functools.cached_property
    def any_missing_inputs(self) -> tuple[str, ...]:
        return tuple(sorted({name for site in self.sites for name in self.missing_inputs(site)}))


BICEP_PARAMETER_NAMES = {
    "location": "location",
    "subnet_id": "subnetId",
    "private_ip": "privateIp",
    "private_link_service_alias": "privateLinkServiceAlias",
    "request_message": "requestMessage",
    "endpoint_name": "endpointName",
    "connection_name": "connectionName",
    "dns_zone_name": "dnsZoneName",
    "dns_link_name": "dnsLinkName",
}


@dataclass(frozen=True)
class VpnTenantPlan:
    """A vnet_to_vnet tenant: its bundle creates the reciprocal connection (their gateway ->
    the provider's) with a shared key from their own Key Vault (they fill those inputs in)."""

    id: str
    display_name: str
    state: str
    region: str
    subscriptions: tuple[str, ...]
    subscription_id: str
    gateway_id: str
    provider_gateway_id: str
    connection_name: str
    provider_connection_name: str
    provider_secret_name: str
    gateway_name: str
    gateway_resource_group: str
    provider_gateway_name: str
    service_address: str  # the routed frontend of the provider's load balancer
    service_ports: tuple[int, ...]
    nat_rules: tuple[LbRulePlan, ...]  # inbound NAT rules on the routed frontend

    MISSING = ("key_vault_id", "shared_key_secret_name")
    MISSING_BICEP = ("keyVaultName", "keyVaultResourceGroup", "sharedKeySecretName")

    def tfvars(self) -> dict[str, Any]:
        return {"connection_name": self.connection_name, "gateway_id": self.gateway_id,
                "provider_gateway_id": self.provider_gateway_id, "subscription_id": self.subscription_id}

    def bicep_parameters(self) -> dict[str, Any]:
        return deployment_parameters({"connectionName": self.connection_name, "gatewayId": self.gateway_id,
                                      "providerGatewayId": self.provider_gateway_id})


def approvals_data(manifest: Manifest, provider: ProviderPlan) -> dict[str, Any]:
    """provider/approvals.json: every private-link tenant (offboarded ones too, so that their
    connections can be rejected) by link service. `plgen approvals` reads it in place of the
    manifest."""
    link_services: dict[str, Any] = {
        ls.name: {"alias": ls.alias, "region": ls.location, "tenants": {}} for ls in provider.link_services
    }
    for tenant in manifest.tenants:
        name = tenant_link_service(manifest, tenant)
        if name is None or name not in link_services:
            continue
        link_services[name]["tenants"][tenant.id] = {
            "state": tenant.state,
            "approval": tenant.approval,
            "subscriptions": sorted(tenant.subscriptions),
        }
    return {"format": APPROVALS_FORMAT, "service": manifest.service.name, "link_services": link_services}


def vpn_tenant_plan(manifest: Manifest, provider: ProviderPlan, tenant) -> VpnTenantPlan:
    region = next(r for r in provider.regions if r.location == tenant.region)
    lb = region.created_load_balancer  # validate: a routed frontend exists for such tenants
    gateway = GATEWAY_ID_RE.fullmatch(tenant.vnet_to_vnet.gateway_id)
    provider_gateway_id = (f"/subscriptions/{provider.subscription_id}/resourceGroups/{provider.resource_group}"
                           f"{region.vpn_gateway.gateway_id_suffix}")
    return VpnTenantPlan(
        id=tenant.id,
        display_name=tenant.display_name,
        state=tenant.state,
        region=tenant.region,
        subscriptions=tuple(sorted(tenant.subscriptions)),
        subscription_id=gateway["subscription"],
        gateway_id=tenant.vnet_to_vnet.gateway_id,
        provider_gateway_id=provider_gateway_id,
        connection_name=f"cn-{tenant.id}-to-{manifest.service.name}",
        provider_connection_name=f"cn-{manifest.service.name}-to-{tenant.id}",
        provider_secret_name=tenant.vnet_to_vnet.shared_key_secret.name,
        gateway_name=gateway["name"],
        gateway_resource_group=gateway["resource_group"],
        provider_gateway_name=region.vpn_gateway.name,
        service_address=lb.routed_frontend.private_ip,
        service_ports=tuple(sorted(manifest.service.ports)),
        nat_rules=tuple(r for r in lb.nat_rules if r.frontend == lb.routed_frontend.name),
    )


def tenant_plan(manifest: Manifest, provider: ProviderPlan, tenant) -> TenantPlan:
    link_service_name = tenant_link_service(manifest, tenant)
    link_service = provider.link_service_by_name[link_service_name]
    endpoints = [(None, tenant.endpoint)] if not tenant.endpoint_sites else [(site.name, site) for site in tenant.endpoint_sites]
    return TenantPlan(
        id=tenant.id,
        display_name=tenant.display_name,
        state=tenant.state,
        approval=tenant.approval,
        region=tenant.region,
        link_service=link_service.name,
        subscriptions=tuple(sorted(tenant.subscriptions)),
        alias=link_service.alias,
        request_message=tenant.request_message or default_request_message(tenant.id),
        connection_name=f"{manifest.service.name}-{tenant.id}",
        dns_zone_name=manifest.service.fqdn,
        sites=tuple(sorted((_site_plan(manifest, tenant, name, endpoint) for name, endpoint in endpoints),
                           key=lambda site: site.name or "")),
        planned_endpoints=planned_endpoints(tenant),
        expected_status=decisions.expected_status(tenant.state, tenant.approval),
        verify_status=decisions.verify_status(tenant.state),
    )


def _site_plan(manifest: Manifest, tenant, name: str | None, endpoint) -> SitePlan:
    match = SUBNET_ID_RE.fullmatch(endpoint.subnet_id) if endpoint is not None else None
    endpoint_name = generated_endpoint_name(manifest.service.name, tenant.id, name)
    assert name_problem("private_endpoint", endpoint_name) is None, endpoint_name  # validated in gen.validate
    existing = endpoint.existing if endpoint is not None else None
    return SitePlan(
        name=name,
        subscription_id=match["subscription"] if match else tenant.subscriptions[0],
        endpoint_name=existing.name if existing else endpoint_name,
        dns_link_name=f"{endpoint_name}-dns",
        location=endpoint.location if endpoint else None,
        resource_group_name=endpoint.resource_group if endpoint else None,
        subnet_id=endpoint.subnet_id if endpoint else None,
        private_ip=endpoint.private_ip if endpoint else None,
        existing=existing is not None,
        connection_name=existing.connection_name if existing else None,
    )
