"""Issue 16: a manifest as a directory (plgen.yaml + one file per tenant under tenants/).
Every command that takes a manifest takes one; errors name the tenant's file; cross-file rules
name both files; the output does not depend on how the manifest is split; the lock records
each manifest file's digest; adding a tenant file renders that tenant and the provider only."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import pytest

from conftest import EXAMPLE, MINIMAL, ROOT, run_cli, tree
from gen import directory, load
from gen.errors import ManifestError

FLEET = ROOT / "examples" / "fleet"
LOCK = ".plgen-lock.json"


def split_minimal(base: Path) -> Path:
    """tests/data/minimal.yaml as a manifest directory (alpha, beta)."""
    target = base / "fleet"
    result = run_cli("split", MINIMAL, target)
    assert result.exit_code == 0, result.output
    return target


def errors(*args) -> list[str]:
    result = run_cli(*args)
    assert result.exit_code == 1, result.output
    assert result.stdout == ""
    return [line.removeprefix("error: ") for line in result.stderr.splitlines()]


def without_manifest_digests(files: dict[str, bytes]) -> dict[str, bytes]:
    lock = json.loads(files[LOCK])
    lock.pop("manifest_files", None)
    lock.pop("manifest_sha256")
    return {**files, LOCK: json.dumps(lock, sort_keys=True).encode()}


# --- the same output, however the manifest is split ---------------------------------------------

def test_the_example_directory_renders_the_example_files_byte_for_byte(tmp_path: Path):
    assert run_cli("render", EXAMPLE, "-o", tmp_path / "file", "--no-cache").exit_code == 0
    result = run_cli("render", FLEET, "-o", tmp_path / "dir", "--no-cache")
    assert result.exit_code == 0, result.output
    single, split = tree(tmp_path / "file"), tree(tmp_path / "dir")
    assert single.keys() == split.keys()
    assert [p for p in single if single[p] != split[p]] == [LOCK]  # only the manifest part of the lock differs
    assert without_manifest_digests(single) == without_manifest_digests(split)


def test_the_example_directory_holds_the_example_manifest():
    single = load.load_file(EXAMPLE).data
    joined = directory.load_manifest(FLEET).data
    by_id = lambda data: sorted(data["tenants"], key=lambda t: t["id"])  # noqa: E731
    assert by_id(single) == by_id(joined)
    assert {k: v for k, v in single.items() if k != "tenants"} == {k: v for k, v in joined.items() if k != "tenants"}


def test_the_lock_records_every_manifest_file_and_their_digest(tmp_path: Path):
    assert run_cli("render", FLEET, "-o", tmp_path / "out").exit_code == 0
    lock = json.loads((tmp_path / "out" / LOCK).read_text())
    files = {p.relative_to(FLEET).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
             for p in sorted(FLEET.rglob("*.yaml"))}
    assert lock["manifest_files"] == files
    assert len(files) == 8 and "tenants/emea/partners.yaml" in files
    listing = "".join(f"{sha}  {path}\n" for path, sha in sorted(files.items()))  # as sha256sum prints it
    assert lock["manifest_sha256"] == hashlib.sha256(listing.encode()).hexdigest()
    single = tmp_path / "single"
    assert run_cli("render", EXAMPLE, "-o", single).exit_code == 0
    assert "manifest_files" not in json.loads((single / LOCK).read_text())  # the single-file lock is unchanged


# --- per file: incremental, --check, changes ----------------------------------------------------

NEW_TENANT = """id: wonka
display_name: "Wonka Industries"
region: eastus2
link_service: pls-contoso-api-eus2-2
subscriptions: [8888aaaa-0000-4000-8000-00000000000b]
approval: auto
request_message: "tenant=wonka"
endpoint:
  location: eastus
  resource_group: rg-wonka
  subnet_id: /subscriptions/8888aaaa-0000-4000-8000-00000000000b/resourceGroups/rg-net/providers/Microsoft.Network/virtualNetworks/vnet-wonka/subnets/snet-pe
