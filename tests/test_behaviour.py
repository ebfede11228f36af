"""Issue 10: the files work together the way Azure runs them, not only in shape. Each test here
fails on the output of the release before it (named in its docstring)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from conftest import EXAMPLE, ROOT, run_cli
from gen import decisions
from gen.verify import bicep, hcl
from gen.verify.behaviour import KINDS, uncovered_arguments
from gen.verify.terraform import ParsedModule

NEIGHBOURS = ROOT / "tests" / "data" / "neighbours.yaml"
MANIFESTS = [EXAMPLE, NEIGHBOURS, ROOT / "tests" / "data" / "minimal.yaml", ROOT / "tests" / "data" / "readme-user.yaml"]


def render(manifest: Path, out: Path) -> Path:
    result = run_cli("render", manifest, "-o", out, "--no-cache")
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("behaviour")
    return {m.stem: render(m, base / m.stem) for m in MANIFESTS}


def provider_module(out: Path) -> ParsedModule:
    directory = out / "provider" / "terraform"
    return ParsedModule.from_files({p.name: hcl.parse(p.read_text()) for p in sorted(directory.glob("*.tf"))})


def resources(module: ParsedModule, type_name: str) -> list[dict]:
    return [body for (kind, _), body in sorted(module.resources.items()) if kind == type_name]


# --- 1. VPN generation and active-active -----------------------------------------------------


@pytest.mark.parametrize("manifest, sku, generation, instances", [
    ("tenants", "VpnGw1AZ", "Generation1", 2),     # was Generation1 for every SKU, one instance
    ("neighbours", "VpnGw4AZ", "Generation2", 1),  # VpnGw4AZ exists only in Generation2
])
def test_vpn_generation_follows_the_sku_in_both_formats(rendered, manifest, sku, generation, instances):
    module = provider_module(rendered[manifest])
    gateway = resources(module, "azurerm_virtual_network_gateway")[0]
    assert hcl.decode_string(gateway["sku"]) == sku
    assert hcl.decode_string(gateway["generation"]) == generation
    assert gateway["active_active"] is (instances == 2)
    assert len(gateway["ip_configuration"]) == instances
    main = (rendered[manifest] / "provider" / "bicep" / "main.bicep").read_text()
    assert f"vpnGatewayGeneration: '{generation}'" in main
    assert f"activeActive: {'true' if instances == 2 else 'false'}" in main


# --- 2. Bicep deployment order ---------------------------------------------------------------


def test_bicep_subnet_writes_to_one_vnet_are_chained(rendered):
    """The release before wrote the NAT, frontend, gateway and NAT-gateway subnets in parallel."""
    directory = rendered["tenants"] / "provider" / "bicep"
    modules = {f"modules/{p.name}": bicep.BicepFile.of(bicep.parse(p.read_text())) for p in (directory / "modules").glob("*.bicep")}
    text = (directory / "main.bicep").read_text()
    assert list(bicep.vnet_write_order_problems(bicep.BicepFile.of(bicep.parse(text)), modules)) == []
    unordered = re.sub(r"  // subnets of one VNet[^\n]*\n  dependsOn: \[\n    \w+\n  \]\n", "", text)
    assert unordered != text
    problems = list(bicep.vnet_write_order_problems(bicep.BicepFile.of(bicep.parse(unordered)), modules))
    assert any("natSubnetWesteurope" in p and "lbFrontendSubnetWesteurope" in p for p in problems), problems
    assert all("AnotherOperationInProgress" in p for p in problems)


# --- 4/8. Load balancer rules, backend ports and the routed frontend ---------------------------


def test_every_rule_has_its_own_backend_port_and_routed_traffic_its_own_frontend(rendered):
    module = provider_module(rendered["neighbours"])
    rules = {hcl.decode_string(r["frontend_ip_configuration_name"]): r["backend_port"]
             for r in resources(module, "azurerm_lb_rule")}
    assert rules == {"fe-1": 8443, "fe-2": 8444, "fe-routed": 8445}
    nat = resources(module, "azurerm_lb_nat_rule")[0]
    assert hcl.decode_string(nat["frontend_ip_configuration_name"]) == "fe-routed"  # not behind PROXY
    probe = resources(module, "azurerm_lb_probe")[0]
    assert (hcl.decode_string(probe["protocol"]), probe["port"], probe["interval_in_seconds"], probe["probe_threshold"]) == ("Http", 8080, 5, 2)


def test_the_routed_tenant_is_told_where_to_dial(rendered):
    """The release before never said which address a vnet_to_vnet tenant reaches the service at."""
    guide = (rendered["tenants"] / "tenants" / "wayne" / "README.md").read_text()
    lb = resources(provider_module(rendered["tenants"]), "azurerm_lb")[0]
    routed = next(f for f in lb["frontend_ip_configuration"] if hcl.decode_string(f["name"]) == "fe-routed")
    assert f"**{hcl.decode_string(routed['private_ip_address'])}**" in guide
    assert "| `rdp-jumpbox` | 50001 | 3389 |" in guide


# --- 3/12. Key Vault prerequisites -------------------------------------------------------------


def test_key_vault_prerequisites_are_documented_where_the_key_is_read(rendered):
    guide = (rendered["tenants"] / "tenants" / "wayne" / "README.md").read_text()
    readme = (ROOT / "README.md").read_text()
    for text in (guide, readme):
        assert "enabledForTemplateDeployment: true" in text
        assert "Microsoft.KeyVault/vaults/deploy/action" in text
        assert "Terraform state" in text
    vpn_tf = (rendered["tenants"] / "provider" / "terraform" / "vpn-westeurope.tf").read_text()
    assert "Get on secrets" in vpn_tf and "Terraform state" in vpn_tf


# --- 9. Behaviour equivalence ------------------------------------------------------------------


@pytest.mark.parametrize("manifest", [m.stem for m in MANIFESTS])
def test_every_argument_the_templates_set_is_compared_or_named_as_identity(rendered, manifest):
    assert uncovered_arguments(provider_module(rendered[manifest])) == set()


def test_an_argument_missing_from_the_table_is_reported(rendered):
    module = provider_module(rendered["tenants"])
    probe = resources(module, "azurerm_lb_probe")[0]
    probe["surprise_setting"] = 1
    try:
        assert ("azurerm_lb_probe", "surprise_setting") in uncovered_arguments(module)
    finally:
        del probe["surprise_setting"]


def test_compared_arguments_cover_what_the_review_found():
    compared = {(k.terraform, arg) for k in KINDS for arg in k.compared}
    for pair in [("azurerm_lb_probe", "interval_in_seconds"), ("azurerm_lb_probe", "probe_threshold"),
                 ("azurerm_monitor_action_group", "email_receiver.use_common_alert_schema"),
                 ("azurerm_virtual_network_gateway", "generation"), ("azurerm_virtual_network_gateway", "active_active"),
                 ("azurerm_public_ip", "zones"), ("azurerm_lb_rule", "backend_port"),
                 ("azurerm_monitor_metric_alert", "criteria.dimension.name")]:
        assert pair in compared, pair


def test_a_terraform_default_against_a_bicep_value_fails_verification(tmp_path):
    """The release before left the probe interval and the alert schema to azurerm's defaults in
    Terraform while Bicep stated values: the check must refuse exactly that."""
    templates = tmp_path / "templates"
    import shutil
    shutil.copytree(ROOT / "templates", templates)
    lb = templates / "terraform" / "provider" / "load-balancer.tf.j2"
    lb.write_text(lb.read_text().replace("  interval_in_seconds = {{ lb.probe_interval_seconds }}\n", ""))
    monitoring = templates / "terraform" / "provider" / "monitoring.tf.j2"
    monitoring.write_text(monitoring.read_text().replace("    use_common_alert_schema = true\n", ""))
    result = run_cli("render", EXAMPLE, "-o", tmp_path / "out", "--templates", templates, "--no-cache")
    assert result.exit_code == 1
    assert "interval_in_seconds (how fast a failure is seen)" in result.stderr
    assert "use_common_alert_schema" in result.stderr
    assert not (tmp_path / "out").exists()


# --- 10. NAT port alert per NAT IP -------------------------------------------------------------


def test_nat_port_alert_is_split_per_nat_ip_in_both_formats(rendered):
    module = provider_module(rendered["tenants"])
    for alert in resources(module, "azurerm_monitor_metric_alert"):
        dimension = alert["criteria"][0]["dimension"][0]
        assert hcl.decode_string(dimension["name"]) == "PrivateLinkServiceIPAddress"
        assert [hcl.decode_string(v) for v in dimension["values"]] == ["*"]
    main = (rendered["tenants"] / "provider" / "bicep" / "main.bicep").read_text()
    assert main.count("name: 'PrivateLinkServiceIPAddress'") == len(resources(module, "azurerm_monitor_metric_alert")) == 3


# --- expert note: the existing load balancer is checked when read ------------------------------


def test_existing_load_balancer_has_postconditions_naming_the_manifest_frontends(rendered):
    region = (rendered["tenants"] / "provider" / "terraform" / "region-eastus2.tf").read_text()
    assert 'condition     = self.sku == "Standard"' in region
    assert 'condition     = self.location == "eastus2"' in region
    assert 'setsubtract(["fe-app-1", "fe-app-2"], self.frontend_ip_configuration[*].name)' in region


# --- 11. One decision table --------------------------------------------------------------------


def _connection(pls: str, subscription: str, status: str, name: str) -> dict:
    return {"id": f"/subscriptions/9f1c2c8e-0000-4000-8000-000000000001/resourceGroups/rg/providers/Microsoft.Network/"
                  f"privateLinkServices/{pls}/privateEndpointConnections/{name}",
            "properties": {"privateEndpoint": {"id": f"/subscriptions/{subscription}/resourceGroups/r/providers/"
                                                     f"Microsoft.Network/privateEndpoints/{name}"},
                           "privateLinkServiceConnectionState": {"status": status, "description": ""}}}


@pytest.mark.parametrize("tenant", ["acme", "globex", "initech", "hooli", "stark"])
def test_each_guide_says_what_approvals_does_with_that_tenants_connection(rendered, tmp_path, tenant):
    """The release before told the suspended initech 'expect: Approved' while approvals rejected it."""
    out = rendered["tenants"]
    approvals = json.loads((out / "provider" / "approvals.json").read_text())
    pls, entry = next((name, ls["tenants"][tenant]) for name, ls in approvals["link_services"].items() if tenant in ls["tenants"])
    connections = tmp_path / "c.json"
    connections.write_text(json.dumps([_connection(pls, entry["subscriptions"][0], "Pending", "new")]))
    row = json.loads(run_cli("approvals", EXAMPLE, "--connections", connections, "--format", "json").stdout)[0]
    guide = (out / "tenants" / tenant / "README.md").read_text()
    expect = re.search(r"--query \"manualPrivateLinkServiceConnections\[0\]\.privateLinkServiceConnectionState\.status\" -o tsv\n\s+# expect: (\w+)", guide)
    assert expect, guide
    after_decision = {"approve": "Approved", "hold": "Pending", "reject": "Rejected"}[row["decision"]]
    if entry["approval"] == "auto" and entry["state"] == "active":
        after_decision = "Approved"  # approved by Azure itself, before approvals runs
    assert expect.group(1) == after_decision, (tenant, row)
    assert decisions.expected_status(entry["state"], entry["approval"]) in guide.replace("\n", " ")


def test_readme_table_matches_the_decision_table():
    readme = (ROOT / "README.md").read_text()
    for state in ("active", "suspended", "offboarded"):
        row = next(line for line in readme.splitlines() if line.startswith(f"| {state} |"))
        assert f"`{decisions.outcome(state, 'Pending').decision}`" in row.split("|")[2], row
        assert f"`{decisions.outcome(state, 'Approved').decision}`" in row.split("|")[3], row
