"""Issue 12: `plgen changes BASE NEW` and `plgen changes MANIFEST -o out`: events in the words of
the domain, sorted by risk; text, Markdown (bounded) and JSON (schemas/changes.schema.json);
exit codes 0 (reported), 1 (invalid input), 2 (usage). Completeness over every manifest field
is tests/test_changes_property.py."""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import EXAMPLE, ROOT, run_cli, run_plgen
from gen.cli import main
from gen.review import compare_manifests
from gen.review.kinds import KINDS, ORDER, RISK_ORDER
from gen.review.model import Change, Event, Report, SideInfo, json_schema
from gen.review.output import MARKDOWN_LIMIT, MARKDOWN_MINIMUM, as_markdown

EXAMPLE_TEXT = EXAMPLE.read_text(encoding="utf-8")


def edited(tmp_path: Path, *replacements: tuple[str, str], text: str = EXAMPLE_TEXT, name: str = "new.yaml") -> Path:
    for old, new in replacements:
        assert old in text, old
        text = text.replace(old, new, 1)
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def report_json(*args) -> dict:
    result = run_cli("changes", *args, "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def kinds(report: dict) -> list[tuple[str, str]]:
    return [(e["kind"], e["subject"]) for e in report["events"]]


# Edits of examples/tenants.yaml
GLOBEX_TO_SHARD_2 = ("    link_service: pls-contoso-api-eus2-1\n    subscriptions:\n      - 2222bbbb",
                     "    link_service: pls-contoso-api-eus2-2\n    subscriptions:\n      - 2222bbbb")
STARK_OFFBOARDED = ('    approval: manual\n    request_message: "tenant=stark',
                    '    approval: manual\n    state: offboarded\n    request_message: "tenant=stark')
INITECH_ACTIVE = ("    approval: auto\n    state: suspended", "    approval: auto\n    state: active")
ACME_SUSPENDED = ("    approval: auto\n    request_message: \"tenant=acme order=4471\"",
                  "    approval: auto\n    state: suspended\n    request_message: \"tenant=acme order=4471\"")
FRONTEND_3 = ("          frontend: fe-app-1", "          frontend: fe-app-3")
FRONTENDS_3 = ("frontends: [fe-app-1, fe-app-2]", "frontends: [fe-app-1, fe-app-2, fe-app-3]")
NEW_TENANT = ("  - id: stark", """  - id: wonka
    display_name: "Wonka Industries"
    region: eastus2
    link_service: pls-contoso-api-eus2-2
    subscriptions: [8888aaaa-0000-4000-8000-00000000000b]
    approval: auto
  - id: stark""")


def test_same_manifest_reports_no_changes():
    result = run_cli("changes", EXAMPLE, EXAMPLE)
    assert result.exit_code == 0
    assert result.stdout.splitlines()[0] == f"{EXAMPLE} -> {EXAMPLE}: no changes"
    report = report_json(EXAMPLE, EXAMPLE)
    assert report["events"] == [] and report["counts"] == {}
    assert report["notes"] == ["both sides come from the same manifest bytes (same sha256)"]


def test_tenant_lifecycle_and_access_lists_in_domain_words(tmp_path: Path):
    new = edited(tmp_path, GLOBEX_TO_SHARD_2, STARK_OFFBOARDED, INITECH_ACTIVE, ACME_SUSPENDED, NEW_TENANT)
    report = report_json(EXAMPLE, new)
    events = report["events"]
    found = kinds(report)
    for expected in [("tenant_offboarded", "stark"), ("tenant_moved", "globex"), ("tenant_suspended", "acme"),
                     ("tenant_reactivated", "initech"), ("tenant_added", "wonka"),
                     ("visibility_lost", "pls-contoso-api-weu-1"), ("visibility_gained", "pls-contoso-api-eus2-2"),
                     ("auto_approval_lost", "pls-contoso-api-eus2-1"), ("auto_approval_gained", "pls-contoso-api-eus2-2"),
                     ("bundle_changed", "globex")]:
        assert expected in found, (expected, found)
    lost = [e for e in events if e["kind"] == "visibility_lost" and e["link_service"] == "pls-contoso-api-weu-1"]
    assert [(e["subscription"], e["tenant"]) for e in lost] == [("6666ffff-0000-4000-8000-000000000008", "stark"),
                                                               ("6666ffff-0000-4000-8000-000000000009", "stark")]
    assert {e["summary"] for e in lost} == {
        "subscription 6666ffff-0000-4000-8000-000000000008 (stark) can no longer see link service pls-contoso-api-weu-1",
        "subscription 6666ffff-0000-4000-8000-000000000009 (stark) can no longer see link service pls-contoso-api-weu-1"}
    # acme suspended: still visible, no longer auto-approved
    assert ("auto_approval_lost", "1111aaaa-0000-4000-8000-000000000002") in {(e["kind"], e["subscription"]) for e in events}
    assert ("visibility_lost", "1111aaaa-0000-4000-8000-000000000002") not in {(e["kind"], e["subscription"]) for e in events}
    moved = next(e for e in events if e["kind"] == "tenant_moved")
    assert moved["changes"] == [{"what": "link service", "before": "pls-contoso-api-eus2-1", "after": "pls-contoso-api-eus2-2"}]
    bundle = next(e for e in events if e["kind"] == "bundle_changed" and e["subject"] == "globex")
    assert {c["what"] for c in bundle["changes"]} >= {"terraform/sites/prod.tfvars.json: private_link_service_alias"}
    # sorted by risk, then kind order, then subject
    keys = [(RISK_ORDER[e["risk"]], ORDER[e["kind"]], e["subject"]) for e in events]
    assert keys == sorted(keys)
    assert report["risks"] == {r: sum(1 for e in events if e["risk"] == r) for r in ("critical", "high", "medium", "low")}


def test_link_service_replaced_names_the_tenants_to_resend(tmp_path: Path):
    report = report_json(EXAMPLE, edited(tmp_path, FRONTEND_3, FRONTENDS_3))
    first = report["events"][0]
    assert first["kind"] == "link_service_replaced" and first["risk"] == "critical"
    assert first["subject"] == "pls-contoso-api-eus2-1" and first["tenants"] == ["acme", "globex"]
    assert first["changes"] == [{"what": "load balancer frontend", "before": "rg-contoso-api/lb-saas-eus2/fe-app-1",
                                 "after": "rg-contoso-api/lb-saas-eus2/fe-app-3"}]
    assert "re-send the bundles of 2 tenants (acme, globex)" in first["summary"]
    # the existing load balancer is now expected to have fe-app-3
    assert ("load_balancer_changed", "eastus2") in kinds(report)


def test_resource_group_change_replaces_every_link_service(tmp_path: Path):
    report = report_json(EXAMPLE, edited(tmp_path, ("resource_group: rg-contoso-api", "resource_group: rg-contoso-api-2")))
    replaced = [e["subject"] for e in report["events"] if e["kind"] == "link_service_replaced"]
    assert replaced == ["pls-contoso-api-eus2-1", "pls-contoso-api-eus2-2", "pls-contoso-api-weu-1"]


def test_nat_ips_alias_and_proxy_protocol(tmp_path: Path):
    alias = "pls-contoso-api-eus2-2.8e2f4a6b-1c3d-4e5f-8a9b-0c1d2e3f4a5b.eastus2.azure.privatelinkservice"
    new = edited(tmp_path, ("nat_ips: 1\n", "nat_ips: 2\n"), ("nat_ips: [10.60.1.10, 10.60.1.11, 10.60.1.12]",
                                                            "nat_ips: [10.60.1.10, 10.60.1.11]"),
                 (alias, alias.replace("8e2f4a6b", "9e2f4a6b")), ("proxy_protocol: true", "proxy_protocol: false"))
    events = report_json(EXAMPLE, new)["events"]
    by_kind = {}
    for event in events:
        by_kind.setdefault(event["kind"], []).append(event)
    assert [e["subject"] for e in by_kind["proxy_protocol_switched"]] == [
        "pls-contoso-api-eus2-1", "pls-contoso-api-eus2-2", "pls-contoso-api-weu-1"]
    nat = {e["subject"]: e for e in by_kind["nat_ips_changed"]}
    assert nat["pls-contoso-api-eus2-2"]["summary"] == "link service pls-contoso-api-eus2-2: NAT IPs 1 (dynamic) -> 2 (dynamic)"
    assert nat["pls-contoso-api-weu-1"]["warnings"] == [
        "Azure cannot remove NAT IPs from a link service: the apply fails unless the link service is replaced"]
    assert {"what": "static NAT IP addresses", "before": ["10.60.1.10", "10.60.1.11", "10.60.1.12"],
            "after": ["10.60.1.10", "10.60.1.11"]} in nat["pls-contoso-api-weu-1"]["changes"]
    (changed_alias,) = by_kind["alias_changed"]
    assert changed_alias["tenants"] == ["initech"] and "alias changes" in changed_alias["summary"]
    assert {e["subject"] for e in by_kind["backend_config_changed"]} == {"eastus2", "westeurope"}
    assert events[0]["kind"] == "proxy_protocol_switched"


def test_neighbouring_resources_by_area(tmp_path: Path):
    new = edited(tmp_path, ("public_ips: 2", "public_ips: 3"), ("sku: VpnGw1AZ", "sku: VpnGw2AZ"),
                 ("nat_port_usage_percent: 80", "nat_port_usage_percent: 90"),
                 ("probe: {protocol: Tcp, port: 8443}", "probe: {protocol: Tcp, port: 8444}"))
    events = {e["kind"]: e for e in report_json(EXAMPLE, new)["events"]}
    vpn = events["vpn_changed"]
    assert vpn["risk"] == "high" and "VPN gateway vgw-contoso-api-westeurope replaced (generation)" in vpn["summary"]
    assert any("30-45 minutes" in w for w in vpn["warnings"])
    assert events["nat_gateway_changed"]["summary"] == "NAT gateway in westeurope: added (2 resources)"
    assert events["nat_gateway_changed"]["risk"] == "medium"
    assert "probe lb-saas-weu-probe: port 8443 -> 8444" in events["load_balancer_changed"]["summary"]
    assert events["alert_changed"]["subject"] == "monitoring"


def test_a_replaced_nat_subnet_warns_about_the_link_services_on_it(tmp_path: Path):
    new = edited(tmp_path, ("vnet: {name: vnet-saas-eus2,", "vnet: {name: vnet-saas-eus2-b,"))
    (event,) = report_json(EXAMPLE, new)["events"]
    assert event["kind"] == "network_changed" and event["risk"] == "high" and event["subject"] == "eastus2"
    assert "subnet snet-pls-nat replaced (refers to a replaced resource)" in event["summary"]
    assert [w.split(" draws")[0] for w in event["warnings"]] == ["link service pls-contoso-api-eus2-1",
                                                                "link service pls-contoso-api-eus2-2"]


def test_moved_blocks_alone_are_bookkeeping_not_a_change():
    from gen.review import compare_sides, manifest_side

    base, new = manifest_side(EXAMPLE), manifest_side(EXAMPLE)
    moved = ('# Generated by plgen. Do not edit: change the manifest and re-render.\n'
             'moved {\n  from = azurerm_subnet.old\n  to   = azurerm_subnet.pls_nat_eastus2\n}\n')
    base.shas["provider/terraform/moved.tf"] = "0" * 64
    base.read = {**{p: new.read(p) for p in new.shas}, "provider/terraform/moved.tf": moved}.get
    report = compare_sides(base, new)
    assert report.events == []
    assert any("moved blocks differ in provider/terraform/moved.tf" in note for note in report.notes)


def test_template_only_changes_are_reported_as_such():
    from gen.review import compare_sides, manifest_side

    base, new = manifest_side(EXAMPLE), manifest_side(EXAMPLE)
    path = "provider/bicep/main.bicep"
    base.shas[path] = "0" * 64
    base.template_release = "0"
    report = compare_sides(base, new)
    assert [(e.kind, e.files) for e in report.events] == [("output_changed", [f"{path} (changed)"])]
    assert any("template release 0" in note for note in report.notes)


def test_adoption_is_reported(tmp_path: Path):
    adopted = ROOT / "tests" / "data" / "adopted.yaml"
    if not adopted.exists():
        pytest.skip("no adoption example")
    text = adopted.read_text(encoding="utf-8")
    new = edited(tmp_path, ("        name: lb-weu\n        existing: true\n", "        name: lb-weu\n"), text=text)
    (event,) = report_json(adopted, new)["events"]
    assert event["kind"] == "adoption_changed" and event["subject"] == "westeurope"
    assert event["summary"].startswith("adoption in westeurope: load balancer lb-weu is no longer imported")


def test_output_directory_form_says_what_the_two_manifest_form_says(tmp_path: Path):
    out = tmp_path / "out"
    rendered = run_cli("render", EXAMPLE, "-o", out, "--cache-dir", tmp_path / "cache")
    assert rendered.exit_code == 0, rendered.output
    assert report_json(EXAMPLE, "-o", out)["events"] == []
    new = edited(tmp_path, GLOBEX_TO_SHARD_2, STARK_OFFBOARDED, FRONTEND_3, FRONTENDS_3, ("public_ips: 2", "public_ips: 1"))
    from_out = report_json(new, "-o", out)
    from_manifests = report_json(EXAMPLE, new)
    assert from_out["events"] == from_manifests["events"] and from_out["events"]
    assert from_out["base"]["source"] == "output" and from_out["base"]["label"] == str(out)
    assert from_out["base"]["manifest_sha256"] == from_manifests["base"]["manifest_sha256"]


def test_hand_edited_output_is_read_as_it_is_and_named(tmp_path: Path):
    out = tmp_path / "out"
    assert run_cli("render", EXAMPLE, "-o", out, "--cache-dir", tmp_path / "cache").exit_code == 0
    approvals = out / "provider" / "approvals.json"
    approvals.write_text(approvals.read_text().replace('"state": "suspended"', '"state": "active"'))
    report = report_json(EXAMPLE, "-o", out)
    assert ("tenant_suspended", "initech") in kinds(report)
    assert f"{out}/provider/approvals.json was edited by hand since plgen wrote it: read as it is now" in report["notes"]


def test_errors_are_one_line_and_exit_1(tmp_path: Path):
    (tmp_path / "empty").mkdir()
    result = run_plgen("changes", EXAMPLE, "-o", tmp_path / "empty")
    assert result.returncode == 1
    assert result.stderr == f"error: {tmp_path / 'empty' / '.plgen-lock.json'}: missing: this directory was not written " \
                            "by plgen render (nothing to compare with)\n"
    bad = edited(tmp_path, ("    approval: manual\n    request_message: \"tenant=globex",
                            "    approval: sometimes\n    request_message: \"tenant=globex"), name="bad.yaml")
    result = run_plgen("changes", EXAMPLE, bad)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    (line,) = result.stderr.splitlines()
    assert re.match(rf"error: {re.escape(str(bad))}:\d+:\d+: tenants\[1\] \(globex\)\.approval: ", line), line
    payload = json.loads(run_cli("changes", EXAMPLE, bad, "--format", "json").stdout)
    assert payload["status"] == "error" and payload["errors"][0]["path"] == "tenants[1] (globex).approval"
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / ".plgen-lock.json").write_text('{"files": {"../escape": "00"}}')
    result = run_plgen("changes", EXAMPLE, "-o", tmp_path / "broken")
    assert result.returncode == 1 and "not a plgen lock file" in result.stderr


