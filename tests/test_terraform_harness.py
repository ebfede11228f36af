"""Real Terraform (no provider) evaluates what plgen wrote: tfvars read back exactly, the VNet id
derivation of the consumer module works, and the module's validation blocks bite."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tf_harness import apply, echo_outputs

LOCALS_PROBE = 'output "virtual_network_id" {\n  value = local.virtual_network_id\n}\n'


def _main_locals(main_tf: str) -> str:
    start = main_tf.index("locals {")
    return main_tf[start:main_tf.index("\n}\n", start) + 3]


def test_tenant_values_read_back_literally(example_out: Path, terraform: str, tmp_path: Path):
    module = example_out / "tenants" / "stark" / "terraform"
    variables_tf = (module / "variables.tf").read_text()
    tfvars = json.loads((module / "terraform.tfvars.json").read_text())
    tfvars["private_link_service_alias"] = "pls-x.3c1d9b7e-5a7f-4c2e-9d8b-1f0e2a3b4c5d.westeurope.azure.privatelinkservice"
    outputs = apply(terraform, tmp_path / "h", {
        "variables.tf": variables_tf,
        "locals.tf": _main_locals((module / "main.tf").read_text()),
        "outputs.tf": echo_outputs(variables_tf, LOCALS_PROBE),
        "terraform.tfvars.json": json.dumps(tfvars),
    })
    assert outputs["request_message"] == 'tenant=stark po="SI-2026/17"'
    for name, value in tfvars.items():
        assert outputs[name] == value, name
    assert outputs["virtual_network_id"] == (
        "/subscriptions/6666ffff-0000-4000-8000-000000000009/resourceGroups/rg-stark-net"
        "/providers/Microsoft.Network/virtualNetworks/vnet-stark")


def test_module_validation_rejects_a_bad_subnet_id(example_out: Path, terraform: str, tmp_path: Path):
    module = example_out / "tenants" / "acme" / "terraform"
    variables_tf = (module / "variables.tf").read_text()
    tfvars = json.loads((module / "terraform.tfvars.json").read_text())
    tfvars["subnet_id"] = "/subscriptions/x/not-a-subnet"
    with pytest.raises(AssertionError, match="The subnet_id must be a subnet resource id"):
        apply(terraform, tmp_path / "h", {
            "variables.tf": variables_tf,
            "outputs.tf": echo_outputs(variables_tf),
            "terraform.tfvars.json": json.dumps(tfvars),
        })
