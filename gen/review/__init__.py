"""`plgen changes`: what a manifest change means, in the words of the domain.

Two generated trees are compared: a manifest rendered in memory (plan and render, no
verification: `render` and `render --check` verify), and either another manifest rendered the
same way (`changes BASE NEW`) or what an output directory holds (`changes MANIFEST -o out`,
the files its lock lists). The same fact extraction reads both (gen.review.facts), the
differences become events (gen.review.diff, kinds in gen.review.kinds), and gen.review.output
writes them as text, Markdown or JSON.
"""

from __future__ import annotations

import functools
from pathlib import Path

from .. import directory, load, plan as plan_stage, render as render_stage, validate as validate_stage
from .diff import compare
from .facts import read_facts
from .model import Event, Report, json_schema
from .sides import Side, output_side, rendered_side

__all__ = ["Event", "Report", "compare_manifests", "compare_output", "compare_sides", "document_side", "json_schema",
           "manifest_side", "text_side"]


def manifest_side(path: str | Path) -> Side:
    """Load, validate, plan and render a manifest (a file or a directory) in memory
    (ManifestError when it is invalid)."""
    label = load.STDIN_SOURCE if str(path) == load.STDIN else str(path)
    return document_side(directory.load_manifest(path), label)


def text_side(text: str, label: str) -> Side:
    """A manifest given as text (tests, tools)."""
    return document_side(load.load_text(text, label), label)


@functools.cache
def _renderer():
    """One Jinja environment for every side this process renders: templates compile once."""
    return render_stage.make_renderer()


def document_side(document: load.Document, label: str) -> Side:
    manifest = validate_stage.validate(document)
    files = render_stage.render(plan_stage.build_plan(manifest, Path(label).name), env=_renderer())
    side = rendered_side(label, files, document.manifest_sha256())
    side.manifest_files = document.manifest_files
    return side


def compare_sides(base: Side, new: Side) -> Report:
    old_facts, new_facts = read_facts(base), read_facts(new)
    events = compare(old_facts, new_facts)
    notes = base.notes + new.notes
    if base.template_release != new.template_release:
        notes.append(f"{base.label} was rendered with template release {base.template_release or 'unknown'}, "
                     f"{new.label} with {new.template_release or 'unknown'}: files that differ without a change in the "
                     "manifest are the release's")
    elif base.tool_version != new.tool_version:
        notes.append(f"{base.label} was rendered by plgen {base.tool_version or 'unknown'}, {new.label} by "
                     f"{new.tool_version or 'unknown'}")
    if base.manifest_sha256 and base.manifest_sha256 == new.manifest_sha256:
        notes.append("both sides come from the same manifest bytes (same sha256)")
    elif base.manifest_files is not None and new.manifest_files is not None:
        summary = directory.file_changes(base.manifest_files, new.manifest_files)
        if summary:
            notes.append(f"manifest files from {base.label} to {new.label}: {summary}")
    return Report.build(base.info(), new.info(), events, notes)


def compare_manifests(base: str | Path, new: str | Path) -> Report:
    return compare_sides(manifest_side(base), manifest_side(new))


def compare_output(manifest: str | Path, out_dir: Path) -> Report:
    """The manifest (new) against what `out_dir` holds (base)."""
    new = manifest_side(manifest)  # an invalid manifest is reported before the directory is read
    return compare_sides(output_side(Path(out_dir)), new)
