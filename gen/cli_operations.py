"""Day-2 operations: `plgen changes` (what a manifest change means), `plgen import-pls`
(adopt existing link services), `plgen approvals` (decide each endpoint connection) and `plgen
capacity` (each link service against Azure's limits). Thin, like gen.cli: the work is in
gen.api, gen.review, gen.adopt, gen.approvals and gen.capacity."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from . import api, directory, load
from .cli_common import FORMAT, MANIFEST, _emit_report, _fail, _os_error_text
from .errors import Location, PlgenError, Problem

if TYPE_CHECKING:
    from .capacity import BackendVms


@click.command(short_help="Say what a manifest change means: access, tenants, link services, bundles.")
@click.argument("base", metavar="BASE", type=click.Path(allow_dash=True))
@click.argument("new", metavar="[NEW]", required=False, type=click.Path(allow_dash=True))
@click.option("-o", "--out", "out_dir", type=click.Path(file_okay=False), default=None,
              help="Compare the manifest BASE with what this output directory holds (instead of NEW).")
@click.option("--format", "output_format", type=click.Choice(["text", "markdown", "json"]), default="text",
              show_default=True, help="text for people, markdown for a pull-request comment, json for programs.")
@click.option("--max-chars", type=click.IntRange(min=16_000), default=60_000, show_default=True,
              help="--format markdown: the comment never exceeds this many characters (GitHub's limit is 65,536).")
def changes(base: str, new: str | None, out_dir: str | None, output_format: str, max_chars: int) -> None:
    """Compare two manifests (BASE NEW), or a manifest with its rendered output (MANIFEST -o OUT),
    and print each change in the words of the domain, riskiest first: link services replaced or
    removed, subscriptions gaining or losing visibility or auto-approval, tenants added, moved,
    suspended or offboarded, NAT IPs, aliases, PROXY protocol, load balancer, NAT gateway, VPN and
    alert changes, and the bundles to re-send. Exit 0 when it reported (changes or none), 1 when
    an input is invalid, 2 on a usage error.

    \b
    Example:
      git show origin/main:tenants.yaml > /tmp/base.yaml
      plgen changes /tmp/base.yaml tenants.yaml
      plgen changes tenants.yaml -o out --format markdown > comment.md
    """
    from .review import output as review_output

    if (new is None) == (out_dir is None):
        raise click.UsageError("give either NEW (compare two manifests) or -o OUT (compare a manifest with its "
                               "output), " + ("not both" if new is not None else "one of them"))
    if new is not None and base == new == load.STDIN:
        raise click.UsageError("BASE and NEW cannot both be standard input")
    try:
        report = api.changes_report(base, new, Path(out_dir) if out_dir else None)
    except PlgenError as err:
        _fail(err, "json" if output_format == "json" else "text")
    except OSError as err:
        _fail(PlgenError(Problem(Location(str(err.filename or base)), f"cannot read: {_os_error_text(err)}")),
              "json" if output_format == "json" else "text")
    _emit_report(review_output, report, output_format, max_chars)


@click.command("import-pls", short_help="Write a starting manifest that adopts existing Private Link Services.")
@click.argument("show_files", metavar="SHOW.json...", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("-o", "--output", "output", type=click.Path(dir_okay=False), default=None,
              help="Write the manifest to this new file (never overwritten) instead of standard output.")
def import_pls(show_files: tuple[str, ...], output: str | None) -> None:
    """Read `az network private-link-service show` output (one service or a list per file) and
    write a manifest that adopts the services (`existing: true`: Terraform imports them, aliases
    and connections stay) with one tenant per subscription on their visibility and auto-approval
    lists or behind an approved connection, so rendering it gives today's lists exactly. Azure
    does not know everything a manifest says: each gap is a TODO.

    \b
    Example:
      az network private-link-service show -g rg-api -n pls-api-eus2 > pls-eus2.json
      plgen import-pls pls-eus2.json pls-weu.json -o tenants.yaml
      plgen render tenants.yaml -o out     # after resolving the TODOs
    """
    from . import adopt

    try:
        for path in show_files:
            load.check_input_file(path)
        if output and os.path.lexists(output):
            raise PlgenError(Problem(Location(output), "exists already; import-pls writes a new manifest and never "
                                                       "overwrites one (choose another -o)"))
        text, warnings = adopt.import_pls([Path(p) for p in show_files])
        if output:
            api.write_manifest_schema(Path(output), text)
    except PlgenError as err:
        _fail(err)
    for warning in warnings:
        click.echo(f"warning: {warning}", err=True)
    if output:
        click.echo(f"wrote {output}: resolve its TODOs, then `plgen render {output}`", err=True)
    else:
        click.echo(text, nl=False)


@click.command(short_help="Decide what to do with each private endpoint connection.")
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
        directory.check_manifest(source)
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


@click.command(short_help="Report each link service against Azure's limits.")
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
