"""Issue 13, part 4: moved blocks, the replacement guard and import blocks, proven with real
Terraform against state.

Real `terraform` 1.11 runs over the azurerm double (tests/tfdouble) with its fake cloud: an
apply writes Azure objects to a JSON file, a refresh reads them back, an import parses the id
and reads the cloud, and a plan marks azurerm's ForceNew arguments as requiring replacement.

1. Release A (the example manifest, built-in templates) is applied: the provider module and
   tenant acme's consumer module. Release B (a template release that renames the link services'
   and the private endpoint's addresses) is rendered into the same output directory, so plgen
   reads A's lock and writes moved.tf. Terraform, planning B against A's state, only moves:
   nothing to add, change or destroy; applying it leaves the cloud as it was.
2. A manifest edit that changes a ForceNew argument (a link service's frontend; a tenant
   endpoint's subnet) is refused by `plgen render` (exit 1, nothing written). The control: the
   same edit rendered with --allow-replace into a copy makes Terraform plan exactly that
   replacement, with the ForceNew argument in replace_paths. plgen stops before Terraform
   would replace. The other direction: edits plgen lets through make Terraform replace nothing
   the guard watches, including a frontend inserted before a link service's frontend on a load
   balancer plgen creates (its id is formed by name, not taken by position).
3. An adoption manifest (tests/data/adopted.yaml), whose existing resources are in the cloud at
   the ids the import blocks name: Terraform plans an import for each adopted resource and
   creates exactly the resources the manifest does not adopt.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import EXAMPLE, ROOT, run_cli, tree
from gen.plan import identities
from gen.verify import hcl
from tfdouble import cloud, harness

ADOPTED = ROOT / "tests" / "data" / "adopted.yaml"
PROVIDER = "provider/terraform"
ACME = "tenants/acme/terraform"

_MISSING = harness.missing_modules()
pytestmark = pytest.mark.skipif(bool(_MISSING), reason=(
    f"the azurerm double needs Python modules that do not import: {', '.join(_MISSING)} "
    "(install the test extra: pip install -e '.[test]')"))


# ---------------------------------------------------------------- Terraform in a module directory


@dataclasses.dataclass
class Unit:
    """A rendered Terraform module directory, planned and applied against one cloud file."""

    sandbox: harness.Sandbox
    directory: Path
    cloud: Path
    fixtures: Path | None = None
    var_args: tuple[str, ...] = ()

    def run(self, *args: str) -> subprocess.CompletedProcess:
        env = {"TFDOUBLE_CLOUD": str(self.cloud)}
        if self.fixtures is not None:
            env["TFDOUBLE_FIXTURES"] = str(self.fixtures)
        return self.sandbox.run(list(args), self.directory, env)

    def init(self) -> None:
        result = self.run("init", "-input=false", "-no-color")
        assert result.returncode == 0, f"terraform init in {self.directory}:\n{result.stdout}\n{result.stderr}"

    def apply(self) -> list[dict]:
        result = self.run("apply", "-auto-approve", "-input=false", "-json", *self.var_args)
        messages = harness.json_lines(result.stdout)
        assert result.returncode == 0 and not errors(messages), describe(result, messages)
        return messages

    def plan(self, *extra: str) -> tuple[subprocess.CompletedProcess, list[dict]]:
        result = self.run("plan", "-input=false", "-json", *self.var_args, *extra)
        return result, harness.json_lines(result.stdout)

    def saved_plan(self, name: str = "tfplan") -> tuple[list[dict], dict]:
        """(streamed plan messages, `terraform show -json` of the saved plan)."""
        result, messages = self.plan(f"-out={name}")
        assert result.returncode == 0 and not errors(messages), describe(result, messages)
        shown = self.run("show", "-json", name)
        assert shown.returncode == 0, shown.stderr
        (self.directory / name).unlink()
        return messages, json.loads(shown.stdout)

    def state_addresses(self) -> list[str]:
        """The managed resources in the state."""
        result = self.run("state", "list")
        assert result.returncode == 0, result.stderr
        return sorted(a for a in result.stdout.split() if not a.startswith("data."))


def errors(messages: list[dict]) -> list[dict]:
    return [d for d in harness.diagnostics(messages) if d["severity"] == "error"]


def describe(result: subprocess.CompletedProcess, messages: list[dict]) -> str:
    return (f"rc {result.returncode}\n" + harness.describe(harness.diagnostics(messages))
            + (f"\n{result.stderr[-2000:]}" if result.stderr else ""))


def summary(messages: list[dict], operation: str = "plan") -> dict:
    found = [m["changes"] for m in messages if m.get("type") == "change_summary"
             and m["changes"].get("operation") == operation]
    assert found, f"no {operation} change_summary in {[m.get('type') for m in messages]}"
    return {k: v for k, v in found[-1].items() if k != "operation"}


def planned(messages: list[dict]) -> dict[str, dict]:
    """address -> the planned_change message's change."""
    return {m["change"]["resource"]["addr"]: m["change"] for m in messages if m.get("type") == "planned_change"}


