"""The commands that write manifests: `plgen split`, `plgen join`, and `plgen tenant
add|suspend|reactivate|offboard`. Thin, like gen.cli: the work is in gen.api and gen.editing."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from . import api, load
from .cli_common import _count, _fail
from .errors import PlgenError


@click.command(short_help="Write a manifest file as a manifest directory (one file per tenant).")
@click.argument("manifest", type=click.Path(allow_dash=True))
@click.argument("target", metavar="DIR", type=click.Path(dir_okay=True))
def split(manifest: str, target: str) -> None:
    """Write MANIFEST (a file, or - for standard input) as the manifest directory DIR:
    DIR/plgen.yaml (version, service, provider) and DIR/tenants/<id>.yaml for each tenant. Each
    tenant's text is cut out as written, comments included; what is not kept is printed as a
    warning. DIR may exist but must not hold plgen.yaml or tenants/ yet.

    \b
    Example:
      plgen split tenants.yaml fleet && plgen render fleet -o out --check
    """
    try:
        converted = api.split_manifest(manifest, Path(target))
    except PlgenError as err:
        _fail(err)
    for warning in converted.warnings:
        click.echo(f"warning: {warning}", err=True)
    tenant_files = len(converted.files) - 1
    click.echo(f"wrote {target}: plgen.yaml and {_count(tenant_files, 'tenant file')} under tenants/")


@click.command(short_help="Write a manifest directory as one manifest file.")
@click.argument("source", metavar="DIR", type=click.Path())
@click.argument("target", metavar="MANIFEST", type=click.Path(allow_dash=True, dir_okay=False))
def join(source: str, target: str) -> None:
    """Write the manifest directory DIR as the manifest file MANIFEST (a new file; - prints it):
    plgen.yaml, then `tenants:` with every tenant file's tenants in path order, each as written.
    A tenant whose file is not tenants/<id>.yaml is preceded by `# plgen-file: <path>`, so that
    `plgen split` puts it back there.

    \b
    Example:
      plgen join fleet tenants.yaml
      plgen join fleet - | plgen changes base.yaml -
    """
    try:
        converted = api.join_manifest(source, target)
    except PlgenError as err:
        _fail(err)
    for warning in converted.warnings:
        click.echo(f"warning: {warning}", err=True)
    if target == load.STDIN:
        click.echo(converted.files[""], nl=False)
    else:
        click.echo(f"wrote {target}", err=True)


@click.group(short_help="Add a tenant file, or suspend, reactivate or offboard a tenant.")
def tenant() -> None:
    """Onboarding and lifecycle in one command each: `add` writes one new tenant file into a
    manifest directory; `suspend`, `reactivate` and `offboard` change one tenant's `state` in
    the file that holds it. The whole manifest is validated with the change first; no other file
    is touched.

    \b
    Example:
      plgen tenant add wonka -m fleet --display-name "Wonka Industries" --region eastus2 \\
        --subscription 8888aaaa-0000-4000-8000-00000000000b
      plgen tenant suspend initech -m fleet
    """


ADD_MANIFEST = click.option("-m", "--manifest", "manifest", default=".", show_default=True, type=click.Path(),
                            help="The manifest directory.")
MANIFEST_OPTION = click.option("-m", "--manifest", "manifest", default=".", show_default=True, type=click.Path(),
                               help="The manifest: a directory (the file holding the tenant is edited) or a file.")


@tenant.command("add", short_help="Write a new tenant file (validated with the whole manifest first).")
@click.argument("tenant_id", metavar="ID")
@ADD_MANIFEST
@click.option("--display-name", required=True, help="Free text for guides and descriptions.")
@click.option("--region", required=True, help="The provider region (location) the tenant connects to.")
@click.option("--subscription", "subscriptions", required=True, multiple=True, metavar="GUID",
              help="A subscription of the tenant (repeatable).")
@click.option("--link-service", default=None, help="Required when the region has several link services.")
@click.option("--approval", type=click.Choice(["auto", "manual"]), default=None, help="Default: manual.")
@click.option("--request-message", default=None, help="What the tenant's connection request says (<= 140 characters).")
@click.option("--endpoints", type=int, default=None, help="Private endpoints this tenant will create (capacity).")
@click.option("--expected-connections", type=int, default=None, help="Concurrent TCP connections (capacity).")
@click.option("--endpoint-location", default=None, help="Consumer side: the private endpoint's location.")
@click.option("--endpoint-resource-group", default=None, help="Consumer side: its resource group.")
@click.option("--endpoint-subnet-id", default=None, help="Consumer side: the subnet id it goes into.")
@click.option("--endpoint-private-ip", default=None, help="Consumer side: a static IP in that subnet (optional).")
@click.option("--folder", default=None, help="A folder under tenants/ (e.g. a team's), created if needed.")
def tenant_add(tenant_id: str, manifest: str, display_name: str, region: str, subscriptions: tuple[str, ...],
               link_service: str | None, approval: str | None, request_message: str | None, endpoints: int | None,
               expected_connections: int | None, endpoint_location: str | None, endpoint_resource_group: str | None,
               endpoint_subnet_id: str | None, endpoint_private_ip: str | None, folder: str | None) -> None:
    """Write tenants/ID.yaml (or tenants/FOLDER/ID.yaml) into the manifest directory, after
    validating the whole manifest with it: onboarding is one new file in the pull request.

    \b
    Example:
      plgen tenant add wonka -m fleet --display-name "Wonka Industries" --region eastus2 \\
        --link-service pls-contoso-api-eus2-2 --subscription 8888aaaa-0000-4000-8000-00000000000b \\
        --approval auto --request-message "tenant=wonka" --endpoint-location eastus \\
        --endpoint-resource-group rg-wonka --endpoint-subnet-id /subscriptions/.../subnets/snet-pe
    """
    endpoint = {"location": endpoint_location, "resource_group": endpoint_resource_group,
                "subnet_id": endpoint_subnet_id, "private_ip": endpoint_private_ip}
    given = {key: value for key, value in endpoint.items() if value is not None}
    if given and not {"location", "resource_group", "subnet_id"} <= set(given):
        raise click.UsageError("an endpoint needs --endpoint-location, --endpoint-resource-group and "
                               "--endpoint-subnet-id together")
    values = {"id": tenant_id, "display_name": display_name, "region": region, "link_service": link_service,
              "subscriptions": list(subscriptions), "approval": approval, "request_message": request_message,
              "endpoints": endpoints, "expected_connections": expected_connections, "endpoint": given or None}
    try:
        from . import editing

        target, _ = editing.add_tenant(Path(manifest), {k: v for k, v in values.items() if v is not None}, folder)
    except PlgenError as err:
        _fail(err)
    click.echo(f"wrote {target}; next: plgen render {manifest} -o out, then send its bundle "
               f"(plgen bundle {manifest} {tenant_id})")


def _state_command(name: str, state: str, doing: str) -> None:
    text = (f"Set tenant ID's `state` to {state} in the file that holds it (a tenant file, or a manifest file), "
            f"after validating the whole manifest with the change; then {doing}.\n\n\b\nExample:\n"
            f"  plgen tenant {name} acme -m fleet && plgen changes fleet -o out")

    @tenant.command(name, short_help=f"Set a tenant's state to {state} (one line of one file).", help=text)
    @click.argument("tenant_id", metavar="ID")
    @MANIFEST_OPTION
    def command(tenant_id: str, manifest: str) -> None:
        try:
            from . import editing

            written, before = editing.set_state(Path(manifest), tenant_id, state)
        except PlgenError as err:
            _fail(err)
        if written is None:
            click.echo(f"tenant {tenant_id} is {state} already; nothing written")
            sys.exit(0)
        click.echo(f"{written}: tenant {tenant_id} {before} -> {state}; next: {doing}")


_state_command("suspend", "suspended", "render to withdraw its auto-approval (it stays visible)")
_state_command("reactivate", "active", "render to restore its access lists and bundle")
_state_command("offboard", "offboarded", "render to remove its bundle and access")
