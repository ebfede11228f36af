"""Issue 13, part 1: every Terraform resource plgen writes has a recorded address and Azure
identity, and a render that moves an identity to a new address writes the moved block."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import pytest

from conftest import EXAMPLE, MINIMAL, ROOT, run_cli
from gen import api, refactor
from gen.plan import identities
from gen.verify import hcl
from gen.verify.refactoring import block_problems, import_id_pattern
from gen.verify.terraform import ParsedModule, provider_schema

DATA = ROOT / "tests" / "data"
MANIFESTS = [EXAMPLE, MINIMAL, DATA / "neighbours.yaml", DATA / "readme-user.yaml", DATA / "adopted.yaml"]


def lock_of(out: Path) -> dict:
    return json.loads((out / ".plgen-lock.json").read_text())


def render(manifest: Path, out: Path, *args) -> object:
    return run_cli("render", manifest, "-o", out, "--cache-dir", out.parent / "cache", *args)


@pytest.mark.parametrize("manifest", MANIFESTS, ids=lambda p: p.stem)
def test_every_rendered_resource_is_in_the_identity_table_at_its_address(manifest: Path, tmp_path: Path):
    out = tmp_path / "out"
    assert render(manifest, out).exit_code == 0
    recorded = refactor.units_of(lock_of(out)["identities"])
    for unit in sorted({p.parent for p in out.rglob("*.tf")}):
        module = ParsedModule.from_files({p.name: hcl.parse(p.read_text()) for p in unit.glob("*.tf")})
        declared = {f"{t}.{label}" for t, label in module.resources}
        in_lock = {address for workspace in recorded[str(unit.relative_to(out))]["workspaces"].values()
                   for address in workspace}
        assert declared == in_lock, unit


def test_each_row_names_a_known_type_and_real_forcenew_arguments():
    schema = provider_schema()["resource_schemas"]
    reference = identities.replacement_reference()
    rendered = api.render_manifest(DATA / "adopted.yaml")
    example = api.render_manifest(EXAMPLE)
    kinds_seen = set()
    for resource in identities.plan_resources(rendered.plan) + identities.plan_resources(example.plan):
        kinds_seen.add(resource.kind)
        assert resource.type in schema and resource.type in reference, resource.type
        for argument in resource.force_new:
            block = schema[resource.type]["block"]
            *parents, leaf = argument.split(".")
            for parent in parents:
                block = block["block_types"][parent]["block"]
            assert leaf in block.get("attributes", {}) or leaf in block.get("block_types", {}), (resource.type, argument)
        if resource.import_id is not None:
            assert import_id_pattern(resource.type).fullmatch(resource.import_id), resource.import_id
    assert kinds_seen == {row.kind for row in identities.ROWS}  # the test manifests exercise every row


def test_the_lock_records_identities_and_the_facts_the_guard_compares(tmp_path: Path):
    out = tmp_path / "out"
    assert render(EXAMPLE, out).exit_code == 0
    section = lock_of(out)["identities"]
    assert section["format"] == 1 and section["releases"] == ["1"] and section["offboarded"] == ["umbrella"]
    pls = section["resources"]["provider/terraform"]["azurerm_private_link_service.pls_contoso_api_eus2_1"]
    assert pls["id"] == ("/subscriptions/9f1c2c8e-0000-4000-8000-000000000001/resourceGroups/rg-contoso-api/providers/"
                         "Microsoft.Network/privateLinkServices/pls-contoso-api-eus2-1")
    assert pls["force_new"]["load_balancer_frontend_ip_configuration_ids"] == [
        "/subscriptions/9f1c2c8e-0000-4000-8000-000000000001/resourceGroups/rg-contoso-api/providers/Microsoft.Network/"
        "loadBalancers/lb-saas-eus2/frontendIPConfigurations/fe-app-1"]
    assert pls["context"]["tenants"] == 2  # acme and globex (umbrella is on the other link service)
    assert "tenants/globex/terraform" not in section["resources"]  # two sites: a workspace each
    dr = section["resources"]["tenants/globex/terraform@dr"]
    assert dr["azurerm_private_endpoint.service"]["id"].endswith("/privateEndpoints/pe-contoso-api-globex-dr")
    # most resources are recorded by their id alone
    assert dr["azurerm_private_dns_zone.service"] == ("/subscriptions/2222bbbb-0000-4000-8000-000000000004/resourceGroups/"
                                                      "rg-globex-pe-dr/providers/Microsoft.Network/privateDnsZones/"
                                                      "api.contoso-saas.com")
    # a value the manifest does not know (hooli's link service has no alias yet) is left out, not null
    hooli = section["resources"]["tenants/hooli/terraform"]["azurerm_private_endpoint.service"]
    assert "private_service_connection.private_connection_resource_alias" not in hooli["force_new"]
    assert hooli["force_new"]["ip_configuration.private_ip_address"] == "172.16.8.20"
    # nothing to move on a first render
    assert not list(out.rglob("moved.tf"))


def renamed_templates(tmp_path: Path, version: str, old: str, new: str) -> Path:
    """A template release that renames the NAT subnet's address label."""
    templates = tmp_path / f"templates-{version}"
    if not templates.exists():
        shutil.copytree(ROOT / "templates", templates)
    (templates / "VERSION").write_text(f"{version}\n")
    region = templates / "terraform" / "provider" / "region.tf.j2"
    region.write_text(region.read_text().replace(old, new))
    return templates