def test_usage_errors_exit_2(tmp_path: Path):
    assert run_cli("changes", EXAMPLE).exit_code == 2  # neither NEW nor -o
    assert run_cli("changes", EXAMPLE, EXAMPLE, "-o", tmp_path).exit_code == 2  # both
    assert run_cli("changes", "-", "-").exit_code == 2
    assert run_cli("changes", EXAMPLE, EXAMPLE, "--format", "yaml").exit_code == 2
    assert run_cli("changes", EXAMPLE, EXAMPLE, "--format", "markdown", "--max-chars", "100").exit_code == 2


def test_base_from_standard_input(tmp_path: Path):
    new = edited(tmp_path, INITECH_ACTIVE)
    result = CliRunner().invoke(main, ["changes", "-", str(new)], input=EXAMPLE_TEXT, catch_exceptions=False)
    assert result.exit_code == 0
    assert result.stdout.startswith(f"<stdin> -> {new}: ")
    assert "tenant initech is reactivated (suspended -> active, on pls-contoso-api-eus2-2)" in result.stdout


def test_text_output_one_line_per_event_with_details_indented(tmp_path: Path):
    result = run_cli("changes", EXAMPLE, edited(tmp_path, INITECH_ACTIVE, ('order=4471"', 'order=4472"')))
    assert result.stdout == (
        f"{EXAMPLE} -> {tmp_path / 'new.yaml'}: 4 changes (1 high, 1 medium, 2 low)\n"
        "HIGH      subscription 3333cccc-0000-4000-8000-000000000005 (initech) is auto-approved on link service "
        "pls-contoso-api-eus2-2\n"
        "MEDIUM    tenant initech is reactivated (suspended -> active, on pls-contoso-api-eus2-2)\n"
        "LOW       tenant acme: bundle changes (request_message); re-send it\n"
        "              terraform/terraform.tfvars.json: request_message: \"tenant=acme order=4471\" -> "
        "\"tenant=acme order=4472\"\n"
        "              files: README.md (changed), bicep/main.parameters.json (changed), terraform/terraform.tfvars.json "
        "(changed)\n"
        "LOW       tenant initech: bundle changes (README.md); re-send it\n"
        "              files: README.md (changed)\n")


