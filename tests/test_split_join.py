"""Issue 16: `plgen split` / `plgen join` convert between a manifest file and a manifest
directory without losing values or comments (and say what they cannot keep); `plgen tenant
add|suspend|reactivate|offboard` change one file, after validating the whole manifest."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from conftest import EXAMPLE, MINIMAL, ROOT, run_cli, tree
from gen import directory, load

FLEET = ROOT / "examples" / "fleet"


def by_id(data: dict) -> tuple:
    return {k: v for k, v in data.items() if k != "tenants"}, sorted(data.get("tenants", []), key=lambda t: t["id"])


def split(manifest: Path, target: Path):
    result = run_cli("split", manifest, target)
    assert result.exit_code == 0, result.output
    return result


def join(source: Path, target: Path):
    result = run_cli("join", source, target)
    assert result.exit_code == 0, result.output
    return result


def in_a_copy_of_the_repository(tmp_path: Path) -> Path:
    """examples/ and schemas/ side by side under tmp_path, so the `$schema=` lines point at the
    same files from converted copies as from the originals."""
    (tmp_path / "schemas").mkdir()
    shutil.copytree(FLEET, tmp_path / "examples" / "fleet")
    shutil.copy(EXAMPLE, tmp_path / "examples" / "tenants.yaml")
    return tmp_path / "examples"


# --- split and join -----------------------------------------------------------------------------

def test_split_writes_one_file_per_tenant_named_after_it_with_its_comments(tmp_path: Path):
    examples = in_a_copy_of_the_repository(tmp_path)
    result = split(examples / "tenants.yaml", examples / "split")
    assert result.stdout == f"wrote {examples / 'split'}: plgen.yaml and 7 tenant files under tenants/\n"
    assert result.stderr == ""  # nothing lost: no warning
    files = tree(examples / "split")
    assert sorted(files) == ["plgen.yaml"] + [f"tenants/{t}.yaml" for t in
                                              ("acme", "globex", "hooli", "initech", "stark", "umbrella", "wayne")]
    globex = files["tenants/globex.yaml"].decode()
    assert globex.startswith("# yaml-language-server: $schema=../../../schemas/tenant.schema.json\nid: globex\n")
    assert "endpoint_sites:               # one private endpoint per virtual network (capacity counts 2)\n  - name: prod\n" in globex
    provider = files["plgen.yaml"].decode()
    assert provider.startswith("# yaml-language-server: $schema=../../schemas/provider.schema.json\n")
    assert "      load_balancer:                 # created by plgen: the \"double NAT\" setup\n" in provider
    assert "tenants" not in load.load_text(provider, "p").data
    assert by_id(directory.load_manifest(examples / "split").data) == by_id(load.load_file(EXAMPLE).data)


def test_a_directory_comes_back_file_for_file_and_its_joined_file_too(tmp_path: Path):
    examples = in_a_copy_of_the_repository(tmp_path)
    join(examples / "fleet", examples / "joined.yaml")
    joined = (examples / "joined.yaml").read_text()
    assert joined.startswith("# yaml-language-server: $schema=../schemas/manifest.schema.json\n")
    assert joined.count("# yaml-language-server:") == 1  # the tenant files' lines go (split writes them again)
    # files that are not tenants/<id>.yaml are named, so that split puts their tenants back
    assert [line.strip() for line in joined.splitlines() if "plgen-file" in line] == [
        "# plgen-file: tenants/emea/hooli.yaml", "# plgen-file: tenants/emea/partners.yaml",
        "# plgen-file: tenants/emea/stark.yaml"]
    assert "  # Partners of the EMEA team that connect site-to-site: several tenants in one file (a list).\n  - id: wayne\n" \
        in joined
    assert by_id(load.load_file(examples / "joined.yaml").data) == by_id(load.load_file(EXAMPLE).data)
    split(examples / "joined.yaml", examples / "again")
    assert tree(examples / "again") == tree(examples / "fleet")
    join(examples / "again", examples / "joined-again.yaml")
    assert (examples / "joined-again.yaml").read_bytes() == (examples / "joined.yaml").read_bytes()


def test_a_manifest_in_path_order_comes_back_byte_for_byte(tmp_path: Path):
    examples = in_a_copy_of_the_repository(tmp_path)
    split(examples / "tenants.yaml", examples / "flat")
    join(examples / "flat", examples / "sorted.yaml")  # the example's tenants, by id
    split(examples / "sorted.yaml", examples / "flat-again")
    assert tree(examples / "flat-again") == tree(examples / "flat")
    join(examples / "flat-again", examples / "sorted-again.yaml")
    assert (examples / "sorted-again.yaml").read_bytes() == (examples / "sorted.yaml").read_bytes()
    original = EXAMPLE.read_text()
    assert sorted(original.split("\n  - id: ")[1:]) == sorted((examples / "sorted.yaml").read_text().split("\n  - id: ")[1:])
    assert original.split("tenants:\n")[0] == (examples / "sorted.yaml").read_text().split("tenants:\n")[0]


def test_what_split_cannot_keep_is_said(tmp_path: Path):
    text = MINIMAL.read_text().replace("tenants:\n", "tenants:   # our customers\n").replace("  - id: beta", "\n  - id: beta")
    manifest = tmp_path / "m.yaml"
    manifest.write_text(text)
    result = split(manifest, tmp_path / "a")
    assert result.stderr.splitlines() == [
        f"warning: the comment on the `tenants:` line ({manifest}:21) is not kept",
        "warning: blank lines between tenants are not kept"]
    flow = tmp_path / "flow.yaml"
    tenants = load.load_file(MINIMAL).data["tenants"]
    flow.write_text(MINIMAL.read_text().split("tenants:\n")[0] + "tenants: " + json.dumps(tenants) + "\n")
    result = split(flow, tmp_path / "b")
    assert result.stderr == ("warning: `tenants` is written in flow style: its tenants are written by the YAML library, "
                             "without comments\n")
    assert (tmp_path / "b" / "tenants" / "alpha.yaml").read_text().startswith("id: alpha\ndisplay_name: Alpha\n")
    assert by_id(directory.load_manifest(tmp_path / "b").data) == by_id(load.load_file(flow).data)


def test_split_and_join_refuse_to_overwrite_or_to_convert_what_is_invalid(tmp_path: Path):
    fleet = tmp_path / "fleet"
    split(MINIMAL, fleet)
    before = tree(fleet)
    again = run_cli("split", MINIMAL, fleet)
    assert again.exit_code == 1
    assert again.stderr == (f"error: {fleet / 'plgen.yaml'}: exists already; split writes a new manifest directory "
                            "and never overwrites one\n")
    assert tree(fleet) == before
    target = tmp_path / "m.yaml"
    target.write_text("keep me\n")
    refused = run_cli("join", fleet, target)
    assert refused.exit_code == 1 and "exists already" in refused.stderr and target.read_text() == "keep me\n"
    assert "is a manifest directory already" in run_cli("split", fleet, tmp_path / "x").stderr
    assert "is a manifest file already" in run_cli("join", MINIMAL, tmp_path / "y.yaml").stderr
    invalid = tmp_path / "invalid.yaml"
    invalid.write_text(MINIMAL.read_text().replace("approval: auto", "approval: sometimes"))
    result = run_cli("split", invalid, tmp_path / "never")
    assert result.exit_code == 1 and f"error: {invalid}:" in result.stderr
    assert not (tmp_path / "never").exists()
    wrong = tmp_path / "wrong.yaml"
    wrong.write_text(MINIMAL.read_text().replace("  - id: beta", "  # plgen-file: ../outside.yaml\n  - id: beta"))
    result = run_cli("split", wrong, tmp_path / "never")
    assert result.stderr == f"error: {wrong}:33:5: tenants[1] (beta): # plgen-file: ../outside.yaml: not a plain relative path\n"
    assert not (tmp_path / "never").exists() and not (tmp_path / "outside.yaml").exists()


def test_join_prints_to_standard_output(tmp_path: Path):
    result = run_cli("join", FLEET, "-")
    assert result.exit_code == 0
    assert by_id(load.load_text(result.stdout, "joined").data) == by_id(load.load_file(EXAMPLE).data)


# --- plgen tenant -------------------------------------------------------------------------------

ADD = ["--display-name", "Wonka Industries", "--region", "eastus2", "--link-service", "pls-contoso-api-eus2-2",
       "--subscription", "8888aaaa-0000-4000-8000-00000000000b", "--approval", "auto", "--request-message",
       "tenant=wonka", "--endpoint-location", "eastus", "--endpoint-resource-group", "rg-wonka", "--endpoint-subnet-id",
       "/subscriptions/8888aaaa-0000-4000-8000-00000000000b/resourceGroups/rg-net/providers/Microsoft.Network/"
       "virtualNetworks/vnet-wonka/subnets/snet-pe"]


def stats(folder: Path) -> dict[str, tuple]:
    return {str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_mtime_ns, p.stat().st_ino)
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_tenant_add_writes_one_new_file_and_touches_no_other(tmp_path: Path):
    examples = in_a_copy_of_the_repository(tmp_path)
    fleet = examples / "fleet"
    before = stats(fleet)
    result = run_cli("tenant", "add", "wonka", "-m", fleet, *ADD)
    assert result.exit_code == 0, result.output
    assert result.stdout == (f"wrote {fleet / 'tenants' / 'wonka.yaml'}; next: plgen render {fleet} -o out, then send "
                             f"its bundle (plgen bundle {fleet} wonka)\n")
    after = stats(fleet)
    assert set(after) - set(before) == {"tenants/wonka.yaml"}
    assert {p: after[p] for p in before} == before
    assert (fleet / "tenants" / "wonka.yaml").read_text() == (
        "# yaml-language-server: $schema=../../../schemas/tenant.schema.json\n"  # as its neighbours have it
        "id: wonka\ndisplay_name: Wonka Industries\nregion: eastus2\nlink_service: pls-contoso-api-eus2-2\n"
        "subscriptions:\n  - 8888aaaa-0000-4000-8000-00000000000b\napproval: auto\nrequest_message: tenant=wonka\n"
        "endpoint:\n  location: eastus\n  resource_group: rg-wonka\n  subnet_id: /subscriptions/8888aaaa-0000-4000-8000-"
        "00000000000b/resourceGroups/rg-net/providers/Microsoft.Network/virtualNetworks/vnet-wonka/subnets/snet-pe\n")
    rendered = run_cli("render", fleet, "-o", tmp_path / "out")
    assert rendered.exit_code == 0 and (tmp_path / "out" / "tenants" / "wonka" / "README.md").exists()
    team = run_cli("tenant", "add", "oompa", "-m", fleet, "--folder", "emea", *ADD[:6], "--subscription",
                   "9999aaaa-0000-4000-8000-00000000000c")
    assert team.exit_code == 0, team.output
    assert (fleet / "tenants" / "emea" / "oompa.yaml").read_text().startswith(
        "# yaml-language-server: $schema=../../../../schemas/tenant.schema.json\nid: oompa\n")


@pytest.mark.parametrize(("extra", "error"), [
    (["--region", "nowhere"], "tenants/wonka.yaml:4:9: tenants[wonka].region: no region 'nowhere' in provider.regions "
                              "(known: eastus2, westeurope)"),
    (["--subscription", "1111aaaa-0000-4000-8000-000000000002", "--link-service", "pls-contoso-api-eus2-1"],
     "tenants/wonka.yaml:8:5: tenants[wonka].subscriptions[1]: subscription 1111aaaa-0000-4000-8000-000000000002 also "
     "belongs to tenant 'acme' (FLEET/tenants/acme.yaml:2:5) on link service"),  # acme's, on the same link service
])
def test_tenant_add_validates_before_writing(tmp_path: Path, extra: list[str], error: str):
    fleet = tmp_path / "fleet"
    shutil.copytree(FLEET, fleet)
    before = stats(fleet)
    args = ADD[:4] + ADD[6:] if "--region" in extra else ADD
    result = run_cli("tenant", "add", "wonka", "-m", fleet, *args, *extra)
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: {fleet}/{error}".replace("FLEET", str(fleet)))
    assert stats(fleet) == before


def test_tenant_add_refuses_what_it_cannot_do(tmp_path: Path):
    fleet = tmp_path / "fleet"
    shutil.copytree(FLEET, fleet)
    exists = run_cli("tenant", "add", "acme", "-m", fleet, *ADD)
    assert exists.exit_code == 1
    assert exists.stderr == (f"error: {fleet / 'tenants' / 'acme.yaml'}: exists already; `plgen tenant add` writes a "
                             "new file and never overwrites one\n")
    assert "is a manifest file; `plgen tenant add` writes a new file into a manifest directory" in run_cli(
        "tenant", "add", "wonka", "-m", EXAMPLE, *ADD).stderr
    assert "--folder must be a plain relative path" in run_cli("tenant", "add", "wonka", "-m", fleet, "--folder", "../x",
                                                               *ADD).stderr
    usage = run_cli("tenant", "add", "wonka", "-m", fleet, *ADD[:6], "--endpoint-location", "eastus")
    assert usage.exit_code == 2


def test_state_commands_change_one_line_of_one_file(tmp_path: Path):
    fleet = tmp_path / "fleet"
    shutil.copytree(FLEET, fleet)
    before = stats(fleet)
    result = run_cli("tenant", "suspend", "acme", "-m", fleet)
    assert result.exit_code == 0, result.output
    acme = fleet / "tenants" / "acme.yaml"
    assert result.stdout == (f"{acme}: tenant acme active -> suspended; next: render to withdraw its auto-approval "
                             "(it stays visible)\n")
    after = stats(fleet)
    assert [p for p in after if after[p] != before[p]] == ["tenants/acme.yaml"]
    old, new = before["tenants/acme.yaml"][0].decode().splitlines(), acme.read_text().splitlines()
    assert new == old[:2] + ["state: suspended"] + old[2:]  # after the id line
    assert run_cli("tenant", "suspend", "acme", "-m", fleet).stdout == "tenant acme is suspended already; nothing written\n"
    partners = fleet / "tenants" / "emea" / "partners.yaml"  # a tenant in a list file
    assert run_cli("tenant", "offboard", "wayne", "-m", fleet).exit_code == 0
    assert partners.read_text().splitlines()[2:4] == ["- id: wayne", "  state: offboarded"]
    initech = fleet / "tenants" / "initech.yaml"
    assert run_cli("tenant", "reactivate", "initech", "-m", fleet).exit_code == 0
    assert "state: active\n" in initech.read_text() and "suspended" not in initech.read_text()
    manifest = directory.load_manifest(fleet).data["tenants"]
    assert {t["id"]: t.get("state", "active") for t in manifest} == {
        "acme": "suspended", "hooli": "active", "wayne": "offboarded", "stark": "active", "globex": "active",
        "initech": "active", "umbrella": "offboarded"}
    missing = run_cli("tenant", "offboard", "nobody", "-m", fleet)
    assert missing.exit_code == 1 and missing.stderr == f"error: {fleet}: no tenant 'nobody' in the manifest\n"


def test_state_commands_work_on_a_manifest_file_too_and_refuse_flow_style(tmp_path: Path):
    manifest = tmp_path / "tenants.yaml"
    shutil.copy(EXAMPLE, manifest)
    assert run_cli("tenant", "suspend", "globex", "-m", manifest).exit_code == 0
    old, new = EXAMPLE.read_text().splitlines(), manifest.read_text().splitlines()
    at = old.index("  - id: globex")
    assert new == old[:at + 1] + ["    state: suspended"] + old[at + 1:]
    flow = tmp_path / "flow.yaml"
    tenants = load.load_file(MINIMAL).data["tenants"]
    flow.write_text(MINIMAL.read_text().split("tenants:\n")[0] + "tenants:\n  - " + json.dumps(tenants[0]) + "\n")
    result = run_cli("tenant", "suspend", "alpha", "-m", flow)
    assert result.exit_code == 1
    assert result.stderr == (f"error: {flow}:22:5: tenants[0] (alpha): a tenant written in flow style (`{{...}}`) is not "
                             "edited by plgen; add `state: suspended` by hand\n")
    assert os.path.getsize(flow) == len(flow.read_bytes())
