"""Stage 2: every rule gives a located one-line error; the error output is snapshotted per
invalid manifest, so a change in wording or location shows up in review."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from conftest import EXAMPLE, INVALID, MINIMAL, run_cli
from gen.errors import ManifestError
from gen.load import load_file, load_text
from gen.validate import validate

INVALID_FILES = sorted(INVALID.glob("*.yaml"))


@pytest.mark.parametrize("manifest", INVALID_FILES, ids=[p.stem for p in INVALID_FILES])
def test_invalid_manifest_errors_are_located_and_snapshotted(manifest: Path, snapshot, tmp_path):
    out = tmp_path / "out"
    result = run_cli("render", manifest.relative_to(Path.cwd()) if manifest.is_relative_to(Path.cwd()) else manifest, "-o", out)
    assert result.exit_code == 1
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines, "an invalid manifest must print at least one error"
    for line in lines:
        # file:line:column: field.path: message, one line each, never a traceback
        assert line.startswith(f"error: {manifest.relative_to(Path.cwd()) if manifest.is_relative_to(Path.cwd()) else manifest}:"), line
        assert "Traceback" not in line
    assert not out.exists(), "nothing may be written for an invalid manifest"
    snapshot.snapshot_dir = Path(__file__).parent / "snapshots" / "errors"
    snapshot.assert_match(result.stderr.replace(str(INVALID.parent.parent) + "/", ""), f"{manifest.stem}.txt")


def test_every_invalid_manifest_explains_itself():
    for manifest in INVALID_FILES:
        assert manifest.read_text().startswith("# Invalid: "), manifest


def test_five_mistakes_give_five_located_errors(tmp_path):
    text = MINIMAL.read_text()
    text = text.replace("nat_ips: 1", "nat_ips: 0")
    text = text.replace("[11111111-0000-4000-8000-000000000001]", "[not-a-guid]")
    text = text.replace("approval: auto", "approval: sometimes")
    text = text.replace("display_name: Beta", "display_name: no")
    text = text.replace("    link_service: pls-demo-2\n", "    link_service: pls-demo-2\n    colour: blue\n")
    manifest = tmp_path / "five.yaml"
    manifest.write_text(text)
    result = run_cli("render", manifest, "-o", tmp_path / "out")
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 5, result.stderr
    assert [line.split(": ")[2] for line in lines] == [
        "provider.regions[0].link_services[0].nat_ips",
        "tenants[0] (alpha).subscriptions[0]",
        "tenants[0] (alpha).approval",
        "tenants[1] (beta).display_name",
        "tenants[1] (beta).colour",
    ]
    assert not (tmp_path / "out").exists()


def _minimal_dict() -> dict:
    return yaml.safe_load(MINIMAL.read_text())


def _errors(data: dict) -> str:
    with pytest.raises(ManifestError) as info:
        validate(load_text(yaml.safe_dump(data, sort_keys=False), "gen.yaml"))
    return str(info.value)


def _tenant(i: int, link_service: str, approval: str = "manual") -> dict:
    return {"id": f"t{i:04d}", "display_name": f"T{i}", "region": "eastus2", "link_service": link_service,
            "subscriptions": [f"{i:08x}-0000-4000-8000-000000000000"], "approval": approval}


def test_more_than_1000_endpoints_on_a_link_service_asks_for_a_shard():
    data = _minimal_dict()
    data["tenants"][0]["endpoints"] = 600
    data["tenants"].append({**_tenant(7, "pls-demo-1"), "endpoints": 401})
    assert "plan 1001 private endpoints" in _errors(data)
    assert "add a shard" in _errors(data)


def test_more_than_100_visible_subscriptions_suggests_public_visibility():
    data = _minimal_dict()
    data["tenants"] += [_tenant(i, "pls-demo-2") for i in range(100, 200)]
    message = _errors(data)
    assert "101 subscriptions in the visibility list of 'pls-demo-2'" in message
    assert "set provider.visibility to public" in message
    data["provider"]["visibility"] = "public"
    validate(load_text(yaml.safe_dump(data), "gen.yaml"))  # public visibility lifts the limit


def test_more_than_100_auto_approved_subscriptions_is_refused_even_when_public():
    data = _minimal_dict()
    data["provider"]["visibility"] = "public"
    data["tenants"] += [_tenant(i, "pls-demo-2", "auto") for i in range(100, 201)]
    assert "101 subscriptions in the auto-approval list of 'pls-demo-2'" in _errors(data)


def test_more_than_8_link_services_on_one_load_balancer():
    data = _minimal_dict()
    region = data["provider"]["regions"][0]
    region["nat_subnet"]["address_prefix"] = "10.1.0.0/24"
    region["load_balancer"]["frontends"] = [f"fe-{i}" for i in range(1, 10)]
    region["link_services"] = [{"name": f"pls-demo-{i}", "frontend": f"fe-{i}"} for i in range(1, 10)]
    assert "9 link services on load balancer 'lb-demo'" in _errors(data)


def test_the_example_is_valid():
    manifest = validate(load_file(EXAMPLE))
    assert {t.id for t in manifest.tenants} >= {"acme", "globex", "initech", "umbrella", "hooli", "stark"}
