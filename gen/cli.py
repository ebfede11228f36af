"""The plgen command line: a thin click layer over gen.api. Text and exit codes live here.

Exit codes: 0 success / up to date; 1 invalid manifest, failed verification, or drift under
--check; 2 usage error.
"""

from __future__ import annotations

import gc
import json
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import click

from . import __version__, api, load
from .errors import Location, PlgenError, Problem
from .verify.cache import default_cache_dir

if TYPE_CHECKING:
    from .capacity import BackendVms

# Not click.Path(exists=True, dir_okay=False): gen.load decides what a manifest may be, so that
# a directory or a missing file is the same one-line error (exit 1) for every command.
MANIFEST = click.argument("manifest", type=click.Path(allow_dash=True))
FORMAT = click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True,
                      help="Output for people (text) or programs (json).")


class ProgressBar:
    """One self-overwriting line on stderr, only on a terminal and only once a run has taken
    longer than PLGEN_PROGRESS_AFTER seconds (default 2): short runs stay quiet."""

    def __init__(self) -> None:
        self.enabled = sys.stderr.isatty()
        self.after = float(os.environ.get("PLGEN_PROGRESS_AFTER", "2"))
        self.start = time.monotonic()
        self.shown = False
        self.last = 0.0

    def __call__(self, stage: str, done: int = 0, total: int = 0) -> None:
        now = time.monotonic()
        if not self.enabled or now - self.start < self.after or (now - self.last < 0.1 and done != total):
            return
        self.last = now
        width = 30
        filled = int(width * done / total) if total else 0
        bar = f" [{'#' * filled}{'.' * (width - filled)}] {done}/{total}" if total else ""
        sys.stderr.write(f"\rplgen: {stage:<8}{bar}\x1b[K")
        sys.stderr.flush()
        self.shown = True

    def close(self) -> None:
        if self.shown:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _emit(output_format: str, payload: dict, text: str) -> None:
    if output_format == "json":
        click.echo(json.dumps(payload, indent=2, sort_keys=True, ensure_ascii=False))
    elif text:
        click.echo(text)


def _fail(err: PlgenError, output_format: str = "text", extra: dict | None = None) -> None:
    """Report every problem once: as JSON on stdout, or as text lines on stderr."""
    if output_format == "json":
        click.echo(json.dumps({"status": "error", **(extra or {}), "errors": [p.as_dict() for p in err.problems]},
                              indent=2, sort_keys=True, ensure_ascii=False))
    else:
        for problem in err.problems:
            click.echo(f"error: {problem}", err=True)
    sys.exit(err.exit_code)


def _os_error_text(err: OSError) -> str:
    # OSErrors raised by libraries (jinja's TemplateNotFound is one) may carry no strerror
    return err.strerror or str(err) or type(err).__name__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="plgen", message="%(prog)s %(version)s")
def main() -> None:
    """plgen: Azure Private Link provider and consumer IaC from one tenant manifest.

    MANIFEST is a YAML file, or - for standard input. Exit codes: 0 success, 1 invalid manifest,
    failed verification or drift, 2 usage error.

    \b
    Example:
      plgen validate tenants.yaml && plgen render tenants.yaml -o out
    """
    # A run is short and builds hundreds of thousands of acyclic objects at fleet scale; the
    # cyclic collector would walk them again and again (about a sixth of a 10,000-tenant run).
    gc.disable()


@main.command(short_help="Check a manifest; print every problem with its location.")
@MANIFEST
@FORMAT
def validate(manifest: str, output_format: str) -> None:
    """Check MANIFEST and report every problem with its file:line:column and field path.

    \b
    Example:
      plgen validate tenants.yaml
      git show origin/main:tenants.yaml | plgen validate - --format json
    """
    try:
        parsed, document = api.load_manifest(manifest)
    except PlgenError as err:
        _fail(err, output_format)
    tenants = len(parsed.tenants)
    services = sum(len(r.link_services) for r in parsed.provider.regions)
    _emit(output_format, {"status": "valid", "tenants": tenants, "link_services": services},
          f"{document.source}: valid ({_count(tenants, 'tenant')}, {_count(services, 'link service')})")


@main.command(short_help="Render, verify and atomically write a manifest's output.")
@MANIFEST
@click.option("-o", "--out", "out_dir", default="out", show_default=True, type=click.Path(file_okay=False),
              help="Output directory.")
@click.option("--check", is_flag=True, help="Write nothing; exit 1 and list the files that would change.")
@click.option("--diff", is_flag=True, help="Write nothing; print unified diffs of what would change (exit 1 if any).")
@click.option("--only", multiple=True, metavar="ID", help="Render the provider and only these tenants (repeatable).")
@click.option("--jobs", type=click.IntRange(min=1), default=None, help="Parallel workers (default: CPU count).")
@click.option("--templates", type=click.Path(file_okay=False, exists=True), default=None,
              help="Use templates from this directory instead of the built-in ones.")
