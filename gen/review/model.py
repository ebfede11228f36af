"""The report of `plgen changes`: pydantic models, so that `--format json` and the committed
JSON Schema (schemas/changes.schema.json) come from the same code."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..resources import published_schema
from .kinds import KINDS, ORDER, RISK_ORDER, RISKS

FORMAT = "plgen-changes/1"
KindName = Literal[tuple(kind.name for kind in KINDS)]  # type: ignore[valid-type]
Risk = Literal[RISKS]  # type: ignore[valid-type]


class _Model(BaseModel):
    # every key is always written (null or [] when empty): the schema says so
    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_serialization_defaults_required=True)


class Change(_Model):
    """One attribute that changes: `what` names it, `before`/`after` are its values (null
    when absent on that side)."""

    what: str
    before: Any = None
    after: Any = None


class Event(_Model):
    kind: KindName
    risk: Risk
    subject: str = Field(description="What changes: a link service, tenant, region, or 'provider'.")
    summary: str = Field(description="One line in the words of the domain. Free text from the manifest never "
                                     "appears here, only in `changes`.")
    link_service: str | None = None
    tenant: str | None = None
    subscription: str | None = None
    region: str | None = None
    tenants: list[str] = Field(default_factory=list,
                               description="Tenants concerned, e.g. whose bundles must be re-sent.")
    changes: list[Change] = Field(default_factory=list)
    files: list[str] = Field(default_factory=list, description="Output files concerned, relative to the output "
                                                                "directory (or, for bundles, to the tenant's folder).")
    warnings: list[str] = Field(default_factory=list)

    def sort_key(self) -> tuple:
        return (RISK_ORDER[self.risk], ORDER[self.kind], self.subject, self.subscription or "", self.tenant or "",
                self.summary)


class SideInfo(_Model):
    label: str = Field(description="The manifest file, or the output directory.")
    source: Literal["manifest", "output"]
    manifest_sha256: str | None = None
    template_release: str | None = None
    tool_version: str | None = None
    files: int


class Report(_Model):
    format: Literal["plgen-changes/1"] = FORMAT
    base: SideInfo
    new: SideInfo
    counts: dict[KindName, int] = Field(description="Events per kind (kinds without events are left out).")
    risks: dict[Risk, int] = Field(description="Events per risk (critical, high, medium, low), zeros included.")
    events: list[Event]
    notes: list[str] = Field(default_factory=list, description="What the reader should know about the comparison "
                                                                "itself (hand edits, template releases).")

    @classmethod
    def build(cls, base: SideInfo, new: SideInfo, events: list[Event], notes: list[str]) -> "Report":
        events = sorted(events, key=Event.sort_key)
        counts: dict[str, int] = {}
        for event in events:
            counts[event.kind] = counts.get(event.kind, 0) + 1
        risks = {risk: sum(1 for event in events if event.risk == risk) for risk in RISKS}
        return cls(base=base, new=new, counts=dict(sorted(counts.items(), key=lambda item: ORDER[item[0]])),
                   risks=risks, events=events, notes=sorted(set(notes)))


def json_schema() -> dict:
    return published_schema(Report.model_json_schema(mode="serialization"), "changes",
                            "plgen changes --format json, format plgen-changes/1")
