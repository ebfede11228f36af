"""`plgen release-preview`: what a template release changes across the whole fleet.

The manifest is loaded, validated and planned once (a release does not change the plan), then
rendered with both templates directories in memory and both renders verified, as `render`
verifies them. Then:

- provider files added, changed or removed, with their diffs, and what they mean in the words
  of `plgen changes` (its fact extraction and events, gen.review.facts and .diff, read over the
  provider files of the two renders);
- tenant bundles changed, grouped by identical change (gen.review.grouping);
- anything the new release would make Terraform replace or destroy (gen.review.release_guard,
  the replacement guard over facts read from the files), first.

Verifying the new render skips, provably, what cannot have changed: a unit whose files are the
same bytes as in the base render, when the provider's link services read from the new render
are the ones read from the base. A unit's checks read its own files, the plan (one plan for
both), and the provider's link services (the oracle's cross-checks of endpoints and guides):
equal inputs, equal verdict. The other units (every unit, when the link services differ) are
verified in full.
"""

from __future__ import annotations

import os
import pickle
import posixpath
from collections import defaultdict
from pathlib import Path
from typing import Callable

from .. import __version__, api, plan as plan_stage, verify as verify_stage
from ..errors import PlgenError, Problem, VerificationError
from ..guard import Hazard
from ..plan import PROVIDER_TERRAFORM
from ..plan.units import PROVIDER_UNIT, unit_of
from ..resources import template_release
from ..verify import hcl, oracle
from ..verify.terraform import ParsedModule
from ..write import Progress, _no_progress
from .diff import compare
from .facts import _parse, read_facts
from .grouping import Grouping, line_counts, tenant_values, unified
from .model import Event
from .release_guard import release_hazards
from .release_model import ArgumentChange, Counts, FileDiff, Release, ReleaseReport, Replacement
from .sides import Side, sha256

BUILT_IN = "built-in"


def preview(path: str | Path, templates: Path, base_templates: Path | None = None, *, jobs: int | None = None,
            cache_dir: Path | None = None, reuse: bool = True, progress: Progress = _no_progress) -> ReleaseReport:
    """Render and verify the manifest at `path` with `base_templates` (None: the installed
    templates) and with `templates`, and report what changes between the two."""
    progress("load")
    manifest, document = api.load_manifest(path)
    progress("plan")
    plan = plan_stage.build_plan(manifest, api.manifest_name(path))
    labels = (str(base_templates) if base_templates is not None else BUILT_IN, str(templates))
    directories = (base_templates, templates)
    for directory in directories:
        if directory is not None:
            api.check_templates(directory, plan)
    releases = tuple(template_release(d) if d is not None else template_release() for d in directories)
    progress("render")
    base, new = (api._render(plan, directory) for directory in directories)
    progress("verify")
    units = (_paths_by_unit(base), _paths_by_unit(new))
    changed = _changed_units(plan, base, new, *units)
    options = {"jobs": jobs, "cache_dir": cache_dir, "reuse": reuse}
    base_check = Background(lambda: _verify(plan, base, None, directories[0], f"{labels[0]} (release {releases[0]})",
                                            **options), parallel=bool(changed) and (jobs or os.cpu_count() or 1) > 1)
    try:
        checked = _verify_new(plan, (base, new), units, changed, directories[1], f"{labels[1]} (release {releases[1]})",
                              **options)
        report = _compare(plan, document, (base, new), units, changed, releases, labels, checked, progress)
    except BaseException:  # the base render's failure first, if it has one; the child is always reaped
        failed = base_check.join(run_if_lost=False)
        if failed is not None:
            raise failed from None
        raise
    failed = base_check.join()
    if failed is not None:
        raise failed
    return report


def _compare(plan, document, trees: tuple[dict, dict], units: tuple[dict, dict], changed: set[str],
             releases: tuple[str, str], labels: tuple[str, str], checked: int, progress: Progress) -> ReleaseReport:
    base, new = trees
    progress("compare")
    provider = _provider_diffs(base, new, *units)
    grouping = Grouping()
    subjects = {unit.name: unit.subject for unit in plan.units}
    shared = {spec.path for spec in plan.files if spec.template is not None and not spec.context}
    for unit in sorted(changed - {PROVIDER_UNIT}):
        paths = sorted(set(units[0].get(unit, ())) | set(units[1].get(unit, ())))
        grouping.add(unit.split("/", 1)[1], unit, tenant_values(subjects[unit]),
                     [(p, base.get(p), new.get(p), p in shared) for p in paths if base.get(p) != new.get(p)])
    groups = grouping.groups()
    replacements = _replacements(release_hazards(plan, base, new, changed))
    events = _events((base, new), units, releases, labels, document.manifest_sha256()) if provider else []
    bundles = sum(1 for unit in plan.units if unit.name != PROVIDER_UNIT)
    notes = _notes(releases, labels, changed, checked, len(plan.units))
    counts = Counts(
        provider_files_changed=sum(1 for f in provider if f.status == "changed"),
        provider_files_added=sum(1 for f in provider if f.status == "added"),
        provider_files_removed=sum(1 for f in provider if f.status == "removed"),
        bundles=bundles, bundles_changed=sum(g.bundles for g in groups), groups=len(groups),
        tenant_files_added=grouping.added, tenant_files_removed=grouping.removed, replacements=len(replacements))
    return ReleaseReport(manifest=document.source, base=Release(templates=labels[0], release=releases[0], files=len(base)),
                         new=Release(templates=labels[1], release=releases[1], files=len(new)), counts=counts,
                         replacements=replacements, events=events, provider=provider, groups=groups, notes=notes)


