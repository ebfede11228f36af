"""The Python API: the pipeline load -> validate -> plan -> render -> verify -> write.

The CLI is a thin layer over these functions; they raise gen.errors exceptions and never print.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Mapping

import jinja2

from . import directory, guard, load, plan as plan_stage, refactor, render as render_stage, validate as validate_stage, verify as verify_stage, write as write_stage
from .errors import Location, ManifestError, Problem, TemplatesError
from .manifest import Manifest
from .quoting import json_text
from .resources import build_fingerprint, published_schema
from . import unit_releases  # issue 12: the release each kept unit was rendered with

if TYPE_CHECKING:
    from .capacity import BackendVms, LinkServiceCapacity

STDIN_MANIFEST_NAME = "stdin"  # the manifest's name in generated output when it came from standard input


@dataclass(frozen=True)
class Rendered:
    plan: plan_stage.Plan | None  # None: render_output found the inputs and files of its last run (a no-op)
    files: dict[str, str]  # the units rendered (an incremental render skips unchanged ones)
    manifest_sha256: str
    report: verify_stage.Report
    unchanged_units: Mapping[str, int] = field(default_factory=dict)  # units not rendered -> their file count
    hazards: tuple = ()  # issue 13: gen.guard.Hazard of this render against the previous lock
    notes: tuple[str, ...] = ()  # ... and what the guard could not do, once
    manifest_files: Mapping[str, str] | None = None  # a manifest directory: each file's sha256 (for the lock)


def manifest_name(path: str | Path) -> str:
    return STDIN_MANIFEST_NAME if str(path) == load.STDIN else Path(path).name


def load_manifest(path: str | Path) -> tuple[Manifest, load.Document]:
    """A manifest file, standard input ("-") or a manifest directory, loaded and validated."""
    return parse_manifest(directory.read_manifest(path))


def parse_manifest(given: directory.ManifestInput) -> tuple[Manifest, load.Document]:
    document = directory.parse_manifest(given)
    return validate_stage.validate(document), document


def run_key(given: directory.ManifestInput, only: tuple[str, ...], fingerprint: str) -> str:
    """What a render's output is a function of: the manifest's bytes (its sha256, which for a
    manifest directory covers each file by path), --only, and the build fingerprint (plgen's
    code, templates and reference files). Not the manifest's name, which only errors quote.
    Rendering is deterministic, so two runs with one key render the same bytes."""
    parts = {"only": list(only), "build": fingerprint, "manifest": given.sha256}
    return hashlib.sha256(json_text(parts).encode()).hexdigest()


def render_manifest(path: str | Path, *, only: tuple[str, ...] = (), templates: Path | None = None,
                    jobs: int | None = None, cache_dir: Path | None = None, reuse_verdicts: bool = True,
                    progress: write_stage.Progress = write_stage._no_progress) -> Rendered:
    """Load, validate, plan, render and verify; nothing touches the disk but the cache."""
    progress("load")
    manifest, document = load_manifest(path)
    return render_loaded(manifest, document, manifest_name(path), only=only, templates=templates, jobs=jobs,
                         cache_dir=cache_dir, reuse_verdicts=reuse_verdicts, progress=progress)


def render_loaded(manifest: Manifest, document: load.Document, manifest_name: str, *, only: tuple[str, ...] = (),
                  templates: Path | None = None, jobs: int | None = None, cache_dir: Path | None = None,
                  reuse_verdicts: bool = True, progress: write_stage.Progress = write_stage._no_progress) -> Rendered:
    """Plan, render and verify an already loaded manifest."""
    progress("plan")
    the_plan = plan_stage.build_plan(manifest, manifest_name, only=only)
    progress("render")
    if templates is not None:
        check_templates(templates, the_plan)
    files = _render(the_plan, templates)
    progress("verify")
    report = verify_stage.verify(the_plan, files, jobs=jobs, cache_dir=cache_dir, templates=templates,
                                 reuse=reuse_verdicts)
    return Rendered(the_plan, files, document.manifest_sha256(), report, manifest_files=document.manifest_files)


def render_output(path: str | Path, out_dir: Path | str, *, check: bool = False, diff: bool = False,
                  force: bool = False, only: tuple[str, ...] = (), templates: Path | None = None,
                  jobs: int | None = None, cache_dir: Path | None = None, incremental: bool = True,
                  progress: write_stage.Progress = write_stage._no_progress,
                  allow_replace: tuple[str, ...] = ()) -> tuple[Rendered, write_stage.Changes]:
    """The whole pipeline into an output directory: write it, or (check/diff) compare with it.

    Incremental (with a cache directory): each unit's input digest (gen.plan.units) is
    compared with the state of the last verified write; a unit whose digest and files on disk
    are as then is neither rendered, verified nor hashed again. Before that, if the run key
    (the manifest's bytes, --only and the build fingerprint) is the one of the last complete
    run and every file is as it left them, the run is a no-op without parsing the manifest:
    its Rendered has no plan. `incremental=False` renders and verifies every unit (and still
    records the state).
    """
    progress("load")
    fingerprint = build_fingerprint(templates)
    # An output directory that exists is opened (locked, and its stat walk started in a child
    # process) before the manifest is read and parsed, so that the walk runs meanwhile; one
    # that does not is created only for a manifest that loads.
    given = loaded = None
    if not os.path.isdir(out_dir):
        given = directory.read_manifest(path)
        loaded = parse_manifest(given)
    with write_stage.Output.open(out_dir, cache_dir, writing=not (check or diff)) as output:
        given = given or directory.read_manifest(path)
        key = run_key(given, only, fingerprint)
        unchanged = output.unchanged_run(key) if incremental else None
        if unchanged is not None:
            return _no_op(None, given.sha256, unchanged, given.file_digests)
        manifest, document = loaded or parse_manifest(given)
        return _render_units(output, manifest, document, manifest_name(path), key, fingerprint, check=check, diff=diff,
                             force=force, only=only, templates=templates, jobs=jobs, cache_dir=cache_dir,
                             incremental=incremental, progress=progress, allow_replace=allow_replace)


def _render_units(output: write_stage.Output, manifest: Manifest, document: load.Document, label: str, key: str,
                  fingerprint: str, *, check: bool, diff: bool, force: bool, only: tuple[str, ...],
                  templates: Path | None, jobs: int | None, cache_dir: Path | None, incremental: bool,
                  progress: write_stage.Progress,
                  allow_replace: tuple[str, ...]) -> tuple[Rendered, write_stage.Changes]:
    """render_output unit by unit: plan, then render, verify and write (or compare) the units
    whose digest or files changed."""
    progress("plan")
    the_plan = plan_stage.build_plan(manifest, label, only=only)
    if templates is not None:
        check_templates(templates, the_plan)
    digests = plan_stage.unit_digests(the_plan.units, the_plan.service, fingerprint)
    manifest_sha = document.manifest_sha256()
    header = write_stage.lock_header(manifest_sha, templates, document.manifest_files)
    unchanged = output.unchanged_units(digests) if incremental and cache_dir is not None else {}
    gone = output.lock_units() - set(digests) if unchanged and not only else set()
    todo = [name for name in digests if name not in unchanged]
    skipped = sum(unchanged.values())
    if not todo and not gone and output.lock_header() == header:
        output.remember_run(key, digests)  # (not todo: the state knows every unit)
        return _no_op(the_plan, manifest_sha, unchanged, document.manifest_files)
    specs = the_plan.files_of(todo)
    scope = write_stage.scope_for(the_plan) if not unchanged else tuple(sorted(f"{n}/" for n in {*todo, *gone}))
    old_lock = output.old_lock(scope)  # with a scope, only its units' entries are read
    # issue 13: identities in the lock, moved blocks, and the replacement guard (gen.guard, gen.refactor)
    outcome = guard.run(manifest, document, the_plan, old_lock, header["template_release"], set(todo),
                        allow_replace, enforce=not (check or diff))
    specs = tuple(sorted(specs + outcome.refactoring.specs, key=lambda spec: spec.path))
    progress("render")
    files = _render(the_plan, templates, specs)
    progress("verify")
    known = output.link_services() if plan_stage.PROVIDER_UNIT in unchanged else None
    report = verify_stage.verify(the_plan, files, specs=specs, jobs=jobs, cache_dir=cache_dir, templates=templates,
                                 reuse=incremental, link_services=known)
    report.rendered = len(files)
    report.files += skipped
    report.cached += skipped
    notes = tuple(outcome.notes) + (manifest_file_notes(old_lock, document) if check or diff else ())
    rendered = Rendered(the_plan, files, manifest_sha, report, unchanged, tuple(outcome.hazards), notes,
                        document.manifest_files)
    lock = {**write_stage.lock_for(rendered, templates), refactor.LOCK_KEY: outcome.refactoring.section,
            **unit_releases.lock_entry(old_lock, header["template_release"], todo, scope, output.lock_units())}
    if check or diff:
        found = output.compare(files, scope=scope, lock=lock, diff=diff)
    else:
        found = output.write(files, lock, scope=scope, force=force, jobs=jobs, progress=progress)
    if cache_dir is not None:
        output.record(found, {name: digests[name] for name in todo}, header, report.link_services, (key, digests))
    found.unchanged += skipped
    return rendered, found


def _no_op(the_plan: plan_stage.Plan | None, manifest_sha: str, unchanged: Mapping[str, int],
           manifest_files: Mapping[str, str] | None) -> tuple[Rendered, write_stage.Changes]:
    """A render that found every unit as the last verified write left it."""
    files = sum(unchanged.values())
    report = verify_stage.Report(files=files, cached=files, rendered=0)
    return (Rendered(the_plan, {}, manifest_sha, report, unchanged, manifest_files=manifest_files),
            write_stage.Changes(unchanged=files + 1))  # + the lock file


def manifest_file_notes(old_lock: Mapping, document: load.Document) -> tuple[str, ...]:
    """For --check and --diff of a manifest directory: which of its files changed since the
    output was rendered (from the lock's `manifest_files`)."""
    if document.manifest_files is None:
        return ()
    before = old_lock.get("manifest_files")
    if not isinstance(before, dict):
        return ("the output was not rendered from a manifest directory (its lock lists no manifest files)",) \
            if old_lock.get("files") else ()
    summary = directory.file_changes(before, document.manifest_files)
    return (f"manifest files changed since the output was rendered: {summary}",) if summary else ()


def check_templates(directory: Path, the_plan: plan_stage.Plan) -> None:
    """A --templates directory must hold VERSION and every template the plan uses: name what is
    missing before rendering instead of failing on the first template."""
    missing = [] if (directory / "VERSION").is_file() else ["VERSION"]
    missing += sorted({spec.template for spec in _one_unit_of_each_kind(the_plan)
                       if spec.template is not None and not (directory / spec.template).is_file()})
    if missing:
        shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        raise TemplatesError(Problem(Location(str(directory)), f"not a complete templates directory: missing {shown}"))


def _one_unit_of_each_kind(the_plan: plan_stage.Plan) -> list[plan_stage.OutputFile]:
    """The files of the provider and of one tenant of each kind: every template the plan uses
    (all tenants of a kind use the same ones), without listing every tenant's files."""
    seen: set[type] = set()
    specs = []
    for unit in the_plan.units:
        if type(unit.subject) not in seen or unit.name == plan_stage.PROVIDER_UNIT:
            seen.add(type(unit.subject))
            specs.extend(unit.files())
    return specs


def _render(the_plan: plan_stage.Plan, templates: Path | None,
            specs: tuple[plan_stage.OutputFile, ...] | None = None) -> dict[str, str]:
    try:
        return render_stage.render(the_plan, templates, specs=specs)
    except jinja2.TemplateError as err:
        if templates is None:
            raise  # a built-in template failing is a bug in plgen: keep the traceback
        raise TemplatesError(_template_problem(templates, err)) from None


def _template_problem(directory: Path, err: jinja2.TemplateError) -> Problem:
    if isinstance(err, jinja2.TemplateNotFound):
        return Problem(Location(str(directory)), f"a template includes {err.name!r}, which is missing")
    if isinstance(err, jinja2.TemplateSyntaxError):
        where = str(directory / err.name) if err.name else str(directory)
        return Problem(Location(where, err.lineno or 0), f"template syntax: {err.message}")
    return Problem(Location(str(directory)), f"a template failed: {err.message or type(err).__name__}")


def verified_counts(report: verify_stage.Report) -> dict[str, int]:
    """What verification did with each rendered file; the categories add up to `files`.

    parsed: Terraform and Bicep files parsed and checked; reused: identical to one of those;
    json_or_text: JSON files compared with the plan, and Markdown and backend configs whose
    header line is checked; cached: files of units whose exact bytes passed a previous run.
    """
    json_or_text = report.files - report.cached - report.parsed - report.reused
    return {"files": report.files, "parsed": report.parsed, "reused": report.reused,
            "json_or_text": json_or_text, "cached": report.cached,
            "rendered": report.files if report.rendered is None else report.rendered}


def manifest_schema() -> dict:
    return published_schema(Manifest.model_json_schema(mode="validation"), "manifest",
                            "plgen tenant manifest, format version 1")


def manifest_schema_text() -> str:
    return json_text(manifest_schema())


def directory_schema_text(which: str) -> str:
    """The JSON Schema of a manifest directory's provider file (`provider`: plgen.yaml) or of
    a tenant file (`tenant`: one tenant, or a list of them)."""
    import pydantic

    from .manifest import ProviderFile, Tenant

    if which == "provider":
        schema = ProviderFile.model_json_schema(mode="validation")
        title = "plgen manifest directory: the provider file (plgen.yaml), format version 1"
    else:
        schema = pydantic.TypeAdapter(Tenant | list[Tenant]).json_schema(mode="validation")
        schema["description"] = ("A tenant file of a manifest directory (tenants/**/*.yaml): one tenant, in a file "
                                 "named after its id, or a list of tenants.")
        title = "plgen manifest directory: a tenant file, format version 1"
    return json_text(published_schema(schema, which, title))


def changes_schema_text() -> str:
    """The JSON Schema of `plgen changes --format json` (schemas/changes.schema.json)."""
    from .review import json_schema

    return json_text(json_schema())


def write_manifest_schema(target: Path, text: str | None = None) -> None:
    """Write the schema (or `text`, another schema) atomically."""
    from .editing import replace_file

    replace_file(target, manifest_schema_text() if text is None else text)


def changes_report(base: str | Path, new: str | Path | None = None, out_dir: Path | None = None):
    """`plgen changes`: two manifests (BASE, NEW), or a manifest against what `out_dir` holds
    (the directory is the base side). Returns a gen.review.Report; nothing is written."""
    from . import review

    return review.compare_manifests(base, new) if new is not None else review.compare_output(base, Path(out_dir))


def bundle_tenants(path: str | Path, tenant_ids: tuple[str, ...], out_dir: Path) -> dict[str, Path]:
    """Render and verify the named tenants, then write one reproducible zip each."""
    from . import bundle

    manifest, document = load_manifest(path)
    bundle.check_tenants(manifest, tenant_ids, document.source)
    rendered = render_loaded(manifest, document, manifest_name(path), only=tenant_ids)
    written = {}
    for tenant_id in sorted(set(tenant_ids)):
        target = Path(out_dir) / f"{tenant_id}.zip"
        bundle.write_zip(target, bundle.zip_bytes(bundle.tenant_files(rendered.files, tenant_id), tenant_id))
        written[tenant_id] = target
    return written


def release_preview(path: str | Path, templates: Path, base_templates: Path | None = None, *, jobs: int | None = None,
                    cache_dir: Path | None = None, reuse: bool = True,
                    progress: write_stage.Progress = write_stage._no_progress):
    """`plgen release-preview`: the manifest rendered and verified with both templates
    directories, compared. Returns a gen.review.release_model.ReleaseReport; nothing is written."""
    from .review import release

    return release.preview(path, templates, base_templates, jobs=jobs, cache_dir=cache_dir, reuse=reuse,
                           progress=progress)


def release_preview_schema_text() -> str:
    """The JSON Schema of `plgen release-preview --format json` (schemas/release-preview.schema.json)."""
    from .review.release_model import json_schema

    return json_text(json_schema())


def bundle_changed_since(path: str | Path, tenant_ids: tuple[str, ...], ref: str):
    """`plgen bundle --changed-since REF`: the bundles that changed since REF (a lock file, an
    output directory or a git revision), each with its CHANGES.md. Returns a
    gen.bundle_upgrade.Upgrade; nothing is written (see write_bundles)."""
    from . import bundle_upgrade

    return bundle_upgrade.changed_since(path, tenant_ids, ref)


def write_bundles(upgrade, out_dir: Path) -> dict[str, Path]:
    from . import bundle_upgrade

    return bundle_upgrade.write(upgrade, out_dir)


def capacity_report(path: str | Path, backend_vms: BackendVms | None = None) -> list[LinkServiceCapacity]:
    """`backend_vms`: the backend VM counts given, or None when none is known."""
    from . import capacity

    document = directory.load_manifest(path)
    return capacity.report(validate_stage.validate(document, enforce_limits=False), backend_vms)


def split_manifest(path: str | Path, target: Path):
    """`plgen split`: write the manifest file `path` as a manifest directory `target`. Returns
    gen.convert.Converted (its files and warnings)."""
    from . import convert, editing

    if directory.is_manifest_directory(path):
        directory.check_manifest(path)
        raise ManifestError(Problem(Location(str(path)), "is a manifest directory already; `plgen join` makes one "
                                                              "file of it"))
    document = load.load_file(path)
    validate_stage.validate(document)
    origin = os.path.dirname(os.path.abspath(path)) if str(path) != load.STDIN else os.getcwd()
    converted = convert.split_document(document, origin, os.path.abspath(target))
    editing.write_new_tree(Path(target), converted.files)
    return converted


def join_manifest(path: str | Path, target: str | Path):
    """`plgen join`: the manifest directory `path` as one manifest file, written to `target`
    (a new file) unless `target` is "-". Returns gen.convert.Converted ({"": text})."""
    from . import convert, editing

    directory.check_manifest(path)
    if not directory.is_manifest_directory(path):
        raise ManifestError(Problem(Location(str(path)), "is a manifest file already; `plgen split` makes a "
                                                              "directory of it"))
    files, problems = directory.read_tree(Path(path))
    if problems:
        raise ManifestError(problems)
    document = directory.compose(files, str(path))
    validate_stage.validate(document)
    folder = os.getcwd() if str(target) == load.STDIN else os.path.dirname(os.path.abspath(target))
    converted = convert.join_directory(document, {p: raw.decode("utf-8") for p, raw in files.items()}, folder)
    if str(target) != load.STDIN:
        editing.write_new_file(Path(target), converted.files[""])
    return converted