def resource_changes(shown: dict) -> dict[str, dict]:
    return {rc["address"]: rc for rc in shown.get("resource_changes", [])}


def render(manifest: Path, out: Path, cache: Path, *args) -> object:
    return run_cli("render", manifest, "-o", out, "--cache-dir", cache, *args)


def write_fixtures(manifest: Path, path: Path) -> Path:
    path.write_text(json.dumps(harness.fixtures_from_manifest(manifest), indent=1), encoding="utf-8")
    return path


def placeholder_args(unit: Path, var_file: Path | None = None) -> tuple[str, ...]:
    return tuple(f"-var={name}={harness.CUSTOMER_PLACEHOLDERS[name]}" for name in harness.missing_inputs(unit, var_file))


def state_digest(unit: Path) -> str:
    return hashlib.sha256((unit / "terraform.tfstate").read_bytes()).hexdigest()


def error_lines(result) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("error: ")]


@pytest.fixture(scope="module")
def sandbox(terraform: str, tmp_path_factory) -> harness.Sandbox:
    return harness.make_sandbox(tmp_path_factory.mktemp("tfdouble-refactor"), terraform, cloud=True)


# ---------------------------------------------------------------- release A, applied


@dataclasses.dataclass
class Deployment:
    """An output directory whose provider module and acme's consumer module are applied."""

    root: Path
    manifest: Path
    out: Path
    cloud: Path
    fixtures: Path

    def unit(self, sandbox: harness.Sandbox, name: str) -> Unit:
        directory = self.out / name
        return Unit(sandbox, directory, self.cloud, self.fixtures, placeholder_args(directory))

    def copy(self, target: Path) -> "Deployment":
        """The same output directory, states and cloud under `target` (an independent world)."""
        target.mkdir(parents=True)
        shutil.copytree(self.out, target / "out", symlinks=True)
        shutil.copy2(self.cloud, target / "cloud.json")
        shutil.copy2(self.manifest, target / "tenants.yaml")
        return Deployment(target, target / "tenants.yaml", target / "out", target / "cloud.json",
                          write_fixtures(target / "tenants.yaml", target / "fixtures.json"))


@pytest.fixture(scope="module")
def release_a(sandbox: harness.Sandbox, tmp_path_factory) -> Deployment:
    """The example manifest rendered with the built-in templates (release 1) and applied:
    the provider module, then acme's consumer module, into one cloud."""
    root = tmp_path_factory.mktemp("release-a") / "live"
    root.mkdir()
    manifest = root / "tenants.yaml"
    shutil.copy2(EXAMPLE, manifest)
    deployment = Deployment(root, manifest, root / "out", root / "cloud.json",
                            write_fixtures(manifest, root / "fixtures.json"))
    deployment.cloud.write_text("{}\n", encoding="utf-8")
    result = render(manifest, deployment.out, root / "cache")
    assert result.exit_code == 0, result.output
    assert json.loads((deployment.out / ".plgen-lock.json").read_text())["identities"]["releases"] == ["1"]
    for name in (PROVIDER, ACME):
        unit = deployment.unit(sandbox, name)
        unit.init()
        declared, _ = harness.declared_blocks(unit.directory)
        messages = unit.apply()
        assert summary(messages, "apply") == {"add": len(declared), "change": 0, "import": 0, "remove": 0}, name
        assert unit.state_addresses() == sorted(declared)
    return deployment


