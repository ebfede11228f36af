"""Rules of adoption: resources the manifest says exist already (`existing`), and the names an
adopted resource keeps (`nat_ip_names`, an existing endpoint's own names)."""

from __future__ import annotations

from collections.abc import Iterator

from ..load import PathKey
from ..manifest import Manifest
from ..naming import name_problem
from .common import Finding


def _adoption_rules(manifest: Manifest) -> Iterator[Finding]:
    for r, region in enumerate(manifest.provider.regions):
        base: PathKey = ("provider", "regions", r)
        if region.load_balancer.existing and region.load_balancer.create is None:
            yield base + ("load_balancer", "existing"), (
                "`existing` adopts a load balancer plgen would create (`create`); a load balancer given by its "
                "`frontends` is only read, never created, so it needs no import: remove `existing`")
        for s, link_service in enumerate(region.link_services):
            names = link_service.nat_ip_names
            if names is None:
                continue
            path = base + ("link_services", s, "nat_ip_names")
            count = link_service.nat_ips if isinstance(link_service.nat_ips, int) else len(link_service.nat_ips)
            if len(names) != count:
                yield path, (f"{len(names)} names for {count} NAT IPs: give one name per NAT IP configuration, "
                             "the primary first")
            for i, name in enumerate(names):
                if name in names[:i]:
                    yield path + (i,), f"NAT IP configuration name {name!r} is listed twice"
                problem = name_problem("ip_configuration", name)
                if problem:
                    yield path + (i,), problem
    for t, tenant in enumerate(manifest.tenants):
        sites = [(("tenants", t, "endpoint"), tenant.endpoint)] if tenant.endpoint else []
        sites += [(("tenants", t, "endpoint_sites", i), site) for i, site in enumerate(tenant.endpoint_sites)]
        for path, site in sites:
            if site.existing is None:
                continue
            for field, kind in (("name", "private_endpoint"), ("connection_name", "private_endpoint_connection")):
                problem = name_problem(kind, getattr(site.existing, field))
                if problem:
                    yield path + ("existing", field), problem
        adopted = [site.existing is not None for site in tenant.endpoint_sites]
        if any(adopted) and not all(adopted):
            first = adopted.index(False)
            yield ("tenants", t, "endpoint_sites", first), (
                "either every endpoint site has `existing` or none: the tenant's module is the same in every site's "
                "workspace, so its import block runs in each of them (add this site's endpoint names, or adopt the "
                "others by hand with `terraform import`)")
