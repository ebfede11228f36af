"""`plgen bundle --changed-since REF`: re-issue only the bundles whose bytes changed since an
older output (gen.lock_source: a lock file, an output directory, or a git revision), each with
CHANGES.md, a short changelog for the customer: what changed for them and whether they must
apply it again.

The new bundles are rendered and verified in memory as `plgen bundle` renders them, plus the
moved blocks a render would write against REF's lock (gen.refactor), so that a bundle holds
what `plgen render` writes into the tenant's folder. A bundle changed when the sha256 of its
files differ from those REF's lock records. What CHANGES.md says comes from the files that
changed, the replacement guard between REF's lock and this render (gen.guard: a private
endpoint replaced or destroyed), the template release each side was rendered with (the lock's
`unit_releases`, gen.unit_releases), and where REF gives the old files' texts (an output
directory, a git revision), what changed in them: values, or only comments and layout. The
zips are reproducible: the same manifest, templates and REF give the same bytes.
"""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from . import api, bundle, guard, lock_source, plan as plan_stage, unit_releases, verify as verify_stage
from .quoting import markdown_cell_code, markdown_code, markdown_text
from .resources import template_release
from .verify import hcl

CHANGES_FILE = "CHANGES.md"
READ = (".tf", ".bicep", ".json")  # the old files whose text CHANGES.md looks into (not the guide)
TOOLS = ("terraform", "bicep")


@dataclass(frozen=True)
class Reissue:
    tenant: str
    status: str  # added (no bundle before) | changed
    reapply: dict[str, bool]  # per tool: whether the customer must apply again
    data: bytes  # the zip


@dataclass
class Upgrade:
    since: str
    reissued: list[Reissue] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)  # bundles REF had that the manifest no longer gives


def changed_since(path: str | Path, tenant_ids: tuple[str, ...], ref: str) -> Upgrade:
    """The bundles of `tenant_ids` (all tenants when empty) that changed since `ref`, with
    their zips; nothing is written."""
    manifest, document = api.load_manifest(path)
    if tenant_ids:
        bundle.check_tenants(manifest, tenant_ids, document.source)
    old = lock_source.open_old_output(ref)
    plan = plan_stage.build_plan(manifest, api.manifest_name(path), only=tuple(sorted(set(tenant_ids))))
    release = template_release()
    outcome = guard.run(manifest, document, plan, old.lock, release, {u.name for u in plan.units}, enforce=False)
    specs = tuple(sorted(plan.files + outcome.refactoring.specs, key=lambda spec: spec.path))
    files = api._render(plan, None, specs)
    verify_stage.verify(plan, files, specs=specs)
    old_files: dict[str, dict[str, str]] = {}
    for name, digest in old.lock["files"].items():
        if name.startswith("tenants/"):
            old_files.setdefault("/".join(name.split("/", 2)[:2]), {})[name] = digest
    new_files: dict[str, dict[str, str]] = {}
    for name, text in files.items():
        if name.startswith("tenants/"):
            new_files.setdefault("/".join(name.split("/", 2)[:2]), {})[name] = hashlib.sha256(text.encode()).hexdigest()
    subjects = {unit.name: unit.subject for unit in plan.units}
    result = Upgrade(ref)
    changed = sorted(unit for unit in subjects if unit != plan_stage.PROVIDER_UNIT
                     and new_files.get(unit) != old_files.get(unit))
    result.unchanged = sorted(unit.split("/")[1] for unit in subjects
                              if unit != plan_stage.PROVIDER_UNIT and unit not in changed)
    if not tenant_ids:
        result.removed = sorted(unit.split("/")[1] for unit in old_files if unit not in subjects)
    differing = {unit: sorted(p for p in set(new_files[unit]) | set(old_files.get(unit, {}))
                              if old_files.get(unit, {}).get(p) != new_files[unit].get(p)) for unit in changed}
    old.read(p for paths in differing.values() for p in paths if p.endswith(READ))  # one batch (git: one cat-file)
    hazards: dict[str, list] = {}
    for hazard in outcome.hazards:  # an endpoint replaced or destroyed, by tenant
        if hazard.unit.startswith("tenants/") and hazard.action in ("replace", "destroy"):
            hazards.setdefault("/".join(hazard.unit.split("/", 2)[:2]), []).append(hazard)
    for unit in changed:
        tenant = unit.split("/")[1]
        before, after, paths = old_files.get(unit, {}), new_files[unit], differing[unit]
        text, reapply = changelog(plan, subjects[unit], paths, before, files, old, hazards.get(unit, []),
                                  unit_releases.release_of(old.lock, unit) if before else None, release)
        contents = {**{p[len(unit) + 1:]: files[p] for p in after}, CHANGES_FILE: text}  # bundle.tenant_files, per unit
        result.reissued.append(Reissue(tenant, "changed" if before else "added", reapply,
                                       bundle.zip_bytes(contents, tenant)))
    return result


def write(upgrade: Upgrade, out_dir: Path) -> dict[str, Path]:
    written = {}
    for item in upgrade.reissued:
        target = Path(out_dir) / f"{item.tenant}.zip"
        bundle.write_zip(target, item.data)
        written[item.tenant] = target
    return written


# --- CHANGES.md ----------------------------------------------------------------------------------