@pytest.fixture(scope="module")
def snapshot_a(release_a: Deployment, tmp_path_factory) -> Deployment:
    """Release A as applied, copied before release B is rendered over it."""
    return release_a.copy(tmp_path_factory.mktemp("release-a-snapshot") / "live")


# ---------------------------------------------------------------- 1. a template release that renames


PLS_LABEL, ENDPOINT_LABEL = "{ls.tf_id}_svc", "this"


def release_b_templates(target: Path) -> Path:
    """Release 2 of the templates: the link services' address labels get a `_svc` suffix
    (provider module), the private endpoint's label `service` becomes `this` (consumer module)."""
    shutil.copytree(ROOT / "templates", target)
    (target / "VERSION").write_text("2\n", encoding="utf-8")
    renames = {
        "provider": [('"azurerm_private_link_service" "{{ ls.tf_id }}"',
                      '"azurerm_private_link_service" "{{ ls.tf_id }}_svc"'),
                     ("azurerm_private_link_service.{{ ls.tf_id }}.", "azurerm_private_link_service.{{ ls.tf_id }}_svc.")],
        "consumer": [('"azurerm_private_endpoint" "service"', '"azurerm_private_endpoint" "this"'),
                     ("azurerm_private_endpoint.service.", "azurerm_private_endpoint.this.")],
    }
    for module, pairs in renames.items():
        changed = 0
        for path in sorted((target / "terraform" / module).glob("*.tf.j2")):
            text = original = path.read_text(encoding="utf-8")
            for old, new in pairs:
                text = text.replace(old, new)
            if text != original:
                path.write_text(text, encoding="utf-8")
                changed += 1
        assert changed, f"the rename found nothing to rename in templates/terraform/{module}"
    return target


def release_b_rows() -> tuple:
    """The identity table of the same release (a release that renames an address changes the
    table's label with the template: plgen verifies that templates and table agree)."""
    labels = {"private_link_service": PLS_LABEL, "private_endpoint": ENDPOINT_LABEL}
    return tuple(dataclasses.replace(row, label=labels[row.kind]) if row.kind in labels else row
                 for row in identities.ROWS)


@pytest.fixture(scope="module")
def release_b(release_a: Deployment, snapshot_a: Deployment, tmp_path_factory) -> Path:
    """Release 2 rendered into release A's output directory (A's lock, A's Terraform states)."""
    templates = release_b_templates(tmp_path_factory.mktemp("templates") / "templates-2")
    states = {name: state_digest(release_a.out / name) for name in (PROVIDER, ACME)}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(identities, "ROWS", release_b_rows())
        result = render(release_a.manifest, release_a.out, release_a.root / "cache", "--templates", templates)
    assert result.exit_code == 0, result.output
    # the Terraform states and working directories in out/ are the operator's: a render keeps them
    assert {name: state_digest(release_a.out / name) for name in states} == states
    assert all((release_a.out / name / ".terraform").is_dir() for name in states)
    return templates


def moved_blocks(path: Path) -> list[tuple[str, str]]:
    parsed = hcl.parse(path.read_text(encoding="utf-8"))
    return [(hcl.expression_body(b["from"]).strip(), hcl.expression_body(b["to"]).strip())
            for b in parsed.get("moved", [])]


