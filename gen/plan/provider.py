"""Plan the provider side: regions, link services, load balancers, backends, VPN, alerts."""

from __future__ import annotations

from types import MappingProxyType

from .. import azure
from ..manifest import KEY_VAULT_ID_RE, Manifest
from ..naming import bicep_identifier, generated_region_names, planned_endpoints, tenant_link_service, tf_identifier
from .provider_model import (BackendListenerPlan, BackendPlan, CreatedLoadBalancerPlan, FrontendPlan, LbRulePlan,
                             LinkServicePlan, MonitoringPlan, NatGatewayPlan, NatIpPlan, ProviderPlan, RegionPlan,
                             VpnConnectionPlan, VpnGatewayPlan)


def provider_plan(manifest: Manifest) -> ProviderPlan:
    regions = []
    members_of: dict[str | None, list] = {}  # link service -> its tenants, grouped once (not per link service)
    for tenant in manifest.tenants:
        if tenant.state != "offboarded":
            members_of.setdefault(tenant_link_service(manifest, tenant), []).append(tenant)
    for region in sorted(manifest.provider.regions, key=lambda r: r.location):
        link_services = []
        for link_service in sorted(region.link_services, key=lambda ls: ls.name):
            members = members_of.get(link_service.name, [])
            if manifest.provider.visibility == "public":
                visibility: tuple[str, ...] = ("*",)
            else:
                visibility = tuple(sorted({s for t in members for s in t.subscriptions}))
            auto = tuple(sorted({s for t in members if t.state == "active" and t.approval == "auto" for s in t.subscriptions}))
            addresses = ((None,) * link_service.nat_ips if isinstance(link_service.nat_ips, int)
                         else tuple(link_service.nat_ips))
            names = link_service.nat_ip_names or [f"nat-ip-{i + 1}" for i in range(len(addresses))]
            nat_ips = tuple(NatIpPlan(name, i == 0, ip) for i, (name, ip) in enumerate(zip(names, addresses)))
            link_services.append(LinkServicePlan(
                name=link_service.name,
                tf_id=tf_identifier(link_service.name),
                bicep_id=bicep_identifier(link_service.name),
                location=region.location,
                frontend=link_service.frontend,
                nat_ips=nat_ips,
                visibility_subscription_ids=visibility,
                auto_approval_subscription_ids=auto,
                alias=link_service.alias,
                tenant_ids=tuple(sorted(t.id for t in members)),
                endpoints=sum(planned_endpoints(t) for t in members),
                existing=link_service.existing,
            ))
        created_lb = _created_lb_plan(manifest, region)
        regions.append(RegionPlan(
            location=region.location,
            tf_id=tf_identifier(region.location),
            bicep_suffix=bicep_identifier("x", region.location)[1:],
            nat_subnet_bicep_id=bicep_identifier("nat_subnet", region.location),
            vnet_name=region.vnet.name,
            vnet_resource_group=region.vnet.resource_group,
            nat_subnet_name=region.nat_subnet.name,
            nat_subnet_prefix=region.nat_subnet.address_prefix,
            load_balancer_name=region.load_balancer.name,
            link_services=tuple(link_services),
            nat_gateway=_nat_gateway_plan(manifest, region),
            created_load_balancer=created_lb,
            vpn_gateway=_vpn_plan(manifest, region),
            backend=_backend_plan(manifest, region, created_lb) if manifest.service.proxy_protocol else None,
            routed_tenant_ids=routed_tenant_ids(manifest, region.location),
            nat_subnet_existing=region.nat_subnet.existing,
        ))
    monitoring = manifest.provider.monitoring
    return ProviderPlan(
        subscription_id=manifest.provider.subscription_id,
        resource_group=manifest.provider.resource_group,
        visibility=manifest.provider.visibility,
        proxy_protocol=manifest.service.proxy_protocol,
        tags=MappingProxyType(dict(sorted(manifest.service.tags.items()))),
        regions=tuple(regions),
        monitoring=MonitoringPlan(
            nat_port_usage_percent=monitoring.nat_port_usage_percent,
            action_group_email=monitoring.action_group_email,
            action_group_name=f"ag-{manifest.service.name}-nat-ports",
            action_group_short_name="plgen-nat",
        ) if monitoring else None,
    )


def _nat_gateway_plan(manifest: Manifest, region) -> NatGatewayPlan | None:
    gateway = region.nat_gateway
    if gateway is None:
        return None
    names = generated_region_names(manifest.service.name, region.location, gateway.public_ips)
    return NatGatewayPlan(names["nat_gateway"], names["nat_gateway_public_ips"], gateway.idle_timeout_minutes,
                          tuple(sorted(set(gateway.subnets))), existing=gateway.existing)


