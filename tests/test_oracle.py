"""The Azure-rules oracle (gen.verify.oracle) over rendered files: silent on good output, and
each rule catches the rendered defect it is there for (the defect is written into the
rendered text, the way a template or validate bug would put it there)."""

from __future__ import annotations

import pytest

from conftest import EXAMPLE
from gen import api
from gen.errors import VerificationError
from gen.plan import build_plan
from gen.verify import oracle, verify

WEU = "provider/terraform/region-westeurope.tf"
LB = "provider/terraform/load-balancer-westeurope.tf"
VPN = "provider/terraform/vpn-westeurope.tf"
NAT_GATEWAY = "provider/terraform/nat-gateway-westeurope.tf"
BICEP = "provider/bicep/main.bicep"
GLOBEX_DR = "tenants/globex/terraform/sites/dr.tfvars.json"
ACME_VALUES = "tenants/acme/terraform/terraform.tfvars.json"


@pytest.fixture(scope="module")
def rendered():
    return api.render_manifest(EXAMPLE)


def messages(files: dict[str, str]) -> list[str]:
    return [f"{path}: {message}" for path, message in oracle.check_tree(files)]


def mutated(rendered, path: str, old: str, new: str, count: int = 1) -> dict[str, str]:
    files = dict(rendered.files)
    assert old in files[path], f"{old!r} not in {path}: the test no longer mutates anything"
    files[path] = files[path].replace(old, new, count)
    return files


def test_the_example_breaks_no_rule(rendered):
    assert messages(rendered.files) == []


