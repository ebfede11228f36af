"""The example manifest's rendering: a golden tree, the committed out/, determinism, and
terraform's own formatter as ground truth for syntax."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from conftest import EXAMPLE, ROOT, run_cli, run_plgen, tree
from gen.resources import template_release

OUT = ROOT / "out"


def test_example_matches_the_golden_snapshot_tree(example_out: Path, snapshot):
    # golden trees live under the current template release (tests/test_release_preview.py)
    snapshot.snapshot_dir = Path(__file__).parent / "snapshots" / "releases" / template_release()
    snapshot.assert_match_dir(nested(tree(example_out)), "example")


def nested(files: dict[str, bytes]) -> dict:
    """{'a/b': data} -> {'a': {'b': text}}: pytest-snapshot's directory form."""
    root: dict = {}
    for path, data in files.items():
        node = root
        *parents, name = path.split("/")
        for part in parents:
            node = node.setdefault(part, {})
        node[name] = data.decode("utf-8")
    return root


def test_committed_out_is_current():
    result = run_cli("render", EXAMPLE, "-o", OUT, "--check")
    assert result.exit_code == 0, f"out/ is stale; run `make example` and review the diff:\n{result.output}"


def test_output_is_identical_across_hash_seeds(tmp_path: Path):
    trees = []
    for seed in ("1", "4242"):
        out = tmp_path / f"seed-{seed}"
        env = {**os.environ, "PYTHONHASHSEED": seed}
        result = run_plgen("render", EXAMPLE, "-o", out, env=env)
        assert result.returncode == 0, result.stderr
        trees.append(tree(out))
    assert trees[0] == trees[1]
    assert len(trees[0]) > 30


def test_output_has_no_absolute_paths_timestamps_or_crlf(example_out: Path):
    for path, data in tree(example_out).items():
        text = data.decode("utf-8")
        assert "\r" not in text, path
        assert str(ROOT) not in text and "/tmp" not in text, path
        assert text.endswith("\n"), path


def test_offboarded_tenants_get_no_folder_and_leave_both_lists(example_out: Path):
    assert not (example_out / "tenants" / "umbrella").exists()
    region = (example_out / "provider/terraform/region-eastus2.tf").read_text()
    assert "4444dddd-0000-4000-8000-000000000006" not in region


def test_lock_file_lists_every_file_with_its_digest(example_out: Path):
    lock = json.loads((example_out / ".plgen-lock.json").read_text())
    # identities: each Terraform resource's address and Azure identity (issue 13, tests/test_identities.py)
    assert set(lock) == {"tool_version", "template_release", "manifest_sha256", "files", "identities"}
    files = tree(example_out)
    del files[".plgen-lock.json"]
    import hashlib

    assert lock["files"] == {p: hashlib.sha256(b).hexdigest() for p, b in files.items()}
    assert lock["manifest_sha256"] == hashlib.sha256(EXAMPLE.read_bytes()).hexdigest()


def test_terraform_fmt_accepts_every_file(example_out: Path, terraform: str):
    result = subprocess.run([terraform, "fmt", "-check", "-recursive", "-diff", str(example_out)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_consumer_module_files_are_identical_for_every_tenant(example_out: Path):
    modules = {}
    for tenant in sorted((example_out / "tenants").iterdir()):
        if (tenant / "bicep" / "vnet2vnet-connection.bicep").exists():
            continue  # a VNet-to-VNet tenant has its own module
        modules[tenant.name] = {p.name: p.read_bytes() for p in (tenant / "terraform").glob("*.tf")}
    first = next(iter(modules.values()))
    assert all(files == first for files in modules.values())


def test_a_manifest_written_from_the_readme_renders_and_passes_fmt(tmp_path: Path, terraform: str):
    from gen.verify import hcl

    manifest = ROOT / "tests" / "data" / "readme-user.yaml"
    out = tmp_path / "out"
    result = run_cli("render", manifest, "-o", out, "--no-cache")
    assert result.exit_code == 0, result.output
    fmt = subprocess.run([terraform, "fmt", "-check", "-recursive", str(out)], capture_output=True, text=True)
    assert fmt.returncode == 0, fmt.stdout
    parsed = hcl.parse((out / "provider/terraform/region-northeurope.tf").read_text())
    pls = parsed["resource"][1]['"azurerm_private_link_service"']['"pls_fabrikam_db_neu"']
    assert [hcl.decode_string(s) for s in pls["visibility_subscription_ids"]] == [
        "aaaaaaaa-1111-4222-8333-444444444444", "bbbbbbbb-1111-4222-8333-444444444444", "cccccccc-1111-4222-8333-444444444444"]
    assert [hcl.decode_string(s) for s in pls["auto_approval_subscription_ids"]] == [
        "aaaaaaaa-1111-4222-8333-444444444444", "bbbbbbbb-1111-4222-8333-444444444444"]
    assert len(pls["nat_ip_configuration"]) == 4
    tfvars = json.loads((out / "tenants/tailspin/terraform/terraform.tfvars.json").read_text())
    assert "subnet_id" not in tfvars and "private_link_service_alias" not in tfvars
    assert "values still needed" in (out / "tenants/tailspin/README.md").read_text()
    assert (out / "provider/backend/northeurope/nginx.conf").read_text().count("listen ") == 2  # one server per port