# --- JSON Schema --------------------------------------------------------------------------------

KNOWN_KEYWORDS = {"$defs", "$id", "$ref", "$schema", "additionalProperties", "anyOf", "const", "default", "description",
                  "enum", "items", "properties", "propertyNames", "required", "title", "type"}
TYPES = {"object": dict, "array": list, "string": str, "integer": int, "number": (int, float), "boolean": bool,
         "null": type(None)}


def schema_problems(value, schema: dict, root: dict, where: str = "$") -> list[str]:
    """A JSON Schema checker for the keywords plgen's schemas use (jsonschema is not a
    dependency; test_changes_schema_uses_only_known_keywords keeps this honest)."""
    if "$ref" in schema:
        target = root
        for part in schema["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        return schema_problems(value, target, root, where)
    problems = []
    if "anyOf" in schema and not any(not schema_problems(value, option, root, where) for option in schema["anyOf"]):
        problems.append(f"{where}: matches no anyOf option")
    if "type" in schema:
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        ok = any(isinstance(value, TYPES[t]) and not (t in ("integer", "number") and isinstance(value, bool)) for t in types)
        if not ok:
            return problems + [f"{where}: {value!r} is not of type {types}"]
    if "enum" in schema and value not in schema["enum"]:
        problems.append(f"{where}: {value!r} not in enum")
    if "const" in schema and value != schema["const"]:
        problems.append(f"{where}: {value!r} != const {schema['const']!r}")
    if isinstance(value, dict):
        for key in schema.get("required", []):
            if key not in value:
                problems.append(f"{where}: missing {key}")
        properties = schema.get("properties", {})
        for key, item in value.items():
            if "propertyNames" in schema:
                problems += schema_problems(key, schema["propertyNames"], root, f"{where} key {key!r}")
            if key in properties:
                problems += schema_problems(item, properties[key], root, f"{where}.{key}")
            elif schema.get("additionalProperties") is False:
                problems.append(f"{where}: unexpected {key}")
            elif isinstance(schema.get("additionalProperties"), dict):
                problems += schema_problems(item, schema["additionalProperties"], root, f"{where}.{key}")
    if isinstance(value, list) and "items" in schema:
        for index, item in enumerate(value):
            problems += schema_problems(item, schema["items"], root, f"{where}[{index}]")
    return problems


def test_committed_changes_schema_is_current():
    result = run_cli("schema", "changes")
    assert result.exit_code == 0
    committed = (ROOT / "schemas" / "changes.schema.json").read_text(encoding="utf-8")
    assert result.stdout == committed, "schemas/changes.schema.json is stale: run `make schema`"


def test_changes_schema_uses_only_known_keywords():
    def keywords(node, found: set) -> set:
        if isinstance(node, dict):
            for key, value in node.items():
                found.add(key)
                for child in (value.values() if key in ("properties", "$defs") else [value]):
                    keywords(child, found)
        elif isinstance(node, list):
            for child in node:
                keywords(child, found)
        return found

    assert keywords(json_schema(), set()) <= KNOWN_KEYWORDS


def test_json_output_validates_against_the_schema(tmp_path: Path):
    schema = json.loads((ROOT / "schemas" / "changes.schema.json").read_text(encoding="utf-8"))
    new = edited(tmp_path, GLOBEX_TO_SHARD_2, STARK_OFFBOARDED, FRONTEND_3, FRONTENDS_3, NEW_TENANT,
                 ("public_ips: 2", "public_ips: 1"), ("proxy_protocol: true", "proxy_protocol: false"),
                 ("owner: platform", "owner: infra"))
    report = report_json(EXAMPLE, new)
    assert len({e["kind"] for e in report["events"]}) >= 10
    assert schema_problems(report, schema, schema) == []
    assert schema_problems(report_json(EXAMPLE, EXAMPLE), schema, schema) == []
    broken = {**report, "events": [{**report["events"][0], "kind": "something_else"}]}
    assert schema_problems(broken, schema, schema)  # the checker does check


def test_output_is_the_same_across_hash_seeds(tmp_path: Path):
    new = edited(tmp_path, GLOBEX_TO_SHARD_2, STARK_OFFBOARDED, NEW_TENANT)
    outputs = set()
    for seed in ("1", "2"):
        result = run_plgen("changes", EXAMPLE, new, "--format", "json", env={**os.environ, "PYTHONHASHSEED": seed})
        assert result.returncode == 0, result.stderr
        outputs.add(result.stdout)
    assert len(outputs) == 1  # text and Markdown are functions of the same sorted events


# --- Markdown -------------------------------------------------------------------------------------


def test_markdown_free_text_stays_inert(tmp_path: Path):
    message = "tenant=acme ``` </details> <script>alert(1)</script> | [x](https://evil.example)"
    new = edited(tmp_path, ('request_message: "tenant=acme order=4471"', f"request_message: '{message}'"))
    result = run_cli("changes", EXAMPLE, new, "--format", "markdown")
    text = result.stdout
    assert result.exit_code == 0 and message in text
    # the message is inside a code fence longer than any backtick run in it
    fence = re.search(r"^(`{4,})text$", text, re.M).group(1)
    inside = text.split(fence + "text\n", 1)[1].split("\n" + fence + "\n", 1)[0]
    assert message in inside
    outside = text.replace(inside, "")
    assert "<script>" not in outside and outside.count("</details>") == outside.count("<details>")


def _synthetic_report(events_per_kind: int) -> Report:
    events = []
    for kind in KINDS:
        for i in range(events_per_kind):
            events.append(Event(kind=kind.name, risk=kind.risk, subject=f"subject-{i:05d}",
                                summary=f"{kind.title} number {i} " + "`" * (i % 7) + "x" * (i % 300),
                                changes=[Change(what="value", before="a" * (i % 500), after={"list": list(range(i % 50))})],
                                files=[f"file-{j}" for j in range(i % 12)], warnings=["w" * (i % 90)]))
    side = SideInfo(label="base.yaml", source="manifest", files=1)
    notes = [f"note {i} " + "<&>`|" * 200 for i in range(30)]
    return Report.build(side, side.model_copy(update={"label": "new.yaml" * 50}), events, notes)


@pytest.mark.parametrize("limit", [MARKDOWN_MINIMUM, 30_000, MARKDOWN_LIMIT, 65_536])
def test_markdown_never_exceeds_its_limit(limit: int):
    report = _synthetic_report(400)
    text = as_markdown(report, limit)
    assert len(text) <= limit
    assert text.index("| Risk | Change | Count |") < text.index("<details>")
    assert text.count("<details>") == len(KINDS)
    shown = text.count("\n[")
    left_out = int(re.search(r"\*\*(\d+) of (\d+) events not shown\*\*", text).group(1))
    assert shown + left_out == len(report.events)
    assert "use `--format json`" in text


def test_markdown_of_a_10000_tenant_change_fits_a_github_comment(tmp_path: Path):
    """A synthetic fleet of 10,000 tenants (benchmarks/fleet.py), changed the way a busy week
    does: the FQDN (every bundle), auto-approval withdrawn everywhere, 100 tenants added."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from fleet import synthetic_manifest

    base_text = synthetic_manifest(10_000)
    shards = re.findall(r"- \{name: (pls-fleet-(\w+)-\d+),", base_text)
    added = []
    for t in range(10_000, 10_100):
        name, location = shards[t % len(shards)]
        subscription = f"{t:08x}-0000-4000-8000-{t:012x}"
        added += [f"  - id: tenant-{t:05d}", f'    display_name: "Tenant {t}"', f"    region: {location}",
                  f"    link_service: {name}", f"    subscriptions: [{subscription}]"]
    new_text = (base_text.replace("api.fleet.example.com", "api2.fleet.example.com").replace("approval: auto", "approval: manual")
                + "\n".join(added) + "\n")
    base, new = tmp_path / "base.yaml", tmp_path / "new.yaml"
    base.write_text(base_text)
    new.write_text(new_text)
    report = compare_manifests(base, new)
    assert report.counts["bundle_changed"] == 10_000 and report.counts["tenant_added"] == 100
    assert report.counts["auto_approval_lost"] == 1_000
    text = as_markdown(report)
    assert len(text) <= MARKDOWN_LIMIT < 65_536
    assert re.search(r"\*\*\d+ of \d+ events not shown\*\*", text)
    assert "| high | subscription loses auto-approval | 1000 |" in text


# --- CI ----------------------------------------------------------------------------------------------


def test_pre_commit_hook_and_ci_examples_run_validate_check_and_changes():
    import yaml

    hooks = {hook["id"]: hook for hook in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())}
    assert hooks["plgen-check"]["entry"] == "plgen render --check"
    assert hooks["plgen-check"]["pass_filenames"] is False
    for name in ("github-actions.yml", "azure-pipelines.yml"):
        text = (ROOT / "examples" / "ci" / name).read_text()
        yaml.safe_load(text)
        commands = re.findall(r"\bplgen (validate|render|changes)\b[^\n]*", text)
        assert {"validate", "render", "changes"} <= set(commands), name
        assert re.search(r"plgen render \S+ -o \S+ --check", text) and "--format markdown" in text, name
        assert "<!-- plgen-changes -->" in text, name  # finds the comment plgen's Markdown starts with
    assert as_markdown(_synthetic_report(1)).startswith("<!-- plgen-changes -->\n")


# --- README ---------------------------------------------------------------------------------------

WONKA = ("  - id: stark", """  - id: wonka
    display_name: "Wonka Industries"
    region: eastus2
    link_service: pls-contoso-api-eus2-2
    subscriptions: [8888aaaa-0000-4000-8000-00000000000b]
    approval: auto
    request_message: "tenant=wonka"
    endpoint:
      location: eastus2
      resource_group: rg-wonka-saas
      subnet_id: /subscriptions/8888aaaa-0000-4000-8000-00000000000b/resourceGroups/rg-wonka-net/providers/Microsoft.Network/virtualNetworks/vnet-wonka/subnets/snet-pe
  - id: stark""")


def test_readme_example_is_real_output(tmp_path: Path, monkeypatch):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    excerpt = readme.split("$ plgen changes base.yaml tenants.yaml\n", 1)[1].split("```", 1)[0]
    (tmp_path / "base.yaml").write_text(EXAMPLE_TEXT, encoding="utf-8")
    edited(tmp_path, ("nat_ips: 1\n", "nat_ips: 2\n"), STARK_OFFBOARDED, WONKA, name="tenants.yaml")
    monkeypatch.chdir(tmp_path)
    assert run_cli("changes", "base.yaml", "tenants.yaml").stdout == excerpt


def test_readme_lists_every_kind_in_risk_order():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| `([a-z_]+)` \| (critical|high|medium|low) \|", readme, re.M)
    assert rows == [(kind.name, kind.risk) for kind in KINDS]


def test_every_provider_resource_kind_is_reviewed_with_the_reference_force_new_arguments():
    """A provider resource kind the review did not know would be replaced without `plgen
    changes` saying so. Link services have their own events. The ForceNew arguments are the
    reference's, the ones the plan's identities and the replacement guard read."""
    from gen.review.resource_events import FORCE_NEW, REVIEWED_TYPES

    templates = ROOT / "templates" / "terraform" / "provider"
    kinds = {kind for path in templates.glob("*.tf.j2")
             for kind in re.findall(r'^resource "(azurerm_\w+)"', path.read_text(), re.M)}
    assert kinds - {"azurerm_private_link_service"} == set(REVIEWED_TYPES)
    reference = json.loads((ROOT / "schemas" / "reference" / "azurerm-replacement.json").read_text())["resources"]
    assert FORCE_NEW == {kind: tuple(reference[kind]["force_new"]) for kind in REVIEWED_TYPES}
    assert "generation" in FORCE_NEW["azurerm_virtual_network_gateway"]  # a VPN SKU's generation replaces the gateway