def test_template_release_renaming_addresses_only_moves_state(release_a: Deployment, release_b: Path,
                                                              sandbox: harness.Sandbox):
    out = release_a.out
    lock = json.loads((out / ".plgen-lock.json").read_text())["identities"]
    assert lock["releases"] == ["1", "2"]
    services = ["pls_contoso_api_eus2_1", "pls_contoso_api_eus2_2", "pls_contoso_api_weu_1"]
    expected_moves = {
        PROVIDER: [(f"azurerm_private_link_service.{s}", f"azurerm_private_link_service.{s}_svc") for s in services],
        ACME: [("azurerm_private_endpoint.service", "azurerm_private_endpoint.this")],
    }
    for name, moves in expected_moves.items():
        assert moved_blocks(out / name / "moved.tf") == moves, name
        assert [(m["from"], m["to"], m["since"]) for m in lock["moved"][name]] == [(a, b, "2") for a, b in moves]

    before = harness.read_cloud(release_a.cloud)
    for name, moves in expected_moves.items():
        unit = release_a.unit(sandbox, name)
        declared, _ = harness.declared_blocks(unit.directory)

        # The control: without its moved.tf, Terraform would destroy each renamed resource and
        # create a new one (new link services, new aliases; a new endpoint, a new connection).
        moved = unit.directory / "moved.tf"
        aside = release_a.root / f"{name.replace('/', '-')}-moved.tf"
        moved.rename(aside)
        try:
            messages, _ = unit.saved_plan()
        finally:
            aside.rename(moved)
        actions = {a: c["action"] for a, c in planned(messages).items() if c["action"] in ("create", "delete")}
        assert actions == {**{old: "delete" for old, _ in moves}, **{new: "create" for _, new in moves}}, name
        assert (summary(messages)["add"], summary(messages)["remove"]) == (len(moves), len(moves)), name

        messages, shown = unit.saved_plan()
        # Terraform moves each renamed resource in its state, and does nothing else
        assert summary(messages) == {"add": 0, "change": 0, "import": 0, "remove": 0}, name
        changes = planned(messages)
        assert {a: (c["action"], c.get("previous_resource", {}).get("addr")) for a, c in changes.items()} == {
            new: ("move", old) for old, new in moves}, name
        rc = resource_changes(shown)
        assert set(rc) == declared, name  # the old addresses are gone from the plan
        for old, new in moves:
            assert rc[new]["previous_address"] == old and rc[new]["change"]["actions"] == ["no-op"], rc[new]
        not_noop = {a: c["change"]["actions"] for a, c in rc.items() if c["change"]["actions"] != ["no-op"]}
        assert not not_noop, f"{name}: {not_noop}"
        assert all("previous_address" not in rc[a] for a in declared - {new for _, new in moves}), name

        # applying it changes no Azure object: the same link services, the same aliases
        messages = unit.apply()
        assert summary(messages, "apply") == {"add": 0, "change": 0, "import": 0, "remove": 0}, name
        assert harness.read_cloud(release_a.cloud) == before, name
        assert unit.state_addresses() == sorted(declared), name
        result, messages = unit.plan("-detailed-exitcode")
        assert result.returncode == 0, describe(result, messages) + json.dumps(list(planned(messages).values()))[:3000]

    aliases = {o["name"]: o["alias"] for o in harness.cloud_objects(release_a.cloud, "azurerm_private_link_service")}
    assert len(aliases) == 3 and all(alias.startswith(f"{n}.") for n, alias in aliases.items())


# ---------------------------------------------------------------- 2. the guard stops a ForceNew change


