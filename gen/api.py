"""The Python API: the pipeline load -> validate -> plan -> render -> verify -> write.

The CLI is a thin layer over these functions; they raise gen.errors exceptions and never print.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import jinja2

from . import load, plan as plan_stage, render as render_stage, validate as validate_stage, verify as verify_stage, write as write_stage
from .errors import Location, Problem, TemplatesError, WriteError
from .manifest import Manifest
from .quoting import json_text

if TYPE_CHECKING:
    from .capacity import BackendVms, LinkServiceCapacity

STDIN_MANIFEST_NAME = "stdin"  # the manifest's name in generated output when it came from standard input


@dataclass(frozen=True)
class Rendered:
    plan: plan_stage.Plan
    files: dict[str, str]
    manifest_sha256: str
    report: verify_stage.Report


def manifest_name(path: str | Path) -> str:
    return STDIN_MANIFEST_NAME if str(path) == load.STDIN else Path(path).name


def load_manifest(path: str | Path) -> tuple[Manifest, load.Document]:
    document = load.load_file(path)
    return validate_stage.validate(document), document


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
    digest = hashlib.sha256(document.text.encode("utf-8")).hexdigest()
    return Rendered(the_plan, files, digest, report)


def check_templates(directory: Path, the_plan: plan_stage.Plan) -> None:
    """A --templates directory must hold VERSION and every template the plan uses: name what is
    missing before rendering instead of failing on the first template."""
    missing = [] if (directory / "VERSION").is_file() else ["VERSION"]
    missing += sorted({spec.template for spec in the_plan.files
                       if spec.template is not None and not (directory / spec.template).is_file()})
    if missing:
        shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        raise TemplatesError(Problem(Location(str(directory)), f"not a complete templates directory: missing {shown}"))


def _render(the_plan: plan_stage.Plan, templates: Path | None) -> dict[str, str]:
    try:
        return render_stage.render(the_plan, templates)
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
            "json_or_text": json_or_text, "cached": report.cached}


def write_output(rendered: Rendered, out_dir: Path, *, force: bool = False, templates: Path | None = None,
                 cache_dir: Path | None = None, jobs: int | None = None,
                 progress: write_stage.Progress = write_stage._no_progress) -> write_stage.Changes:
    return write_stage.write(out_dir, rendered.files, write_stage.lock_for(rendered, templates),
                             scope=write_stage.scope_for(rendered.plan), force=force, cache_dir=cache_dir, jobs=jobs,
                             progress=progress)


def check_output(rendered: Rendered, out_dir: Path, *, diff: bool = False, templates: Path | None = None,
                 cache_dir: Path | None = None) -> write_stage.Changes:
    """What `write_output` would change, without writing (for --check and --diff)."""
    return write_stage.compare(out_dir, rendered.files, scope=write_stage.scope_for(rendered.plan),
                               lock=write_stage.lock_for(rendered, templates), diff=diff, cache_dir=cache_dir)


def manifest_schema() -> dict:
    schema = Manifest.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://plgen.invalid/schemas/manifest.schema.json"
    schema["title"] = "plgen tenant manifest, format version 1"
    return schema


def manifest_schema_text() -> str:
    return json_text(manifest_schema())


def write_manifest_schema(target: Path) -> None:
    """Write the schema through a temporary file in the same directory, so that `target` is
    either the old file or the whole new one, never half written."""
    temp = None
    try:
        fd, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(manifest_schema_text())
        os.chmod(temp, 0o644)
        os.replace(temp, target)
        temp = None
    except OSError as err:
        raise WriteError(Problem(Location(str(target)), f"cannot write: {err.strerror or err}")) from None
    finally:
        if temp is not None:
            with contextlib.suppress(OSError):
                os.unlink(temp)


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


def capacity_report(path: str | Path, backend_vms: BackendVms | None = None) -> list[LinkServiceCapacity]:
    """`backend_vms`: the backend VM counts given, or None when none is known."""
    from . import capacity

    document = load.load_file(path)
    return capacity.report(validate_stage.validate(document, enforce_limits=False), backend_vms)
