"""Rough edges of the CLI: every user mistake is one located line (exit 1), never a traceback,
and what the CLI prints adds up."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import EXAMPLE, MINIMAL, ROOT, run_cli, run_plgen
from gen.cli import main


def _stdin_cli(*args: str, text: str):
    return CliRunner().invoke(main, [str(a) for a in args], input=text, catch_exceptions=False)


def _manifest(tmp_path: Path, old: str = "", new: str = "") -> Path:
    path = tmp_path / "tenants.yaml"
    text = MINIMAL.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    return path


# --- 1. plgen schema -o ------------------------------------------------------------------------


def test_schema_into_a_missing_directory_is_one_line(tmp_path: Path):
    target = tmp_path / "missing" / "s.json"
    result = run_plgen("schema", "-o", target)
    assert result.returncode == 1
    assert result.stderr == f"error: {target}: cannot write: No such file or directory\n"
    assert not target.parent.exists()


def test_schema_is_written_whole_or_not_at_all(tmp_path: Path, monkeypatch):
    target = tmp_path / "s.json"
    assert run_cli("schema", "-o", target).exit_code == 0
    assert target.read_text() == run_cli("schema").stdout
    assert os.listdir(tmp_path) == ["s.json"]  # no temporary file left behind

    target.write_text("previous")

    def refuse(*_args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("gen.api.os.replace", refuse)
    result = run_cli("schema", "-o", target)
    assert result.exit_code == 1
    assert result.stderr == f"error: {target}: cannot write: No space left on device\n"
    assert target.read_text() == "previous"
    assert os.listdir(tmp_path) == ["s.json"]


# --- 2. --templates ------------------------------------------------------------------------------


def test_empty_templates_directory_names_what_is_missing(tmp_path: Path):
    templates = tmp_path / "templates"
    templates.mkdir()
    result = run_cli("render", MINIMAL, "-o", tmp_path / "out", "--templates", templates)
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: {templates}: not a complete templates directory: missing VERSION, ")
    assert len(result.stderr.splitlines()) == 1 and "None" not in result.stderr
    assert not (tmp_path / "out").exists()


def test_templates_directory_missing_one_template(tmp_path: Path):
    from gen.resources import templates_dir

    templates = tmp_path / "templates"
    shutil.copytree(templates_dir(), templates)
    (templates / "docs" / "tenant-README.md.j2").unlink()
    result = run_cli("render", MINIMAL, "-o", tmp_path / "out", "--templates", templates)
    assert result.exit_code == 1
    assert result.stderr == f"error: {templates}: not a complete templates directory: missing docs/tenant-README.md.j2\n"


def test_a_broken_template_is_located(tmp_path: Path):
    from gen.resources import templates_dir

    templates = tmp_path / "templates"
    shutil.copytree(templates_dir(), templates)
    (templates / "docs" / "tenant-README.md.j2").write_text("line one\n{% if %}\n")
    result = run_cli("render", MINIMAL, "-o", tmp_path / "out", "--templates", templates)
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: {templates / 'docs' / 'tenant-README.md.j2'}:2: template syntax: ")
    assert len(result.stderr.splitlines()) == 1


def test_an_os_error_without_file_name_or_text_never_prints_none(tmp_path: Path, monkeypatch):
    def fail(*_args, **_kwargs):
        raise OSError("the disk went away")

    monkeypatch.setattr("gen.write.Output.write", fail)
    result = run_cli("render", MINIMAL, "-o", tmp_path / "out")
    assert result.exit_code == 1
    assert result.stderr == f"error: {tmp_path / 'out'}: cannot write the output: the disk went away\n"


# --- 3. a directory or a missing file as MANIFEST -----------------------------------------------


def _manifest_commands(manifest: Path, connections: Path) -> dict[str, list]:
    return {
        "validate": ["validate", manifest],
        "render": ["render", manifest, "-o", manifest.parent / "out"],
        "bundle": ["bundle", manifest, "alpha", "-o", manifest.parent / "bundles"],
        "capacity": ["capacity", manifest],
        "approvals": ["approvals", manifest, "--connections", connections],
    }


NOT_A_MANIFEST_DIRECTORY = "is a directory without plgen.yaml (a manifest directory holds plgen.yaml and tenants/)"


@pytest.mark.parametrize("command", ["validate", "render", "bundle", "capacity", "approvals"])
@pytest.mark.parametrize("kind, problem", [("directory", NOT_A_MANIFEST_DIRECTORY), ("missing", "not found")])
def test_directory_or_missing_manifest_is_exit_1_for_every_command(tmp_path: Path, command: str, kind: str, problem: str):
    manifest = tmp_path / "tenants.yaml"
    if kind == "directory":
        manifest.mkdir()
    connections = tmp_path / "connections.json"
    connections.write_text("[]")
    result = run_cli(*_manifest_commands(manifest, connections)[command])
    assert result.exit_code == 1, result.output
    assert result.stderr == f"error: {manifest}: {problem}\n"


@pytest.mark.parametrize("kind, problem", [("directory", "is a directory"), ("missing", "not found")])
def test_approvals_connections_that_are_a_directory_or_missing(tmp_path: Path, kind: str, problem: str):
    connections = tmp_path / "connections.json"
    if kind == "directory":
        connections.mkdir()
    result = run_cli("approvals", MINIMAL, "--connections", connections)
    assert result.exit_code == 1
    assert result.stderr == f"error: {connections}: {problem}\n"


# --- 4. JSON errors ------------------------------------------------------------------------------


def test_json_errors_have_null_for_an_unknown_line_and_are_printed_once(tmp_path: Path):
    result = run_cli("validate", tmp_path / "nope.yaml", "--format", "json")
    assert result.exit_code == 1
    assert result.stderr == ""
    assert json.loads(result.stdout) == {"status": "error", "errors": [
        {"file": str(tmp_path / "nope.yaml"), "line": None, "column": None, "path": "", "message": "not found"}]}


@pytest.mark.parametrize("command", ["validate", "render", "capacity", "bundle"])
def test_json_errors_go_to_stdout_only(tmp_path: Path, command: str):
    manifest = _manifest(tmp_path, "approval: auto", "approval: sometimes")
    args = {"validate": [], "render": ["-o", tmp_path / "out"], "capacity": [], "bundle": ["alpha", "-o", tmp_path / "b"]}
    result = run_cli(command, manifest, *args[command], "--format", "json")
    assert result.exit_code == 1
    assert result.stderr == ""
    [error] = json.loads(result.stdout)["errors"]
    assert error["line"] > 0 and error["column"] > 0 and error["path"] == "tenants[0] (alpha).approval"


# --- 5. verification counts ----------------------------------------------------------------------


_SUMMARY = re.compile(r"verified (\d+) files \((\d+) Terraform/Bicep parsed, (\d+) identical reused, (\d+) JSON/text "
                      r"checked, (\d+) unchanged since a verified run\)")


def _kinds(out: Path) -> tuple[int, int]:
    files = [p for p in out.rglob("*") if p.is_file() and p.name != ".plgen-lock.json"]
    parsed = sum(p.suffix in (".tf", ".bicep") for p in files)
    return parsed, len(files) - parsed


def test_verified_counts_add_up_on_first_render_and_re_render(tmp_path: Path):
    cache, out = tmp_path / "cache", tmp_path / "out"
    first = run_cli("render", EXAMPLE, "-o", out, "--cache-dir", cache)
    files, parsed, reused, json_or_text, cached = map(int, _SUMMARY.search(first.stdout).groups())
    assert parsed + reused + json_or_text + cached == files
    terraform_or_bicep, other = _kinds(out)
    assert (cached, parsed + reused, json_or_text) == (0, terraform_or_bicep, other)

    for again in (run_cli("render", EXAMPLE, "-o", out, "--cache-dir", cache, "--format", "json"),
                  run_cli("render", EXAMPLE, "-o", out, "--cache-dir", cache, "--format", "json", "--no-cache"),
                  run_cli("render", EXAMPLE, "-o", out, "--cache-dir", cache, "--format", "json", "--check")):
        verified = json.loads(again.stdout)["verified"]
        assert verified["parsed"] + verified["reused"] + verified["json_or_text"] + verified["cached"] == verified["files"]
    assert verified["files"] == verified["cached"] == files  # the re-render is all cache hits


# --- 6. capacity without expected_connections ----------------------------------------------------


def test_capacity_says_not_set_without_expected_connections(tmp_path: Path):
    manifest = _manifest(tmp_path)
    text = run_cli("capacity", manifest).stdout
    assert "expected connections not set (capacity ~64,000 per VM)" in text
    assert "0 of ~" not in text
    rows = json.loads(run_cli("capacity", manifest, "--format", "json").stdout)
    assert [row["expected_connections"] for row in rows] == [None, None]


def test_capacity_counts_only_the_expected_connections_given(tmp_path: Path):
    text = MINIMAL.read_text().replace("link_service: pls-demo-2", "link_service: pls-demo-1")
    text = text.replace("    approval: auto\n", "    approval: auto\n    expected_connections: 300\n")
    manifest = tmp_path / "tenants.yaml"
    manifest.write_text(text)
    rows = {row["link_service"]: row for row in json.loads(run_cli("capacity", manifest, "--format", "json").stdout)}
    assert rows["pls-demo-1"]["expected_connections"] == 300
    assert rows["pls-demo-1"]["tenants_without_expected_connections"] == 1
    assert "expected connections 300 of ~64,000 per VM (not set for 1 tenant)" in run_cli("capacity", manifest).stdout


# --- 7. unknown fields and tenant names in paths -------------------------------------------------


def test_unknown_field_gets_a_hint_and_the_path_names_the_tenant(tmp_path: Path):
    manifest = _manifest(tmp_path, "approval: auto", "aproval: auto")
    result = run_cli("validate", manifest)
    assert result.exit_code == 1
    assert result.stderr == (f"error: {manifest}:27:5: tenants[0] (alpha).aproval: unknown field 'aproval'; "
                             "did you mean 'approval'?\n")


def test_unknown_field_deeper_down_and_without_a_close_match(tmp_path: Path):
    manifest = _manifest(tmp_path, "      resource_group: rg-alpha\n", "      resource_grup: rg-alpha\n      colour: blue\n")
    lines = run_cli("validate", manifest).stderr.splitlines()
    assert any(line.endswith("tenants[0] (alpha).endpoint.colour: unknown field 'colour'") for line in lines), lines
    assert any(line.endswith("tenants[0] (alpha).endpoint.resource_grup: unknown field 'resource_grup'; "
                             "did you mean 'resource_group'?") for line in lines), lines


def test_semantic_and_yaml_errors_name_the_tenant_too(tmp_path: Path):
    manifest = _manifest(tmp_path, "link_service: pls-demo-2", "link_service: pls-nope")
    assert ": tenants[1] (beta).link_service: no link service 'pls-nope'" in run_cli("validate", manifest).stderr
    manifest = _manifest(tmp_path, "    approval: auto\n", "    approval: auto\n    approval: manual\n")
    assert f"{manifest}:28:5: tenants[0] (alpha).approval: duplicate key 'approval'" in run_cli("validate", manifest).stderr


def test_a_tenant_id_that_is_not_readable_is_not_repeated(tmp_path: Path):
    manifest = _manifest(tmp_path, "id: beta", "id: '../be ta'")
    assert ": tenants[1].id: not a slug" in run_cli("validate", manifest).stderr


# --- 8. standard input ---------------------------------------------------------------------------


def test_validate_and_render_read_standard_input(tmp_path: Path):
    result = _stdin_cli("validate", "-", text=MINIMAL.read_text())
    assert result.exit_code == 0 and result.stdout == "<stdin>: valid (2 tenants, 2 link services)\n"
    result = _stdin_cli("render", "-", "-o", tmp_path / "out", text=MINIMAL.read_text())
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "tenants" / "alpha" / "README.md").is_file()
    assert _stdin_cli("render", "-", "-o", tmp_path / "out", "--check", text=MINIMAL.read_text()).exit_code == 0
    assert json.loads(_stdin_cli("capacity", "-", "--format", "json", text=MINIMAL.read_text()).stdout)
    result = _stdin_cli("bundle", "-", "alpha", "-o", tmp_path / "bundles", text=MINIMAL.read_text())
    assert result.exit_code == 0 and (tmp_path / "bundles" / "alpha.zip").is_file()


def test_errors_from_standard_input_are_located_in_stdin():
    result = _stdin_cli("validate", "-", text=MINIMAL.read_text().replace("approval: auto", "approval: sometimes"))
    assert result.exit_code == 1
    assert result.stderr.startswith("error: <stdin>:27:15: tenants[0] (alpha).approval: ")
    result = _stdin_cli("bundle", "-", "nobody", text=MINIMAL.read_text())
    assert result.stderr == "error: <stdin>: no tenant 'nobody' in the manifest\n"


def test_standard_input_through_a_real_pipe():
    result = subprocess.run([sys.executable, "-m", "gen.cli", "validate", "-"], input="version: [1\n",
                            capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 1
    assert result.stderr.startswith("error: <stdin>:2:1: YAML syntax: ")
    assert "Traceback" not in result.stderr


# --- 9. help and version -------------------------------------------------------------------------


COMMANDS = ["validate", "render", "bundle", "approvals", "capacity", "schema", "split", "join", "tenant"]


def test_command_summaries_are_complete():
    result = run_cli("--help")
    assert "..." not in result.stdout.split("Commands:")[1]
    for name in COMMANDS:
        command = main.commands[name]
        assert command.short_help and command.short_help.endswith("."), name
        summary = re.search(rf"^  {name} +(.*(?:\n {{4,}}.*)*)", result.stdout, re.MULTILINE)[1]
        assert " ".join(summary.split()) == command.short_help


@pytest.mark.parametrize("name", COMMANDS)
def test_every_command_has_an_example(name: str):
    result = run_cli(name, "--help")
    assert result.exit_code == 0
    example = result.stdout.split("\n  Example:\n", 1)[1].split("\n\n", 1)[0]
    assert f"    plgen {name} " in example


def test_version():
    from gen import __version__

    result = run_cli("--version")
    assert result.exit_code == 0 and result.stdout == f"plgen {__version__}\n"