FORCE_NEW_CASES = {
    # case: (unit, manifest edits, --allow-replace name, replaced address, ForceNew argument,
    #        the refusal (regex), the other changes Terraform plans with the replacement,
    #        the computed attribute that comes back unknown: what the refusal says is lost)
    "link_service_frontend": (
        PROVIDER,
        [("        frontends: [fe-app-1, fe-app-2]\n", "        frontends: [fe-app-1, fe-app-2, fe-app-3]\n"),
         ("          frontend: fe-app-1\n", "          frontend: fe-app-3\n")],
        "pls-contoso-api-eus2-1", "azurerm_private_link_service.pls_contoso_api_eus2_1",
        "load_balancer_frontend_ip_configuration_ids",
        r"provider/terraform: link service azurerm_private_link_service\.pls_contoso_api_eus2_1 "
        r"\(pls-contoso-api-eus2-1\) would be replaced \(load_balancer_frontend_ip_configuration_ids "
        r"\[/subscriptions/[^]]*/frontendIPConfigurations/fe-app-1\] -> \[/subscriptions/[^]]*/frontendIPConfigurations/"
        r"fe-app-3\]\): alias changes; 2 tenants must reconnect",
        # the NAT port alert watches the service by its id, which a new service changes
        {"azurerm_monitor_metric_alert.nat_ports_pls_contoso_api_eus2_1": ["update"]},
        "alias"),
    "tenant_endpoint_subnet": (
        ACME,
        [("vnet-acme/subnets/snet-pe\n", "vnet-acme/subnets/snet-pe-2\n")],
        "pe-contoso-api-acme", "azurerm_private_endpoint.service", "subnet_id",
        r"tenants/acme/terraform: private endpoint azurerm_private_endpoint\.service \(pe-contoso-api-acme\) would be "
        r"replaced \(subnet_id /subscriptions/\S*/subnets/snet-pe -> /subscriptions/\S*/subnets/snet-pe-2\): "
        r"tenant acme's endpoint is deleted with its connection and created again: the new connection has a new "
        r"LinkID and is approved again automatically \(auto-approval\);",
        # the DNS record holds the endpoint's address
        {"azurerm_private_dns_a_record.service": ["update"]},
        "network_interface"),
}


def edit(manifest: Path, edits: list[tuple[str, str]]) -> None:
    text = manifest.read_text(encoding="utf-8")
    for old, new in edits:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    manifest.write_text(text, encoding="utf-8")


@pytest.mark.parametrize("case", sorted(FORCE_NEW_CASES))
def test_guard_refuses_what_terraform_would_replace(case: str, snapshot_a: Deployment, sandbox: harness.Sandbox,
                                                    tmp_path: Path):
    unit_name, edits, allow, address, argument, message, other_changes, lost = FORCE_NEW_CASES[case]
    live = snapshot_a.copy(tmp_path / "live")
    edit(live.manifest, edits)
    write_fixtures(live.manifest, live.fixtures)

    # (a) plgen refuses: exit 1, one located line naming the argument and what it costs; nothing written
    before = tree(live.out)
    refused = render(live.manifest, live.out, tmp_path / "cache")
    assert refused.exit_code == 1, refused.output
    [line] = error_lines(refused)
    assert re.search(rf"tenants\.yaml:\d+:\d+: .*{message}", line), line
    assert line.endswith(f"if intended, re-run with --allow-replace {allow}"), line
    assert tree(live.out) == before

    # Before the edit Terraform plans nothing for this module: what follows is the edit's doing.
    unit = live.unit(sandbox, unit_name)
    result, messages = unit.plan("-detailed-exitcode")
    assert result.returncode == 0, describe(result, messages)

    # (b) the control: the same render, allowed, into a copy; Terraform replaces the resource
    allowed = live.copy(tmp_path / "allowed")
    result = render(allowed.manifest, allowed.out, tmp_path / "cache-allowed", "--allow-replace", allow)
    assert result.exit_code == 0, result.output
    assert f"allowed by --allow-replace {allow}" in result.stderr
    unit = allowed.unit(sandbox, unit_name)
    messages, shown = unit.saved_plan()
    rc = resource_changes(shown)
    replaced = rc[address]
    assert replaced["change"]["actions"] == ["delete", "create"], replaced["change"]["actions"]
    assert replaced["action_reason"] == "replace_because_cannot_update"
    assert replaced["change"]["replace_paths"] == [[argument], ["id"]]  # SDKv2 adds "id" to every replacement
    assert replaced["change"]["after_unknown"].get(lost) is True  # a new object: Azure gives it a new one
    # nothing else is replaced or destroyed: only what refers to the new object is updated
    others = {a: c["change"]["actions"] for a, c in rc.items() if a != address and c["change"]["actions"] != ["no-op"]}
    assert others == other_changes
    assert summary(messages) == {"add": 1, "change": len(other_changes), "import": 0, "remove": 1}