def _paths_by_unit(files: dict[str, str]) -> dict[str, list[str]]:
    units: dict[str, list[str]] = defaultdict(list)
    for path in files:
        units[unit_of(path)].append(path)
    return units


def _changed_units(plan, base: dict[str, str], new: dict[str, str], base_units: dict[str, list[str]],
                   new_units: dict[str, list[str]]) -> set[str]:
    """The units whose files differ between the two renders (a file added or removed too)."""
    changed = set()
    for unit in {unit.name for unit in plan.units}:
        before, after = base_units.get(unit, []), new_units.get(unit, [])
        if len(before) != len(after) or any(base[p] != new.get(p) for p in before):
            changed.add(unit)
    return changed


def _verify(plan, files: dict[str, str], units: set[str] | None, templates: Path | None, label: str, *,
            jobs: int | None, cache_dir: Path | None, reuse: bool,
            link_services: dict | None = None) -> verify_stage.Report:
    """Verify `files` (the files of `units`, or every file of the plan); problems name the
    templates they were rendered with."""
    specs = None if units is None else plan.files_of(units)
    try:
        return verify_stage.verify(plan, files, specs=specs, jobs=jobs, cache_dir=cache_dir, templates=templates,
                                   reuse=reuse, link_services=link_services)
    except VerificationError as err:
        raise VerificationError([Problem(p.location, f"rendered with {label}: {p.message}")
                                 for p in err.problems]) from None


def _verify_new(plan, trees: tuple[dict[str, str], dict[str, str]], units: tuple[dict, dict], changed: set[str],
                templates: Path | None, label: str, **options) -> int:
    """Verify what the new render changed (see the module's docstring); returns the number of
    units verified."""
    if not changed:
        return 0
    base, new = trees
    base_services = _link_services(base, units[0].get(PROVIDER_UNIT, []))

    def files_of(names: set[str]) -> dict[str, str]:
        return {p: new[p] for name in names for p in units[1].get(name, ())}

    report = _verify(plan, files_of(changed), changed, templates, label,
                     link_services=None if PROVIDER_UNIT in changed else base_services, **options)
    if PROVIDER_UNIT not in changed:
        return len(changed)
    services = report.link_services
    if services is None:  # the verdict cache spared the provider's check: read them
        services = _link_services(new, units[1].get(PROVIDER_UNIT, []))
    rest = {unit.name for unit in plan.units} - changed
    if services == base_services or not rest:
        return len(changed)
    _verify(plan, files_of(rest), rest, templates, label, link_services=services, **options)
    return len(plan.units)


def _link_services(files: dict[str, str], paths: list[str]) -> dict | None:
    """The provider's link services as verification reads them (its Terraform parsed once per
    text, shared with the replacement guard and the events)."""
    try:
        parsed = {posixpath.basename(p): _parse(files[p]) for p in paths
                  if posixpath.dirname(p) == PROVIDER_TERRAFORM and p.endswith(".tf")}
    except hcl.HclError:
        return None  # that render's verification says why
    modules = {PROVIDER_TERRAFORM: ParsedModule.from_files(parsed)} if parsed else {}
    return oracle.read_link_services({p: files[p] for p in paths}, modules)


