"""Issue 4: approvals, capacity, bundles and the tenant guide, used as a platform engineer would."""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path

import pytest

from conftest import EXAMPLE, run_cli

PROVIDER_SUB = "9f1c2c8e-0000-4000-8000-000000000001"


def connection(pls: str, consumer_sub: str, status: str, link_id: int, name: str, message: str = "", flat=False) -> dict:
    state = {"status": status, "description": message, "actionsRequired": "None"}
    properties = {
        "privateEndpoint": {"id": f"/subscriptions/{consumer_sub}/resourceGroups/rg/providers/Microsoft.Network/privateEndpoints/pe-{name}"},
        "privateLinkServiceConnectionState": state,
        "linkIdentifier": str(link_id),
        "provisioningState": "Succeeded",
    }
    base = {
        "id": f"/subscriptions/{PROVIDER_SUB}/resourceGroups/rg-contoso-api/providers/Microsoft.Network/privateLinkServices/{pls}/privateEndpointConnections/{name}",
        "name": name,
        "type": "Microsoft.Network/privateLinkServices/privateEndpointConnections",
    }
    return {**base, **properties} if flat else {**base, "properties": properties}


EUS1, EUS2, WEU = "pls-contoso-api-eus2-1", "pls-contoso-api-eus2-2", "pls-contoso-api-weu-1"
CASES = [
    # (connection, expected decision, expected tenant)
    (connection(EUS1, "1111aaaa-0000-4000-8000-000000000002", "Pending", 101, "acme-pending",
                "tenant=acme order=4471"), "approve", "acme"),
    (connection(EUS1, "2222bbbb-0000-4000-8000-000000000004", "Pending", 102, "globex-second-sub", flat=True), "approve", "globex"),
    # suspended: held, not rejected (a rejected connection can never be approved later)
    (connection(EUS2, "3333cccc-0000-4000-8000-000000000005", "Pending", 103, "initech-suspended"), "hold", "initech"),
    (connection(EUS2, "4444dddd-0000-4000-8000-000000000006", "Pending", 104, "umbrella-offboarded"), "reject", "umbrella"),
    (connection(EUS1, "9999ffff-0000-4000-8000-000000000099", "Pending", 105, "stranger",
                "tenant=acme please approve"), "hold", None),
    (connection(EUS1, "5555eeee-0000-4000-8000-000000000007", "Pending", 106, "hooli-wrong-shard"), "hold", None),
    (connection(WEU, "5555eeee-0000-4000-8000-000000000007", "Approved", 107, "hooli-approved"), "keep", "hooli"),
    (connection(EUS2, "3333cccc-0000-4000-8000-000000000005", "Approved", 108, "initech-still-approved"), "flag", "initech"),
    (connection(EUS2, "4444dddd-0000-4000-8000-000000000006", "Approved", 109, "umbrella-still-approved"), "flag", "umbrella"),
    (connection(WEU, "6666ffff-0000-4000-8000-000000000008", "Rejected", 110, "stark-rejected"), "keep", "stark"),
    (connection("pls-unknown", "1111aaaa-0000-4000-8000-000000000002", "Pending", 111, "unknown-service"), "hold", None),
]


@pytest.fixture
def connections_file(tmp_path: Path) -> Path:
    path = tmp_path / "connections.json"
    path.write_text(json.dumps([case[0] for case in CASES]))
    return path