"""


def test_adding_a_tenant_file_renders_that_tenant_and_the_provider_only(tmp_path: Path):
    fleet = tmp_path / "fleet"
    shutil.copytree(FLEET, fleet)
    out, cache = tmp_path / "out", tmp_path / "cache"
    first = run_cli("render", fleet, "-o", out, "--cache-dir", cache, "--format", "json")
    assert first.exit_code == 0
    (fleet / "tenants" / "wonka.yaml").write_text(NEW_TENANT)

    result = run_cli("render", fleet, "-o", out, "--cache-dir", cache, "--format", "json")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    touched = payload["added"] + payload["changed"]
    assert {p.split("/")[0] if p.startswith("provider/") else "/".join(p.split("/")[:2]) for p in touched} == {
        "provider", "tenants/wonka", LOCK}
    files = tree(out)
    rendered_units = [p for p in files if p.startswith(("provider/", "tenants/wonka/"))]
    assert payload["verified"]["rendered"] == len(rendered_units)
    assert payload["verified"]["cached"] == len(files) - 1 - len(rendered_units)  # the lock is not a unit's
    assert json.loads(files[LOCK])["manifest_files"]["tenants/wonka.yaml"] == hashlib.sha256(NEW_TENANT.encode()).hexdigest()

    again = run_cli("render", fleet, "-o", out, "--cache-dir", cache, "--format", "json")
    assert json.loads(again.stdout)["verified"]["rendered"] == 0  # the no-op path holds for a directory
    scratch = tmp_path / "scratch"
    assert run_cli("render", fleet, "-o", scratch, "--no-cache", "--cache-dir", tmp_path / "c2").exit_code == 0
    assert tree(scratch) == files

    (fleet / "tenants" / "wonka.yaml").unlink()
    (fleet / "tenants" / "acme.yaml").write_text((fleet / "tenants" / "acme.yaml").read_text() + "# reviewed\n")
    check = run_cli("render", fleet, "-o", out, "--cache-dir", cache, "--check")
    assert check.exit_code == 1
    assert ("note: manifest files changed since the output was rendered: 1 removed (tenants/wonka.yaml), 1 changed "
            "(tenants/acme.yaml)") in check.stderr


def test_changes_between_directories_and_against_an_output(tmp_path: Path):
    base = tmp_path / "base"
    shutil.copytree(FLEET, base)
    new = tmp_path / "new"
    shutil.copytree(FLEET, new)
    (new / "tenants" / "wonka.yaml").write_text(NEW_TENANT)
    between = run_cli("changes", base, new, "--format", "json")
    assert between.exit_code == 0, between.output
    report = json.loads(between.stdout)
    assert ("tenant_added", "wonka") in [(e["kind"], e["tenant"]) for e in report["events"]]
    assert f"manifest files from {base} to {new}: 1 added (tenants/wonka.yaml)" in report["notes"]
    out = tmp_path / "out"
    assert run_cli("render", base, "-o", out).exit_code == 0
    against = json.loads(run_cli("changes", new, "-o", out, "--format", "json").stdout)
    assert [e["kind"] for e in against["events"]] == [e["kind"] for e in report["events"]]
    assert f"manifest files from {out} to {new}: 1 added (tenants/wonka.yaml)" in against["notes"]


def test_every_command_that_reads_a_manifest_reads_a_directory(tmp_path: Path):
    valid = run_cli("validate", FLEET, "--format", "json")
    assert json.loads(valid.stdout) == {"status": "valid", "tenants": 7, "link_services": 3, "files": 8}
    assert run_cli("validate", FLEET).stdout == f"{FLEET}: valid (7 tenants, 3 link services, 8 files)\n"
    assert run_cli("capacity", FLEET).stdout == run_cli("capacity", EXAMPLE).stdout
    bundles = tmp_path / "bundles"
    assert run_cli("bundle", FLEET, "acme", "-o", bundles / "dir").exit_code == 0
    assert run_cli("bundle", EXAMPLE, "acme", "-o", bundles / "file").exit_code == 0
    assert (bundles / "dir" / "acme.zip").read_bytes() == (bundles / "file" / "acme.zip").read_bytes()
    connections = ROOT / "tests" / "data" / "pls-show" / "eastus2.json"
    from_dir = run_cli("approvals", FLEET, "--connections", connections, "--format", "json")
    assert from_dir.exit_code == 0, from_dir.output
    assert from_dir.stdout == run_cli("approvals", EXAMPLE, "--connections", connections, "--format", "json").stdout


# --- errors name the tenant's file --------------------------------------------------------------

def test_a_tenant_file_error_names_that_file_and_the_tenant_by_id(tmp_path: Path, monkeypatch):
    fleet = split_minimal(tmp_path)
    beta = fleet / "tenants" / "beta.yaml"
    beta.write_text(beta.read_text().replace("region: eastus2", "region: eastus2\ncolour: blue") + "approval: sometimes\n")
    assert errors("validate", fleet) == [
        f"{beta}:4:1: tenants[beta].colour: unknown field 'colour'",
        f"{beta}:7:11: tenants[beta].approval: input should be 'auto' or 'manual'",
    ]
    monkeypatch.chdir(fleet)  # relative to where plgen runs, as the issue shows it
    assert errors("validate", ".")[1] == "tenants/beta.yaml:7:11: tenants[beta].approval: input should be 'auto' or 'manual'"


def test_a_provider_file_error_names_plgen_yaml(tmp_path: Path):
    fleet = split_minimal(tmp_path)
    provider = fleet / "plgen.yaml"
    provider.write_text(provider.read_text().replace("nat_ips: 1", "nat_ips: 0"))
    assert errors("validate", fleet) == [
        f"{provider}:17:20: provider.regions[0].link_services[0].nat_ips: a Private Link Service has 1-8 NAT IPs, not 0"]


def test_a_tenant_file_named_after_another_id_is_an_error_with_a_hint(tmp_path: Path):
    fleet = split_minimal(tmp_path)
    (fleet / "tenants" / "beta.yaml").rename(fleet / "tenants" / "gamma.yaml")
    gamma = fleet / "tenants" / "gamma.yaml"
    assert errors("validate", fleet) == [
        f"{gamma}:1:5: tenants[beta].id: a file that holds one tenant is named after its id: gamma.yaml holds tenant "
        f"'beta'; `git mv {gamma} {fleet}/tenants/beta.yaml` (or make the file a list of tenants, which may have any name)"]


def test_cross_file_rules_name_both_files(tmp_path: Path):
    fleet = split_minimal(tmp_path)
    alpha = fleet / "tenants" / "alpha.yaml"
    team = fleet / "tenants" / "team"
    team.mkdir()
    (team / "alpha.yaml").write_text(alpha.read_text())  # the same id twice, and the same subscription
    gamma = team / "gamma.yaml"
    gamma.write_text(alpha.read_text().replace("id: alpha", "id: gamma"))
    found = errors("validate", fleet)
    assert f"{team / 'alpha.yaml'}:1:5: tenants[alpha].id: tenant id 'alpha' is already used by {alpha}:1:5" in found
    assert (f"{gamma}:5:17: tenants[gamma].subscriptions[0]: subscription 11111111-0000-4000-8000-000000000001 also "
            f"belongs to tenant 'alpha' ({alpha}:1:5) on link service 'pls-demo-1'; approvals could not tell the two "
            "apart") in found


def test_a_shard_limit_names_the_provider_file_and_the_tenant_file_that_passes_it(tmp_path: Path):
    fleet = split_minimal(tmp_path)
    alpha = fleet / "tenants" / "alpha.yaml"
    for n in range(101):  # 101 more subscriptions on pls-demo-1's visibility list (restricted)
        text = alpha.read_text().replace("id: alpha", f"id: t{n:03d}").replace(
            "11111111-0000-4000-8000-000000000001", f"12121212-0000-4000-8000-{n:012d}").replace(
            "approval: auto", "approval: manual")
        (fleet / "tenants" / f"t{n:03d}.yaml").write_text(text)
    found = errors("validate", fleet)
    assert found == [
        f"{fleet / 'plgen.yaml'}:15:11: provider.regions[0].link_services[0]: 102 subscriptions in the visibility list of "
        "'pls-demo-1'; Azure allows at most 100: set provider.visibility to public and approve connections with `plgen "
        "approvals`, or move tenants to another shard (passed at "
        f"{fleet / 'tenants' / 't099.yaml'}:1:5, counting tenant files in path order)"]


@pytest.mark.parametrize(("content", "message"), [
    ("id: beta\n  region: [\n", "YAML syntax"),
    ("", "the file is empty; a tenant file holds one tenant (a mapping) or a list of them"),
    ("id: &x beta\n", "YAML anchors (&name) are not allowed"),
])
def test_yaml_problems_of_several_files_are_reported_together(tmp_path: Path, content: str, message: str):
    fleet = split_minimal(tmp_path)
    (fleet / "tenants" / "beta.yaml").write_text(content)
    (fleet / "plgen.yaml").write_text((fleet / "plgen.yaml").read_text() + "version: 2\n")
    found = errors("validate", fleet)
    assert found[0].startswith(f"{fleet / 'plgen.yaml'}:") and "duplicate key 'version'" in found[0]
    assert found[1].startswith(f"{fleet / 'tenants' / 'beta.yaml'}:") and message in found[1]


def test_layout_mistakes(tmp_path: Path):
    fleet = split_minimal(tmp_path)
    provider = fleet / "plgen.yaml"
    with_tenants = provider.read_text() + "tenants: []\n"
    provider.write_text(with_tenants)
    assert errors("validate", fleet) == [
        f"{provider}:21:1: tenants: tenants do not belong in plgen.yaml of a manifest directory: one file per tenant "
        "under tenants/ (or several in a list); `plgen split` writes them"]
    provider.unlink()
    assert errors("render", fleet, "-o", tmp_path / "out") == [
        f"{fleet}: is a directory without plgen.yaml (a manifest directory holds plgen.yaml and tenants/)"]
    assert not (tmp_path / "out").exists()


def test_what_is_read_and_what_is_skipped(tmp_path: Path):
    fleet = split_minimal(tmp_path)
    tenants = fleet / "tenants"
    (tenants / "README.md").write_text("# tenants: one file each\n")
    (tenants / "CODEOWNERS").write_text("* @platform\n")
    (tenants / ".beta.yaml.swp").write_text("not: yaml: at all")
    (tenants / ".archive").mkdir()
    (tenants / ".archive" / "old.yaml").write_text("id: [\n")
    (fleet / "notes.yaml").write_text("id: [\n")  # beside plgen.yaml: not part of the manifest
    document = directory.load_manifest(fleet)
    assert sorted(document.manifest_files) == ["plgen.yaml", "tenants/alpha.yaml", "tenants/beta.yaml"]
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    os.symlink(elsewhere, tenants / "linked")
    assert errors("validate", fleet) == [
        f"{tenants / 'linked'}: is a symbolic link to a directory; plgen does not follow it (move the tenant files here)"]


def test_the_size_limit_holds_per_file_not_per_fleet(tmp_path: Path):
    fleet = split_minimal(tmp_path)
    padding = "# " + "x" * 1022 + "\n"
    for name in ("alpha", "beta"):  # 2 x 6 MiB of tenant files: the fleet is over 10 MiB, no file is
        path = fleet / "tenants" / f"{name}.yaml"
        path.write_text(path.read_text() + padding * 6 * 1024)
    assert sum(p.stat().st_size for p in fleet.rglob("*.yaml")) > load.MAX_MANIFEST_BYTES
    assert run_cli("validate", fleet).exit_code == 0
    big = fleet / "tenants" / "alpha.yaml"
    big.write_text(big.read_text() + padding * 5 * 1024)
    assert errors("validate", fleet) == [f"{big}: larger than the 10 MiB limit ({big.stat().st_size} bytes)"]


def test_a_list_file_composes_its_tenants_with_their_own_lines(tmp_path: Path):
    files = {"plgen.yaml": MINIMAL.read_bytes().split(b"tenants:\n")[0],
             "tenants/team.yaml": b"# the team's tenants\n- id: alpha\n  region: x\n- id: beta\n  region: y\n"}
    document = directory.compose(files, str(tmp_path))
    assert [t["id"] for t in document.data["tenants"]] == ["alpha", "beta"]
    where = document.locate(("tenants", 1, "region"))
    assert (where.file, where.line, where.column, where.path) == (str(tmp_path / "tenants/team.yaml"), 5, 11,
                                                                  "tenants[beta].region")
    assert document.problems == []  # a list file may have any name
    with pytest.raises(ManifestError, match="a file that holds one tenant"):
        from gen.validate import validate

        validate(directory.compose({**files, "tenants/team.yaml": b"id: alpha\nregion: x\n"}, str(tmp_path)))


# --- editor support -----------------------------------------------------------------------------

@pytest.mark.parametrize("which", ["provider", "tenant"])
def test_committed_directory_schemas_are_current(which: str):
    result = run_cli("schema", which)
    assert result.exit_code == 0
    assert result.stdout == (ROOT / "schemas" / f"{which}.schema.json").read_text(), \
        f"schemas/{which}.schema.json is stale: run `make schema`"


def test_directory_schemas_say_what_the_manifest_schema_says_and_the_example_names_them():
    from test_changes import schema_problems

    manifest, provider, tenant = (json.loads((ROOT / "schemas" / f"{name}.schema.json").read_text())
                                  for name in ("manifest", "provider", "tenant"))
    assert provider["properties"] == {k: v for k, v in manifest["properties"].items() if k != "tenants"}
    assert provider["required"] == manifest["required"] and provider["additionalProperties"] is False
    assert tenant["anyOf"] == [{"$ref": "#/$defs/Tenant"}, {"type": "array", "items": {"$ref": "#/$defs/Tenant"}}]
    for schema in (provider, tenant):
        assert schema["$defs"] == {name: manifest["$defs"][name] for name in schema["$defs"]}
    for path in sorted(FLEET.rglob("*.yaml")):
        first = path.read_text().splitlines()[0]
        name = "provider" if path.name == "plgen.yaml" else "tenant"
        assert first.startswith("# yaml-language-server: $schema=") and first.endswith(f"/schemas/{name}.schema.json")
        assert (path.parent / first.split("=", 1)[1]).resolve() == ROOT / "schemas" / f"{name}.schema.json"
        data = load.load_file(path).data
        schema = provider if name == "provider" else tenant
        assert schema_problems(data, schema, schema) == [], path
    assert schema_problems({"id": "x", "region": "eastus2"}, tenant, tenant)  # display_name, subscriptions missing


def test_the_benchmark_directory_holds_the_synthetic_manifest(tmp_path: Path):
    import sys

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from fleet import synthetic_directory, synthetic_manifest

    fleet = synthetic_directory(120, tmp_path / "fleet")
    assert len(list((fleet / "tenants").glob("*.yaml"))) == 120
    assert directory.load_manifest(fleet).data == load.load_text(synthetic_manifest(120), "m.yaml").data
    assert run_cli("validate", fleet).exit_code == 0
