"""Issue 13, part 3: adopting what is deployed. `existing` in the manifest gives Terraform
import blocks (ids in each type's import format) and a Bicep note; `plgen import-pls` turns
`az network private-link-service show` output into a manifest whose rendering reproduces the
services' visibility and auto-approval lists exactly."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from conftest import ROOT, run_cli
from gen.verify import hcl
from gen.verify.refactoring import import_id_pattern

DATA = ROOT / "tests" / "data"
ADOPTED = DATA / "adopted.yaml"
SHOWS = DATA / "pls-show"


@pytest.fixture(scope="module")
def adopted_out(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("adopted") / "out"
    result = run_cli("render", ADOPTED, "-o", out, "--no-cache")
    assert result.exit_code == 0, result.output
    return out


def imports(path: Path) -> dict[str, str]:
    parsed = hcl.parse(path.read_text())
    return {hcl.expression_body(block["to"]): block["id"] for block in parsed.get("import", [])}


def test_every_adopted_resource_is_imported_with_an_id_in_its_format(adopted_out: Path):
    found = imports(adopted_out / "provider/terraform/imports.tf")
    assert set(found) == {
        "azurerm_subnet.pls_nat_eastus2", "azurerm_private_link_service.pls_demo_1",
        # the created load balancer, with everything it brings
        "azurerm_lb.westeurope", "azurerm_subnet.lb_frontend_westeurope", "azurerm_lb_backend_address_pool.westeurope",
        "azurerm_lb_probe.westeurope", "azurerm_lb_rule.westeurope_1", "azurerm_lb_rule.westeurope_2",
        # the NAT gateway with its public IPs and associations
        "azurerm_nat_gateway.westeurope", "azurerm_public_ip.nat_gateway_westeurope_1",
        "azurerm_public_ip.nat_gateway_westeurope_2", "azurerm_nat_gateway_public_ip_association.westeurope_1",
        "azurerm_nat_gateway_public_ip_association.westeurope_2", "azurerm_subnet_nat_gateway_association.westeurope_1",
        # the VPN gateway with GatewaySubnet and its two public IPs (active-active)
        "azurerm_virtual_network_gateway.westeurope", "azurerm_subnet.gateway_westeurope",
        "azurerm_public_ip.vpn_gateway_westeurope", "azurerm_public_ip.vpn_gateway_westeurope_2",
    }  # pls-demo-2, pls-weu-1 and the westeurope NAT subnet are created, not imported
    for address, raw in found.items():
        assert import_id_pattern(address.split(".")[0]).fullmatch(hcl.decode_string(raw)), (address, raw)
    assert hcl.decode_string(found["azurerm_private_link_service.pls_demo_1"]) == (
        "/subscriptions/00000000-0000-4000-8000-00000000000a/resourceGroups/rg-demo/providers/Microsoft.Network/"
        "privateLinkServices/pls-demo-1")
    assert hcl.decode_string(found["azurerm_nat_gateway_public_ip_association.westeurope_2"]) == (
        "/subscriptions/00000000-0000-4000-8000-00000000000a/resourceGroups/rg-demo/providers/Microsoft.Network/"
        "natGateways/ng-demo-svc-westeurope|/subscriptions/00000000-0000-4000-8000-00000000000a/resourceGroups/rg-demo/"
        "providers/Microsoft.Network/publicIPAddresses/pip-ng-demo-svc-westeurope-2")


def test_an_adopted_link_service_keeps_its_nat_ip_configuration_names(adopted_out: Path):
    region = (adopted_out / "provider/terraform/region-eastus2.tf").read_text()
    assert re.search(r'name += "snet-nat-1"\n.*\n +primary += true', region)
    assert re.search(r'name += "snet-nat-2"\n.*\n +primary += false', region)
    bicep = (adopted_out / "provider/bicep/main.bicep").read_text()
    assert "name: 'snet-nat-1'" in bicep and "name: 'snet-nat-2'" in bicep
    assert "ARM deployments are idempotent on the same name" in bicep
    assert "link service pls-demo-1" in bicep.split("\n", 4)[3]


def test_a_tenant_endpoint_is_imported_under_its_own_names(adopted_out: Path):
    alpha = adopted_out / "tenants" / "alpha"
    found = imports(alpha / "terraform/imports.tf")
    assert {k: hcl.decode_string(v) for k, v in found.items()} == {"azurerm_private_endpoint.service": (
        "/subscriptions/11111111-0000-4000-8000-000000000001/resourceGroups/rg-alpha/providers/Microsoft.Network/"
        "privateEndpoints/alpha-pe")}
    values = json.loads((alpha / "terraform/terraform.tfvars.json").read_text())
    assert (values["endpoint_name"], values["connection_name"]) == ("alpha-pe", "alpha-pe-conn")
    assert json.loads((alpha / "bicep/main.parameters.json").read_text())["parameters"]["endpointName"]["value"] == "alpha-pe"
    assert "**Your endpoint exists already.**" in (alpha / "README.md").read_text()
    assert not (adopted_out / "tenants/gamma/terraform/imports.tf").exists()


def test_endpoint_sites_import_from_each_workspace_values(adopted_out: Path):
    text = (adopted_out / "tenants/beta/terraform/imports.tf").read_text()
    assert 'required_version = ">= 1.6"' in text
    assert ('id = "/subscriptions/${var.subscription_id}/resourceGroups/${var.resource_group_name}/providers/'
            'Microsoft.Network/privateEndpoints/${var.endpoint_name}"') in text
    sites = {p.stem.split(".")[0]: json.loads(p.read_text()) for p in (adopted_out / "tenants/beta/terraform/sites").iterdir()}
    assert {s: v["endpoint_name"] for s, v in sites.items()} == {"prod": "beta-pe-prod", "dr": "beta-pe-dr"}


def test_terraform_accepts_the_import_blocks(adopted_out: Path, tmp_path: Path, terraform: str):
    from tfdouble import harness

    if harness.missing_modules():
        pytest.skip(f"the azurerm double needs {', '.join(harness.missing_modules())}")
    sandbox = harness.make_sandbox(tmp_path / "sandbox", terraform)
    for unit in ("provider/terraform", "tenants/alpha/terraform", "tenants/beta/terraform"):
        copy = tmp_path / unit.replace("/", "-")
        shutil.copytree(adopted_out / unit, copy)
        assert sandbox.run(["init", "-input=false", "-no-color"], copy).returncode == 0
        result = sandbox.run(["validate", "-no-color"], copy)
        assert result.returncode == 0, f"{unit}:\n{result.stdout}\n{result.stderr}"
        fmt = sandbox.run(["fmt", "-check", "-diff", "imports.tf"], copy)
        assert fmt.returncode == 0, fmt.stdout


@pytest.mark.parametrize("old, new, expected", [
    ("nat_ip_names: [snet-nat-1, snet-nat-2]", "nat_ip_names: [snet-nat-1]",
     r"link_services\[0\]\.nat_ip_names: 1 names for 2 NAT IPs"),
    ("nat_ip_names: [snet-nat-1, snet-nat-2]", "nat_ip_names: [snet-nat-1, snet-nat-1]",
     r"nat_ip_names\[1\]: NAT IP configuration name 'snet-nat-1' is listed twice"),
    ("load_balancer: {name: lb-demo, frontends: [fe-1, fe-2]}",
     "load_balancer: {name: lb-demo, frontends: [fe-1, fe-2], existing: true}",
     r"regions\[0\]\.load_balancer\.existing: `existing` adopts a load balancer plgen would create"),
    ("        existing: {name: beta-pe-dr, connection_name: beta-dr}\n", "",
     r"tenants\[1\] \(beta\)\.endpoint_sites\[1\]: either every endpoint site has `existing` or none"),
    ("existing: {name: alpha-pe, connection_name: alpha-pe-conn}", "existing: {name: alpha-pe-, connection_name: ok}",
     r"tenants\[0\] \(alpha\)\.endpoint\.existing\.name: private endpoint names must end"),
], ids=["count", "duplicate", "existing-lb-without-create", "sites-mixed", "endpoint-name"])
def test_adoption_rules(tmp_path: Path, old: str, new: str, expected: str):
    manifest = tmp_path / "tenants.yaml"
    text = ADOPTED.read_text()
    assert text.count(old) == 1
    manifest.write_text(text.replace(old, new))
    result = run_cli("validate", manifest)
    assert result.exit_code == 1
    [line] = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert re.search(rf"tenants\.yaml:\d+:\d+: .*{expected}", line), line


# --- plgen import-pls ---------------------------------------------------------------------------


def show(name: str) -> list[dict]:
    data = json.loads((SHOWS / name).read_text())
    return data if isinstance(data, list) else [data]


def props(service: dict, key: str):
    return service.get(key, service.get("properties", {}).get(key))


@pytest.fixture(scope="module")
def imported(tmp_path_factory) -> tuple[Path, Path, object]:
    base = tmp_path_factory.mktemp("imported")
    manifest = base / "tenants.yaml"
    result = run_cli("import-pls", SHOWS / "eastus2.json", SHOWS / "westeurope-rest.json", "-o", manifest)
    assert result.exit_code == 0, result.output
    out = base / "out"
    rendered = run_cli("render", manifest, "-o", out, "--no-cache")
    assert rendered.exit_code == 0, rendered.output
    return manifest, out, result


def terraform_lists(out: Path) -> dict[str, tuple[list[str], list[str]]]:
    lists = {}
    for path in (out / "provider/terraform").glob("region-*.tf"):
        for top in hcl.parse(path.read_text()).get("resource", []):
            for label, body in top.get('"azurerm_private_link_service"', {}).items():
                lists[hcl.decode_string(body["name"])] = (
                    [hcl.decode_string(s) for s in body["visibility_subscription_ids"]],
                    [hcl.decode_string(s) for s in body["auto_approval_subscription_ids"]])
    return lists


def test_rendering_the_imported_manifest_gives_todays_lists_exactly(imported):
    _, out, _ = imported
    services = show("eastus2.json") + show("westeurope-rest.json")
    expected = {s["name"]: (sorted(v.lower() for v in props(s, "visibility")["subscriptions"]),
                            sorted(v.lower() for v in props(s, "autoApproval")["subscriptions"])) for s in services}
    assert terraform_lists(out) == expected
    assert expected["pls-api-eus2-1"][1] == ["aaaa1111-0000-4000-8000-000000000001"]  # the test input is not trivial


def test_the_imported_manifest_adopts_the_services_and_keeps_their_aliases(imported):
    manifest, out, _ = imported
    found = imports(out / "provider/terraform/imports.tf")
    assert sorted(found) == ["azurerm_private_link_service.pls_api_eus2_1", "azurerm_private_link_service.pls_api_eus2_2",
                             "azurerm_private_link_service.pls_api_weu_1", "azurerm_subnet.pls_nat_eastus2",
                             "azurerm_subnet.pls_nat_westeurope"]
    assert hcl.decode_string(found["azurerm_private_link_service.pls_api_weu_1"]) == show("westeurope-rest.json")[0]["id"]
    approvals = json.loads((out / "provider/approvals.json").read_text())["link_services"]
    for service in show("eastus2.json") + show("westeurope-rest.json"):
        assert approvals[service["name"]]["alias"] == props(service, "alias")
    region = (out / "provider/terraform/region-eastus2.tf").read_text()
    # the primary NAT IP configuration first, with today's addresses as static ones
    primary = region.index('"snet-pls-primary"')
    assert primary < region.index('"snet-pls-1"') and '"10.50.1.4"' in region[primary:primary + 300]
    assert re.search(r'proxy_protocol_enabled += true', region)


def test_tenant_skeletons_one_per_subscription_with_todos(imported):
    manifest, _, result = imported
    text = manifest.read_text()
    assert text.count("  - id: ") == 7
    # a subscription on two link services is two tenants
    assert '- id: "sub-aaaa1111"' in text and '- id: "sub-aaaa1111-2"' in text
    # an approved connection from a subscription no longer on the visibility list: kept off it
    offboarded = text[text.index('- id: "sub-dddd4444"'):]
    assert "state: offboarded  # TODO: has an approved connection but is not on the visibility list" in offboarded
    assert text.count("# TODO: the customer's name") == 7
    assert "privateEndpoints/pe-acme (to adopt it" in text
    assert "nat_subnet: {name: \"snet-pls\", address_prefix: \"10.50.1.0/24\", existing: true}  # TODO" in text
    assert "warning: eastus2: check the NAT subnet's prefix" in result.stderr


def test_import_pls_is_deterministic_and_prints_without_o():
    first = run_cli("import-pls", SHOWS / "westeurope-rest.json", SHOWS / "eastus2.json")
    second = run_cli("import-pls", SHOWS / "westeurope-rest.json", SHOWS / "eastus2.json")
    assert first.exit_code == 0 and first.stdout == second.stdout
    assert first.stdout.startswith("# Written by `plgen import-pls` from westeurope-rest.json, eastus2.json.")


def test_public_visibility_is_reproduced(tmp_path: Path):
    data = show("eastus2.json")
    for service in data:
        service["visibility"] = {"subscriptions": ["*"]}
    source = tmp_path / "public.json"
    source.write_text(json.dumps(data))
    manifest, out = tmp_path / "tenants.yaml", tmp_path / "out"
    assert run_cli("import-pls", source, "-o", manifest).exit_code == 0
    assert "visibility: public" in manifest.read_text()
    assert run_cli("render", manifest, "-o", out).exit_code == 0
    assert terraform_lists(out) == {"pls-api-eus2-1": (["*"], ["aaaa1111-0000-4000-8000-000000000001"]),
                                    "pls-api-eus2-2": (["*"], [])}


def test_import_pls_never_overwrites_a_manifest(tmp_path: Path):
    target = tmp_path / "tenants.yaml"
    target.write_text("precious\n")
    result = run_cli("import-pls", SHOWS / "eastus2.json", "-o", target)
    assert result.exit_code == 1 and "exists already" in result.stderr
    assert target.read_text() == "precious\n"


def test_import_pls_errors_are_located(tmp_path: Path):
    broken = tmp_path / "broken.json"
    broken.write_text('{"id": \n')
    result = run_cli("import-pls", broken)
    assert result.exit_code == 1
    assert re.match(rf"error: {re.escape(str(broken))}:2:1: not JSON", result.stderr), result.stderr
    data = show("eastus2.json")
    data[1]["ipConfigurations"][0]["subnet"] = {}
    data[0]["loadBalancerFrontendIpConfigurations"] = []
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data))
    result = run_cli("import-pls", bad)
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert f"error: {bad}: [0].loadBalancerFrontendIpConfigurations: 0 load balancer frontends; plgen puts each link " \
           "service on exactly one" in lines
    assert f"error: {bad}: [1].ipConfigurations[0].subnet.id: missing (expected the output of `az network " \
           "private-link-service show`)" in lines


def test_import_pls_refuses_what_one_manifest_cannot_hold(tmp_path: Path):
    data = show("eastus2.json")
    data[1]["id"] = data[1]["id"].replace("/resourceGroups/rg-api/", "/resourceGroups/rg-other/")
    source = tmp_path / "two-groups.json"
    source.write_text(json.dumps(data))
    result = run_cli("import-pls", source)
    assert result.exit_code == 1
    assert "pls-api-eus2-2: is in 9f1c2c8e-0000-4000-8000-000000000001/rg-other, not" in result.stderr
    assert "its load balancer lb-api-eus2 is in resource group rg-api" in result.stderr


def test_import_pls_usage():
    assert run_cli("import-pls").exit_code == 2


def test_the_interpolating_filter_quotes_literals_and_admits_only_variable_names():
    from gen.quoting import hcl_interpolate

    text = hcl_interpolate('/a/{name}/b"${x}\\', {"name": "endpoint_name"})
    assert text == '"/a/${var.endpoint_name}/b\\"$${x}\\\\"'
    assert hcl.decode_string(text.replace("${var.endpoint_name}", "N")) == '/a/N/b"${x}\\'
    with pytest.raises(ValueError):
        hcl_interpolate("/{name}", {"name": "x} ${file(\"/etc/passwd\")"})