# The other direction: a render plgen lets through must not make Terraform replace or destroy
# what the guard watches. Each case: (manifest edits, the changes Terraform plans: address ->
# actions, everything else no-op, and a refusal that would be right too (regex), or None).
GUARDED_TYPES = {"azurerm_private_link_service", "azurerm_private_endpoint", "azurerm_public_ip", "azurerm_subnet",
                 "azurerm_virtual_network_gateway"}
LET_THROUGH_CASES = {
    "subscription_added": (
        [("    subscriptions: [1111aaaa-0000-4000-8000-000000000002]\n",
          "    subscriptions: [1111aaaa-0000-4000-8000-000000000002, 1111aaaa-0000-4000-8000-00000000000b]\n")],
        {"azurerm_private_link_service.pls_contoso_api_eus2_1": ["update"]}, None),
    "nat_gateway_idle_timeout": (
        [("        idle_timeout_minutes: 10\n", "        idle_timeout_minutes: 15\n")],
        {"azurerm_nat_gateway.westeurope": ["update"]}, None),
    # A frontend inserted before the one a link service uses, on a load balancer plgen creates.
    # The provider plans a changed list element's computed id from the prior element at that
    # index (SDKv2 keeps prior computed values): a link service that took its frontend's id by
    # position was replaced (pointed at fe-routed's id) until the id was formed by name.
    "frontend_inserted_before": pytest.param(
        [("            - {name: fe-app, private_ip: 10.60.2.10}\n",
          "            - {name: fe-app-0, private_ip: 10.60.2.9}\n            - {name: fe-app, private_ip: 10.60.2.10}\n")],
        {"azurerm_lb.westeurope": ["update"]},
        r"link service azurerm_private_link_service\.pls_contoso_api_weu_1 \(pls-contoso-api-weu-1\) would be replaced"),
}


@pytest.mark.parametrize("edits, expected, refusal", LET_THROUGH_CASES.values(), ids=LET_THROUGH_CASES.keys())
def test_what_plgen_lets_through_replaces_nothing_guarded(edits, expected, refusal, snapshot_a: Deployment,
                                                          sandbox: harness.Sandbox, tmp_path: Path):
    live = snapshot_a.copy(tmp_path / "live")
    edit(live.manifest, edits)
    write_fixtures(live.manifest, live.fixtures)
    result = render(live.manifest, live.out, tmp_path / "cache")
    if refusal is not None and result.exit_code == 1:  # the guard saw it coming: right too
        assert any(re.search(refusal, line) for line in error_lines(result)), result.stderr
        return
    assert result.exit_code == 0, result.output
    assert "would be replaced" not in result.stderr and "would be destroyed" not in result.stderr
    messages, shown = live.unit(sandbox, PROVIDER).saved_plan()
    changes = {a: rc["change"]["actions"] for a, rc in resource_changes(shown).items()
               if rc["change"]["actions"] != ["no-op"]}
    replaced = {a: (actions, resource_changes(shown)[a]["change"].get("replace_paths"))
                for a, actions in changes.items() if "delete" in actions and a.split(".")[0] in GUARDED_TYPES}
    assert not replaced, f"plgen rendered this without a word, and Terraform plans: {replaced}"
    assert changes == expected


# ---------------------------------------------------------------- 3. adoption


