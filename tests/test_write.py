"""Stage 6: atomic swaps, stale-file cleanup from the lock only, hand edits reported (also by --check), unlisted
files kept, no writes through symlinks, --check/--diff/--only behaviour."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import EXAMPLE, run_cli, tree

TENANT_README = "tenants/acme/README.md"


def render(out: Path, *extra, manifest: Path = EXAMPLE):
    return run_cli("render", manifest, "-o", out, *extra)


def without(manifest_text: str, tenant_id: str) -> str:
    """The example with one tenant block removed."""
    blocks = manifest_text.split("\n  - id: ")
    return "\n  - id: ".join(b for b in blocks if not b.startswith(tenant_id + "\n"))


def test_rerender_is_a_no_op_that_touches_nothing(example_out: Path):
    before = {p: (example_out / p).stat().st_ino for p in tree(example_out)}
    result = render(example_out)
    assert result.exit_code == 0
    assert "0 added, 0 changed, 0 removed" in result.output
    assert {p: (example_out / p).stat().st_ino for p in tree(example_out)} == before


def test_removed_tenant_files_are_deleted_and_unlisted_files_survive(example_out: Path, tmp_path: Path):
    (example_out / "NOTES.md").write_text("mine\n")
    (example_out / "tenants" / "acme" / "extra.txt").write_text("mine too\n")
    manifest = tmp_path / "tenants.yaml"
    manifest.write_text(without(EXAMPLE.read_text(), "globex"))
    result = render(example_out, manifest=manifest)
    assert result.exit_code == 0, result.output
    assert not (example_out / "tenants" / "globex").exists()
    assert (example_out / "NOTES.md").read_text() == "mine\n"
    assert (example_out / "tenants" / "acme" / "extra.txt").read_text() == "mine too\n"
    lock = json.loads((example_out / ".plgen-lock.json").read_text())
    assert not any(p.startswith("tenants/globex/") for p in lock["files"])


def test_files_not_in_the_lock_are_never_deleted(example_out: Path, tmp_path: Path):
    stray = example_out / "tenants" / "globex" / "terraform" / "backend.tf"
    stray.write_text("# the tenant's own backend config\n")
    manifest = tmp_path / "tenants.yaml"
    manifest.write_text(without(EXAMPLE.read_text(), "globex"))
    assert render(example_out, manifest=manifest).exit_code == 0
    assert stray.read_text() == "# the tenant's own backend config\n"
    assert not (example_out / "tenants" / "globex" / "terraform" / "main.tf").exists()


def test_hand_edited_file_stops_the_render_and_force_overwrites(example_out: Path, tmp_path: Path):
    edited = example_out / TENANT_README
    edited.write_text("hand edit\n")
    manifest = tmp_path / "tenants.yaml"
    manifest.write_text(EXAMPLE.read_text().replace("order=4471", "order=4472"))
    result = render(example_out, manifest=manifest)
    assert result.exit_code == 1
    assert f"{example_out / TENANT_README}: edited by hand since plgen wrote it" in result.stderr
    assert edited.read_text() == "hand edit\n"
    assert "order=4471" in (example_out / "tenants/acme/terraform/terraform.tfvars.json").read_text()
    result = render(example_out, "--force", manifest=manifest)
    assert result.exit_code == 0
    assert edited.read_text() != "hand edit\n"
    assert "order=4472" in (example_out / "tenants/acme/terraform/terraform.tfvars.json").read_text()


def test_foreign_file_at_a_generated_path_is_not_overwritten(tmp_path: Path):
    out = tmp_path / "out"
    (out / "provider" / "terraform").mkdir(parents=True)
    (out / "provider" / "terraform" / "versions.tf").write_text("# someone else's\n")
    result = render(out)
    assert result.exit_code == 1
    assert "exists but was not written by plgen" in result.stderr
    assert (out / "provider" / "terraform" / "versions.tf").read_text() == "# someone else's\n"


def test_symlink_inside_out_is_refused(example_out: Path, tmp_path: Path):
    outside = tmp_path / "outside"
    outside.mkdir()
    target = example_out / "tenants" / "acme"
    for p in sorted(target.rglob("*"), reverse=True):
        p.unlink() if p.is_file() else p.rmdir()
    target.rmdir()
    target.symlink_to(outside, target_is_directory=True)
    result = render(example_out, "--force")
    assert result.exit_code == 1
    assert "is a symbolic link" in result.stderr
    assert list(outside.iterdir()) == []


def test_check_and_diff_report_drift_without_writing(example_out: Path, tmp_path: Path):
    manifest = tmp_path / "tenants.yaml"
    manifest.write_text(EXAMPLE.read_text().replace("order=4471", "order=4472"))
    before = tree(example_out)
    result = run_cli("render", manifest, "-o", example_out, "--check")
    assert result.exit_code == 1
    assert "changed: tenants/acme/terraform/terraform.tfvars.json" in result.stdout
    assert "out of date" in result.stderr
    result = run_cli("render", manifest, "-o", example_out, "--diff")
    assert result.exit_code == 1
    assert '-  "request_message": "tenant=acme order=4471"' in result.stdout
    assert '+  "request_message": "tenant=acme order=4472"' in result.stdout
    # the lock's hash churn is summed up in one line, not shown
    assert ("# .plgen-lock.json: 3 file digests changed, manifest_sha256 changes "
            "(its diff is not shown)") in result.stdout.splitlines()
    assert "a/.plgen-lock.json" not in result.stdout and '"manifest_sha256"' not in result.stdout
    result = run_cli("render", manifest, "-o", example_out, "--check", "--format", "json")
    payload = json.loads(result.stdout)
    assert payload["status"] == "drift" and "tenants/acme/terraform/terraform.tfvars.json" in payload["changed"]
    assert tree(example_out) == before


def test_check_on_an_empty_directory_lists_everything_as_added(example_out: Path, tmp_path: Path):
    result = run_cli("render", EXAMPLE, "-o", tmp_path / "nothing", "--check", "--format", "json")
    assert result.exit_code == 1
    assert sorted(json.loads(result.stdout)["added"]) == sorted(tree(example_out))
    assert not (tmp_path / "nothing").exists()


def test_only_renders_provider_and_named_tenants_and_keeps_the_others(example_out: Path, tmp_path: Path):
    manifest = tmp_path / "tenants.yaml"
    manifest.write_text(EXAMPLE.read_text().replace("order=4471", "order=4472").replace("contract=GX-88", "contract=GX-89"))
    result = render(example_out, "--only", "acme", manifest=manifest)
    assert result.exit_code == 0, result.output
    assert "order=4472" in (example_out / "tenants/acme/terraform/terraform.tfvars.json").read_text()
    assert "GX-88" in (example_out / "tenants/globex/README.md").read_text()
    lock = json.loads((example_out / ".plgen-lock.json").read_text())
    assert "tenants/globex/README.md" in lock["files"]
    assert run_cli("render", manifest, "-o", example_out, "--only", "nobody").exit_code == 1


def test_failed_verification_leaves_the_old_tree(example_out: Path, tmp_path: Path):
    templates = tmp_path / "templates"
    import shutil

    from gen.resources import templates_dir

    shutil.copytree(templates_dir(), templates)
    main_tf = templates / "terraform" / "consumer" / "main.tf.j2"
    main_tf.write_text(main_tf.read_text().replace("is_manual_connection = true", "is_manual_connection = false"))
    before = tree(example_out)
    result = run_cli("render", EXAMPLE, "-o", example_out, "--templates", templates)
    assert result.exit_code == 1
    assert "manual_connection: the plan says True, the Terraform says False" in result.stderr
    assert tree(example_out) == before


def test_staging_leftovers_from_a_killed_run_are_cleaned(example_out: Path):
    leftover = example_out.parent / f".{example_out.name}.plgen-staging-99999"
    (leftover / "provider").mkdir(parents=True)
    (leftover / "provider" / "half.tf").write_text("half")
    manifest_change = render(example_out, "--force")
    assert manifest_change.exit_code == 0
    assert not leftover.exists()


# --- the output directory itself ---------------------------------------------------------------


def test_output_dir_may_be_a_symlink_to_a_directory(tmp_path: Path):
    real = tmp_path / "elsewhere" / "out"
    real.mkdir(parents=True)
    link = tmp_path / "out"
    link.symlink_to(real, target_is_directory=True)
    result = run_cli("render", EXAMPLE, "-o", link, "--check")
    assert result.exit_code == 1 and "out of date" in result.stderr
    assert render(link).exit_code == 0
    assert link.is_symlink() and link.resolve() == real.resolve()
    assert (real / "provider" / "terraform" / "versions.tf").is_file()
    assert run_cli("render", EXAMPLE, "-o", link, "--check").exit_code == 0
    manifest = tmp_path / "tenants.yaml"
    manifest.write_text(EXAMPLE.read_text().replace("order=4471", "order=4472"))
    result = render(link, manifest=manifest)
    assert result.exit_code == 0 and " 0 added, 0 changed" not in result.output
    assert link.is_symlink() and "order=4472" in (real / "tenants/acme/terraform/terraform.tfvars.json").read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["elsewhere", "out", "tenants.yaml"]


@pytest.mark.parametrize("mode", ["render", "check"])
def test_output_dir_under_a_regular_file_is_a_clear_error(mode, tmp_path: Path):
    afile = tmp_path / "afile"
    afile.write_text("not a directory\n")
    result = run_cli("render", EXAMPLE, "-o", afile / "sub", *(["--check"] if mode == "check" else []))
    assert result.exit_code == 1
    assert result.stderr == f"error: {afile}: is a file, not a directory\n"
    assert afile.read_text() == "not a directory\n" and sorted(tmp_path.iterdir()) == [afile]


# --- --check before a render that would stop ------------------------------------------------------


def test_check_names_hand_edited_files_and_suggests_force(example_out: Path, tmp_path: Path):
    (example_out / TENANT_README).write_text("hand edit\n")
    manifest = tmp_path / "tenants.yaml"
    manifest.write_text(EXAMPLE.read_text().replace("order=4471", "order=4472"))
    result = run_cli("render", manifest, "-o", example_out, "--check")
    assert result.exit_code == 1
    assert f"edited: {TENANT_README}" in result.stdout.splitlines()
    assert "changed: tenants/acme/terraform/terraform.tfvars.json" in result.stdout.splitlines()
    assert (f"1 file was edited by hand (listed above); `plgen render {manifest} -o {example_out} --force` "
            "overwrites it") in result.stderr
    payload = json.loads(run_cli("render", manifest, "-o", example_out, "--check", "--format", "json").stdout)
    assert payload["edited"] == [TENANT_README] and payload["foreign"] == []
    assert render(example_out, manifest=manifest).exit_code == 1  # what --check predicted
    assert render(example_out, "--force", manifest=manifest).exit_code == 0  # what it suggested
    assert run_cli("render", manifest, "-o", example_out, "--check").exit_code == 0


def test_check_names_files_plgen_did_not_write(tmp_path: Path):
    out = tmp_path / "out"
    (out / "provider" / "terraform").mkdir(parents=True)
    (out / "provider" / "terraform" / "versions.tf").write_text("# someone else's\n")
    result = run_cli("render", EXAMPLE, "-o", out, "--check")
    assert result.exit_code == 1
    assert "foreign: provider/terraform/versions.tf" in result.stdout.splitlines()
    assert "1 file was not written by plgen (listed above); " in result.stderr and "--force` overwrites it" in result.stderr
    result = run_cli("render", EXAMPLE, "-o", out, "--diff")
    assert "1 file was not written by plgen; `plgen render" in result.stderr


def test_check_without_hand_edits_suggests_a_plain_render(example_out: Path, tmp_path: Path):
    manifest = tmp_path / "tenants.yaml"
    manifest.write_text(EXAMPLE.read_text().replace("order=4471", "order=4472"))
    result = run_cli("render", manifest, "-o", example_out, "--check", "--format", "json")
    assert json.loads(result.stdout)["edited"] == []
    result = run_cli("render", manifest, "-o", example_out, "--check")
    assert result.stderr.rstrip().endswith(f"run `plgen render {manifest} -o {example_out}`")