def test_approvals_decide_every_case(connections_file: Path):
    result = run_cli("approvals", EXAMPLE, "--connections", connections_file, "--format", "json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [(row["decision"], row["tenant"]) for row in rows] == [(d, t) for _, d, t in CASES]
    assert all(set(row) >= {"id", "decision", "tenant", "reason"} for row in rows)
    # the request message is shown but never decides: the stranger claims to be acme
    stranger = rows[4]
    assert stranger["request_message"] == "tenant=acme please approve" and stranger["decision"] == "hold"


def test_reject_unknown_rejects_strangers(connections_file: Path):
    rows = json.loads(run_cli("approvals", EXAMPLE, "--connections", connections_file, "--reject-unknown",
                              "--format", "json").stdout)
    unknown = [row for row in rows if row["tenant"] is None]
    assert [row["decision"] for row in unknown] == ["reject", "hold", "hold"]
    # a known customer on the wrong shard is never rejected silently: held, and named
    assert "belongs to tenant hooli on pls-contoso-api-weu-1" in unknown[1]["reason"]
    assert "held although --reject-unknown" in unknown[1]["reason"]
    assert "link service pls-unknown is not in the manifest" in unknown[2]["reason"]


@pytest.mark.parametrize("shape, wrap", [
    ("az network private-endpoint-connection list", lambda cs: cs),
    ("REST list response", lambda cs: {"value": cs}),
    ("az network private-link-service show", lambda cs: {"name": "pls", "privateEndpointConnections": [
        {**{k: v for k, v in c.items() if k != "properties"}, **c.get("properties", {})} for c in cs]}),
    ("az network private-link-service show", lambda cs: [{"privateEndpointConnections": [c]} for c in cs]),
])
def test_every_real_az_output_shape_is_read_and_named(tmp_path: Path, shape, wrap):
    path = tmp_path / "c.json"
    path.write_text(json.dumps(wrap([case[0] for case in CASES])))
    rows = json.loads(run_cli("approvals", EXAMPLE, "--connections", path, "--format", "json").stdout)
    assert [(row["decision"], row["tenant"]) for row in rows] == [(d, t) for _, d, t in CASES]
    assert run_cli("approvals", EXAMPLE, "--connections", path).stdout.startswith(f"read: {shape}\n")


@pytest.mark.parametrize("document, complaint", [
    ([{"id": "x"}], "no private endpoint connection id"),
    ([{k: v for k, v in connection(EUS1, "1111aaaa-0000-4000-8000-000000000002", "Pending", 1, "n").items()}
      | {"properties": {"privateLinkServiceConnectionState": {"status": "Pending"}}}], "no privateEndpoint.id"),
    ({"unexpected": True}, "not a list of private endpoint connections"),
])
def test_anything_else_is_refused_naming_the_expected_shapes(tmp_path: Path, document, complaint):
    path = tmp_path / "c.json"
    path.write_text(json.dumps(document))
    result = run_cli("approvals", EXAMPLE, "--connections", path)
    assert result.exit_code == 1 and result.stdout == ""
    assert complaint in result.stderr and "az network private-link-service show" in result.stderr
    assert "None" not in result.stderr and "Traceback" not in result.stderr


def test_sh_format_is_a_runnable_quoted_script(connections_file: Path, tmp_path: Path):
    import shlex
    import subprocess
    script = run_cli("approvals", EXAMPLE, "--connections", connections_file, "--format", "sh").stdout
    assert script.startswith("#!/bin/sh\n") and "set -eu" in script
    commands = [line for line in script.splitlines() if line.startswith("az ")]
    assert len(commands) == 3  # acme, globex approved; umbrella rejected (strangers and initech held)
    for line in commands:
        assert shlex.split(line)[:4] == ["az", "network", "private-endpoint-connection", line.split()[3]]
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "az").write_text('#!/bin/sh\nprintf "%s\\n" "$*" >> "$AZ_LOG"\n')
    (fake / "az").chmod(0o755)
    log = tmp_path / "az.log"
    ran = subprocess.run(["sh", "-c", script], env={"PATH": f"{fake}:/usr/bin:/bin", "AZ_LOG": str(log)},
                         capture_output=True, text=True)
    assert ran.returncode == 0, ran.stderr
    assert len(log.read_text().splitlines()) == 3


def test_text_output_has_commands_and_link_id_map(connections_file: Path):
    result = run_cli("approvals", EXAMPLE, "--connections", connections_file)
    assert result.exit_code == 0
    out = result.stdout
    approve_id = CASES[0][0]["id"]
    assert f"az network private-endpoint-connection approve --id {approve_id} --description 'plgen: tenant acme is active" in out
    assert f"az network private-endpoint-connection reject --id {CASES[3][0]['id']}" in out
    assert f"--id {CASES[2][0]['id']}" not in out  # held: no command
    assert f"# review, then: az network private-endpoint-connection reject --id {CASES[7][0]['id']}" in out
    assert "LinkID -> tenant (PROXY protocol TLV 0xEE):" in out
    assert "  101 acme" in out and "  108 initech" in out
    assert "  105 " not in out  # strangers have no tenant to attribute


def test_approvals_accept_the_rendered_approvals_json(connections_file: Path, example_out: Path):
    from_manifest = run_cli("approvals", EXAMPLE, "--connections", connections_file, "--format", "json").stdout
    from_file = run_cli("approvals", example_out / "provider" / "approvals.json", "--connections", connections_file,
                        "--format", "json").stdout
    assert from_file == from_manifest
    approvals = json.loads((example_out / "provider" / "approvals.json").read_text())
    assert approvals["link_services"][EUS2]["tenants"]["umbrella"]["state"] == "offboarded"


def test_approvals_bad_input_is_a_clean_error(tmp_path: Path):
    bad = tmp_path / "c.json"
    bad.write_text("{not json")
    result = run_cli("approvals", EXAMPLE, "--connections", bad)
    assert result.exit_code == 1 and "cannot read connections" in result.stderr


def test_capacity_reports_the_example(tmp_path: Path):
    result = run_cli("capacity", EXAMPLE, "--format", "json")
    assert result.exit_code == 0
    rows = {row["link_service"]: row for row in json.loads(result.stdout)}
    eus1 = rows[EUS1]
    assert (eus1["endpoints"], eus1["visibility_subscriptions"], eus1["auto_approval_subscriptions"], eus1["nat_ips"]) == (4, 3, 1, 2)
    # 10.50.1.0/24: 251 usable, 3 NAT IPs across the region's two link services
    assert eus1["nat_subnet_free"] == 248 and rows[EUS2]["nat_subnet_free"] == 248
    assert rows[WEU]["nat_subnet_free"] == 56 and rows[WEU]["nat_ips"] == 3 and rows[WEU]["endpoints"] == 4
    assert eus1["expected_connections"] == 200 and eus1["ports_per_nat_ip_per_vm"] == 64000
    assert eus1["connection_capacity"] == 2 * 64000 and eus1["backend_vms"] is None
    assert all(not row["exceeded"] for row in rows.values())
    text = run_cli("capacity", EXAMPLE).stdout
    assert "64,000 TCP ports per NAT IP per backend VM" in text and "documents no" not in text