CASES = [
    # (id, path, old, new, expected fragment)
    ("nat-ip-reserved", WEU, '"10.60.1.10"', '"10.60.1.3"', "one of the addresses Azure reserves"),
    ("nat-ip-outside", WEU, '"10.60.1.10"', '"10.60.9.10"', "outside its subnet"),
    ("nat-ip-twice", WEU, '"10.60.1.11"', '"10.60.1.10"', "is also used by"),
    ("two-primaries", WEU, "primary                    = false", "primary                    = true", "exactly one NAT IP configuration must be primary"),
    ("nat-subnet-policies", WEU, "private_link_service_network_policies_enabled = false", "", "network policies are not disabled"),
    ("nat-subnet-too-small", WEU, '["10.60.1.0/26"]', '["10.60.1.0/30"]', "smaller than Azure's smallest subnet"),
    ("subnets-overlap", LB, '["10.60.2.0/27"]', '["10.60.1.0/27"]', "overlaps subnet"),
    ("frontend-port-reused", LB, "frontend_port                  = 50001", "frontend_port                  = 443", "both use Tcp port 443"),
    ("backend-port-reused", LB, "backend_port                   = 8444", "backend_port                   = 8443", "without floating IP"),
    ("lb-child-name-twice", LB, '"fe-routed-tcp-443"', '"fe-app-tcp-443"', "are named 'fe-app-tcp-443'"),
    ("nat-rule-on-proxy-frontend", LB, 'frontend_ip_configuration_name = "fe-routed"\n  frontend_port                  = 50001',
     'frontend_ip_configuration_name = "fe-app"\n  frontend_port                  = 50001', "receives a PROXY header"),
    ("frontend-reserved", LB, '"10.60.2.10"', '"10.60.2.31"', "reserves"),
    ("frontend-in-gateway-subnet", LB, '"snet-lb-frontend"', '"GatewaySubnet"', "in the gateway subnet"),
    ("gateway-subnet-name", VPN, '"GatewaySubnet"', '"gatewaysubnet"', "named exactly 'GatewaySubnet'"),
    ("vpn-generation", VPN, '"Generation1"', '"Generation2"', "exists in Generation1, not Generation2"),
    ("nat-gateway-reads-created-subnet", NAT_GATEWAY, 'name                 = "snet-app"', 'name                 = "snet-pls-nat"',
     "which this configuration creates"),
    ("nat-gateway-on-gateway-subnet", NAT_GATEWAY, '"snet-app"', '"GatewaySubnet"', "only virtual network gateways may use"),
    ("name-characters", WEU, 'name                                        = "pls-contoso-api-weu-1"',
     'name                                        = "pls contoso"', "has a character private link service names may not contain"),
    ("name-ends-with-period", LB, '"lb-saas-weu"', '"lb-saas-weu."', "may not end with '.'"),
    ("unknown-name-kind", WEU, "data \"azurerm_virtual_network\"", 'resource "azurerm_thing" "x" {\n  name = "a"\n}\n\ndata "azurerm_virtual_network"',
     "no Azure name rule is known"),
    ("alias-location", GLOBEX_DR, "eastus2.azure.privatelinkservice", "westus.azure.privatelinkservice", "the alias says location 'westus'"),
    ("alias-unknown-service", ACME_VALUES, '"pls-contoso-api-eus2-1.', '"pls-other.', "which the provider's output does not create"),
    ("alias-format", ACME_VALUES, ".azure.privatelinkservice", ".privatelinkservice", "is not an alias"),
    ("request-message-bytes", ACME_VALUES, '"tenant=acme order=4471"', '"' + "é" * 71 + '"', "bytes in UTF-8"),
    ("subscription-not-visible", ACME_VALUES, "/subscriptions/1111aaaa-0000-4000-8000-000000000002/",
     "/subscriptions/1111aaaa-0000-4000-8000-0000000000ff/", "not on the visibility list"),
    ("vnet-name-in-id", ACME_VALUES, "virtualNetworks/vnet-acme/", "virtualNetworks/vnet acme]/", "virtual network names may not contain"),
    ("workspace", GLOBEX_DR, '"workspace": "dr"', '"workspace": "prod"', "name workspace 'prod'"),
    ("endpoint-name-length", ACME_VALUES, '"endpoint_name": "pe-contoso-api-acme"', '"endpoint_name": "pe-' + "a" * 70 + '"',
     "private endpoint names are 2-64 characters"),
    ("deployment-name", BICEP, "'plgen-cn-contoso-api-to-wayne'", "'" + "x" * 70 + "'", "deployment names are 1-64 characters"),
    ("bicep-symbol-twice", BICEP, "resource plsContosoApiEus21 ", "resource natSubnetEastus2 ", "BCP028"),
    ("bicep-child-name", BICEP, "name: 'nat-ip-1'", "name: 'nat ip'", "IP configuration names may not contain"),
    ("tag-name", "provider/terraform/terraform.tfvars.json", '"owner": "platform"', '"own/er": "platform"', "tag name 'own/er'"),
    ("table-cell", "tenants/stark/README.md", "| Request message | `", "| Request message | `a|b ", "a table row has 3 cells"),
    ("code-span", "tenants/stark/README.md", "| Request message | `", "| Request message | ``", "never closed"),
    ("raw-html", "tenants/acme/README.md", "for ACME Corp", "for ACME <img src=x>", "raw HTML"),
    ("guide-proxy", "tenants/acme/README.md", "receive your connections with PROXY protocol v2", "receive your connections",
     "PROXY protocol statement does not match"),
    ("guide-approval", "tenants/globex/README.md", "| Approval | manual", "| Approval | automatic", "promises automatic approval"),
]


@pytest.mark.parametrize("case", CASES, ids=[case[0] for case in CASES])
def test_each_rule_catches_its_defect(rendered, case):
    _, path, old, new, expected = case
    found = messages(mutated(rendered, path, old, new))
    assert any(expected in message for message in found), "\n".join(found) or "no problem found"


def test_every_problem_cites_its_source_or_says_what_it_compares(rendered):
    found = messages(mutated(rendered, WEU, '"10.60.1.10"', '"10.60.1.3"'))
    assert any("learn.microsoft.com" in message for message in found)


def test_render_verification_runs_the_oracle(rendered):
    """The oracle is part of verify: a rendered tree that breaks a rule is refused (and so never
    written), even when it states the plan's facts."""
    files = mutated(rendered, "tenants/stark/README.md", "| Request message | `", "| Request message | `a|b ")
    with pytest.raises(VerificationError) as caught:
        verify(build_plan(api.load_manifest(EXAMPLE)[0], "tenants.yaml"), files)
    assert "Azure would refuse or misbehave: line 27: a table row has 3 cells" in str(caught.value)