def _created_lb_plan(manifest: Manifest, region) -> CreatedLoadBalancerPlan | None:
    create = region.load_balancer.create
    if create is None:
        return None
    lb = region.load_balancer.name
    routed = FrontendPlan(create.routed_frontend.name, create.routed_frontend.private_ip) if create.routed_frontend else None
    return CreatedLoadBalancerPlan(
        frontend_subnet_name=create.frontend_subnet.name,
        frontend_subnet_prefix=create.frontend_subnet.address_prefix,
        frontends=tuple(FrontendPlan(f.name, f.private_ip) for f in create.frontends) + ((routed,) if routed else ()),
        backend_pool_name=f"{lb}-backend",
        probe_name=f"{lb}-probe",
        probe_protocol=create.probe.protocol,
        probe_port=create.probe.port,
        probe_path=create.probe.path,
        rules=azure.created_lb_rules(region, list(manifest.service.ports), manifest.service.proxy_protocol),
        nat_rules=tuple(LbRulePlan(r.name, r.frontend, r.frontend_port, r.backend_port)
                        for r in sorted(create.inbound_nat_rules, key=lambda r: r.name)),
        routed_frontend=routed,
        existing=region.load_balancer.existing,
    )


def routed_tenant_ids(manifest: Manifest, location: str) -> tuple[str, ...]:
    """vnet_to_vnet tenants of a region that still have a connection (not offboarded)."""
    return tuple(sorted(t.id for t in manifest.tenants
                        if t.connectivity == "vnet_to_vnet" and t.region == location and t.state != "offboarded"))


def _backend_plan(manifest: Manifest, region, created_lb: CreatedLoadBalancerPlan | None) -> BackendPlan:
    """What the region's backends must listen on: the backend ports of the load balancer's
    rules as plgen creates them (an existing load balancer's rules are the provider's own:
    its backends are assumed to listen on the service ports), a plain listener per routed
    rule, and a health listener for an Http probe."""
    listeners: list[BackendListenerPlan] = []
    health_path = None
    if created_lb is None:
        listeners += [BackendListenerPlan(port, port, "private_link", True) for port in sorted(manifest.service.ports)]
    else:
        listeners += [BackendListenerPlan(rule.backend_port, rule.frontend_port, "routed" if rule.routed else "private_link",
                                          rule.proxy_protocol) for rule in created_lb.rules]
        if created_lb.probe_protocol == "Http":
            health_path = created_lb.probe_path
            listeners.append(BackendListenerPlan(created_lb.probe_port, created_lb.probe_port, "health", True))
    return BackendPlan(
        location=region.location,
        listeners=tuple(listeners),
        trusted_sources=(region.nat_subnet.address_prefix, f"{azure.AZURE_PROBE_SOURCE}/32"),
        nat_subnet_prefix=region.nat_subnet.address_prefix,
        health_path=health_path,
        load_balancer_created=created_lb is not None,
    )


def _vpn_plan(manifest: Manifest, region) -> VpnGatewayPlan | None:
    if region.vpn_gateway is None:
        return None
    names = generated_region_names(manifest.service.name, region.location, 0)
    connections = []
    for tenant in sorted(manifest.tenants, key=lambda t: t.id):
        if tenant.connectivity != "vnet_to_vnet" or tenant.region != region.location or tenant.state != "active":
            continue
        vault = KEY_VAULT_ID_RE.fullmatch(tenant.vnet_to_vnet.shared_key_secret.key_vault_id)
        connections.append(VpnConnectionPlan(
            tenant_id=tenant.id,
            name=f"cn-{manifest.service.name}-to-{tenant.id}",
            tf_id=tf_identifier(tenant.id),
            bicep_id=bicep_identifier("vpn", tenant.id),
            peer_gateway_id=tenant.vnet_to_vnet.gateway_id,
            key_vault_id=tenant.vnet_to_vnet.shared_key_secret.key_vault_id,
            key_vault_name=vault["name"],
            key_vault_resource_group=vault["resource_group"],
            key_vault_subscription=vault["subscription"],
            secret_name=tenant.vnet_to_vnet.shared_key_secret.name,
        ))
    vpn = region.vpn_gateway
    return VpnGatewayPlan(
        name=names["vpn_gateway"],
        public_ip_names=names["vpn_gateway_public_ips"][:2 if vpn.active_active else 1],
        sku=vpn.sku,
        generation=vpn.generation or azure.default_vpn_generation(vpn.sku),
        active_active=vpn.active_active,
        gateway_subnet_prefix=vpn.gateway_subnet_prefix,
        connections=tuple(connections),
        existing=vpn.existing,
    )
