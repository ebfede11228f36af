"""Tenants with several private endpoints (`endpoint_sites`): one values file and one Terraform
workspace per site, a guide that walks through each, capacity counting what the bundle creates,
and the Azure rules that make two sites of one tenant collide refused before rendering."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import EXAMPLE, ROOT, run_cli
from gen import api
from gen.errors import VerificationError
from gen.verify import verify

EUS1 = "pls-contoso-api-eus2-1"
GLOBEX_SITES = '''    endpoint_sites:               # one private endpoint per virtual network (capacity counts 2)
      - name: prod
        location: eastus2
        resource_group: rg-globex-pe
        subnet_id: /subscriptions/2222bbbb-0000-4000-8000-000000000003/resourceGroups/rg-globex-net/providers/Microsoft.Network/virtualNetworks/vnet-globex/subnets/snet-endpoints
      - name: dr
        location: westus2
        resource_group: rg-globex-pe-dr
        subnet_id: /subscriptions/2222bbbb-0000-4000-8000-000000000004/resourceGroups/rg-globex-dr-net/providers/Microsoft.Network/virtualNetworks/vnet-globex-dr/subnets/snet-endpoints
'''


def test_the_example_still_describes_globex_this_way():
    assert GLOBEX_SITES in EXAMPLE.read_text()


def test_each_site_gets_its_own_values_files_and_workspace(example_out: Path):
    globex = example_out / "tenants" / "globex"
    assert not (globex / "terraform" / "terraform.tfvars.json").exists()  # no values Terraform would load everywhere
    assert not (globex / "bicep" / "main.parameters.json").exists()
    sites = {p.name: json.loads(p.read_text()) for p in sorted((globex / "terraform" / "sites").iterdir())}
    assert set(sites) == {"dr.tfvars.json", "prod.tfvars.json"}
    dr, prod = sites["dr.tfvars.json"], sites["prod.tfvars.json"]
    assert (dr["workspace"], prod["workspace"]) == ("dr", "prod")
    assert dr["subscription_id"] == "2222bbbb-0000-4000-8000-000000000004"  # the subscription of its subnet
    assert prod["subscription_id"] == "2222bbbb-0000-4000-8000-000000000003"
    assert (dr["endpoint_name"], prod["endpoint_name"]) == ("pe-contoso-api-globex-dr", "pe-contoso-api-globex-prod")
    assert dr["dns_link_name"] != prod["dns_link_name"]
    assert dr["private_ip"] == "10.90.1.10" and "private_ip" not in prod
    assert dr["private_link_service_alias"] == prod["private_link_service_alias"]
    bicep = {p.name: json.loads(p.read_text())["parameters"] for p in sorted((globex / "bicep" / "sites").iterdir())}
    assert bicep["dr.parameters.json"]["endpointName"] == {"value": "pe-contoso-api-globex-dr"}
    assert bicep["dr.parameters.json"]["privateIp"] == {"value": "10.90.1.10"}
    assert "workspace" not in bicep["dr.parameters.json"]  # ARM deployments have no workspaces
    # single-endpoint tenants keep today's layout
    assert (example_out / "tenants" / "acme" / "terraform" / "terraform.tfvars.json").exists()
    assert "workspace" not in json.loads((example_out / "tenants" / "acme" / "terraform" / "terraform.tfvars.json").read_text())


def test_the_guide_walks_through_every_site(example_out: Path):
    guide = (example_out / "tenants" / "globex" / "README.md").read_text()
    for site, subscription, group in (("dr", "2222bbbb-0000-4000-8000-000000000004", "rg-globex-pe-dr"),
                                      ("prod", "2222bbbb-0000-4000-8000-000000000003", "rg-globex-pe")):
        assert f"terraform workspace select -or-create {site}\n" in guide
        assert f"terraform plan -var-file=sites/{site}.tfvars.json -out {site}.tfplan" in guide
        assert (f"az deployment group create --subscription {subscription} -g {group} -n pe-contoso-api-globex-{site} --template-file bicep/main.bicep "
                f"--parameters @bicep/sites/{site}.parameters.json") in guide
        assert f"az group create --subscription {subscription} -n {group}" in guide
        assert f"| `{site}` | `{subscription}` | `{group}` |" in guide
    assert "| Private endpoints planned for you | 2 (one per site below) |" in guide
    assert "## More endpoints" not in guide  # the bundle already creates all of them


def test_a_tenant_planning_more_endpoints_than_described_is_told_how(example_out: Path):
    hooli = (example_out / "tenants" / "hooli" / "README.md").read_text()
    assert "## More endpoints" in hooli and "planned 3 private endpoints" in hooli
    assert '`"workspace": "<name>"`' in hooli and "a **different resource group**" in hooli
    assert "## More endpoints" not in (example_out / "tenants" / "stark" / "README.md").read_text()


def test_capacity_counts_the_endpoints_the_bundles_create(tmp_path: Path):
    result = run_cli("capacity", EXAMPLE, "--format", "json")
    assert result.exit_code == 0, result.output
    row = next(r for r in json.loads(result.stdout) if r["link_service"] == EUS1)
    assert row["endpoints"] == 2 + 2  # acme `endpoints: 2` + globex's two sites


def _variant(tmp_path: Path, old: str, new: str) -> Path:
    text = EXAMPLE.read_text()
    assert old in text
    manifest = tmp_path / "tenants.yaml"
    manifest.write_text(text.replace(old, new, 1))
    return manifest


DR_SUBNET = "/subscriptions/2222bbbb-0000-4000-8000-000000000004/resourceGroups/rg-globex-dr-net/providers/Microsoft.Network/virtualNetworks/vnet-globex-dr/subnets/snet-endpoints"
PROD_SUBNET = "/subscriptions/2222bbbb-0000-4000-8000-000000000003/resourceGroups/rg-globex-net/providers/Microsoft.Network/virtualNetworks/vnet-globex/subnets/snet-endpoints"


@pytest.mark.parametrize(("old", "new", "expected"), [
    (DR_SUBNET, PROD_SUBNET.replace("snet-endpoints", "snet-other"),
     "virtual network vnet-globex already has an endpoint"),
    ("rg-globex-pe-dr\n        subnet_id: /subscriptions/2222bbbb-0000-4000-8000-000000000004/",
     "rg-globex-pe\n        subnet_id: /subscriptions/2222bbbb-0000-4000-8000-000000000003/",
     "resource group rg-globex-pe already holds the endpoint of"),
    ("      - name: dr\n", "      - name: prod\n", "site name 'prod' is already used"),
    ("      - name: dr\n", "      - name: DR\n", "not a site name"),
    ("2222bbbb-0000-4000-8000-000000000004/resourceGroups/rg-globex-dr-net",
     "9999bbbb-0000-4000-8000-000000000004/resourceGroups/rg-globex-dr-net", "which is not among this tenant's subscriptions"),
    ("    request_message: \"tenant=globex contract=GX-88\"\n",
     "    request_message: \"tenant=globex contract=GX-88\"\n    endpoints: 3\n",
     "endpoints is 3 but the tenant has 2 endpoint_sites"),
    ("    request_message: \"tenant=globex contract=GX-88\"\n",
     "    request_message: \"tenant=globex contract=GX-88\"\n    endpoint:\n      location: eastus2\n"
     "      resource_group: rg-x\n      subnet_id: " + PROD_SUBNET + "\n",
     "give either `endpoint` (one endpoint) or `endpoint_sites` (several), not both"),
    ("      - name: dr\n", "      - name: disaster-recovery\n", "not a site name"),
])
def test_sites_that_would_collide_in_azure_are_refused(tmp_path: Path, old: str, new: str, expected: str):
    manifest = _variant(tmp_path, old, new)
    result = run_cli("validate", manifest)
    assert result.exit_code == 1, result.output
    assert expected in result.stderr, result.stderr
    assert "tenants.yaml:" in result.stderr  # located


def test_a_generated_endpoint_name_over_azures_limit_names_the_site(tmp_path: Path):
    text = EXAMPLE.read_text().replace("  name: contoso-api\n", "  name: contoso-api-x\n", 1)
    text = text.replace("id: globex\n", "id: globex-corporation-international\n").replace("- name: dr\n", "- name: recovery-site-01\n")
    manifest = tmp_path / "tenants.yaml"
    manifest.write_text(text)
    result = run_cli("validate", manifest)
    assert result.exit_code == 1
    assert ("endpoint_sites[1].name: generated private endpoint names are 2-64 characters; "
            "'pe-contoso-api-x-globex-corporation-international-recovery-site-01' has 66") in result.stderr, result.stderr
    assert "shorten the service name, tenant id or site name" in result.stderr


def test_service_support_needs_a_contact(tmp_path: Path):
    manifest = _variant(tmp_path, "    email: privatelink@contoso-saas.com\n    url: https://contoso-saas.com/support/private-link\n", "    {}\n")
    manifest.write_text(manifest.read_text().replace("  support:                      # printed in every customer guide\n    {}\n",
                                                     "  support: {}\n"))
    result = run_cli("validate", manifest)
    assert result.exit_code == 1 and "give an `email` or a `url`" in result.stderr, result.output
    bad_url = _variant(tmp_path, "url: https://contoso-saas.com/support/private-link", "url: http://contoso-saas.com/x")
    result = run_cli("validate", bad_url)
    assert result.exit_code == 1 and "an https:// URL" in result.stderr, result.output


def test_the_support_contact_reaches_every_guide(example_out: Path, tmp_path: Path):
    for tenant in ("acme", "globex", "hooli", "initech", "stark"):
        guide = (example_out / "tenants" / tenant / "README.md").read_text()
        assert "| Help | `privatelink@contoso-saas.com`, <https://contoso-saas.com/support/private-link> |" in guide
        pending = guide.split("**If the connection stays Pending**", 1)[1].split("**If the connection is rejected**")[0]
        assert "privatelink@contoso-saas.com" in pending
    minimal = run_cli("render", ROOT / "tests" / "data" / "minimal.yaml", "-o", tmp_path / "m", "--no-cache")
    assert minimal.exit_code == 0, minimal.output
    for guide in (tmp_path / "m" / "tenants").glob("*/README.md"):
        assert "| Help |" not in guide.read_text()


@pytest.fixture(scope="module")
def example_plan():
    rendered = api.render_manifest(EXAMPLE)
    return rendered.plan, dict(rendered.files)


@pytest.mark.parametrize(("path", "key", "value", "expected"), [
    ("tenants/globex/bicep/sites/dr.parameters.json", "endpointName", "pe-contoso-api-globex-prod",
     "tenant globex site dr: endpoint_name: the Terraform says 'pe-contoso-api-globex-dr', the Bicep says 'pe-contoso-api-globex-prod'"),
    ("tenants/globex/terraform/sites/dr.tfvars.json", "private_ip", "10.90.1.11",
     "tenant globex site dr: private_ip: the plan says '10.90.1.10', the Terraform says '10.90.1.11'"),
])
def test_a_site_whose_values_disagree_fails_verification(example_plan, path, key, value, expected):
    plan, files = example_plan
    broken = dict(files)
    data = json.loads(broken[path])
    if "parameters" in data:
        data["parameters"][key] = {"value": value}
    else:
        data[key] = value
    broken[path] = json.dumps(data)
    with pytest.raises(VerificationError) as info:
        verify(plan, broken)
    assert expected in str(info.value)


def test_a_missing_site_file_fails_verification(example_plan):
    plan, files = example_plan
    broken = {p: t for p, t in files.items() if p != "tenants/globex/terraform/sites/dr.tfvars.json"}
    with pytest.raises(VerificationError) as info:
        verify(plan, broken)
    assert "the plan has tenant globex site dr but the Terraform does not" in str(info.value)


def test_the_guide_replaces_only_the_rejected_sites_endpoint(example_out: Path):
    """A rejected connection is recovered by replacing the endpoint, in the site's own workspace:
    `terraform destroy` would also delete the DNS zone, and preconditions do not guard destroy."""
    globex = (example_out / "tenants" / "globex" / "README.md").read_text()
    assert ("terraform workspace select dr\n"
            "terraform apply -replace=azurerm_private_endpoint.service -var-file=sites/dr.tfvars.json") in globex
    acme = (example_out / "tenants" / "acme" / "README.md").read_text()
    assert "terraform apply -replace=azurerm_private_endpoint.service\n" in acme
    for guide in (globex, acme):
        assert "terraform destroy`, or" not in guide


def test_the_consumer_module_needs_no_subscription_wide_rights(example_out: Path):
    versions = (example_out / "tenants" / "acme" / "terraform" / "versions.tf").read_text()
    assert 'resource_provider_registrations = "none"' in versions
    guide = (example_out / "tenants" / "acme" / "README.md").read_text()
    assert "`Microsoft.Network/networkInterfaces/read`" in guide and "az provider register --namespace Microsoft.Network" in guide