@click.option("--force", is_flag=True, help="Overwrite generated files that were edited by hand.")
@click.option("--no-cache", is_flag=True, help="Verify every unit, even those whose exact bytes passed before "
              "(their verdicts are still recorded).")
@click.option("--cache-dir", type=click.Path(file_okay=False), default=None,
              help="Where verdicts of verified units are kept (default: $XDG_CACHE_HOME/plgen).")
@FORMAT
def render(manifest: str, out_dir: str, check: bool, diff: bool, only: tuple[str, ...], jobs: int | None,
           templates: str | None, force: bool, no_cache: bool, cache_dir: str | None, output_format: str) -> None:
    """Render MANIFEST into OUT: verify everything in memory, then write atomically.

    \b
    Example:
      plgen render tenants.yaml -o out
      plgen render tenants.yaml -o out --check     # in CI: exit 1 if out/ is stale
      plgen render tenants.yaml --only acme --diff
    """
    out = Path(out_dir)
    templates_path = Path(templates) if templates else None
    progress = ProgressBar()
    try:
        # The state directory keeps verdicts (reused unless --no-cache), the stat index and the spare tree.
        state = Path(cache_dir) if cache_dir else default_cache_dir()
        rendered = api.render_manifest(manifest, only=only, templates=templates_path, jobs=jobs,
                                       cache_dir=state, reuse_verdicts=not no_cache, progress=progress)
        report = rendered.report
        verified = api.verified_counts(report)
        if check or diff:
            changes = api.check_output(rendered, out, diff=diff, templates=templates_path,
                                       cache_dir=state)
            if diff:
                for path in sorted(changes.diffs):
                    click.echo(changes.diffs[path], nl=False)
            payload = {"status": "drift" if changes.drift else "up-to-date", **changes.as_dict(), "verified": verified}
            # edited / foreign files stop a plain render: list them as such and suggest --force
            labels = {**{p: "added" for p in changes.added}, **{p: "changed" for p in changes.changed},
                      **{p: "removed" for p in changes.removed}, **{p: "foreign" for p in changes.foreign},
                      **{p: "edited" for p in changes.edited}}
            lines = [f"{labels[p]}: {p}" for p in sorted(labels)]
            blocked = " and ".join(
                f"{_count(len(paths), 'file')} {'was' if len(paths) == 1 else 'were'} {what}"
                for paths, what in ((changes.edited, "edited by hand"), (changes.foreign, "not written by plgen")) if paths)
            blocked_count = len(changes.edited) + len(changes.foreign)
            advice = (f"{blocked}{'' if diff else ' (listed above)'}; `plgen render {manifest} -o {out} --force` "
                      f"overwrites {'it' if blocked_count == 1 else 'them'}" if blocked
                      else f"run `plgen render {manifest} -o {out}`")
            summary = (f"{out}: out of date ({len(changes.added)} added, {len(changes.changed)} changed, "
                       f"{len(changes.removed)} removed); {advice}"
                       if changes.drift else f"{out}: up to date ({changes.unchanged} files)")
            progress.close()
            if output_format == "json":
                _emit(output_format, payload, "")
            else:
                if not diff:
                    for line in lines:
                        click.echo(line)
                click.echo(summary, err=changes.drift)
            sys.exit(1 if changes.drift else 0)
        changes = api.write_output(rendered, out, force=force, templates=templates_path,
                                   cache_dir=state, jobs=jobs, progress=progress)
    except PlgenError as err:
        progress.close()
        _fail(err, output_format)
    except OSError as err:
        progress.close()
        _fail(PlgenError(Problem(Location(str(err.filename or out)), f"cannot write the output: {_os_error_text(err)}")),
              output_format)
    progress.close()
    status = "written" if changes.drift else "up-to-date"
    _emit(output_format, {"status": status, **changes.as_dict(), "verified": verified},
          f"{out}: {len(changes.added)} added, {len(changes.changed)} changed, {len(changes.removed)} removed, "
          f"{changes.unchanged} unchanged; verified {verified['files']} files ({verified['parsed']} Terraform/Bicep parsed, "
          f"{verified['reused']} identical reused, {verified['json_or_text']} JSON/text checked, "
          f"{verified['cached']} unchanged since a verified run)")


@main.command(short_help="Write a reproducible onboarding zip per tenant.")
@MANIFEST
@click.argument("tenant_ids", metavar="ID...", nargs=-1, required=True)
@click.option("-o", "--out", "out_dir", default="bundles", show_default=True, type=click.Path(file_okay=False),
              help="Directory for the <id>.zip files.")
