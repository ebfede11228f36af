"""Visibility and auto-approval lists are literal, sorted, and derived exactly as DESIGN §2 says."""

from __future__ import annotations

import re
from pathlib import Path

from gen.load import load_file
from gen.plan import build_plan
from gen.validate import validate

from conftest import EXAMPLE
from gen.verify import hcl


def _pls_blocks(example_out: Path) -> dict[str, dict]:
    blocks = {}
    for path in (example_out / "provider/terraform").glob("region-*.tf"):
        parsed = hcl.parse(path.read_text())
        for top in parsed.get("resource", []):
            for instances in [v for k, v in top.items() if k == '"azurerm_private_link_service"']:
                for body in instances.values():
                    blocks[hcl.decode_string(body["name"])] = body
    return blocks


def _strings(values) -> list[str]:
    return [hcl.decode_string(v) for v in values]


def test_lists_follow_tenant_state_and_approval(example_out: Path):
    blocks = _pls_blocks(example_out)
    eus2_1 = blocks["pls-contoso-api-eus2-1"]
    # acme (active, auto) + globex (active, manual, two subscriptions)
    assert _strings(eus2_1["visibility_subscription_ids"]) == [
        "1111aaaa-0000-4000-8000-000000000002", "2222bbbb-0000-4000-8000-000000000003", "2222bbbb-0000-4000-8000-000000000004"]
    assert _strings(eus2_1["auto_approval_subscription_ids"]) == ["1111aaaa-0000-4000-8000-000000000002"]
    eus2_2 = blocks["pls-contoso-api-eus2-2"]
    # initech is suspended: visible, never auto-approved; umbrella is offboarded: gone
    assert _strings(eus2_2["visibility_subscription_ids"]) == ["3333cccc-0000-4000-8000-000000000005"]
    assert eus2_2["auto_approval_subscription_ids"] == []
    weu = blocks["pls-contoso-api-weu-1"]
    assert _strings(weu["auto_approval_subscription_ids"]) == ["5555eeee-0000-4000-8000-000000000007"]
    assert [hcl.decode_string(n["private_ip_address"]) for n in weu["nat_ip_configuration"]] == [
        "10.60.1.10", "10.60.1.11", "10.60.1.12"]
    assert [n["primary"] for n in weu["nat_ip_configuration"]] == [True, False, False]


def test_public_visibility_is_a_star(tmp_path: Path):
    text = EXAMPLE.read_text().replace("visibility: restricted", "visibility: public")
    manifest = tmp_path / "m.yaml"
    manifest.write_text(text)
    plan = build_plan(validate(load_file(manifest)), "m.yaml")
    assert {ls.visibility_subscription_ids for ls in plan.provider.link_services} == {("*",)}


def test_lists_are_sorted_whatever_the_manifest_order(example_out: Path):
    for body in _pls_blocks(example_out).values():
        for key in ("visibility_subscription_ids", "auto_approval_subscription_ids"):
            values = _strings(body[key])
            assert values == sorted(values) and len(set(values)) == len(values)


def test_pls_uses_current_proxy_protocol_argument(example_out: Path):
    text = (example_out / "provider/terraform/region-eastus2.tf").read_text()
    assert re.search(r"proxy_protocol_enabled\s+= true", text)
    assert "enable_proxy_protocol" not in text
