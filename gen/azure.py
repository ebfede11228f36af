"""Azure facts and derivations that more than one stage needs (validate checks them, plan
applies them). Each fact names its source.
"""

from __future__ import annotations

from dataclasses import dataclass

# Route-based VPN gateway SKUs per generation: azurerm v4.79
# internal/services/network/virtual_network_gateway_resource.go
# (validateVirtualNetworkGatewayRouteBasedVpnSkuGeneration1/2), as Azure enforces them
# (VirtualNetworkGatewaySkuCannotBeCreatedForSpecifiedVmGeneration).
VPN_SKU_GENERATIONS: dict[str, tuple[str, ...]] = {
    "VpnGw1AZ": ("Generation1",),
    "VpnGw2AZ": ("Generation1", "Generation2"),
    "VpnGw3AZ": ("Generation1", "Generation2"),
    "VpnGw4AZ": ("Generation2",),
    "VpnGw5AZ": ("Generation2",),
}


def default_vpn_generation(sku: str) -> str:
    """Generation2 wherever the SKU exists in it (Microsoft's recommendation); VpnGw1AZ only
    exists in Generation1."""
    return VPN_SKU_GENERATIONS[sku][-1]


# Where Azure Load Balancer health probes come from (learn.microsoft.com: "What is IP address
# 168.63.129.16?"); NSGs admit it with the AzureLoadBalancer service tag.
AZURE_PROBE_SOURCE = "168.63.129.16"

# Health probe timing, stated in both formats (the azurerm defaults, 15 s and 1, differ from
# what a Bicep template would otherwise say). A backend is taken out after two missed probes
# five seconds apart.
PROBE_INTERVAL_SECONDS = 5
PROBE_THRESHOLD = 2

# Zone-redundant public IPs and load balancer frontends in every region plgen deploys to.
ZONES = ("1", "2", "3")


@dataclass(frozen=True)
class LbRule:
    """One load-balancing rule of a load balancer plgen creates."""

    name: str
    frontend: str
    frontend_port: int
    backend_port: int
    proxy_protocol: bool  # the traffic on it arrives through a link service with PROXY on
    routed: bool  # the rule of a routed (vnet_to_vnet) frontend


def load_balancer_rules(link_service_frontends: list[str], routed_frontend: str | None, ports: list[int],
                        backend_port: int, proxy_protocol: bool) -> tuple[LbRule, ...]:
    """A rule per (frontend, service port): first the link services' frontends, then the
    routed frontend. Azure lets two rules share a backend port on one pool only with floating
    IP (learn.microsoft.com: load-balancer-multivip-overview), so each rule gets its own
    backend port, counting up from `backend_port` in that order."""
    pairs = [(f, p, False) for f in link_service_frontends for p in sorted(ports)]
    if routed_frontend is not None:
        pairs += [(routed_frontend, p, True) for p in sorted(ports)]
    return tuple(
        LbRule(f"{frontend}-tcp-{port}", frontend, port, backend_port + index, proxy_protocol and not routed, routed)
        for index, (frontend, port, routed) in enumerate(pairs)
    )


def created_lb_rules(region, ports: list[int], proxy_protocol: bool) -> tuple[LbRule, ...]:
    """The rules of a region's created load balancer (`region.load_balancer.create`)."""
    create = region.load_balancer.create
    used = {ls.frontend for ls in region.link_services}
    return load_balancer_rules([f.name for f in create.frontends if f.name in used],
                               create.routed_frontend.name if create.routed_frontend else None,
                               ports, create.backend_port, proxy_protocol)
