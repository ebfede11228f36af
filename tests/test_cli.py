"""The CLI contract: exit codes 0/1/2, text and JSON output, schema freshness, no tracebacks."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import EXAMPLE, INVALID, ROOT, run_cli, run_plgen


def test_validate_ok_and_json():
    result = run_cli("validate", EXAMPLE)
    assert result.exit_code == 0
    assert "valid (6 tenants, 3 link services)" in result.stdout
    payload = json.loads(run_cli("validate", EXAMPLE, "--format", "json").stdout)
    assert payload == {"status": "valid", "tenants": 6, "link_services": 3}


def test_invalid_manifest_json_errors_carry_locations():
    result = run_cli("validate", INVALID / "duplicate-key.yaml", "--format", "json")
    assert result.exit_code == 1
    payload = json.loads(result.stdout)
    assert payload["errors"] == [{"file": str(INVALID / "duplicate-key.yaml"), "line": 29, "column": 5,
                                  "path": "tenants[0].approval", "message": "duplicate key 'approval'"}]


def test_usage_errors_exit_2():
    assert run_cli("render").exit_code == 2
    assert run_cli("render", EXAMPLE, "--format", "xml").exit_code == 2
    assert run_cli("frobnicate").exit_code == 2


def test_missing_manifest_is_a_clean_error(tmp_path: Path):
    result = run_plgen("validate", tmp_path / "nope.yaml")
    assert result.returncode == 1
    assert result.stderr.strip() == f"error: {tmp_path / 'nope.yaml'}: cannot read: No such file or directory"
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
    result = run_cli("render", EXAMPLE, "-o", tmp_path / "out", "--format", "json")
    payload = json.loads(result.stdout)
    assert payload["status"] == "written"
    assert payload["verified"]["files"] == 54
    # the five tenant modules are the same bytes: parsed once, reused four times each file
    assert payload["verified"]["reused"] == 24  # 5 tenants x 6 shared .tf/.bicep files, 4 reused each