@FORMAT
def bundle(manifest: str, tenant_ids: tuple[str, ...], out_dir: str, output_format: str) -> None:
    """Write a reproducible onboarding zip for each tenant ID (same input, same sha256).

    \b
    Example:
      plgen bundle tenants.yaml acme globex -o bundles   # bundles/acme.zip, bundles/globex.zip
    """
    import hashlib

    try:
        written = api.bundle_tenants(manifest, tenant_ids, Path(out_dir))
    except PlgenError as err:
        _fail(err, output_format)
    except OSError as err:
        _fail(PlgenError(Problem(Location(str(err.filename or out_dir)), f"cannot write: {_os_error_text(err)}")),
              output_format)
    rows = {tenant: {"path": str(path), "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}
            for tenant, path in written.items()}
    _emit(output_format, rows, "\n".join(f"{row['path']}  sha256 {row['sha256']}" for row in rows.values()))


@main.command(short_help="Decide what to do with each private endpoint connection.")
@click.argument("source", metavar="MANIFEST|APPROVALS_JSON", type=click.Path(allow_dash=True))
@click.option("--connections", required=True, type=click.Path(),
              help="JSON of `az network private-endpoint-connection list --id PLS_ID`, of `az network "
                   "private-link-service show` (one or a list), or a REST {\"value\": [...]} response.")
@click.option("--reject-unknown", is_flag=True, help="Reject pending connections from subscriptions of no tenant "
              "(a known tenant on the wrong link service is still held, and named).")
@click.option("--format", "output_format", type=click.Choice(["text", "json", "sh"]), default="text", show_default=True,
              help="text for people, json for programs, sh for the approve/reject commands as a script.")
def approvals(source: str, connections: str, reject_unknown: bool, output_format: str) -> None:
    """Decide approve / reject / hold / flag / keep for each connection, and print the az commands.

    \b
    Example:
      az network private-endpoint-connection list --id "$PLS_ID" > connections.json
      plgen approvals tenants.yaml --connections connections.json --format sh > approve.sh
    """
    from . import approvals as approvals_module

    try:
        if source != load.STDIN:
            load.check_input_file(source)
        load.check_input_file(connections)
        expected = approvals_module.expected_tenants(Path(source))
        found, shape = approvals_module.read_connections(Path(connections))
        decisions = approvals_module.decide(expected, found, reject_unknown=reject_unknown)
    except PlgenError as err:
        _fail(err, "json" if output_format == "json" else "text")
    if output_format == "json":
        click.echo(approvals_module.as_json(decisions))
    elif output_format == "sh":
        click.echo(approvals_module.as_script(decisions), nl=False)
    else:
        click.echo(approvals_module.as_text(decisions, shape))


def _backend_vms(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> BackendVms:
    from . import capacity as capacity_module

    try:
        return capacity_module.BackendVms.parse(values)
    except ValueError as err:
        raise click.BadParameter(str(err), ctx, param) from None


@main.command(short_help="Report each link service against Azure's limits.")
@MANIFEST
@click.option("--backend-vms", "backend_vms", multiple=True, metavar="[LINK_SERVICE=]N", callback=_backend_vms,
              help="Backend VMs behind the load balancer (N >= 1): for every link service, or for one "
                   "(repeatable). Connection capacity is per NAT IP per VM; without this it is shown per VM.")
@FORMAT
def capacity(manifest: str, backend_vms: BackendVms, output_format: str) -> None:
    """Report each link service against Azure's limits; exit 1 when a hard limit is exceeded.

    \b
    Example:
      plgen capacity tenants.yaml
      plgen capacity tenants.yaml --backend-vms 3 --format json
      plgen capacity tenants.yaml --backend-vms 3 --backend-vms pls-api-weu-1=6
    """
    from . import capacity as capacity_module

    try:
        rows = api.capacity_report(manifest, backend_vms)
    except PlgenError as err:
        _fail(err, output_format)
    unknown = capacity_module.unknown_link_services(backend_vms, rows)
    if unknown:
        names = [row.link_service for row in rows]
        known = ", ".join(names[:10]) + (f" and {len(names) - 10} more" if len(names) > 10 else "")
        raise click.BadParameter(f"no link service named {', '.join(unknown)} (the manifest has {known or 'none'})",
                                 param_hint="'--backend-vms'")
    click.echo(capacity_module.as_json(rows) if output_format == "json" else capacity_module.as_text(rows), nl=output_format == "json")
    if any(row.exceeded for row in rows):
        sys.exit(1)


@main.command(short_help="Print or write the manifest JSON Schema.")
@click.option("-o", "--output", "output", type=click.Path(dir_okay=False), default=None,
              help="Write the schema to this file instead of standard output.")
def schema(output: str | None) -> None:
    """Print (or write) the manifest JSON Schema for editors and CI.

    \b
    Example:
      plgen schema -o schemas/manifest.schema.json
      # then, first line of tenants.yaml:
      # yaml-language-server: $schema=schemas/manifest.schema.json
    """
    if output:
        try:
            api.write_manifest_schema(Path(output))
        except PlgenError as err:
            _fail(err)
        click.echo(f"wrote {output}")
    else:
        click.echo(api.manifest_schema_text(), nl=False)


if __name__ == "__main__":  # pragma: no cover
    main()
