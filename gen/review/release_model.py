"""The report of `plgen release-preview`: pydantic models, so that `--format json` and the
committed JSON Schema (schemas/release-preview.schema.json) come from the same code."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..resources import published_schema
from .model import Event

FORMAT = "plgen-release-preview/1"
Status = Literal["added", "changed", "removed"]


class _Model(BaseModel):
    # every key is always written (null or [] when empty): the schema says so
    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_serialization_defaults_required=True)


class Release(_Model):
    templates: str = Field(description="The templates directory, or 'built-in' for the installed templates.")
    release: str = Field(description="Its templates/VERSION.")
    files: int = Field(description="Files the manifest renders to with these templates.")


class FileDiff(_Model):
    path: str = Field(description="The output path; in a group, with each tenant's values as placeholders.")
    status: Status
    added_lines: int
    removed_lines: int
    diff: str = Field(description="The unified diff (`--- a/PATH`, `+++ b/PATH`, /dev/null for an added or removed "
                                  "file), as `plgen render --diff` prints it.")


class ArgumentChange(_Model):
    argument: str
    old: Any = None
    new: Any = None


class Replacement(_Model):
    """A resource the new release would make Terraform replace or destroy (gen.guard's hazard),
    read from the ForceNew arguments of both renders."""

    action: Literal["replace", "destroy"]
    unit: str = Field(description="The Terraform module directory, e.g. provider/terraform or tenants/acme/terraform.")
    workspace: str
    address: str
    kind: str
    name: str | None = None
    tenants: list[str] = Field(default_factory=list, description="Tenants this same replacement happens to (one "
                                                                 "entry stands for all of them).")
    changes: list[ArgumentChange] = Field(default_factory=list)
    consequence: str
    message: str = Field(description="One line: what, why, and what it costs.")


class Group(_Model):
    """Bundles that change in the same way: the same files, the same diffs once each tenant's
    values are placeholders (`⟦name⟧`, a field of the tenant's plan)."""

    id: int = Field(description="1 for the largest group, then by size and diff.")
    bundles: int
    tenants: list[str]
    files: list[FileDiff] = Field(description="The representative diffs, with placeholders.")
    placeholders: list[str] = Field(description="The placeholders these diffs use.")
    values: dict[str, dict[str, str]] = Field(
        description="Per tenant, the value of each placeholder: putting them in place of `⟦name⟧` in `files` gives "
                    "exactly that tenant's own paths and diffs.")


class Counts(_Model):
    provider_files_changed: int
    provider_files_added: int
    provider_files_removed: int
    bundles: int = Field(description="Tenant bundles the manifest renders (offboarded tenants have none).")
    bundles_changed: int
    groups: int = Field(description="Distinct ways in which the changed bundles change.")
    tenant_files_added: int
    tenant_files_removed: int
    replacements: int


class ReleaseReport(_Model):
    format: Literal["plgen-release-preview/1"] = FORMAT
    manifest: str
    base: Release
    new: Release
    counts: Counts
    replacements: list[Replacement] = Field(description="Link services, private endpoints and the other guarded "
                                                        "resources the release would replace or destroy: first.")
    events: list[Event] = Field(description="What the provider's changed files mean, as `plgen changes` says it "
                                            "(bundle events are the groups instead).")
    provider: list[FileDiff] = Field(description="Provider files added, changed or removed, with their diffs.")
    groups: list[Group]
    notes: list[str] = Field(default_factory=list)


def json_schema() -> dict:
    return published_schema(ReleaseReport.model_json_schema(mode="serialization"), "release-preview",
                            "plgen release-preview --format json, format plgen-release-preview/1")
