"""Issue 5: NAT Gateway, double NAT through a created load balancer, VNet-to-VNet VPN."""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

import pytest

from conftest import EXAMPLE, ROOT, run_cli, tree
from gen.verify import hcl

NEIGHBOURS = ROOT / "tests" / "data" / "neighbours.yaml"


def resources(text: str) -> dict[tuple[str, str], dict]:
    found = {}
    for top in hcl.parse(text).get("resource", []):
        for type_label, instances in top.items():
            for name_label, body in instances.items():
                found[(type_label.strip('"'), name_label.strip('"'))] = body
    return found


def literal(value):
    return hcl.decode_string(value) if hcl.is_string_literal(value) else value


def test_nat_gateway(example_out: Path):
    found = resources((example_out / "provider/terraform/nat-gateway-westeurope.tf").read_text())
    gateway = found[("azurerm_nat_gateway", "westeurope")]
    assert gateway["idle_timeout_in_minutes"] == 10 and literal(gateway["sku_name"]) == "Standard"
    ips = [b for (t, _), b in found.items() if t == "azurerm_public_ip"]
    assert len(ips) == 2 and {literal(b["allocation_method"]) for b in ips} == {"Static"}
    assert {literal(b["sku"]) for b in ips} == {"Standard"}
    assert len([t for t, _ in found if t == "azurerm_nat_gateway_public_ip_association"]) == 2
    association = found[("azurerm_subnet_nat_gateway_association", "westeurope_1")]
    assert association["subnet_id"] == "${data.azurerm_subnet.nat_gateway_westeurope_1.id}"
    parsed = hcl.parse((example_out / "provider/terraform/nat-gateway-westeurope.tf").read_text())
    subnet = parsed["data"][0]['"azurerm_subnet"']['"nat_gateway_westeurope_1"']
    assert literal(subnet["name"]) == "snet-app"


def test_created_load_balancer_and_rdp_nat_rule(example_out: Path):
    found = resources((example_out / "provider/terraform/load-balancer-westeurope.tf").read_text())
    lb = found[("azurerm_lb", "westeurope")]
    assert literal(lb["sku"]) == "Standard"
    frontend = lb["frontend_ip_configuration"][0]
    assert (literal(frontend["name"]), literal(frontend["private_ip_address"])) == ("fe-app", "10.60.2.10")
    pool = found[("azurerm_lb_backend_address_pool", "westeurope")]
    assert "virtual_network_id" not in pool  # NIC-based: Private Link supports no other
    rdp = found[("azurerm_lb_nat_rule", "westeurope_nat_1")]
    assert (literal(rdp["name"]), rdp["frontend_port"], rdp["backend_port"]) == ("rdp-jumpbox", 50001, 3389)
    rule = found[("azurerm_lb_rule", "westeurope_1")]
    assert (rule["frontend_port"], rule["backend_port"], rule["disable_outbound_snat"]) == (443, 8443, True)
    probe = found[("azurerm_lb_probe", "westeurope")]
    assert (literal(probe["protocol"]), probe["port"], "request_path" in probe) == ("Tcp", 8443, False)
    region = (example_out / "provider/terraform/region-westeurope.tf").read_text()
    # the link service's frontend id is formed by name: inserting a frontend cannot shift it
    assert 'load_balancer_frontend_ip_configuration_ids = [local.lb_frontend_ids_westeurope["fe-app"]]' in region
    assert '"${azurerm_lb.westeurope.id}/frontendIPConfigurations/${name}"' in region
    assert "frontend_ip_configuration[0]" not in region
    assert 'data "azurerm_lb"' not in region  # created, not looked up


def test_vpn_gateway_and_connection_keep_the_key_in_key_vault(example_out: Path):
    found = resources((example_out / "provider/terraform/vpn-westeurope.tf").read_text())
    gateway = found[("azurerm_virtual_network_gateway", "westeurope")]
    assert (literal(gateway["sku"]), literal(gateway["vpn_type"]), literal(gateway["type"])) == ("VpnGw1AZ", "RouteBased", "Vpn")
    subnet = found[("azurerm_subnet", "gateway_westeurope")]
    assert literal(subnet["name"]) == "GatewaySubnet" and literal(subnet["address_prefixes"][0]) == "10.60.255.0/27"
    connection = found[("azurerm_virtual_network_gateway_connection", "vpn_wayne")]
    assert literal(connection["type"]) == "Vnet2Vnet"
    assert connection["shared_key"] == "${data.azurerm_key_vault_secret.vpn_wayne.value}"
    main = (example_out / "provider/bicep/main.bicep").read_text()
    assert "sharedKey: vpnWayneKeyVault.getSecret('wayne-psk')" in main
    module = (example_out / "provider/bicep/modules/vnet2vnet-connection.bicep").read_text()
    assert "@secure()\n@description('The shared key both sides use (from Key Vault).')\nparam sharedKey string" in module


