"""Issue 3: Bicep twins of every unit, verified against bicep-types and equal to the Terraform."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import EXAMPLE
from gen.errors import VerificationError
from gen.load import load_file
from gen.plan import build_plan
from gen.quoting import bicep_quote
from gen.render import render
from gen.validate import validate
from gen.verify import bicep, verify


@pytest.fixture(scope="module")
def example():
    plan = build_plan(validate(load_file(EXAMPLE)), "tenants.yaml")
    return plan, render(plan)


@pytest.mark.parametrize(("value", "literal"), [
    ("plain", "'plain'"),
    ("it's", "'it\\'s'"),
    ("back\\slash", "'back\\\\slash'"),
    ("${interp}", "'\\${interp}'"),
    ("line\nbreak\r\ttab", "'line\\nbreak\\r\\ttab'"),
    ("rtl\u202eoverride", "'rtl\\u{202E}override'"),
    ("emoji 😀", "'emoji 😀'"),
])
def test_bicep_quote_escapes(value, literal):
    assert bicep_quote(value) == literal
    assert bicep.decode_string_body(literal[1:-1]) == value


@settings(max_examples=300)
@given(st.text())
def test_bicep_quote_round_trips_any_text(value):
    literal = bicep_quote(value)
    assert list(bicep.literal_problems(f"var x = {literal}\n")) == []
    assert bicep.decode_string_body(literal[1:-1]) == value


def test_bicep_quote_refuses_non_text():
    with pytest.raises(TypeError):
        bicep_quote(1)


@pytest.mark.parametrize("source", [
    "var a = 'ok'", "var a = 'it\\'s'", "var a = 'x\\$y'", "var a = 'a\\u{1F600}b'", "// a 'comment\nvar a = 'b'",
    "/* 'x\n */ var a = 'b'", "var a = 'pre-${b}-post'",
])
def test_strict_literal_scan_accepts_valid_bicep(source):
    assert list(bicep.literal_problems(source)) == []


@pytest.mark.parametrize(("source", "problem"), [
    ("var a = 'bad\\qesc'", "invalid escape \\q"),
    ("var a = 'x\ny'", "not closed on its line"),
    ("var a = '''multi\nline'''", "multi-line ''' string"),
    ("var a = 'a\\u{110000}b'", "invalid \\u escape"),
    ("var a = 'a\\u{}b'", "invalid \\u escape"),
])
def test_strict_literal_scan_rejects_what_pycep_accepts(source, problem):
    bicep.parse(source)  # pycep takes it ...
    assert any(problem in p for p in bicep.literal_problems(source))  # ... the scan does not


def test_every_unit_has_a_bicep_twin(example):
    plan, files = example
    assert {"provider/bicep/main.bicep", "provider/bicep/main.parameters.json", "provider/bicep/modules/subnet.bicep"} <= set(files)
    for tenant in plan.tenants:
        for name in ("main.bicep", "endpoint-ip.bicep"):
            assert f"tenants/{tenant.id}/bicep/{name}" in files
        for site in tenant.sites:  # each Terraform values file has its Bicep parameters twin
            assert f"tenants/{tenant.id}/{site.tfvars_path}" in files
            assert f"tenants/{tenant.id}/{site.parameters_path}" in files
    assert "tenants/globex/bicep/sites/dr.parameters.json" in files


def test_api_versions_are_the_pinned_ones(example):
    _, files = example
    pinned = {"Microsoft.Network/privateDnsZones": "2024-06-01", "Microsoft.Network": "2024-05-01",
              "Microsoft.Insights/actionGroups": "2023-01-01", "Microsoft.Insights/metricAlerts": "2018-03-01",
              "Microsoft.KeyVault/vaults": "2024-11-01"}
    seen = set()
    for path, text in files.items():
        if path.endswith(".bicep"):
            for resource in bicep.parse(text).get("resources", {}).values():
                prefix = next(p for p in pinned if resource["type"].startswith(p))
                assert resource["api_version"] == pinned[prefix], (path, resource["type"])
                seen.add(prefix)
    assert seen == set(pinned)


def test_bicep_access_lists_are_literal_and_sorted(example):
    _, files = example
    parsed = bicep.parse(files["provider/bicep/main.bicep"])
    pls = {r["config"]["name"]: r["config"]["properties"] for r in parsed["resources"].values()
           if r["type"] == "Microsoft.Network/privateLinkServices"}
    assert pls["pls-contoso-api-eus2-1"]["visibility"]["subscriptions"] == [
        "1111aaaa-0000-4000-8000-000000000002", "2222bbbb-0000-4000-8000-000000000003", "2222bbbb-0000-4000-8000-000000000004"]
    assert pls["pls-contoso-api-eus2-2"]["autoApproval"]["subscriptions"] == []
    assert pls["pls-contoso-api-weu-1"]["enableProxyProtocol"] is True


def test_tenant_values_travel_only_in_parameters(example):
    plan, files = example
    stark = json.loads(files["tenants/stark/bicep/main.parameters.json"])["parameters"]
    assert stark["requestMessage"] == {"value": 'tenant=stark po="SI-2026/17"'}
    assert "privateLinkServiceAlias" not in json.loads(files["tenants/hooli/bicep/main.parameters.json"])["parameters"]
    mains = {files[f"tenants/{t.id}/bicep/main.bicep"] for t in plan.tenants}
    assert len(mains) == 1  # identical for every tenant: nothing tenant-specific is inlined


@pytest.mark.parametrize(("path", "old", "new", "expected"), [
    ("provider/bicep/main.bicep", "        '2222bbbb-0000-4000-8000-000000000004'\n", "",
     "visibility: the Terraform says ['1111aaaa-0000-4000-8000-000000000002', '2222bbbb-0000-4000-8000-000000000003', "
     "'2222bbbb-0000-4000-8000-000000000004'], the Bicep says ['1111aaaa-0000-4000-8000-000000000002', "
     "'2222bbbb-0000-4000-8000-000000000003']"),
    ("tenants/acme/bicep/main.bicep", "manualPrivateLinkServiceConnections", "privateLinkServiceConnections",
     "manual_connection: the Terraform says True, the Bicep says False"),
    ("tenants/acme/bicep/main.bicep", "name: '@'", "name: 'www'", "dns_records: the Terraform says ['@'], the Bicep says ['www']"),
    ("provider/bicep/main.bicep", "privateIPAddress: '10.60.1.11'", "privateIPAddress: '10.60.1.13'", "static_nat_ips"),
    ("provider/terraform/region-westeurope.tf", '"10.60.1.11"', '"10.60.1.13"', "static_nat_ips: the plan says"),
    ("provider/bicep/main.bicep", "privateLinkServiceNetworkPolicies: 'Disabled'", "privateLinkServiceNetworkPolicies: 'Disable'",
     "parameter privateLinkServiceNetworkPolicies = 'Disable' is not one of Enabled, Disabled"),
    ("provider/bicep/modules/subnet.bicep", "privateLinkServiceNetworkPolicies: privateLinkServiceNetworkPolicies",
     "privateLinkServiceNetworkPolicies: 'Disable'", "'Disable' is not one of Disabled, Enabled"),
    ("provider/bicep/main.bicep", "enableProxyProtocol: true", "enableProxyProtocol: true\n    alias: 'x'",
     "properties.alias: read-only property cannot be set"),
    ("provider/bicep/main.bicep", "    subnetName: 'snet-pls-nat'\n", "", "required parameter subnetName is not passed"),
    ("tenants/acme/bicep/main.bicep", "privateDnsZones@2024-06-01' =", "privateDnsZones@2020-01-01' =",
     "type and API version not in the bicep-types reference"),
    ("tenants/acme/bicep/main.bicep", "ipv4Address: endpointIp.outputs.privateIp", "ipv4Address: endpointIP.outputs.privateIp",
     "resource apexRecord: unknown symbol 'endpointIP'"),
    ("provider/bicep/main.bicep", "sharedKey: vpnWayneKeyVault.getSecret(", "sharedKey: vpnWayneVault.getSecret(",
     "module vpnWayneConnection: unknown symbol 'vpnWayneVault'"),
])
def test_breaking_one_side_fails_naming_both(example, path, old, new, expected):
    plan, files = example
    broken = dict(files)
    assert old in broken[path]
    broken[path] = broken[path].replace(old, new, 1)
    with pytest.raises(VerificationError) as info:
        verify(plan, broken)
    assert expected in str(info.value)


def test_deploy_command_is_in_the_tenant_guide(example_out: Path):
    guide = (example_out / "tenants" / "acme" / "README.md").read_text()
    assert ("az deployment group create --subscription 1111aaaa-0000-4000-8000-000000000002 -g rg-acme-saas -n pe-contoso-api-acme --template-file bicep/main.bicep "
            "--parameters @bicep/main.parameters.json") in guide
    assert "az deployment group what-if --subscription 1111aaaa-0000-4000-8000-000000000002 -g rg-acme-saas --template-file bicep/main.bicep" in guide
