"""The Python API: the pipeline load -> validate -> plan -> render -> verify -> write.

The CLI is a thin layer over these functions; they raise gen.errors exceptions and never print.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from . import load, plan as plan_stage, render as render_stage, validate as validate_stage, verify as verify_stage, write as write_stage
from .manifest import Manifest
from .quoting import json_text


@dataclass(frozen=True)
class Rendered:
    plan: plan_stage.Plan
    files: dict[str, str]
    manifest_sha256: str
    report: verify_stage.Report


def load_manifest(path: str | Path) -> tuple[Manifest, load.Document]:
    document = load.load_file(path)
    return validate_stage.validate(document), document


def render_manifest(path: str | Path, *, only: tuple[str, ...] = (), templates: Path | None = None,
                    jobs: int | None = None, cache_dir: Path | None = None, reuse_verdicts: bool = True,
                    progress: write_stage.Progress = write_stage._no_progress) -> Rendered:
    """Load, validate, plan, render and verify; nothing touches the disk but the cache."""
    progress("load")
    manifest, document = load_manifest(path)
    return render_loaded(manifest, document, Path(path).name, only=only, templates=templates, jobs=jobs,
                         cache_dir=cache_dir, reuse_verdicts=reuse_verdicts, progress=progress)


def render_loaded(manifest: Manifest, document: load.Document, manifest_name: str, *, only: tuple[str, ...] = (),
                  templates: Path | None = None, jobs: int | None = None, cache_dir: Path | None = None,
                  reuse_verdicts: bool = True, progress: write_stage.Progress = write_stage._no_progress) -> Rendered:
    """Plan, render and verify an already loaded manifest."""
    progress("plan")
    the_plan = plan_stage.build_plan(manifest, manifest_name, only=only)
    progress("render")
    files = render_stage.render(the_plan, templates)
    progress("verify")
    report = verify_stage.verify(the_plan, files, jobs=jobs, cache_dir=cache_dir, templates=templates,
                                 reuse=reuse_verdicts)
    digest = hashlib.sha256(document.text.encode("utf-8")).hexdigest()
    return Rendered(the_plan, files, digest, report)


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


def bundle_tenants(path: str | Path, tenant_ids: tuple[str, ...], out_dir: Path) -> dict[str, Path]:
    """Render and verify the named tenants, then write one reproducible zip each."""
    from . import bundle

    manifest, document = load_manifest(path)
    bundle.check_tenants(manifest, tenant_ids, str(path))
    rendered = render_loaded(manifest, document, Path(path).name, only=tenant_ids)
    written = {}
    for tenant_id in sorted(set(tenant_ids)):
        target = Path(out_dir) / f"{tenant_id}.zip"
        bundle.write_zip(target, bundle.zip_bytes(bundle.tenant_files(rendered.files, tenant_id), tenant_id))
        written[tenant_id] = target
    return written


def capacity_report(path: str | Path):
    from . import capacity

    document = load.load_file(path)
    return capacity.report(validate_stage.validate(document, enforce_limits=False))