def import_blocks(path: Path) -> dict[str, str]:
    parsed = hcl.parse(path.read_text(encoding="utf-8"))
    return {hcl.expression_body(b["to"]).strip(): b["id"] for b in parsed.get("import", [])}


# What adopted.yaml does not adopt, so the first plan creates it: two link services without
# `existing` and westeurope's NAT subnet. Everything else in the provider module is imported.
CREATED_BY_PLAN = {"azurerm_private_link_service.pls_demo_2", "azurerm_private_link_service.pls_weu_1",
                   "azurerm_subnet.pls_nat_westeurope"}
ALIAS = "pls-demo-1.11111111-2222-4333-8444-555555555555.eastus2.azure.privatelinkservice"
# The tenants' endpoints as they exist in Azure, written from adopted.yaml (their own names, the
# alias they connect to), not from plgen's output.
EXISTING_ENDPOINTS = {
    "alpha": (None, "11111111-0000-4000-8000-000000000001", {
        "name": "alpha-pe", "location": "eastus", "resource_group_name": "rg-alpha",
        "subnet_id": "/subscriptions/11111111-0000-4000-8000-000000000001/resourceGroups/rg/providers/"
                     "Microsoft.Network/virtualNetworks/vnet-a/subnets/s",
        "private_service_connection": [{"name": "alpha-pe-conn", "is_manual_connection": True,
                                        "private_connection_resource_alias": ALIAS,
                                        "request_message": "tenant=alpha"}]}),
    "beta": ("prod", "22222222-0000-4000-8000-000000000002", {
        "name": "beta-pe-prod", "location": "eastus2", "resource_group_name": "rg-beta",
        "subnet_id": "/subscriptions/22222222-0000-4000-8000-000000000002/resourceGroups/rg/providers/"
                     "Microsoft.Network/virtualNetworks/vnet-b/subnets/s",
        "private_service_connection": [{"name": "beta-prod", "is_manual_connection": True,
                                        "private_connection_resource_alias": ALIAS,
                                        "request_message": "tenant=beta"}]}),
}
CONSUMER_CREATED = {"azurerm_private_dns_zone.service", "azurerm_private_dns_zone_virtual_network_link.service",
                    "azurerm_private_dns_a_record.service"}


