"""The output files of a plan: each names its path, its unit and the template (or JSON data)
it comes from."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Mapping

if TYPE_CHECKING:
    from .provider_model import ProviderPlan
    from .tenants import TenantPlan, VpnTenantPlan


@dataclass(frozen=True)
class OutputFile:
    """One file to render: Jinja `template` with `context`, or JSON `data` (never a template:
    data files are written by a JSON encoder)."""

    path: str
    template: str | None = None
    data: Any = None
    unit: str = "provider"
    context: Mapping[str, Any] = field(default_factory=dict)


APPROVALS_FILE = "provider/approvals.json"
PROVIDER_TERRAFORM = "provider/terraform"
PROVIDER_BICEP = "provider/bicep"


def provider_files(provider: ProviderPlan, approvals: Mapping[str, Any]) -> tuple[OutputFile, ...]:
    """The provider unit's files: made from `provider` and `approvals` alone (and the service
    facts every template sees), which is what the unit's input digest covers."""
    context = {"provider": provider}
    files = [
        OutputFile(f"{PROVIDER_TERRAFORM}/versions.tf", "terraform/provider/versions.tf.j2", context=context),
        OutputFile(f"{PROVIDER_TERRAFORM}/variables.tf", "terraform/provider/variables.tf.j2", context=context),
        OutputFile(f"{PROVIDER_TERRAFORM}/outputs.tf", "terraform/provider/outputs.tf.j2", context=context),
        OutputFile(f"{PROVIDER_TERRAFORM}/terraform.tfvars.json", data=provider.tfvars()),
    ]
    for region in provider.regions:
        files.append(OutputFile(
            f"{PROVIDER_TERRAFORM}/region-{region.location}.tf", "terraform/provider/region.tf.j2",
            context={**context, "region": region},
        ))
    if provider.monitoring:
        files.append(OutputFile(f"{PROVIDER_TERRAFORM}/monitoring.tf", "terraform/provider/monitoring.tf.j2", context=context))
    for region in provider.regions:
        for present, prefix in ((region.nat_gateway, "nat-gateway"), (region.created_load_balancer, "load-balancer"),
                                (region.vpn_gateway, "vpn")):
            if present:
                files.append(OutputFile(f"{PROVIDER_TERRAFORM}/{prefix}-{region.location}.tf",
                                        f"terraform/provider/{prefix}.tf.j2", context={**context, "region": region}))
    if any(region.vpn_gateway and region.vpn_gateway.connections for region in provider.regions):
        files.append(OutputFile(f"{PROVIDER_BICEP}/modules/vnet2vnet-connection.bicep",
                                "bicep/provider/modules/vnet2vnet-connection.bicep.j2"))
    if any(region.nat_gateway for region in provider.regions):
        files += [OutputFile(f"{PROVIDER_BICEP}/modules/{name}.bicep", f"bicep/provider/modules/{name}.bicep.j2")
                  for name in ("subnet-read", "subnet-nat-gateway")]
    for region in provider.regions:
        if region.backend is not None:
            files += [OutputFile(f"provider/backend/{region.location}/{name}", f"backend/{name}.j2",
                                 context={**context, "region": region, "backend": region.backend})
                      for name in ("nginx.conf", "haproxy.cfg", "envoy.yaml")]
    files += [
        OutputFile(APPROVALS_FILE, data=approvals),
        OutputFile(f"{PROVIDER_BICEP}/main.bicep", "bicep/provider/main.bicep.j2", context=context),
        OutputFile(f"{PROVIDER_BICEP}/modules/subnet.bicep", "bicep/provider/modules/subnet.bicep.j2"),
        OutputFile(f"{PROVIDER_BICEP}/main.parameters.json", data=provider.bicep_parameters()),
    ]
    from .identities import provider_import_files  # adoption hook (issue 13): imports.tf
    return tuple(files) + provider_import_files(provider)


def tenant_dir(tenant_id: str) -> str:
    return f"tenants/{tenant_id}"


def tenant_files(tenant: TenantPlan) -> tuple[OutputFile, ...]:
    base = tenant_dir(tenant.id)
    unit = f"tenant:{tenant.id}"
    # The module's .tf files take no tenant context: every tenant gets the same bytes, its
    # values live in its variable files (and identical files are verified once).
    module = [
        OutputFile(f"{base}/terraform/{name}", f"terraform/consumer/{name}.j2", unit=unit)
        for name in ("versions.tf", "variables.tf", "main.tf", "outputs.tf")
    ]
    bicep = [
        OutputFile(f"{base}/bicep/main.bicep", "bicep/consumer/main.bicep.j2", unit=unit),
        OutputFile(f"{base}/bicep/endpoint-ip.bicep", "bicep/consumer/endpoint-ip.bicep.j2", unit=unit),
    ]
    values = [OutputFile(f"{base}/{path}", data=data, unit=unit) for site in tenant.sites
              for path, data in ((site.tfvars_path, tenant.tfvars(site)), (site.parameters_path, tenant.bicep_parameters(site)))]
    from .identities import tenant_import_files  # adoption hook (issue 13): imports.tf
    return tuple(module) + tuple(bicep) + tuple(values) + (
        OutputFile(f"{base}/README.md", "docs/tenant-README.md.j2", unit=unit, context={"tenant": tenant}),
    ) + tenant_import_files(tenant, unit)


def vpn_tenant_files(tenant: VpnTenantPlan) -> tuple[OutputFile, ...]:
    base = tenant_dir(tenant.id)
    unit = f"vpn-tenant:{tenant.id}"
    return tuple(
        OutputFile(f"{base}/terraform/{name}", f"terraform/vnet2vnet/{name}.j2", unit=unit)
        for name in ("versions.tf", "variables.tf", "main.tf", "outputs.tf")
    ) + (
        OutputFile(f"{base}/terraform/terraform.tfvars.json", data=tenant.tfvars(), unit=unit),
        OutputFile(f"{base}/bicep/main.bicep", "bicep/vnet2vnet/main.bicep.j2", unit=unit),
        OutputFile(f"{base}/bicep/vnet2vnet-connection.bicep", "bicep/provider/modules/vnet2vnet-connection.bicep.j2", unit=unit),
        OutputFile(f"{base}/bicep/main.parameters.json", data=tenant.bicep_parameters(), unit=unit),
        OutputFile(f"{base}/README.md", "docs/tenant-vnet-README.md.j2", unit=unit, context={"tenant": tenant}),
    )