def test_no_secret_value_reaches_out(example_out: Path):
    for path, data in tree(example_out).items():
        text = data.decode()
        if path.endswith(".tf"):
            for match in re.finditer(r"^\s*shared_key\s*=\s*(.+)$", text, flags=re.M):
                assert match.group(1).startswith("data.azurerm_key_vault_secret."), (path, match.group(0))
        if path.endswith(".bicep"):
            for match in re.finditer(r"^\s*sharedKey:\s*(.+)$", text, flags=re.M):
                assert ".getSecret(" in match.group(1) or match.group(1) == "sharedKey", (path, match.group(0))
        if path.endswith(".json"):
            assert "shared_key\"" not in text and "sharedKey\"" not in text, path


def test_vnet_to_vnet_tenant_bundle_is_the_reciprocal_connection(example_out: Path, tmp_path: Path):
    wayne = example_out / "tenants" / "wayne"
    found = resources((wayne / "terraform/main.tf").read_text())
    connection = found[("azurerm_virtual_network_gateway_connection", "to_provider")]
    assert connection["peer_virtual_network_gateway_id"] == "${var.provider_gateway_id}"
    assert connection["shared_key"] == "${data.azurerm_key_vault_secret.shared_key.value}"
    tfvars = json.loads((wayne / "terraform/terraform.tfvars.json").read_text())
    assert tfvars["provider_gateway_id"] == ("/subscriptions/9f1c2c8e-0000-4000-8000-000000000001/resourceGroups/"
                                             "rg-contoso-api/providers/Microsoft.Network/virtualNetworkGateways/vgw-contoso-api-westeurope")
    assert "key_vault_id" not in tfvars  # the tenant's own vault: theirs to fill in
    guide = (wayne / "README.md").read_text()
    assert "same shared key" in guide and "never written into these files" in guide
    assert run_cli("bundle", EXAMPLE, "wayne", "-o", tmp_path).exit_code == 0
    assert "wayne/terraform/main.tf" in zipfile.ZipFile(tmp_path / "wayne.zip").namelist()


def test_vnet_to_vnet_tenants_stay_out_of_private_link_lists(example_out: Path):
    everything = "".join(p.read_text() for p in (example_out / "provider" / "terraform").glob("*.tf"))
    assert "7777aaaa-0000-4000-8000-00000000000a" not in everything.replace(
        "/subscriptions/7777aaaa-0000-4000-8000-00000000000a/resourceGroups/rg-wayne-net", "")
    approvals = json.loads((example_out / "provider/approvals.json").read_text())
    assert all("wayne" not in ls["tenants"] for ls in approvals["link_services"].values())


def test_a_manifest_using_all_three_renders_and_verifies(tmp_path: Path, terraform):
    import subprocess

    out = tmp_path / "out"
    result = run_cli("render", NEIGHBOURS, "-o", out, "--no-cache")
    assert result.exit_code == 0, result.output
    assert (out / "provider/terraform/load-balancer-eastus2.tf").exists()
    assert (out / "provider/terraform/vpn-eastus2.tf").exists()
    assert (out / "tenants/gamma/terraform/main.tf").exists()
    fmt = subprocess.run([terraform, "fmt", "-check", "-recursive", str(out)], capture_output=True, text=True)
    assert fmt.returncode == 0, fmt.stdout


@pytest.mark.parametrize(("path", "old", "new", "expected"), [
    ("provider/bicep/main.bicep", "frontendPort: 50001", "frontendPort: 50002", "region westeurope: load_balancer"),
    ("provider/terraform/nat-gateway-westeurope.tf", "idle_timeout_in_minutes = 10", "idle_timeout_in_minutes = 11",
     "region westeurope: nat_gateway"),
    ("provider/bicep/main.bicep", "getSecret('wayne-psk')", "getSecret('other-psk')", "region westeurope: vpn"),
    ("tenants/wayne/bicep/main.parameters.json", "vgw-contoso-api-westeurope", "vgw-elsewhere", "tenant wayne: vnet_to_vnet"),
])
def test_equivalence_covers_the_new_resources(path, old, new, expected):
    from gen.errors import VerificationError
    from gen.load import load_file
    from gen.plan import build_plan
    from gen.render import render
    from gen.validate import validate
    from gen.verify import verify

    plan = build_plan(validate(load_file(EXAMPLE)), "tenants.yaml")
    files = render(plan)
    assert old in files[path]
    files[path] = files[path].replace(old, new, 1)
    with pytest.raises(VerificationError, match=expected):
        verify(plan, files)