class Background:
    """A check run in a forked child while the caller goes on (`parallel`, where fork exists),
    or at once; `join` waits for it and returns its PlgenError, or None. A child that dies
    without answering is run again here: the answer never depends on the parallelism."""

    def __init__(self, check: Callable[[], object], parallel: bool):
        self.check, self.pid, self.reader, self.failure = check, None, None, None
        if parallel and hasattr(os, "fork"):
            reader, writer = os.pipe()
            pid = os.fork()
            if pid == 0:  # the child: no output, no cleanup of the parent's objects, never back to the caller
                try:
                    os.close(reader)
                    try:
                        failure = self._run()  # an exception pickles by its message: send its class and problems
                        payload = pickle.dumps(None if failure is None else (type(failure), failure.problems))
                    except BaseException:  # noqa: BLE001 - anything else: the parent runs the check itself
                        payload = b""
                    with os.fdopen(writer, "wb") as handle:
                        handle.write(payload)
                finally:
                    os._exit(0)
            os.close(writer)
            self.pid, self.reader = pid, reader
        else:
            self.failure = self._run()

    def _run(self) -> PlgenError | None:
        try:
            self.check()
        except PlgenError as err:
            return err
        return None

    def join(self, run_if_lost: bool = True) -> PlgenError | None:
        if self.pid is None:
            return self.failure
        with os.fdopen(self.reader, "rb") as handle:
            payload = handle.read()
        os.waitpid(self.pid, 0)
        self.pid = None
        if payload:
            answer = pickle.loads(payload)
            self.failure = None if answer is None else answer[0](answer[1])
        elif run_if_lost:
            self.failure = self._run()
        return self.failure


def _provider_diffs(base: dict[str, str], new: dict[str, str], base_units: dict[str, list[str]],
                    new_units: dict[str, list[str]]) -> list[FileDiff]:
    paths = sorted(p for p in set(base_units.get(PROVIDER_UNIT, ())) | set(new_units.get(PROVIDER_UNIT, ()))
                   if base.get(p) != new.get(p))
    result = []
    for path in paths:
        old, text = base.get(path), new.get(path)
        diff = unified(path, old, text)
        added, removed = line_counts(diff)
        result.append(FileDiff(path=path, status="added" if old is None else "removed" if text is None else "changed",
                               added_lines=added, removed_lines=removed, diff=diff))
    return result


def _events(trees: tuple[dict, dict], units: tuple[dict, dict], releases: tuple[str, str], labels: tuple[str, str],
            manifest_sha256: str) -> list[Event]:
    """`plgen changes` over the provider files of the two renders (its bundle events are the
    groups here)."""
    sides = []
    for files, paths, release, label in zip(trees, units, releases, labels):
        provider = {p: files[p] for p in paths.get(PROVIDER_UNIT, ())}
        sides.append(Side(label=f"release {release} ({label})", source="manifest",
                          shas={p: sha256(t) for p, t in provider.items()}, read=provider.get,
                          manifest_sha256=manifest_sha256, template_release=release, tool_version=__version__))
    events = compare(read_facts(sides[0]), read_facts(sides[1]))
    return sorted((e for e in events if e.kind != "bundle_changed"), key=Event.sort_key)


def _replacements(found: list[Hazard]) -> list[Replacement]:
    """One entry per provider resource; one per kind of change of the tenants' resources,
    naming every tenant it happens to."""
    merged: dict[tuple, list[Hazard]] = {}
    for hazard in found:
        tenant = hazard.unit.startswith("tenants/")
        key = ((1, hazard.action, hazard.kind, hazard.address, tuple(a for a, _, _ in hazard.changes)) if tenant
               else (0, hazard.unit, hazard.workspace, hazard.address))
        merged.setdefault(key, []).append(hazard)
    def order(key: tuple) -> tuple:  # link services first, then the provider's others, then the tenants'
        first = merged[key][0]
        return (key[0], first.kind != "private_link_service", first.address, first.unit, first.workspace, key)

    result = []
    for key in sorted(merged, key=order):
        first = merged[key][0]
        tenants = sorted({h.unit.split("/")[1] for h in merged[key] if h.unit.startswith("tenants/")})
        message = first.describe()
        if len(tenants) > 1:
            message += f" (and the same in {len(tenants) - 1} other bundle{'s' if len(tenants) > 2 else ''})"
        result.append(Replacement(action=first.action, unit=first.unit, workspace=first.workspace,
                                  address=first.address, kind=first.kind, name=first.name, tenants=tenants,
                                  changes=[ArgumentChange(argument=a, old=o, new=n) for a, o, n in first.changes],
                                  consequence=first.consequence, message=message))
    return result


def _notes(releases: tuple[str, str], labels: tuple[str, str], changed: set[str], checked: int, units: int) -> list[str]:
    notes = []
    if releases[0] == releases[1] and changed:
        notes.append(f"both templates directories say release {releases[0]} (templates/VERSION), but they render "
                     "different files: a release that changes the output needs its own VERSION")
    if not changed:
        notes.append("the two releases render the same bytes for this manifest")
    notes.append(f"both renders verified: {labels[0]} in full; {labels[1]}: {checked} of {units} units checked again "
                 "(the others are the same bytes, with the same link services)")
    return notes
