"""The CLI contract: exit codes 0/1/2, text and JSON output, schema freshness, no tracebacks."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import EXAMPLE, INVALID, ROOT, run_cli, run_plgen


def test_validate_ok_and_json():
    result = run_cli("validate", EXAMPLE)
    assert result.exit_code == 0
    assert "valid (7 tenants, 3 link services)" in result.stdout
    payload = json.loads(run_cli("validate", EXAMPLE, "--format", "json").stdout)
    assert payload == {"status": "valid", "tenants": 7, "link_services": 3}


def test_invalid_manifest_json_errors_carry_locations():
    result = run_cli("validate", INVALID / "duplicate-key.yaml", "--format", "json")
    assert result.exit_code == 1
    payload = json.loads(result.stdout)
    assert payload["errors"] == [{"file": str(INVALID / "duplicate-key.yaml"), "line": 29, "column": 5,
                                  "path": "tenants[0] (alpha).approval", "message": "duplicate key 'approval'"}]


def test_usage_errors_exit_2():
    assert run_cli("render").exit_code == 2
    assert run_cli("render", EXAMPLE, "--format", "xml").exit_code == 2
    assert run_cli("frobnicate").exit_code == 2


def test_missing_manifest_is_a_clean_error(tmp_path: Path):
    result = run_plgen("validate", tmp_path / "nope.yaml")
    assert result.returncode == 1
    assert result.stderr.strip() == f"error: {tmp_path / 'nope.yaml'}: not found"
    assert "Traceback" not in result.stderr


def test_committed_schema_is_current():
    result = run_cli("schema")
    assert result.exit_code == 0
    committed = (ROOT / "schemas" / "manifest.schema.json").read_text()
    assert result.stdout == committed, "schemas/manifest.schema.json is stale: run `make schema`"
    schema = json.loads(committed)
    assert schema["additionalProperties"] is False
    assert set(schema["properties"]) == {"version", "service", "provider", "tenants"}


def test_render_reports_what_it_verified(tmp_path: Path):
    result = run_cli("render", EXAMPLE, "-o", tmp_path / "out", "--format", "json", "--no-cache")
    payload = json.loads(result.stdout)
    assert payload["status"] == "written"
    assert payload["verified"]["files"] == 79
    # 5 private-link tenants share 6 .tf/.bicep files (4 reused each); the VNet-to-VNet tenant
    # repeats the provider's connection module (its versions.tf registers providers as usual)
    assert payload["verified"]["reused"] == 25


def test_cached_and_uncached_runs_give_identical_bytes_and_verdicts(tmp_path: Path):
    from conftest import tree

    cache = tmp_path / "cache"
    first = json.loads(run_cli("render", EXAMPLE, "-o", tmp_path / "a", "--cache-dir", cache, "--format", "json").stdout)
    second = json.loads(run_cli("render", EXAMPLE, "-o", tmp_path / "b", "--cache-dir", cache, "--format", "json").stdout)
    uncached = json.loads(run_cli("render", EXAMPLE, "-o", tmp_path / "c", "--no-cache", "--format", "json").stdout)
    assert first["verified"]["cached"] == 0 and first["verified"]["parsed"] > 0
    assert second["verified"]["cached"] == second["verified"]["files"] == 79  # every unit was verified before
    assert second["verified"]["parsed"] == 0
    assert uncached["verified"]["cached"] == 0
    assert first["status"] == second["status"] == uncached["status"] == "written"
    assert tree(tmp_path / "a") == tree(tmp_path / "b") == tree(tmp_path / "c")


def test_cache_never_hides_a_changed_unit(tmp_path: Path):
    cache = tmp_path / "cache"
    assert run_cli("render", EXAMPLE, "-o", tmp_path / "a", "--cache-dir", cache).exit_code == 0
    changed = tmp_path / "tenants.yaml"
    changed.write_text(EXAMPLE.read_text().replace("order=4471", "order=4472"))
    payload = json.loads(run_cli("render", changed, "-o", tmp_path / "a", "--cache-dir", cache, "--format", "json").stdout)
    # acme's unit changed: its 9 files are verified again, every other unit is a cache hit
    assert payload["verified"]["files"] - payload["verified"]["cached"] == 9
    templates = tmp_path / "templates"
    import shutil

    from gen.resources import templates_dir

    shutil.copytree(templates_dir(), templates)
    (templates / "VERSION").write_text("test-release\n")
    payload = json.loads(run_cli("render", changed, "-o", tmp_path / "b", "--cache-dir", cache, "--templates", templates,
                                 "--format", "json").stdout)
    assert payload["verified"]["cached"] == 0  # a new template release starts a new cache namespace
