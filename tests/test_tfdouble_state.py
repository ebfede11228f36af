"""Real Terraform core over the azurerm double with a fake cloud behind it: apply, refresh,
moved blocks, ForceNew replacement, in-place updates, import blocks and destroy.

The double (tests/tfdouble) writes every object it creates to a JSON cloud file
(TFDOUBLE_CLOUD), reads it back on refresh, imports from it and deletes from it; ForceNew
paths come from schemas/reference/azurerm-replacement.json. These tests check what Terraform
itself reports (`terraform plan -json`, `terraform show -json` of a saved plan) and what the
cloud holds afterwards, for small hand-written configurations and for plgen's own provider
output of the example manifest.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tfdouble import cloud, cty, harness

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "tenants.yaml"
SUB = "00000000-0000-4000-8000-000000000001"
RG_ID = f"/subscriptions/{SUB}/resourceGroups/rg-x/providers/Microsoft.Network"
ALIAS = re.compile(r"^(?P<name>[^.]+)\.[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\."
                   r"(?P<location>[a-z0-9]+)\.azure\.privatelinkservice$")

_MISSING = harness.missing_modules()
pytestmark = pytest.mark.skipif(bool(_MISSING), reason=(
    f"the azurerm double needs Python modules that do not import: {', '.join(_MISSING)} "
    "(install the test extra: pip install -e '.[test]')"))

VERSIONS_TF = f"""terraform {{
  required_providers {{
    azurerm = {{
      source  = "hashicorp/azurerm"
      version = ">= 4.62, < 5.0"
    }}
  }}
}}

provider "azurerm" {{
  features {{}}
  subscription_id = "{SUB}"
}}
"""

# A public IP, a subnet, an internal load balancer with two frontends and a Private Link
# Service on one of them: every resource references another's computed id.
MAIN_TF = """resource "azurerm_public_ip" "pip" {
  name                = "pip-x"
  location            = "eastus2"
  resource_group_name = "rg-x"
  allocation_method   = "Static"
  sku                 = "Standard"
  %(pip_extra)s
}

resource "azurerm_subnet" "nat" {
  name                                          = "snet-nat"
  resource_group_name                           = "rg-x"
  virtual_network_name                          = "vnet-x"
  address_prefixes                              = ["10.1.0.0/24"]
  private_link_service_network_policies_enabled = false
}

resource "azurerm_lb" "lb" {
  name                = "lb-x"
  location            = "eastus2"
  resource_group_name = "rg-x"
  sku                 = "Standard"

  frontend_ip_configuration {
    name      = "fe-1"
    subnet_id = azurerm_subnet.nat.id
  }

  frontend_ip_configuration {
    name      = "fe-2"
    subnet_id = azurerm_subnet.nat.id
  }
}

resource "azurerm_private_link_service" "%(pls_address)s" {
  name                                        = "%(pls_name)s"
  location                                    = "eastus2"
  resource_group_name                         = "rg-x"
  load_balancer_frontend_ip_configuration_ids = [azurerm_lb.lb.frontend_ip_configuration[%(frontend)d].id]
  visibility_subscription_ids                 = [%(visibility)s]

  nat_ip_configuration {
    name      = "nat-ip-1"
    subnet_id = azurerm_subnet.nat.id
    primary   = true
  }
}

