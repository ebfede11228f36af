"""Issue 7: hostile text stays data, bad input is refused, no run ever loses or half-writes a tree."""

from __future__ import annotations

import fcntl
import json
import os
import random
import signal
import subprocess
import sys
import time
import unicodedata
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import EXAMPLE, MINIMAL, ROOT, consistent_tree, render_two_fleets, run_cli, tree
from tf_harness import apply, echo_outputs


HOSTILE = {
    "interpolation": "${path.cwd}",
    "template-directive": "%{ if true }x%{ endif }",
    "escaped-interpolation": "$${x}",
    "quotes": "say \"hi\" and 'bye'",
    "backslashes": "C:\\temp\\new \\n not a newline",
    "comment-close": "*/ /* // # -->",
    "heredoc-marker": "EOT <<EOT EOT",
    "emoji": "ACME 😀 🚀",
    "right-to-left": "שלום עולם مرحبا",
    "arm-expression": "[concat('x', parameters('y'))]",
    "bicep-interpolation": "${resourceGroup().id}",
    "markdown": "[click](https://evil.example) <script>alert(1)</script> `code` | pipe",
}


def _with_free_text(base: str, display_name: str, request_message: str, tag_value: str) -> str:
    quote = lambda text: json.dumps(text, ensure_ascii=False)  # JSON strings are YAML double-quoted scalars
    text = base.replace('display_name: "ACME Corp"', f"display_name: {quote(display_name)}")
    text = text.replace('request_message: "tenant=acme order=4471"', f"request_message: {quote(request_message)}")
    return text.replace("owner: platform", f"owner: {quote(tag_value)}")


# --- injection ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def baseline_code(tmp_path_factory) -> dict[str, bytes]:
    out = tmp_path_factory.mktemp("baseline") / "out"
    assert run_cli("render", EXAMPLE, "-o", out, "--no-cache").exit_code == 0
    return {p: b for p, b in tree(out).items() if p.endswith((".tf", ".bicep"))}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_text_stays_data(name, tmp_path: Path, baseline_code, terraform):
    value = HOSTILE[name]
    manifest = tmp_path / "tenants.yaml"
    manifest.write_text(_with_free_text(EXAMPLE.read_text(), value, value[:140], value))
    out = tmp_path / "out"
    result = run_cli("render", manifest, "-o", out)
    assert result.exit_code == 0, result.output
    files = tree(out)
    # no generated code changes: the text travelled only in JSON data files
    assert {p: b for p, b in files.items() if p.endswith((".tf", ".bicep"))} == baseline_code
    tfvars = json.loads(files["tenants/acme/terraform/terraform.tfvars.json"])
    assert tfvars["request_message"] == value[:140]
    params = json.loads(files["tenants/acme/bicep/main.parameters.json"])["parameters"]
    assert params["requestMessage"]["value"] == value[:140]
    assert json.loads(files["provider/terraform/terraform.tfvars.json"])["tags"]["owner"] == value
    # real Terraform reads the tenant's values back literally
    module = out / "tenants" / "acme" / "terraform"
    variables_tf = (module / "variables.tf").read_text()
    outputs = apply(terraform, tmp_path / "harness", {
        "variables.tf": variables_tf,
        "outputs.tf": echo_outputs(variables_tf),
        "terraform.tfvars.json": (module / "terraform.tfvars.json").read_text(),
    })
    assert outputs["request_message"] == value[:140]
    provider = out / "provider" / "terraform"
    outputs = apply(terraform, tmp_path / "provider-harness", {
        "variables.tf": (provider / "variables.tf").read_text(),
        "outputs.tf": echo_outputs((provider / "variables.tf").read_text()),
        "terraform.tfvars.json": (provider / "terraform.tfvars.json").read_text(),
    })
    assert outputs["tags"]["owner"] == value


allowed_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp")), min_size=1, max_size=140,
).map(lambda text: unicodedata.normalize("NFC", text).strip()).filter(lambda text: 0 < len(text) <= 140)
# azurerm counts a request message's limit (140) in UTF-8 bytes, and validation does too
allowed_message = allowed_text.filter(lambda text: len(text.encode("utf-8")) <= 140)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(display_name=allowed_text, request_message=allowed_message, tag_value=allowed_text)
def test_any_allowed_free_text_renders_verifies_and_reads_back(display_name, request_message, tag_value, baseline_code):
    from gen.load import load_text
    from gen.plan import build_plan
    from gen.render import render
    from gen.validate import validate
    from gen.verify import verify

    text = _with_free_text(EXAMPLE.read_text(), display_name, request_message, tag_value)
    plan = build_plan(validate(load_text(text, "tenants.yaml")), "tenants.yaml")
    files = render(plan)
    verify(plan, files)  # raises on any failed check
    assert {p: t.encode() for p, t in files.items() if p.endswith((".tf", ".bicep"))} == baseline_code
    assert json.loads(files["tenants/acme/terraform/terraform.tfvars.json"])["request_message"] == request_message
    assert json.loads(files["tenants/acme/bicep/main.parameters.json"])["parameters"]["requestMessage"]["value"] == request_message
    assert json.loads(files["provider/terraform/terraform.tfvars.json"])["tags"]["owner"] == tag_value


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(request_message=allowed_message)
def test_terraform_reads_generated_request_messages_literally(request_message, tmp_path_factory, terraform):
    from gen.load import load_text
    from gen.plan import build_plan
    from gen.render import render

    text = _with_free_text(EXAMPLE.read_text(), "X", request_message, "y")
    files = render(build_plan(__import__("gen.validate").validate.validate(load_text(text, "t.yaml")), "t.yaml"))
    variables_tf = files["tenants/acme/terraform/variables.tf"]
    outputs = apply(terraform, tmp_path_factory.mktemp("h"), {
        "variables.tf": variables_tf,
        "outputs.tf": echo_outputs(variables_tf),
        "terraform.tfvars.json": files["tenants/acme/terraform/terraform.tfvars.json"],
    })
    assert outputs["request_message"] == request_message