@pytest.fixture
def nat_subnet_label(monkeypatch):
    """Point the identity table's NAT subnet row at another label (as a release would)."""
    def use(label: str) -> None:
        rows = [dataclasses.replace(row, label=label) if row.kind == "nat_subnet" else row for row in identities.ROWS]
        monkeypatch.setattr(identities, "ROWS", tuple(rows))
    return use


def test_a_template_release_that_renames_an_address_writes_moved_blocks(tmp_path: Path, nat_subnet_label, terraform):
    out = tmp_path / "out"
    assert render(MINIMAL, out).exit_code == 0
    templates = renamed_templates(tmp_path, "2", "pls_nat_{{ region.tf_id }}", "nat_subnet_{{ region.tf_id }}")
    nat_subnet_label("nat_subnet_{region.tf_id}")
    result = render(MINIMAL, out, "--templates", templates)
    assert result.exit_code == 0, result.output
    moved = (out / "provider/terraform/moved.tf").read_text()
    assert "moved {\n  from = azurerm_subnet.pls_nat_eastus2\n  to   = azurerm_subnet.nat_subnet_eastus2\n}" in moved
    section = lock_of(out)["identities"]
    assert section["releases"] == ["1", "2"]
    assert section["moved"]["provider/terraform"] == [
        {"from": "azurerm_subnet.pls_nat_eastus2", "to": "azurerm_subnet.nat_subnet_eastus2", "since": "2"}]
    # Terraform itself accepts the block (no replacement: the state entry moves)
    from tfdouble import harness

    sandbox = harness.make_sandbox(tmp_path / "sandbox", terraform)
    unit = out / "provider" / "terraform"
    assert sandbox.run(["init", "-input=false", "-no-color"], unit).returncode == 0
    validate = sandbox.run(["validate", "-no-color"], unit)
    assert validate.returncode == 0, validate.stdout + validate.stderr
    # a render with nothing new keeps the block and changes nothing
    again = render(MINIMAL, out, "--templates", templates, "--check")
    assert again.exit_code == 0, again.output


def test_moved_blocks_are_kept_for_the_retention_window_then_dropped(tmp_path: Path, nat_subnet_label):
    out = tmp_path / "out"
    assert render(MINIMAL, out).exit_code == 0
    nat_subnet_label("nat_subnet_{region.tf_id}")
    templates = renamed_templates(tmp_path, "2", "pls_nat_{{ region.tf_id }}", "nat_subnet_{{ region.tf_id }}")
    assert render(MINIMAL, out, "--templates", templates).exit_code == 0
    for later in range(3, 3 + refactor.RETENTION):  # each later release in a directory of its own
        release = renamed_templates(tmp_path, str(later), "pls_nat_{{ region.tf_id }}", "nat_subnet_{{ region.tf_id }}")
        assert render(MINIMAL, out, "--templates", release).exit_code == 0
        assert (out / "provider/terraform/moved.tf").exists(), f"dropped too early, at release {later}"
    release = renamed_templates(tmp_path, str(3 + refactor.RETENTION), "pls_nat_{{ region.tf_id }}",
                                "nat_subnet_{{ region.tf_id }}")
    assert render(MINIMAL, out, "--templates", release).exit_code == 0
    assert not (out / "provider/terraform/moved.tf").exists()
    assert "moved" not in lock_of(out)["identities"]
    assert len(lock_of(out)["identities"]["releases"]) == refactor.RETENTION + 1


NAT_RULES = """
      load_balancer:
        name: lb-demo
        create:
          frontend_subnet: {name: snet-fe, address_prefix: 10.1.2.0/27}
          frontends: [{name: fe-1, private_ip: 10.1.2.10}, {name: fe-2, private_ip: 10.1.2.11}]
          backend_port: 8443
          probe: {protocol: Tcp, port: 8443}
          routed_frontend: {name: fe-routed, private_ip: 10.1.2.12}
          inbound_nat_rules:
RULES"""


def with_nat_rules(rules: list[str]) -> str:
    block = NAT_RULES.replace("RULES", "\n".join(
        f"            - {{name: {name}, frontend: fe-routed, frontend_port: {50000 + i}, backend_port: 22}}"
        for i, name in enumerate(rules)))
    return MINIMAL.read_text().replace("\n      load_balancer: {name: lb-demo, frontends: [fe-1, fe-2]}", block)


def test_a_manifest_edit_that_renumbers_a_resource_writes_the_moved_block(tmp_path: Path):
    manifest = tmp_path / "tenants.yaml"
    out = tmp_path / "out"
    manifest.write_text(with_nat_rules(["aaa-ssh", "bbb-ssh"]))
    assert render(manifest, out).exit_code == 0
    manifest.write_text(with_nat_rules(["bbb-ssh"]))  # bbb-ssh was eastus2_nat_2, is now eastus2_nat_1
    result = render(manifest, out)
    assert result.exit_code == 0, result.output
    moved = (out / "provider/terraform/moved.tf").read_text()
    assert "from = azurerm_lb_nat_rule.eastus2_nat_2\n  to   = azurerm_lb_nat_rule.eastus2_nat_1" in moved
    assert moved.count("moved {") == 1


