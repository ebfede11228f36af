"""Units: the provider and each tenant, the grain at which output is rendered, verified and
skipped when nothing changed.

A unit's files are made from its subject alone (the tenant's plan, or the provider's plan and
the approval lists) plus the service facts every template sees as `plan`. So a digest of
those, salted with the build fingerprint (plgen's code, the templates, the reference files),
covers everything that shapes the unit's bytes: equal digests, equal files.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from .files import OutputFile, provider_files, tenant_dir, tenant_files, vpn_tenant_files
from .provider_model import ProviderPlan
from .tenants import TenantPlan, VpnTenantPlan

PROVIDER_UNIT = "provider"


@dataclass(frozen=True)
class ServicePlan:
    """What every template may read of the plan (as `plan`), besides its own context."""

    header: str
    service_name: str
    fqdn: str
    ports: tuple[int, ...]
    support_email: str | None
    support_url: str | None
    proxy_protocol: bool


@dataclass(frozen=True)
class ProviderInputs:
    provider: ProviderPlan
    approvals: Mapping[str, Any]


@dataclass(frozen=True)
class Unit:
    name: str  # its directory in the output: "provider" or "tenants/<id>"
    subject: ProviderInputs | TenantPlan | VpnTenantPlan

    @property
    def prefix(self) -> str:
        return f"{self.name}/"

    def files(self) -> tuple[OutputFile, ...]:
        if isinstance(self.subject, ProviderInputs):
            return provider_files(self.subject.provider, self.subject.approvals)
        if isinstance(self.subject, VpnTenantPlan):
            return vpn_tenant_files(self.subject)
        return tenant_files(self.subject)


def unit_digests(units: Iterable[Unit], service: ServicePlan, fingerprint: str) -> dict[str, str]:
    """Each unit's input digest: sha256 of the fingerprint, the service facts and the unit's
    plan. (repr of frozen dataclasses of str, int, bool, None, tuples and insertion-ordered
    dicts: deterministic, and it names every field.) The common prefix is hashed once."""
    common = hashlib.sha256(f"{fingerprint}\0{service!r}\0".encode("utf-8"))
    digests = {}
    for unit in units:
        hasher = common.copy()
        hasher.update(repr(unit.subject).encode("utf-8"))
        digests[unit.name] = hasher.hexdigest()
    return digests


def provider_unit(provider: ProviderPlan, approvals: Mapping[str, Any]) -> Unit:
    return Unit(PROVIDER_UNIT, ProviderInputs(provider, approvals))


def tenant_unit(tenant: TenantPlan | VpnTenantPlan) -> Unit:
    return Unit(tenant_dir(tenant.id), tenant)


def unit_of(path: str) -> str:
    """The unit a generated file belongs to, from its path."""
    return "/".join(path.split("/", 2)[:2]) if path.startswith("tenants/") else PROVIDER_UNIT