output "alias" {
  value = azurerm_private_link_service.%(pls_address)s.alias
}
"""

BASE = {"pip_extra": "", "pls_address": "pls", "pls_name": "pls-x", "frontend": 0,
        "visibility": '"11111111-0000-4000-8000-000000000001"'}


def main_tf(**changes) -> str:
    return MAIN_TF % {**BASE, **changes}


# ---------------------------------------------------------------- working directories


class Workspace:
    """A Terraform working directory with its own cloud file."""

    def __init__(self, sandbox: harness.Sandbox, directory: Path, cloud_file: Path, extra_env: dict | None = None):
        self.sandbox, self.directory, self.cloud = sandbox, directory, cloud_file
        self.env = {"TFDOUBLE_CLOUD": str(cloud_file), **(extra_env or {})}

    def run(self, *args: str) -> subprocess.CompletedProcess:
        return self.sandbox.run(list(args), self.directory, self.env)

    def write(self, name: str, text: str) -> None:
        (self.directory / name).write_text(text, encoding="utf-8")

    def apply(self, expect_ok: bool = True) -> list[dict]:
        result = self.run("apply", "-auto-approve", "-input=false", "-json")
        messages = harness.json_lines(result.stdout)
        if expect_ok:
            assert result.returncode == 0 and not errors(messages), describe(result, messages)
        return messages

    def plan(self, *extra: str) -> tuple[subprocess.CompletedProcess, list[dict]]:
        result = self.run("plan", "-input=false", "-json", *extra)
        return result, harness.json_lines(result.stdout)

    def saved_plan(self) -> tuple[list[dict], dict]:
        """(streamed plan messages, `terraform show -json` of the saved plan)."""
        result, messages = self.plan("-out=tfplan")
        assert result.returncode == 0 and not errors(messages), describe(result, messages)
        shown = self.run("show", "-json", "tfplan")
        assert shown.returncode == 0, shown.stderr
        return messages, json.loads(shown.stdout)

    def objects(self, type_name: str | None = None) -> list[dict]:
        return harness.cloud_objects(self.cloud, type_name)


def errors(messages: list[dict]) -> list[dict]:
    return [d for d in harness.diagnostics(messages) if d["severity"] == "error"]


def describe(result: subprocess.CompletedProcess, messages: list[dict]) -> str:
    return (f"rc {result.returncode if result else '?'}\n" + harness.describe(harness.diagnostics(messages))
            + (f"\n{result.stderr[-2000:]}" if result is not None and result.stderr else ""))


def summary(messages: list[dict], operation: str = "plan") -> dict:
    found = [m["changes"] for m in messages if m.get("type") == "change_summary"
             and m["changes"].get("operation") == operation]
    assert found, f"no {operation} change_summary in {[m.get('type') for m in messages]}"
    return {k: v for k, v in found[-1].items() if k != "operation"}


def resource_changes(shown: dict) -> dict[str, dict]:
    return {rc["address"]: rc for rc in shown.get("resource_changes", [])}


def no_change_plan(workspace: Workspace) -> None:
    result, messages = workspace.plan("-detailed-exitcode")
    planned = [m["change"] for m in messages if m.get("type") == "planned_change"]
    assert result.returncode == 0, f"expected no changes (exit 0), got:\n{planned}\n{describe(result, messages)}"
    assert summary(messages) == {"add": 0, "change": 0, "import": 0, "remove": 0} and not planned


@pytest.fixture(scope="module")
def sandbox(terraform: str, tmp_path_factory) -> harness.Sandbox:
    return harness.make_sandbox(tmp_path_factory.mktemp("tfdouble-state"), terraform, cloud=True)


@pytest.fixture(scope="module")
def initialized(sandbox: harness.Sandbox, tmp_path_factory) -> Path:
    """One `terraform init` for every hand-written configuration (same versions.tf)."""
    directory = tmp_path_factory.mktemp("init")
    (directory / "versions.tf").write_text(VERSIONS_TF, encoding="utf-8")
    result = sandbox.run(["init", "-input=false", "-no-color"], directory)
    assert result.returncode == 0, result.stdout + result.stderr
    return directory


def new_workspace(sandbox: harness.Sandbox, initialized: Path, directory: Path) -> Workspace:
    directory.mkdir(parents=True)
    shutil.copy2(initialized / "versions.tf", directory / "versions.tf")
    harness.copy_init(initialized, directory)
    cloud_file = directory.parent / f"{directory.name}-cloud.json"
    cloud_file.write_text("{}\n", encoding="utf-8")
    return Workspace(sandbox, directory, cloud_file)


@pytest.fixture(scope="module")
def applied(sandbox: harness.Sandbox, initialized: Path, tmp_path_factory) -> tuple[Workspace, list[dict]]:
    """MAIN_TF applied once; tests start from copies of its directory, state and cloud."""
    workspace = new_workspace(sandbox, initialized, tmp_path_factory.mktemp("applied") / "w")
    workspace.write("main.tf", main_tf())
    return workspace, workspace.apply()


@pytest.fixture
def deployed(applied: tuple[Workspace, list[dict]], tmp_path: Path) -> Workspace:
    """A private copy of the applied configuration: its own state and its own cloud."""
    source = applied[0]
    directory = tmp_path / "w"
    shutil.copytree(source.directory, directory, symlinks=True)
    cloud_file = tmp_path / "cloud.json"
    shutil.copy2(source.cloud, cloud_file)
    return Workspace(source.sandbox, directory, cloud_file)


# ---------------------------------------------------------------- apply, refresh, destroy


def test_apply_writes_azure_objects_and_a_second_plan_has_no_changes(applied: tuple[Workspace, list[dict]]):
    workspace, messages = applied
    assert summary(messages, "apply") == {"add": 4, "change": 0, "import": 0, "remove": 0}
    objects = harness.read_cloud(workspace.cloud)
    assert sorted(e["type"] for e in objects.values()) == [
        "azurerm_lb", "azurerm_private_link_service", "azurerm_public_ip", "azurerm_subnet"]
    assert all(key == entry["attributes"]["id"].lower() for key, entry in objects.items())

    # Ids in the provider's import id format, nested ids below their parent, references resolved.
    lb, = workspace.objects("azurerm_lb")
    pls, = workspace.objects("azurerm_private_link_service")
    subnet, = workspace.objects("azurerm_subnet")
    assert lb["id"] == f"{RG_ID}/loadBalancers/lb-x"
    assert subnet["id"] == f"{RG_ID}/virtualNetworks/vnet-x/subnets/snet-nat"
    assert [f["id"] for f in lb["frontend_ip_configuration"]] == [
        f"{RG_ID}/loadBalancers/lb-x/frontendIPConfigurations/fe-1",
        f"{RG_ID}/loadBalancers/lb-x/frontendIPConfigurations/fe-2"]
    assert pls["id"] == f"{RG_ID}/privateLinkServices/pls-x"
    assert pls["load_balancer_frontend_ip_configuration_ids"] == [lb["frontend_ip_configuration"][0]["id"]]
    assert pls["nat_ip_configuration"][0]["subnet_id"] == subnet["id"]
    match = ALIAS.match(pls["alias"])
    assert match and match.group("name") == "pls-x" and match.group("location") == "eastus2", pls["alias"]
    outputs = [m["outputs"] for m in messages if m.get("type") == "outputs" and "value" in m["outputs"]["alias"]]
    assert outputs and outputs[-1]["alias"]["value"] == pls["alias"]

    no_change_plan(workspace)


def test_object_deleted_outside_terraform_is_planned_again(deployed: Workspace):
    pip, = deployed.objects("azurerm_public_ip")
    cloud.change(lambda objects: objects.pop(cloud.key("azurerm_public_ip", pip["id"])), deployed.cloud)
    result, messages = deployed.plan()
    assert result.returncode == 0, describe(result, messages)
    drift = [m["change"] for m in messages if m.get("type") == "resource_drift"]
    planned = {m["change"]["resource"]["addr"]: m["change"]["action"] for m in messages
               if m.get("type") == "planned_change"}
    assert [(d["resource"]["addr"], d["action"]) for d in drift] == [("azurerm_public_ip.pip", "delete")]
    assert planned == {"azurerm_public_ip.pip": "create"}
    assert summary(messages) == {"add": 1, "change": 0, "import": 0, "remove": 0}


def test_removing_a_resource_from_the_configuration_destroys_it(deployed: Workspace):
    pls, = deployed.objects("azurerm_private_link_service")
    deployed.write("main.tf", main_tf().split('resource "azurerm_private_link_service"')[0])
    messages = deployed.apply()
    assert summary(messages, "apply") == {"add": 0, "change": 0, "import": 0, "remove": 1}
    assert deployed.objects("azurerm_private_link_service") == []
    assert pls["id"].lower() not in harness.read_cloud(deployed.cloud)
    assert len(deployed.objects()) == 3
    no_change_plan(deployed)


# ---------------------------------------------------------------- moved, replace, update


def test_renamed_address_with_moved_block_moves_without_destroying(deployed: Workspace):
    before = harness.read_cloud(deployed.cloud)
    deployed.write("main.tf", main_tf(pls_address="pls_eastus2"))
    deployed.write("moved.tf", "moved {\n  from = azurerm_private_link_service.pls\n"
                               "  to   = azurerm_private_link_service.pls_eastus2\n}\n")
    messages, shown = deployed.saved_plan()
    assert summary(messages) == {"add": 0, "change": 0, "import": 0, "remove": 0}
    moves = [m["change"] for m in messages if m.get("type") == "planned_change"]
    assert [(c["action"], c["previous_resource"]["addr"], c["resource"]["addr"]) for c in moves] == [
        ("move", "azurerm_private_link_service.pls", "azurerm_private_link_service.pls_eastus2")]
    changes = resource_changes(shown)
    moved = changes["azurerm_private_link_service.pls_eastus2"]
    assert moved["previous_address"] == "azurerm_private_link_service.pls"
    assert moved["change"]["actions"] == ["no-op"]
    assert "azurerm_private_link_service.pls" not in changes
    assert all(rc["change"]["actions"] == ["no-op"] for rc in changes.values())

    messages = deployed.apply()
    assert summary(messages, "apply") == {"add": 0, "change": 0, "import": 0, "remove": 0}
    assert harness.read_cloud(deployed.cloud) == before  # the same Azure objects, nothing recreated
    state = json.loads(deployed.run("show", "-json").stdout)
    assert [r["address"] for r in state["values"]["root_module"]["resources"]
            if r["type"] == "azurerm_private_link_service"] == ["azurerm_private_link_service.pls_eastus2"]


# The same Private Link Service with a ForceNew argument changed (azurerm-replacement.json lists
# name and load_balancer_frontend_ip_configuration_ids for it).
FORCE_NEW = {
    "name": ({"pls_name": "pls-y"}, ["name"], "pls-y"),
    "frontend_ids": ({"frontend": 1}, ["load_balancer_frontend_ip_configuration_ids"], "pls-x"),
}


@pytest.mark.parametrize("case", sorted(FORCE_NEW))
def test_force_new_argument_change_replaces(case: str, deployed: Workspace):
    changes, path, new_name = FORCE_NEW[case]
    old, = deployed.objects("azurerm_private_link_service")
    lb, = deployed.objects("azurerm_lb")
    deployed.write("main.tf", main_tf(**changes, pip_extra='tags = { owner = "platform" }'))
    messages, shown = deployed.saved_plan()
    assert summary(messages) == {"add": 1, "change": 1, "import": 0, "remove": 1}
    rc = resource_changes(shown)
    pls = rc["azurerm_private_link_service.pls"]
    assert pls["change"]["actions"] == ["delete", "create"]
    assert pls["action_reason"] == "replace_because_cannot_update"
    assert pls["change"]["replace_paths"] == [path, ["id"]]  # SDKv2 adds "id" to every replacement
    assert pls["change"]["after_unknown"].get("alias") is True and pls["change"]["after_unknown"].get("id") is True
    # Tags are not ForceNew: the public IP is updated in place in the same plan.
    assert rc["azurerm_public_ip.pip"]["change"]["actions"] == ["update"]
    assert "replace_paths" not in rc["azurerm_public_ip.pip"]["change"]
    assert rc["azurerm_lb.lb"]["change"]["actions"] == ["no-op"]

    deployed.apply()
    new, = deployed.objects("azurerm_private_link_service")
    assert new["name"] == new_name
    assert new["load_balancer_frontend_ip_configuration_ids"] == [
        lb["frontend_ip_configuration"][FORCE_NEW[case][0].get("frontend", 0)]["id"]]
    if case == "name":
        assert old["id"].lower() not in harness.read_cloud(deployed.cloud)
        assert new["id"] == f"{RG_ID}/privateLinkServices/pls-y" and new["alias"] != old["alias"]
    no_change_plan(deployed)


def test_non_force_new_argument_change_updates_in_place(deployed: Workspace):
    old, = deployed.objects("azurerm_private_link_service")
    visibility = '"11111111-0000-4000-8000-000000000001", "22222222-0000-4000-8000-000000000002"'
    deployed.write("main.tf", main_tf(visibility=visibility))
    messages, shown = deployed.saved_plan()
    assert summary(messages) == {"add": 0, "change": 1, "import": 0, "remove": 0}
    pls = resource_changes(shown)["azurerm_private_link_service.pls"]
    assert pls["change"]["actions"] == ["update"] and "replace_paths" not in pls["change"]
    # Computed attributes keep their values in an update plan (no "known after apply").
    assert pls["change"]["after"]["alias"] == old["alias"] and pls["change"]["after"]["id"] == old["id"]
    assert not any(pls["change"]["after_unknown"].values())

    deployed.apply()
    new, = deployed.objects("azurerm_private_link_service")
    assert sorted(new["visibility_subscription_ids"]) == ["11111111-0000-4000-8000-000000000001",
                                                          "22222222-0000-4000-8000-000000000002"]
    assert (new["id"], new["alias"]) == (old["id"], old["alias"])  # the same object, not a new one


# ---------------------------------------------------------------- import


PIP_TF = """resource "azurerm_public_ip" "existing" {
  name                = "pip-existing"
  location            = "eastus2"
  resource_group_name = "rg-x"
  allocation_method   = "Static"
  sku                 = "Standard"
  zones               = ["1", "2", "3"]
}
"""
PIP_ID = f"{RG_ID}/publicIPAddresses/pip-existing"


def import_tf(resource_id: str) -> str:
    return f'import {{\n  to = azurerm_public_ip.existing\n  id = "{resource_id}"\n}}\n'


def test_import_block_adopts_an_object_that_exists_in_the_cloud(sandbox, initialized, tmp_path: Path):
    workspace = new_workspace(sandbox, initialized, tmp_path / "w")
    seeded = harness.seed_cloud(workspace.cloud, "azurerm_public_ip", {
        "name": "pip-existing", "location": "eastus2", "resource_group_name": "rg-x", "allocation_method": "Static",
        "sku": "Standard", "zones": ["1", "2", "3"]}, SUB)
    assert seeded["id"] == PIP_ID and seeded["ip_address"]
    workspace.write("main.tf", PIP_TF)

    # Without the import block the provider's create finds the object and refuses.
    messages = workspace.apply(expect_ok=False)
    assert [d["summary"] for d in errors(messages)] == [
        f'A resource with the ID "{PIP_ID}" already exists - to be managed via Terraform this resource needs to be '
        f'imported into the State. Please see the resource documentation for "azurerm_public_ip" for more '
        f'information.']

    workspace.write("import.tf", import_tf(PIP_ID))
    messages, shown = workspace.saved_plan()
    assert summary(messages) == {"add": 0, "change": 0, "import": 1, "remove": 0}
    planned = [m["change"] for m in messages if m.get("type") == "planned_change"]
    assert [(c["resource"]["addr"], c["action"], c["importing"]) for c in planned] == [
        ("azurerm_public_ip.existing", "import", {"id": PIP_ID})]
    rc = resource_changes(shown)["azurerm_public_ip.existing"]
    assert rc["change"]["actions"] == ["no-op"] and rc["change"]["importing"] == {"id": PIP_ID}
    assert rc["change"]["after"]["ip_address"] == seeded["ip_address"]

    messages = workspace.apply()
    assert summary(messages, "apply") == {"add": 0, "change": 0, "import": 1, "remove": 0}
    assert workspace.objects() == [seeded]  # adopted, not recreated
    (workspace.directory / "import.tf").unlink()
    no_change_plan(workspace)


IMPORT_ERRORS = {
    # case: (import id, error summary (regex), detail (regex) or None)
    "absent": (PIP_ID.replace("pip-existing", "pip-absent"), r"^Cannot import non-existent remote object$",
               r'While attempting to import an existing object to "azurerm_public_ip\.existing", the provider '
               r"detected that no object exists with the given id"),
    "other_type": (PIP_ID.replace("publicIPAddresses", "privateLinkServices"),
                   r'^parsing segment "publicIPAddresses": parsing the PublicIPAddress ID: the segment at position 6 '
                   r"didn't match\n(.|\n)*\(which should be the literal value \"publicIPAddresses\"\)", None),
    "not_an_id": ("pip-existing", r"^parsing the PublicIPAddress ID: the number of segments didn't match", None),
}


@pytest.mark.parametrize("case", sorted(IMPORT_ERRORS))
def test_import_block_that_names_no_importable_object_fails(case: str, sandbox, initialized, tmp_path: Path):
    import_id, summary_pattern, detail_pattern = IMPORT_ERRORS[case]
    workspace = new_workspace(sandbox, initialized, tmp_path / "w")
    harness.seed_cloud(workspace.cloud, "azurerm_public_ip", {  # the object exists, under its own id
        "name": "pip-existing", "location": "eastus2", "resource_group_name": "rg-x", "allocation_method": "Static",
        "sku": "Standard", "zones": ["1", "2", "3"]}, SUB)
    workspace.write("main.tf", PIP_TF)
    workspace.write("import.tf", import_tf(import_id))
    result, messages = workspace.plan()
    found = errors(messages)
    assert result.returncode != 0 and len(found) == 1, describe(result, messages)
    assert re.search(summary_pattern, found[0]["summary"]), found[0]["summary"]
    if detail_pattern:
        assert re.search(detail_pattern, found[0]["detail"]), found[0]["detail"]
    assert not any(m.get("type") == "planned_change" for m in messages)


# ---------------------------------------------------------------- plgen's own output


def test_plgen_provider_output_applies_and_replans_without_changes(sandbox: harness.Sandbox, tmp_path: Path):
    out = tmp_path / "out"
    rendered = subprocess.run([sys.executable, "-m", "gen.cli", "render", str(EXAMPLE), "-o", str(out), "--no-cache"],
                              cwd=ROOT, capture_output=True, text=True, timeout=300,
                              env={**os.environ, "XDG_CACHE_HOME": str(tmp_path / "xdg")})
    assert rendered.returncode == 0, rendered.stdout + rendered.stderr
    unit = out / "provider" / "terraform"
    fixtures = tmp_path / "fixtures.json"
    fixtures.write_text(json.dumps(harness.fixtures_from_manifest(EXAMPLE)), encoding="utf-8")
    var_args = [f"-var={name}={harness.CUSTOMER_PLACEHOLDERS[name]}" for name in harness.missing_inputs(unit)]
    workspace = Workspace(sandbox, unit, tmp_path / "cloud.json", {"TFDOUBLE_FIXTURES": str(fixtures)})
    workspace.cloud.write_text("{}\n", encoding="utf-8")
    result = workspace.run("init", "-input=false", "-no-color")
    assert result.returncode == 0, result.stdout + result.stderr

    declared, _ = harness.declared_blocks(unit)
    result = workspace.run("apply", "-auto-approve", "-input=false", "-json", *var_args)
    messages = harness.json_lines(result.stdout)
    assert result.returncode == 0 and not errors(messages), describe(result, messages)
    assert summary(messages, "apply") == {"add": len(declared), "change": 0, "import": 0, "remove": 0}
    objects = harness.read_cloud(workspace.cloud)
    assert len(objects) == len(declared)
    assert {f"{e['type']}" for e in objects.values()} == {a.split(".")[0] for a in declared}

    outputs = [m["outputs"] for m in messages if m.get("type") == "outputs"][-1]
    aliases = outputs["private_link_service_aliases"]["value"]
    services = {o["name"]: o for o in harness.cloud_objects(workspace.cloud, "azurerm_private_link_service")}
    assert set(aliases) == set(services) and len(aliases) >= 2
    for name, alias in aliases.items():
        match = ALIAS.match(alias)
        assert match and match.group("name") == name and match.group("location") == services[name]["location"]
        assert services[name]["alias"] == alias
    assert outputs["private_link_service_ids"]["value"] == {n: s["id"] for n, s in services.items()}

    result, messages = workspace.plan("-detailed-exitcode", *var_args)
    assert result.returncode == 0, describe(result, messages) + "\n" + json.dumps(
        [m["change"] for m in messages if m.get("type") in ("planned_change", "resource_drift")], indent=1)[:4000]
    assert summary(messages) == {"add": 0, "change": 0, "import": 0, "remove": 0}

    # A template release renaming an address, with its moved block: nothing is destroyed.
    old = next(a for a in sorted(declared) if a.startswith("azurerm_private_link_service."))
    new = old + "_renamed"
    old_name = old.split(".", 1)[1]
    for path in unit.glob("*.tf"):
        text = path.read_text(encoding="utf-8")
        text = re.sub(rf'("azurerm_private_link_service" "){old_name}"', rf'\g<1>{old_name}_renamed"', text)
        path.write_text(text.replace(f"{old}.", f"{new}."), encoding="utf-8")
    (unit / "moved.tf").write_text(f"moved {{\n  from = {old}\n  to   = {new}\n}}\n", encoding="utf-8")
    result, messages = workspace.plan(*var_args)
    assert result.returncode == 0 and not errors(messages), describe(result, messages)
    assert summary(messages) == {"add": 0, "change": 0, "import": 0, "remove": 0}
    assert [(m["change"]["action"], m["change"]["previous_resource"]["addr"]) for m in messages
            if m.get("type") == "planned_change"] == [("move", old)]


# ---------------------------------------------------------------- the double's rules, in process


PARENT_IDS = {
    "loadbalancer_id": f"{RG_ID}/loadBalancers/lb-parent",
    "nat_gateway_id": f"{RG_ID}/natGateways/ng-parent",
    "public_ip_address_id": f"{RG_ID}/publicIPAddresses/pip-parent",
    "public_ip_prefix_id": f"{RG_ID}/publicIPPrefixes/ippre-parent",
    "subnet_id": f"{RG_ID}/virtualNetworks/vnet-parent/subnets/snet-parent",
    "network_interface_id": f"{RG_ID}/networkInterfaces/nic-parent",
    "backend_address_pool_id": f"{RG_ID}/loadBalancers/lb-parent/backendAddressPools/pool-parent",
    "private_endpoint_id": f"{RG_ID}/privateEndpoints/pe-parent",
    "application_security_group_id": f"{RG_ID}/applicationSecurityGroups/asg-parent",
    "network_security_group_id": f"{RG_ID}/networkSecurityGroups/nsg-parent",
}


def _required_arguments(block: dict) -> dict:
    arguments = {}
    for name, attr in block.get("attributes", {}).items():
        if not attr.get("required"):
            continue
        kind = attr["type"] if isinstance(attr["type"], str) else attr["type"][0]
        if name in PARENT_IDS:
            arguments[name] = PARENT_IDS[name]
        elif name == "resource_group_name":
            arguments[name] = "rg-x"
        else:
            arguments[name] = {"string": f"{name.replace('_', '-')}-1", "number": 1, "bool": False,
                               "list": ["a"], "set": ["a"], "map": {}}[kind]
    return arguments


def test_every_resource_type_gets_an_id_its_importer_accepts():
    """Ids built at apply time parse with the type's import id format (so `import {}` of an
    object the double created works) and name the object's own parents and name."""
    from tfdouble import schema

    problems = []
    for type_name, entry in sorted(schema.provider_schemas()["resource_schemas"].items()):
        arguments = _required_arguments(entry["block"])
        attributes = harness.cloud_object(type_name, arguments, SUB)
        try:
            bindings = cloud.parse_import_id(type_name, attributes["id"])
        except cloud.ImportIdError as error:
            problems.append(f"{type_name}: {attributes['id']}: {str(error)[:200]}")
            continue
        if "name" in arguments and bindings.get("name") != arguments["name"]:
            problems.append(f"{type_name}: {attributes['id']} does not end in its name {arguments['name']}")
        unfilled = sorted(k for k, v in bindings.items() if v == k)
        if unfilled:
            problems.append(f"{type_name}: {attributes['id']} lacks values for {unfilled}")
        parents = [v for k, v in arguments.items() if k in PARENT_IDS and type_name != "azurerm_private_endpoint"]
        if parents and not any(part.startswith(p) for p in parents for part in attributes["id"].split("|")):
            problems.append(f"{type_name}: {attributes['id']} is below none of its parents {parents}")
    assert not problems, "\n".join(problems)