def _values(text: str | None) -> dict:
    """A values file as name -> value (a Bicep parameters file's `parameters.<name>.value`)."""
    try:
        value = json.loads(text) if text is not None else {}
    except ValueError:
        return {}
    if isinstance(value, dict) and isinstance(value.get("parameters"), dict):
        return {k: v.get("value") if isinstance(v, dict) else v for k, v in value["parameters"].items()}
    return value if isinstance(value, dict) else {}


@functools.lru_cache(maxsize=256)  # the consumer module: one pair of texts for every tenant
def _layout_only(path: str, old: str, new: str) -> bool:
    """Whether a template's change is comments and layout only (nothing for Azure to do)."""
    if path.endswith(".tf"):
        try:
            return hcl.parse(old) == hcl.parse(new)
        except hcl.HclError:
            return False
    if path.endswith(".bicep"):
        def code(text: str) -> list[str]:
            return [line.rstrip() for line in text.splitlines() if line.strip() and not line.strip().startswith("//")]
        return code(old) == code(new)
    return False


def _describe(path: str, old: str | None, new: str) -> tuple[str, list[tuple[str, object, object]]]:
    """What changed in a file both bundles have, for the customer, and its value changes
    (`old`: its previous text, None when not at hand)."""
    if path.endswith(".md"):
        return ("the guide: read it again (nothing to apply)", [])
    if old is None:
        return ("values changed" if path.endswith(".json") else "changed", [])
    if path.endswith(".json"):
        before, after = _values(old), _values(new)
        names = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
        changes = [(k, before.get(k), after.get(k)) for k in names]
        return (f"values: {', '.join(names)}" if names else "layout only", changes)
    if _layout_only(path, old, new):
        return ("comments and layout only: nothing to apply", [])
    return ("changed", [])


def _shown(value: object) -> str:
    if value is None:
        return "(none)"
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True)


def _cell(value: object) -> str:
    return "(none)" if value is None else markdown_cell_code(_shown(value))


def changelog(plan, tenant, paths: list[str], before: dict[str, str], files: dict[str, str], old,
              hazards: list, old_release: str | None, release: str) -> tuple[str, dict[str, bool]]:
    """CHANGES.md for one re-issued bundle, and whether each tool must apply again."""
    prefix = f"tenants/{tenant.id}/"
    olds = old.read(p for p in paths if p.endswith(READ))
    rows, reapply = [], {tool: False for tool in TOOLS}
    values: dict[bool, list] = {True: [], False: []}  # from Terraform values files, from Bicep parameters files
    for path in paths:
        inner = path[len(prefix):]
        if path not in before:
            what, found = "added", []
        elif path not in files:
            what, found = "removed", []
        else:
            what, found = _describe(inner, olds.get(path), files[path])
        rows.append(f"| {markdown_cell_code(inner)} | {markdown_text(what)} |")
        site = inner.rsplit("/", 1)[-1].split(".")[0] if "/sites/" in inner else None
        values[inner.endswith(".tfvars.json")] += [(f"{site}: {k}" if site else k, a, b) for k, a, b in found]
        tool = inner.split("/", 1)[0]
        if tool in reapply and not what.startswith(("comments and layout", "layout only")):
            reapply[tool] = True
    values_shown = values[True] or values[False]
    if hazards:
        reapply["terraform"] = True
    header = plan.header
    lines = [f"<!-- {header} -->", "# What changed in your bundle", "",
             f"For {markdown_text(tenant.display_name)} (tenant {markdown_code(tenant.id)}), to reach "
             f"{markdown_code(plan.fqdn)} over Azure Private Link."]
    if not before:
        lines += ["", "This is your first bundle: follow README.md."]
        return "\n".join(lines) + "\n", {tool: True for tool in TOOLS}
    since = (f"template release {old_release} → {release}" if old_release and old_release != release
             else f"template release {release}")
    lines += [f"It replaces the bundle you received before ({since}).", "",
              "| You deploy with | Apply again? |", "|---|---|"]
    for tool, label in (("terraform", "Terraform (`terraform/`)"), ("bicep", "Bicep (`bicep/`)")):
        lines.append(f"| {label} | " + ("**yes**: " + ("`terraform plan`, then apply what it shows" if tool == "terraform"
                                                      else "`az deployment group what-if`, then deploy")
                                        if reapply[tool] else "no: nothing it deploys changed") + " |")
    for hazard in hazards:
        where = f" (workspace {markdown_code(hazard.workspace)})" if hazard.workspace != "default" else ""
        why = "; ".join(f"{a} {markdown_code(_shown(o))} → {markdown_code(_shown(n))}" for a, o, n in hazard.changes)
        verb = "is replaced" if hazard.action == "replace" else "is removed"
        lines += ["", f"**Your private endpoint {markdown_code(hazard.name or hazard.address)}{where} {verb}"
                      f"{' (' + why + ')' if why else ''}:** {markdown_text(hazard.consequence)}."]
    lines += ["", "## Files", "", "| File | What changed |", "|---|---|", *rows]
    if values_shown:
        lines += ["", "## Values", "", "| Value | Before | Now |", "|---|---|---|"]
        lines += [f"| {markdown_cell_code(name)} | {_cell(a)} | {_cell(b)} |" for name, a, b in values_shown]
    if not old.has_texts:
        lines += ["", "The previous files were compared by digest only: `terraform plan` (or `what-if`) shows exactly "
                      "what changes."]
    return "\n".join(lines) + "\n", reapply