def test_a_move_terraform_cannot_express_is_reported_not_written(tmp_path: Path):
    manifest = tmp_path / "tenants.yaml"
    out = tmp_path / "out"
    manifest.write_text(with_nat_rules(["bbb-ssh"]))
    assert render(manifest, out).exit_code == 0
    manifest.write_text(with_nat_rules(["aaa-ssh", "bbb-ssh"]))  # bbb-ssh moves to _nat_2; aaa-ssh takes _nat_1
    result = render(manifest, out)
    assert result.exit_code == 0, result.output
    assert "cannot move azurerm_lb_nat_rule.eastus2_nat_1 here" in result.stderr
    assert not (out / "provider/terraform/moved.tf").exists()


def test_a_lock_without_identities_is_read_and_said_once(tmp_path: Path):
    out = tmp_path / "out"
    assert render(MINIMAL, out).exit_code == 0
    lock = lock_of(out)
    del lock["identities"]
    (out / ".plgen-lock.json").write_text(json.dumps(lock, indent=2, sort_keys=True) + "\n")
    first = render(MINIMAL, out, "--force", "--no-cache")
    assert first.exit_code == 0, first.output
    assert first.stderr.count("records no resource identities") == 1
    assert "identities" in lock_of(out)
    second = render(MINIMAL, out, "--no-cache")
    assert "records no resource identities" not in second.stderr


def test_only_keeps_the_identities_of_the_tenants_it_does_not_render(tmp_path: Path):
    out = tmp_path / "out"
    assert render(EXAMPLE, out).exit_code == 0
    before = lock_of(out)["identities"]
    assert render(EXAMPLE, out, "--only", "acme").exit_code == 0
    assert lock_of(out)["identities"] == before


def test_block_checks_name_what_terraform_would_refuse():
    module = ParsedModule.from_files({
        "main.tf": hcl.parse('resource "azurerm_subnet" "a" {\n  name = "x"\n}\nresource "azurerm_subnet" "b" {\n  name = "y"\n}\n'),
        "moved.tf": hcl.parse("moved {\n  from = azurerm_subnet.a\n  to = azurerm_subnet.c\n}\n"
                              "moved {\n  from = azurerm_subnet.old\n  to = azurerm_lb.b\n}\n"),
        "imports.tf": hcl.parse('import {\n  to = azurerm_subnet.b\n  id = "/subscriptions/s/resourceGroups/g/x"\n}\n'
                                'import {\n  to = azurerm_subnet.b\n  id = "/subscriptions/s/resourceGroups/g/providers/'
                                'Microsoft.Network/virtualNetworks/v/subnets/${var.name}"\n}\n'),
    })
    problems = "\n".join(block_problems(module))
    assert "azurerm_subnet.a -> azurerm_subnet.c: no resource is declared at the target" in problems
    assert "azurerm_subnet.a -> azurerm_subnet.c: the source is still declared" in problems
    assert "a move cannot change the resource type" in problems
    assert "is not in azurerm_subnet's import format" in problems
    assert "imported twice" in problems
    assert "undeclared variable var.name" in problems
    assert 'declare required_version ">= 1.6"' in problems


def test_a_consumer_module_rename_moves_every_tenant_whether_its_values_are_known_or_not(tmp_path: Path, monkeypatch):
    out = tmp_path / "out"
    assert render(MINIMAL, out).exit_code == 0  # alpha's endpoint values are known, beta's are the customer's
    templates = tmp_path / "templates-2"
    shutil.copytree(ROOT / "templates", templates)
    (templates / "VERSION").write_text("2\n")
    for name in ("main.tf.j2", "outputs.tf.j2"):
        path = templates / "terraform" / "consumer" / name
        path.write_text(path.read_text().replace('azurerm_private_endpoint" "service"', 'azurerm_private_endpoint" "this"')
                        .replace("azurerm_private_endpoint.service", "azurerm_private_endpoint.this"))
    rows = [dataclasses.replace(row, label="this") if row.kind == "private_endpoint" else row for row in identities.ROWS]
    monkeypatch.setattr(identities, "ROWS", tuple(rows))
    result = render(MINIMAL, out, "--templates", templates)
    assert result.exit_code == 0, result.output
    for tenant in ("alpha", "beta"):
        moved = (out / "tenants" / tenant / "terraform" / "moved.tf").read_text()
        assert "from = azurerm_private_endpoint.service\n  to   = azurerm_private_endpoint.this" in moved, tenant
    assert not (out / "provider/terraform/moved.tf").exists()
    # beta's endpoint has no known id: its kind identifies it in its workspace
    beta = lock_of(out)["identities"]["resources"]["tenants/beta/terraform"]["azurerm_private_endpoint.this"]
    assert beta["id"] is None and beta["kind"] == "private_endpoint"