def test_conditional_replacements_cover_the_reference():
    """planning.FORCE_NEW_IF transcribes exactly the types whose force_new_if is not empty."""
    from tfdouble import planning, schema

    listed = {t for t, e in schema.replacement_rules()["resources"].items() if e.get("force_new_if")}
    assert set(planning.FORCE_NEW_IF) == listed


def _replace(type_name: str, prior_arguments: dict, planned_arguments: dict) -> list:
    from tfdouble import planning, schema

    ty = schema.resource_type(type_name)
    block = schema.resource_schema(type_name)["block"]
    prior = cty.from_json(harness.cloud_object(type_name, prior_arguments, SUB), ty)
    planned = cty.from_json({**prior, **{k: v for k, v in planned_arguments.items() if v is not cty.UNKNOWN}}, ty)
    planned.update({k: v for k, v in planned_arguments.items() if v is cty.UNKNOWN})
    return [[step[1] for step in path] for path in planning.requires_replace(type_name, block, prior, planned, None)]


ENDPOINT_ARGUMENTS = {
    "name": "pe-x", "location": "eastus2", "resource_group_name": "rg-x", "subnet_id": PARENT_IDS["subnet_id"],
    "private_service_connection": [{"name": "psc", "is_manual_connection": True, "request_message": "hi",
                                    "private_connection_resource_alias": "pls.00000000-0000-4000-8000-0000000000aa."
                                                                         "eastus2.azure.privatelinkservice"}]}
