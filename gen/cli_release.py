"""Template releases on the command line: `plgen release-preview`, and `plgen bundle
--changed-since` (the bundle command's option; its work is here). Thin, like gen.cli: the
work is in gen.review.release and gen.bundle_upgrade, through gen.api."""

from __future__ import annotations

import hashlib
from pathlib import Path

import click

from . import api
from .cli_common import _count, _emit, _emit_report, _fail, _os_error_text
from .errors import Location, PlgenError, Problem
from .verify.cache import default_cache_dir


@click.command("release-preview",
               short_help="Show what a template release changes across the fleet, grouped by identical change.")
@click.argument("manifest", type=click.Path(allow_dash=True))
@click.option("--templates", "templates", required=True, type=click.Path(file_okay=False, exists=True),
              help="The templates directory of the new release.")
@click.option("--base-templates", type=click.Path(file_okay=False, exists=True), default=None,
              help="The templates directory of the release to compare with (default: the installed templates).")
@click.option("--format", "output_format", type=click.Choice(["text", "markdown", "json"]), default="text",
              show_default=True, help="text for people, markdown for a pull-request comment, json for programs.")
@click.option("--max-chars", type=click.IntRange(min=16_000), default=60_000, show_default=True,
              help="--format markdown: the comment never exceeds this many characters (GitHub's limit is 65,536).")
@click.option("--jobs", type=click.IntRange(min=1), default=None,
              help="With 2 or more (default: CPU count) the base render is verified in a second process while "
                   "the new one is verified; 1: one after the other.")
@click.option("--no-cache", is_flag=True, help="Verify every file, even those whose exact bytes passed before.")
@click.option("--cache-dir", type=click.Path(file_okay=False), default=None,
              help="Where verdicts are kept (default: $XDG_CACHE_HOME/plgen; see `plgen cache`).")
def release_preview(manifest: str, templates: str, base_templates: str | None, output_format: str, max_chars: int,
                    jobs: int | None, no_cache: bool, cache_dir: str | None) -> None:
    """Render MANIFEST with the base templates and with the new ones (--templates), verify
    both in memory, and report what the release changes: anything it would make Terraform
    replace or destroy in Azure first, then the provider's files and what they mean, then the
    tenant bundles it changes, grouped by identical change (tenant values as placeholders) with
    one representative diff and the tenants of each group. Nothing is written. Exit 0 when it
    reported, 1 when the manifest, a templates directory or a render is invalid, 2 on a usage
    error.

    \b
    Example:
      plgen release-preview tenants.yaml --templates ../next/templates
      git worktree add /tmp/base origin/main
      plgen release-preview tenants.yaml --base-templates /tmp/base/templates --templates templates --format markdown
    """
    from .cli import ProgressBar
    from .review import release_output

    progress = ProgressBar()
    try:
        report = api.release_preview(manifest, Path(templates), Path(base_templates) if base_templates else None,
                                     jobs=jobs, cache_dir=Path(cache_dir) if cache_dir else default_cache_dir(),
                                     reuse=not no_cache, progress=progress)
    except PlgenError as err:
        progress.close()
        _fail(err, "json" if output_format == "json" else "text")
    except OSError as err:
        progress.close()
        _fail(PlgenError(Problem(Location(str(err.filename or manifest)), f"cannot read: {_os_error_text(err)}")),
              "json" if output_format == "json" else "text")
    progress.close()
    _emit_report(release_output, report, output_format, max_chars)


def bundle_changed_since(manifest: str, tenant_ids: tuple[str, ...], out_dir: str, ref: str, output_format: str) -> None:
    """`plgen bundle --changed-since REF`: write the bundles that changed since REF, each with
    CHANGES.md; print one line per bundle and a summary."""
    try:
        upgrade = api.bundle_changed_since(manifest, tenant_ids, ref)
        written = api.write_bundles(upgrade, Path(out_dir))
    except PlgenError as err:
        _fail(err, output_format)
    except OSError as err:
        _fail(PlgenError(Problem(Location(str(err.filename or out_dir)), f"cannot write: {_os_error_text(err)}")),
              output_format)
    rows = {item.tenant: {"path": str(written[item.tenant]), "sha256": hashlib.sha256(item.data).hexdigest(),
                          "status": item.status, "reapply": item.reapply} for item in upgrade.reissued}

    def apply_text(reapply: dict[str, bool]) -> str:
        needed = [tool for tool, needed in reapply.items() if needed]
        return f"apply again: {' and '.join(needed)}" if needed else "nothing to apply again"

    total = len(upgrade.reissued) + len(upgrade.unchanged)
    summary = (f"{len(upgrade.reissued)} of {_count(total, 'bundle')} changed since {ref}"
               + (f": re-issued in {out_dir}" if upgrade.reissued else "") + f"; {len(upgrade.unchanged)} unchanged"
               + (f"; no bundle any more for {', '.join(upgrade.removed)}" if upgrade.removed else ""))
    lines = [f"{row['path']}  sha256 {row['sha256']}  ({row['status']}; {apply_text(row['reapply'])})"
             for row in rows.values()]
    if output_format == "json":
        _emit(output_format, {"since": ref, "bundles": rows, "unchanged": len(upgrade.unchanged),
                              "removed": upgrade.removed}, "")
    else:
        if lines:
            click.echo("\n".join(lines))
        click.echo(summary, err=True)