# --- input abuse ----------------------------------------------------------------------------


def test_non_nfc_free_text_is_normalised_and_non_nfc_ids_are_refused(tmp_path: Path):
    decomposed = unicodedata.normalize("NFD", "Zürich")
    manifest = tmp_path / "m.yaml"
    manifest.write_text(_with_free_text(EXAMPLE.read_text(), decomposed, "ok", "x"))
    out = tmp_path / "out"
    assert run_cli("render", manifest, "-o", out).exit_code == 0
    assert "Zürich" in (out / "tenants" / "acme" / "README.md").read_text()
    manifest.write_text(EXAMPLE.read_text().replace("id: acme", "id: " + unicodedata.normalize("NFD", "acmé")))
    result = run_cli("validate", manifest)
    assert result.exit_code == 1 and "tenants[0].id: not a slug" in result.stderr


def test_secrets_have_no_field_in_the_manifest(tmp_path: Path):
    manifest = tmp_path / "m.yaml"
    manifest.write_text(MINIMAL.read_text().replace("    approval: auto\n", "    approval: auto\n    shared_key: hunter2\n"))
    result = run_cli("render", manifest, "-o", tmp_path / "out")
    assert result.exit_code == 1 and "unknown field 'shared_key'" in result.stderr
    assert not (tmp_path / "out").exists()


# --- crash safety ---------------------------------------------------------------------------


def _plgen(args: list, env: dict) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "gen.cli", *map(str, args)], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


@pytest.fixture(scope="module")
def two_fleets(tmp_path_factory):
    return render_two_fleets(tmp_path_factory.mktemp("fleets"), 300)


def _prepare(tmp_path: Path, base: Path) -> tuple[Path, Path, dict]:
    tmp_path.mkdir(parents=True, exist_ok=True)
    out, manifest = tmp_path / "out", tmp_path / "tenants.yaml"
    manifest.write_text((base / "old.yaml").read_text())
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "state")}
    assert subprocess.run([sys.executable, "-m", "gen.cli", "render", str(manifest), "-o", str(out)], cwd=ROOT,
                          env=env, capture_output=True).returncode == 0
    manifest.write_text((base / "new.yaml").read_text())
    return out, manifest, env


@pytest.mark.parametrize("point", ["compared", "staging-pruned", "staging-half-written", "staging-complete", "exchanged"])
def test_sigkill_at_each_step_leaves_old_or_new_tree(point, tmp_path: Path, two_fleets):
    base, trees = two_fleets
    out, manifest, env = _prepare(tmp_path, base)
    process = _plgen(["render", manifest, "-o", out], {**env, "PLGEN_TEST_KILL_AT": point})
    assert process.wait() == -signal.SIGKILL
    expected = trees["new"] if point == "exchanged" else trees["old"]
    assert consistent_tree(out) == expected
    # the next run recovers (staging leftovers, a damaged spare) and completes
    assert _plgen(["render", manifest, "-o", out], env).wait() == 0
    assert consistent_tree(out) == trees["new"]


def test_sigkill_at_random_moments_leaves_old_or_new_tree(tmp_path: Path, two_fleets):
    base, trees = two_fleets
    rng = random.Random(7)
    outcomes = set()
    for attempt in range(6):
        out, manifest, env = _prepare(tmp_path / f"try-{attempt}", base)
        process = _plgen(["render", manifest, "-o", out], env)
        time.sleep(rng.uniform(0.2, 2.5))
        process.send_signal(signal.SIGKILL)
        process.wait()
        state = consistent_tree(out)
        assert state in (trees["old"], trees["new"])
        outcomes.add("new" if state == trees["new"] else "old")
    assert outcomes  # which ones occur depends on timing; every one was complete


def test_concurrent_renders_never_interleave(tmp_path: Path, two_fleets):
    base, trees = two_fleets
    out = tmp_path / "out"
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "state")}
    first = _plgen(["render", base / "old.yaml", "-o", out], env)
    second = _plgen(["render", base / "new.yaml", "-o", out], env)
    assert first.wait() == 0 and second.wait() == 0
    assert consistent_tree(out) in (trees["old"], trees["new"])


def test_second_writer_gives_up_with_a_clear_message(tmp_path: Path):
    out = tmp_path / "out"
    fd = os.open(tmp_path, os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        env = {**os.environ, "PLGEN_LOCK_WAIT": "0.3", "XDG_CACHE_HOME": str(tmp_path / "state")}
        result = subprocess.run([sys.executable, "-m", "gen.cli", "render", str(EXAMPLE), "-o", str(out)], cwd=ROOT,
                                env=env, capture_output=True, text=True)
    finally:
        os.close(fd)
    assert result.returncode == 1
    assert "another plgen run is writing here" in result.stderr
    assert not out.exists()