@pytest.fixture(scope="module")
def adopted_out(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("adopted")
    result = render(ADOPTED, root / "out", root / "cache")
    assert result.exit_code == 0, result.output
    return root / "out"


def assert_plan_imports(unit: Unit, imports: dict[str, str], created: set[str]) -> dict:
    """The first plan against the seeded cloud: an import, with no change, for every import
    block; a create for exactly `created`; nothing else."""
    messages, shown = unit.saved_plan()
    assert summary(messages) == {"add": len(created), "change": 0, "import": len(imports), "remove": 0}
    actions = {address: change["action"] for address, change in planned(messages).items()}
    assert actions == {**{a: "import" for a in imports}, **{a: "create" for a in created}}
    rc = resource_changes(shown)
    for address, import_id in imports.items():
        assert rc[address]["change"]["importing"] == {"id": import_id}, address
        assert rc[address]["change"]["actions"] == ["no-op"], (address, rc[address]["change"])
    return rc


def test_adopted_provider_resources_are_imported_not_created(adopted_out: Path, sandbox: harness.Sandbox,
                                                             tmp_path: Path):
    unit_dir = adopted_out / PROVIDER
    imports = {a: hcl.decode_string(raw) for a, raw in import_blocks(unit_dir / "imports.tf").items()}
    declared, _ = harness.declared_blocks(unit_dir)
    assert set(imports) | CREATED_BY_PLAN == declared and not set(imports) & CREATED_BY_PLAN
    fixtures = write_fixtures(ADOPTED, tmp_path / "fixtures.json")

    # The existing objects: made by applying the same configuration without its import blocks
    # into a scratch cloud (as if built before plgen); the objects at the import blocks' ids,
    # and only those, are then put into the cloud the adopting plan sees.
    scratch = Unit(sandbox, tmp_path / "scratch", tmp_path / "scratch-cloud.json", fixtures,
                   placeholder_args(unit_dir))
    shutil.copytree(unit_dir, scratch.directory)
    (scratch.directory / "imports.tf").unlink()
    scratch.cloud.write_text("{}\n", encoding="utf-8")
    scratch.init()
    scratch.apply()
    made = harness.read_cloud(scratch.cloud)
    unit = Unit(sandbox, unit_dir, tmp_path / "cloud.json", fixtures, placeholder_args(unit_dir))
    unit.cloud.write_text("{}\n", encoding="utf-8")
    existing = {}
    for address, import_id in sorted(imports.items()):
        key = cloud.key(address.split(".")[0], import_id)
        assert key in made, f"{address}: the configuration makes no object at the import id {import_id}"
        assert made[key]["attributes"]["id"] == import_id, address  # the same id, to the letter
        existing[key] = made[key]
    cloud.change(lambda objects: objects.update(existing), unit.cloud)
    seeded = {address: existing[cloud.key(address.split(".")[0], import_id)]["attributes"]
              for address, import_id in imports.items()}
    assert len(harness.read_cloud(unit.cloud)) == len(imports) == 18

    harness.copy_init(scratch.directory, unit_dir)
    rc = assert_plan_imports(unit, imports, CREATED_BY_PLAN)
    # the created link service on the adopted load balancer uses the imported frontend
    lb = seeded["azurerm_lb.westeurope"]
    assert rc["azurerm_private_link_service.pls_weu_1"]["change"]["after"][
        "load_balancer_frontend_ip_configuration_ids"] == [lb["frontend_ip_configuration"][0]["id"]]

    # applied: the adopted objects stay as they were (same ids, same addresses, not recreated)
    messages = unit.apply()
    assert summary(messages, "apply") == {"add": len(CREATED_BY_PLAN), "change": 0, "import": len(imports), "remove": 0}
    after = harness.read_cloud(unit.cloud)
    for address, attributes in seeded.items():
        assert after[cloud.key(address.split(".")[0], attributes["id"])]["attributes"] == attributes, address
    assert unit.state_addresses() == sorted(declared)
    result, messages = unit.plan("-detailed-exitcode")  # the import blocks may stay: nothing more to do
    assert result.returncode == 0, describe(result, messages)


def test_adopted_tenant_endpoints_are_imported_not_created(adopted_out: Path, sandbox: harness.Sandbox,
                                                           tmp_path: Path):
    first = None
    for tenant, (workspace, subscription, arguments) in EXISTING_ENDPOINTS.items():
        unit_dir = adopted_out / "tenants" / tenant / "terraform"
        unit = Unit(sandbox, unit_dir, tmp_path / f"{tenant}-cloud.json")
        unit.cloud.write_text("{}\n", encoding="utf-8")
        seeded = harness.seed_cloud(unit.cloud, "azurerm_private_endpoint", arguments, subscription)
        if first is None:
            unit.init()
            first = unit_dir
        else:
            harness.copy_init(first, unit_dir)
        if workspace is not None:  # an endpoint site: its own workspace, its id from the site's values
            result = unit.run("workspace", "new", "-no-color", workspace)
            assert result.returncode == 0, result.stdout + result.stderr
            unit.var_args = (f"-var-file=sites/{workspace}.tfvars.json",)
            [raw] = import_blocks(unit_dir / "imports.tf").values()
            assert "${var.endpoint_name}" in raw  # not a literal: each workspace imports its own
        else:
            [raw] = import_blocks(unit_dir / "imports.tf").values()
            assert hcl.decode_string(raw) == seeded["id"]
        rc = assert_plan_imports(unit, {"azurerm_private_endpoint.service": seeded["id"]}, CONSUMER_CREATED)
        assert set(rc) == {"azurerm_private_endpoint.service"} | CONSUMER_CREATED
