"""The JSON Schema that editors validate manifests with agrees with plgen's own validators: for
each format, good values pass both and bad values fail both. Editors run the patterns as
ECMA-262 regular expressions, so they are checked with node when it is installed, and with
Python's `re` (ECMA `$` translated) always."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from typing import Annotated, Any

import pytest
from pydantic import TypeAdapter, ValidationError

from conftest import ROOT, run_cli
from gen import manifest as models
from gen.api import manifest_schema

SCHEMA = manifest_schema()

# (model, field, good values, bad values). Bad values are ones a pattern can see: a CIDR prefix
# with host bits set, for instance, is refused by plgen only.
FORMATS: dict[str, tuple[type, str, list[str], list[str]]] = {
    "guid": (models.Provider, "subscription_id",
             ["9f1c2c8e-0000-4000-8000-000000000001", "00000000-0000-0000-0000-000000000000"],
             ["9F1C2C8E-0000-4000-8000-000000000001", "9f1c2c8e00004000800000000000001", "{9f1c2c8e-0000-4000-8000-000000000001}",
              "9f1c2c8e-0000-4000-8000-00000000001", "9f1c2c8e-0000-4000-8000-000000000001\n", "g0000000-0000-4000-8000-000000000001"]),
    "slug": (models.Service, "name", ["contoso-api", "abc", "a" * 32, "a1-2b"],
             ["ab", "a" * 33, "Contoso", "-abc", "abc-", "1abc", "a_b", "a.b", "abc\n"]),
    "tenant id": (models.Tenant, "id", ["acme", "globex-2", "console", "com10", "auxx"],
                  ["con", "nul", "com1", "lpt9", "../beta", "Acme", "ab", "acme-"]),
    "location": (models.Region, "location", ["eastus2", "westeurope", "ab"],
                 ["East US 2", "eastus-2", "EastUS2", "a", "2eastus", "a" * 41]),
    "ipv4": (models.FrontendSpec, "private_ip", ["10.0.0.4", "0.0.0.0", "255.255.255.255", "192.168.10.200"],
             ["10.0.0.256", "10.0.0", "10.0.0.04", "010.0.0.4", "10.0.0.4/32", " 10.0.0.4", "1.2.3.4.5", "::1"]),
    "cidr": (models.SubnetSpec, "address_prefix", ["10.50.1.0/24", "0.0.0.0/0", "10.0.0.4/32", "172.16.0.0/12"],
             ["10.50.1.0", "10.50.1.0/33", "10.50.1.0/024", "10.50.1.0/", "10.050.1.0/24", "10.50.1.0/24 "]),
    "fqdn": (models.Service, "fqdn", ["api.contoso-saas.com", "a.b", "x1.example.org", ("a" * 63 + ".") * 3 + "a" * 61],
             ["localhost", "API.contoso.com", "api..contoso.com", "-api.contoso.com", "api-.contoso.com", "api.contoso.com.",
              "api_x.contoso.com", "a" * 64 + ".com", ("a" * 63 + ".") * 3 + "a" * 62]),
    "subnet id": (models.Endpoint, "subnet_id",
                  ["/subscriptions/1111aaaa-0000-4000-8000-000000000002/resourceGroups/rg-acme-net/providers/"
                   "Microsoft.Network/virtualNetworks/vnet-acme/subnets/snet-pe"],
                  ["/subscriptions/x/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v",
                   "subscriptions/x/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v/subnets/s",
                   "/subscriptions/x/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v/subnets/s/extra",
                   "/subscriptions/x/resourceGroups/r g/providers/Microsoft.Network/virtualNetworks/v/subnets/s"]),
    "gateway id": (models.VnetToVnet, "gateway_id",
                   ["/subscriptions/7777aaaa-0000-4000-8000-00000000000a/resourceGroups/rg-wayne/providers/"
                    "Microsoft.Network/virtualNetworkGateways/vgw-wayne"],
                   ["/subscriptions/x/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/vgw",
                    "/subscriptions/x/resourceGroups/rg/providers/Microsoft.Network/virtualNetworkGateways/",
                    "/subscriptions/x/resourceGroups/rg/providers/MicrosoftXNetwork/virtualNetworkGateways/g"]),
    "key vault id": (models.SecretRef, "key_vault_id",
                     ["/subscriptions/x/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv-contoso-vpn",
                      "/subscriptions/x/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/abc"],
                     ["/subscriptions/x/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/ab",
                      "/subscriptions/x/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/1kv",
                      "/subscriptions/x/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv-",
                      "/subscriptions/x/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/" + "k" * 25,
                      "/subscriptions/x/resourceGroups/rg/providers/Microsoft.KeyVault/secrets/kv1"]),
    "email": (models.Support, "email", ["support@contoso-saas.com", "a.b+c@x.io"],
              ["support", "support@", "@contoso.com", "support@contoso", "support@Contoso.com", "sup port@contoso.com"]),
    "https url": (models.Support, "url", ["https://contoso-saas.com", "https://status.contoso-saas.com/help?x=1#top"],
                  ["http://contoso-saas.com", "https://localhost", "https://Contoso.com", "https://contoso.com/a b",
                   "https://contoso.com/" + "a" * 512, "ftp://contoso.com"]),
    "probe path": (models.Probe, "path", ["/", "/healthz", "/a/b-c_d.e~f"],
                   ["healthz", "/health?x=1", "/a b", "/" + "a" * 201, "/héalth"]),
    "site name": (models.EndpointSite, "name", ["a", "hq", "west-1", "a" * 16],
                  ["", "A", "1a", "a-", "a" * 17, "a_b"]),
    "secret name": (models.SecretRef, "name", ["wayne-psk", "A1", "a" * 127],
                    ["", "a_b", "a.b", "a" * 128, "psk key"]),
}


def _field_schema(model: type, field: str) -> dict[str, Any]:
    schema = SCHEMA["$defs"][model.__name__]["properties"][field]
    for branch in schema.get("anyOf", [schema]):
        if branch.get("type") == "string":
            return branch
    raise AssertionError(f"{model.__name__}.{field} has no string schema")


def _python_regex(pattern: str) -> re.Pattern:
    # ECMA-262 `$` (no multiline flag) matches only at the end; Python's also before a final newline.
    assert pattern.startswith("^") and pattern.endswith("$"), pattern
    return re.compile(pattern[:-1] + r"\Z")


def _schema_accepts(schema: dict[str, Any], value: str) -> bool:
    if "maxLength" in schema and len(value) > schema["maxLength"]:
        return False
    if "minLength" in schema and len(value) < schema["minLength"]:
        return False
    return _python_regex(schema["pattern"]).search(value) is not None


def _model_accepts(model: type, field: str, value: str) -> bool:
    info = model.model_fields[field]
    try:
        TypeAdapter(Annotated[info.annotation, info]).validate_python(value, strict=True)
    except ValidationError:
        return False
    return True


@pytest.mark.parametrize("name", FORMATS)
def test_good_values_pass_both_the_validator_and_the_schema(name: str):
    model, field, good, _ = FORMATS[name]
    schema = _field_schema(model, field)
    for value in good:
        assert _model_accepts(model, field, value), (name, value)
        assert _schema_accepts(schema, value), (name, value, schema["pattern"])


@pytest.mark.parametrize("name", FORMATS)
def test_bad_values_fail_both_the_validator_and_the_schema(name: str):
    model, field, _, bad = FORMATS[name]
    schema = _field_schema(model, field)
    for value in bad:
        assert not _model_accepts(model, field, value), (name, value)
        assert not _schema_accepts(schema, value), (name, value, schema["pattern"])


def _all_patterns(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [p for key, value in node.items() for p in ([value] if key == "pattern" else _all_patterns(value))]
    if isinstance(node, list):
        return [p for value in node for p in _all_patterns(value)]
    return []


def test_every_pattern_is_anchored_and_free_of_python_only_syntax():
    patterns = _all_patterns(SCHEMA)
    assert len(set(patterns)) >= len(FORMATS)
    for pattern in patterns:
        assert pattern.startswith("^") and pattern.endswith("$"), pattern
        assert not re.search(r"\(\?P|\\[AZz]|\(\?[aiLmsux]", pattern), pattern
        _python_regex(pattern)


def test_list_items_carry_the_same_patterns():
    tenant = SCHEMA["$defs"]["Tenant"]["properties"]
    assert tenant["subscriptions"]["items"]["pattern"] == _field_schema(models.Provider, "subscription_id")["pattern"]
    nat_ips = SCHEMA["$defs"]["LinkService"]["properties"]["nat_ips"]["oneOf"][1]["items"]
    assert nat_ips["pattern"] == _field_schema(models.FrontendSpec, "private_ip")["pattern"]


def test_alias_pattern_agrees_with_the_alias_rule():
    pattern = _python_regex(_field_schema(models.LinkService, "alias")["pattern"])
    good = "pls-contoso-api-eus2-1.9f1c2c8e-0000-4000-8000-000000000001.eastus2.azure.privatelinkservice"
    for value in [good, good.upper(), good + ".com", good.replace(".eastus2", ""), "pls.azure.privatelinkservice"]:
        assert bool(pattern.search(value)) == bool(models.ALIAS_RE.fullmatch(value)), value


def test_every_model_and_field_has_a_description():
    missing = [f"{name}.{field}" for name, definition in {"Manifest": SCHEMA, **SCHEMA["$defs"]}.items()
               for field, schema in definition.get("properties", {}).items() if not schema.get("description")]
    missing += [name for name, definition in SCHEMA["$defs"].items() if not definition.get("description")]
    assert missing == []


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed (the ECMA-262 engine editors use)")
def test_patterns_behave_the_same_in_javascript():
    cases = []
    for name, (model, field, good, bad) in FORMATS.items():
        schema = _field_schema(model, field)
        python = _python_regex(schema["pattern"])
        cases += [{"name": name, "pattern": schema["pattern"], "value": v, "expected": python.search(v) is not None}
                  for v in good + bad]
    cases += [{"name": "any", "pattern": p, "value": "", "expected": None} for p in set(_all_patterns(SCHEMA))]
    script = """
const cases = JSON.parse(require('fs').readFileSync(0, 'utf8'));
const wrong = [];
for (const c of cases) {
  const re = new RegExp(c.pattern, 'u');  // what ajv, used by editors, does
  if (c.expected !== null && re.test(c.value) !== c.expected) wrong.push(c);
}
process.stdout.write(JSON.stringify(wrong));
"""
    result = subprocess.run(["node", "-e", script], input=json.dumps(cases), capture_output=True, text=True, check=True)
    assert json.loads(result.stdout) == []


def test_committed_schema_is_the_generated_one():
    result = run_cli("schema")
    assert result.stdout == (ROOT / "schemas" / "manifest.schema.json").read_text(), "run `make schema`"