PIP_ARGUMENTS = {"name": "pip-x", "location": "eastus2", "resource_group_name": "rg-x",
                 "allocation_method": "Static", "sku": "Standard", "zones": ["1", "2"]}
LB_ARGUMENTS = {"name": "lb-x", "location": "eastus2", "resource_group_name": "rg-x", "sku": "Standard",
                "frontend_ip_configuration": [{"name": "fe", "subnet_id": PARENT_IDS["subnet_id"], "zones": ["1"]}]}

REPLACEMENTS = {
    # case: (type, prior arguments, changed values, expected replace paths)
    "top_level": ("azurerm_public_ip", PIP_ARGUMENTS, {"sku_tier": "Global"}, [["sku_tier"]]),
    "set_order_is_no_change": ("azurerm_public_ip", PIP_ARGUMENTS, {"zones": ["2", "1"]}, []),
    "null_is_zero": ("azurerm_public_ip", PIP_ARGUMENTS, {"ip_tags": {}}, []),
    "not_force_new": ("azurerm_public_ip", PIP_ARGUMENTS, {"tags": {"a": "b"}, "idle_timeout_in_minutes": 9}, []),
    "unknown_force_new": ("azurerm_public_ip", PIP_ARGUMENTS, {"name": cty.UNKNOWN}, [["name"]]),
    "nested_list_attribute": (
        "azurerm_private_endpoint", ENDPOINT_ARGUMENTS,
        {"private_service_connection": [{**ENDPOINT_ARGUMENTS["private_service_connection"][0], "name": "psc-2"}]},
        [["private_service_connection", 0, "name"]]),
    "nested_not_force_new": (
        "azurerm_private_endpoint", ENDPOINT_ARGUMENTS,
        {"private_service_connection": [{**ENDPOINT_ARGUMENTS["private_service_connection"][0],
                                         "request_message": "hello"}]}, []),
    "block_force_new_is_its_count": (
        "azurerm_private_dns_zone", {"name": "example.com", "resource_group_name": "rg-x"},
        {"soa_record": [{"email": "a.example.com"}]}, [["soa_record"]]),
    "force_new_if_lb_zones": (
        "azurerm_lb", LB_ARGUMENTS,
        {"frontend_ip_configuration": [{**LB_ARGUMENTS["frontend_ip_configuration"][0], "zones": ["1", "2", "3"]}]},
        [["frontend_ip_configuration", 0, "zones"]]),
    "force_new_if_lb_no_frontend": ("azurerm_lb", LB_ARGUMENTS, {"frontend_ip_configuration": []},
                                    [["frontend_ip_configuration"]]),
    "force_new_if_label_scope_first_set": ("azurerm_public_ip", PIP_ARGUMENTS,
                                           {"domain_name_label_scope": "TenantReuse"}, []),
    "force_new_if_label_scope_changed": (
        "azurerm_public_ip", {**PIP_ARGUMENTS, "domain_name_label_scope": "TenantReuse"},
        {"domain_name_label_scope": "NoReuse"}, [["domain_name_label_scope"]]),
}


@pytest.mark.parametrize("case", sorted(REPLACEMENTS))
def test_requires_replace_follows_sdkv2(case: str):
    type_name, prior, changes, expected = REPLACEMENTS[case]
    assert _replace(type_name, prior, changes) == expected