def test_capacity_exits_1_and_advises_when_a_limit_is_exceeded(tmp_path: Path):
    text = EXAMPLE.read_text().replace("    endpoints: 2\n", "    endpoints: 1200\n")
    manifest = tmp_path / "m.yaml"
    manifest.write_text(text)
    assert run_cli("validate", manifest).exit_code == 1  # render refuses it ...
    result = run_cli("capacity", manifest, "--format", "json")  # ... capacity explains it
    assert result.exit_code == 1
    row = next(r for r in json.loads(result.stdout) if r["link_service"] == EUS1)
    assert row["exceeded"] == ["1202 endpoints > 1000"]  # acme 1200 + globex 2 (its endpoint_sites)
    assert any("add a shard" in advice for advice in row["advice"])


def test_bundles_are_reproducible_and_complete(tmp_path: Path):
    first = run_cli("bundle", EXAMPLE, "acme", "hooli", "-o", tmp_path / "a", "--format", "json")
    second = run_cli("bundle", EXAMPLE, "acme", "-o", tmp_path / "b", "--format", "json")
    assert first.exit_code == second.exit_code == 0
    assert json.loads(first.stdout)["acme"]["sha256"] == json.loads(second.stdout)["acme"]["sha256"]
    archive = zipfile.ZipFile(tmp_path / "a" / "acme.zip")
    names = archive.namelist()
    assert names == sorted(names)
    assert set(names) == {"acme/README.md", "acme/terraform/versions.tf", "acme/terraform/variables.tf",
                          "acme/terraform/main.tf", "acme/terraform/outputs.tf", "acme/terraform/terraform.tfvars.json",
                          "acme/bicep/main.bicep", "acme/bicep/main.parameters.json", "acme/bicep/endpoint-ip.bicep"}
    assert {info.date_time for info in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
    assert {info.external_attr >> 16 for info in archive.infolist()} == {0o100644}
    assert hashlib.sha256((tmp_path / "a" / "hooli.zip").read_bytes()).hexdigest() == json.loads(first.stdout)["hooli"]["sha256"]


@pytest.mark.parametrize(("tenant", "message"), [("umbrella", "is offboarded: it has no bundle"), ("nobody", "no tenant 'nobody'")])
def test_bundle_refuses_offboarded_and_unknown_tenants(tenant, message, tmp_path: Path):
    result = run_cli("bundle", EXAMPLE, tenant, "-o", tmp_path / "b")
    assert result.exit_code == 1 and message in result.stderr
    assert not (tmp_path / "b").exists()


def test_tenant_guide_is_complete(example_out: Path):
    guide = (example_out / "tenants" / "acme" / "README.md").read_text()
    for expected in [
        "**For:** the network or platform team of ACME Corp",
        "`pls-contoso-api-eus2-1.3c1d9b7e-5a7f-4c2e-9d8b-1f0e2a3b4c5d.eastus2.azure.privatelinkservice`",
        "`tenant=acme order=4471`",
        "terraform apply tfplan",
        "az deployment group create --subscription 1111aaaa-0000-4000-8000-000000000002 -g rg-acme-saas -n pe-contoso-api-acme --template-file bicep/main.bicep "
        "--parameters @bicep/main.parameters.json",
        "```mermaid",
        'pe1["Private endpoint<br/>pe-contoso-api-acme"]',
        "## Before you start",
        "`az group create --subscription 1111aaaa-0000-4000-8000-000000000002 -n rg-acme-saas -l eastus`",
        "`Microsoft.Network/virtualNetworks/subnets/join/action`",
        "## DNS: make `api.contoso-saas.com` resolve to the endpoint",
        "**On-premises clients:**",
        "privateLinkServiceConnectionState.status",
        "# expect: Approved",
        "nslookup api.contoso-saas.com",
        "# expect: 10.0.4.9",
        "nc -vz api.contoso-saas.com 443",
        "PROXY protocol v2",
        "below 240 seconds",
    ]:
        assert expected in guide, expected
    hooli = (example_out / "tenants" / "hooli" / "README.md").read_text()
    assert "`private_link_service_alias` (Bicep: `privateLinkServiceAlias`)" in hooli
    initech = (example_out / "tenants" / "initech" / "README.md").read_text()
    assert "Access is suspended" in initech


def test_only_an_offboarded_tenant_says_so(tmp_path: Path):
    result = run_cli("render", EXAMPLE, "-o", tmp_path / "out", "--only", "umbrella")
    assert result.exit_code == 1
    assert "--only names offboarded tenants: umbrella; an offboarded tenant has no files" in result.stderr
    assert not (tmp_path / "out").exists()
