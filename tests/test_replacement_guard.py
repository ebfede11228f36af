"""Issue 13, part 2: a render that would make Terraform replace or destroy a link service, a
private endpoint, a public IP, the NAT subnet or a VPN gateway stops, one line per resource,
unless --allow-replace names it; offboarding is said, never blocked."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from conftest import EXAMPLE, MINIMAL, ROOT, run_cli, tree
from gen import guard

NEIGHBOURS = ROOT / "tests" / "data" / "neighbours.yaml"


@pytest.fixture
def rendered(tmp_path: Path):
    """(manifest copy, out) rendered once from `source`; edit the copy, render again."""
    def make(source: Path) -> tuple[Path, Path]:
        manifest, out = tmp_path / "tenants.yaml", tmp_path / "out"
        manifest.write_text(source.read_text())
        assert render(manifest, out).exit_code == 0
        return manifest, out
    return make


def render(manifest: Path, out: Path, *args):
    return run_cli("render", manifest, "-o", out, "--cache-dir", out.parent / "cache", *args)


def edit(manifest: Path, old: str, new: str, count: int = 1) -> None:
    text = manifest.read_text()
    assert text.count(old) == count, old
    manifest.write_text(text.replace(old, new))


def error_lines(result) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("error: ")]


def test_moving_a_link_service_to_another_frontend_stops_the_render(rendered):
    manifest, out = rendered(MINIMAL)
    before = tree(out)
    edit(manifest, "frontends: [fe-1, fe-2]", "frontends: [fe-1, fe-2, fe-3]")
    edit(manifest, "          frontend: fe-1\n", "          frontend: fe-3\n")
    result = render(manifest, out)
    assert result.exit_code == 1
    assert tree(out) == before  # nothing written
    [line] = error_lines(result)
    assert re.match(r"error: .*tenants\.yaml:\d+:\d+: provider\.regions\[0\]\.link_services\[0\]: provider/terraform: "
                    r"link service azurerm_private_link_service\.pls_demo_1 \(pls-demo-1\) would be replaced "
                    r"\(load_balancer_frontend_ip_configuration_ids \[.*/frontendIPConfigurations/fe-1\] -> "
                    r"\[.*/frontendIPConfigurations/fe-3\]\): alias changes; 1 tenant must reconnect", line), line
    assert line.endswith("if intended, re-run with --allow-replace pls-demo-1")


def test_allow_replace_lets_it_through_and_says_so(rendered):
    manifest, out = rendered(MINIMAL)
    edit(manifest, "frontends: [fe-1, fe-2]", "frontends: [fe-1, fe-2, fe-3]")
    edit(manifest, "          frontend: fe-1\n", "          frontend: fe-3\n")
    result = render(manifest, out, "--allow-replace", "pls-demo-1")
    assert result.exit_code == 0, result.output
    assert "warning: allowed by --allow-replace pls-demo-1: provider/terraform: link service" in result.stderr
    assert "fe-3" in (out / "provider/terraform/region-eastus2.tf").read_text()
    # the replacement is now recorded: the next render has nothing to guard, and says the flag matched nothing
    again = render(manifest, out, "--allow-replace", "pls-demo-1", "--no-cache")
    assert again.exit_code == 0
    assert "note: --allow-replace pls-demo-1: nothing this render would replace" in again.stderr


def test_the_terraform_address_also_allows_it(rendered):
    manifest, out = rendered(MINIMAL)
    edit(manifest, "resource_group: rg-demo", "resource_group: rg-demo-2")
    result = render(manifest, out, "--allow-replace", "azurerm_private_link_service.pls_demo_1")
    assert result.exit_code == 1
    # pls-demo-2 is replaced too (its resource group changes), and was not allowed
    [line] = error_lines(result)
    assert "azurerm_private_link_service.pls_demo_2 (pls-demo-2) would be replaced (" in line
    # the load balancer is read from the same resource group, so its frontend's id changes too
    assert "/resourceGroups/rg-demo-2/providers/Microsoft.Network/loadBalancers/lb-demo/frontendIPConfigurations/fe-2]; " \
           "resource_group_name rg-demo -> rg-demo-2)" in line
    ok = render(manifest, out, "--allow-replace", "azurerm_private_link_service.pls_demo_1", "--allow-replace", "pls-demo-2")
    assert ok.exit_code == 0, ok.output


def test_renaming_a_link_service_destroys_the_old_one(rendered):
    manifest, out = rendered(MINIMAL)
    edit(manifest, "pls-demo-2", "pls-demo-two", count=2)
    result = render(manifest, out)
    assert result.exit_code == 1
    [line] = error_lines(result)
    assert "azurerm_private_link_service.pls_demo_2 (pls-demo-2) would be destroyed: its alias stops working; 1 tenant lose" in line
    assert re.match(r"error: .*tenants\.yaml: provider/terraform", line)  # no longer in the manifest: the file alone


def test_a_tenant_endpoint_change_names_the_tenant_and_the_approval(rendered):
    manifest, out = rendered(MINIMAL)
    edit(manifest, "vnet-a/subnets/s", "vnet-a/subnets/s2")
    result = render(manifest, out)
    assert result.exit_code == 1
    [line] = error_lines(result)
    assert ": tenants[0] (alpha): tenants/alpha/terraform: private endpoint azurerm_private_endpoint.service " \
           "(pe-demo-svc-alpha) would be replaced (subnet_id " in line
    assert "tenant alpha's endpoint is deleted with its connection and created again: the new connection has a new " \
           "LinkID and is approved again automatically (auto-approval); its private IP changes" in line
    assert render(manifest, out, "--allow-replace", "pe-demo-svc-alpha").exit_code == 0


def test_renaming_the_service_replaces_every_known_endpoint(rendered):
    manifest, out = rendered(EXAMPLE)
    edit(manifest, "  name: contoso-api\n", "  name: contoso-apis\n")
    result = render(manifest, out)
    assert result.exit_code == 1
    endpoints = [line for line in error_lines(result) if "private endpoint" in line]
    # acme, globex (two sites), hooli, initech, stark: one line per endpoint and workspace
    assert len(endpoints) == 6
    assert any("tenants/globex/terraform (workspace dr)" in line for line in endpoints)


def test_offboarding_is_said_and_not_blocked(rendered):
    manifest, out = rendered(MINIMAL)
    edit(manifest, "    link_service: pls-demo-1\n", "    link_service: pls-demo-1\n    state: offboarded\n")
    result = render(manifest, out)
    assert result.exit_code == 0, result.output
    assert ("note: tenants/alpha/terraform: private endpoint azurerm_private_endpoint.service (pe-demo-svc-alpha) "
            "leaves the output (offboarding, on purpose): tenant alpha's bundle is withdrawn") in result.stderr
    assert not (out / "tenants" / "alpha").exists()


def test_removing_a_tenant_is_not_blocked_but_advises_offboarding(rendered):
    manifest, out = rendered(MINIMAL)
    text = manifest.read_text()
    manifest.write_text(text[:text.index("  - id: alpha")] + text[text.index("  - id: beta"):])
    result = render(manifest, out)
    assert result.exit_code == 0, result.output
    assert "(tenant removed from the manifest)" in result.stderr and "`state: offboarded` instead" in result.stderr


def test_vpn_gateway_and_public_ips_are_guarded(rendered):
    manifest, out = rendered(NEIGHBOURS)
    edit(manifest, "gateway_subnet_prefix: 10.1.255.0/27, active_active: false}",
         "gateway_subnet_prefix: 10.1.255.0/27, active_active: true}")
    result = render(manifest, out)
    assert result.exit_code == 1
    [line] = error_lines(result)
    assert "VPN gateway azurerm_virtual_network_gateway.eastus2 (vgw-demo-svc-eastus2) would be replaced " \
           "(ip_configuration 1 -> 2): the gateway is deleted and built again with new public IPs" in line


def test_fewer_nat_gateway_public_ips_release_an_address(rendered):
    manifest, out = rendered(EXAMPLE)
    edit(manifest, "        public_ips: 2\n", "        public_ips: 1\n")
    result = render(manifest, out)
    assert result.exit_code == 1
    [line] = error_lines(result)
    assert "public IP azurerm_public_ip.nat_gateway_westeurope_2 (pip-ng-contoso-api-westeurope-2) would be " \
           "destroyed: the address of NAT gateway ng-contoso-api-westeurope is released" in line


def test_a_nat_subnet_rename_names_its_link_services(rendered):
    manifest, out = rendered(MINIMAL)
    edit(manifest, "{name: snet-nat,", "{name: snet-nat-2,")
    result = render(manifest, out)
    assert result.exit_code == 1
    lines = error_lines(result)
    assert len(lines) == 1 and "NAT subnet azurerm_subnet.pls_nat_eastus2 (snet-nat) would be replaced (name snet-nat -> " \
                               "snet-nat-2)" in lines[0]
    assert "the link services in it (pls-demo-1, pls-demo-2) would be recreated, with new aliases" in lines[0]


def test_check_reports_hazards_without_stopping(rendered):
    manifest, out = rendered(MINIMAL)
    edit(manifest, "vnet-a/subnets/s", "vnet-a/subnets/s2")
    result = render(manifest, out, "--check")
    assert result.exit_code == 1  # drift
    assert "hazard: tenants/alpha/terraform: private endpoint" in result.stderr
    assert "(a render stops here unless --allow-replace pe-demo-svc-alpha)" in result.stderr
    as_json = render(manifest, out, "--check", "--format", "json")
    [hazard] = json.loads(as_json.stdout)["hazards"]
    assert hazard["action"] == "replace" and hazard["blocking"] and hazard["name"] == "pe-demo-svc-alpha"
    assert hazard["changes"][0]["argument"] == "subnet_id"


def test_json_errors_list_each_hazard(rendered):
    manifest, out = rendered(MINIMAL)
    edit(manifest, "resource_group: rg-demo", "resource_group: rg-demo-2")
    result = render(manifest, out, "--format", "json")
    assert result.exit_code == 1
    payload = json.loads(result.stdout)
    assert payload["status"] == "error" and len(payload["errors"]) == 2
    assert {e["path"] for e in payload["errors"]} == {"provider.regions[0].link_services[0]",
                                                       "provider.regions[0].link_services[1]"}


def test_hazards_between_two_locks_for_plgen_changes(rendered):
    manifest, out = rendered(MINIMAL)
    old_lock = json.loads((out / ".plgen-lock.json").read_text())
    edit(manifest, "vnet-a/subnets/s", "vnet-a/subnets/s2")
    assert render(manifest, out, "--allow-replace", "pe-demo-svc-alpha").exit_code == 0
    new_lock = json.loads((out / ".plgen-lock.json").read_text())
    [hazard] = guard.hazards_between(old_lock, new_lock)
    assert (hazard.action, hazard.kind, hazard.unit) == ("replace", "private_endpoint", "tenants/alpha/terraform")
    assert guard.hazards_between(new_lock, new_lock) == []
    old_lock.pop("identities")
    assert guard.hazards_between(old_lock, new_lock) == []  # nothing recorded: nothing to compare


def test_no_guard_without_recorded_identities_and_it_says_so(rendered):
    manifest, out = rendered(MINIMAL)
    lock_path = out / ".plgen-lock.json"
    lock = json.loads(lock_path.read_text())
    del lock["identities"]
    lock_path.write_text(json.dumps(lock, indent=2, sort_keys=True) + "\n")
    edit(manifest, "vnet-a/subnets/s", "vnet-a/subnets/s2")
    result = render(manifest, out, "--force")
    assert result.exit_code == 0, result.output
    assert "no moved blocks and no replacement guard this time" in result.stderr


def test_describing_an_endpoint_the_customer_filled_in_is_not_a_replacement(rendered):
    manifest, out = rendered(MINIMAL)  # beta has no endpoint values: the customer supplies them
    edit(manifest, "    subscriptions: [22222222-0000-4000-8000-000000000002]\n",
         "    subscriptions: [22222222-0000-4000-8000-000000000002]\n    endpoint:\n      location: eastus\n"
         "      resource_group: rg-beta\n      private_ip: 10.9.0.9\n      subnet_id: /subscriptions/"
         "22222222-0000-4000-8000-000000000002/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/vnet-b/subnets/s\n")
    result = render(manifest, out)
    assert result.exit_code == 0, result.output
    assert "would be replaced" not in result.stderr
    # from now on its values are known, and a change to them is guarded
    edit(manifest, "private_ip: 10.9.0.9", "private_ip: 10.9.0.10")
    changed = render(manifest, out)
    assert changed.exit_code == 1
    assert "(ip_configuration.private_ip_address 10.9.0.9 -> 10.9.0.10)" in changed.stderr
