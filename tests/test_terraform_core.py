"""Real Terraform core over every generated Terraform unit, offline.

`terraform init`, `terraform validate` and `terraform plan` run against an azurerm provider
double (tests/tfdouble): a protocol-6 plugin that serves azurerm 4.79.0's real schema and its
argument validators, plans computed attributes as unknown and reads data sources from fixtures
derived from the manifest. So Terraform itself checks what python-hcl2 cannot: types,
references, expressions, for/dynamic blocks, variable validation, preconditions and
postconditions, and the provider's own argument validation.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tfdouble import harness

ROOT = Path(__file__).resolve().parent.parent
MANIFESTS = [
    ROOT / "examples" / "tenants.yaml",
    ROOT / "tests" / "data" / "minimal.yaml",
    ROOT / "tests" / "data" / "neighbours.yaml",
    ROOT / "tests" / "data" / "readme-user.yaml",
]
WORKERS = max(2, min(4, os.cpu_count() or 2))

_MISSING = harness.missing_modules()
pytestmark = pytest.mark.skipif(bool(_MISSING), reason=(
    f"the azurerm double needs Python modules that do not import: {', '.join(_MISSING)} "
    "(install the test extra: pip install -e '.[test]')"))

_SANDBOXES: dict[str, harness.Sandbox] = {}
TIMINGS: dict[str, list[float]] = defaultdict(list)


@pytest.fixture
def sandbox(terraform: str, tmp_path_factory) -> harness.Sandbox:
    """One filesystem mirror with the double and one CLI config for the whole session."""
    if terraform not in _SANDBOXES:
        _SANDBOXES[terraform] = harness.make_sandbox(tmp_path_factory.mktemp("tfdouble"), terraform)
    return _SANDBOXES[terraform]


def _timed(phase: str, function, *args, **kwargs):
    started = time.monotonic()
    try:
        return function(*args, **kwargs)
    finally:
        TIMINGS[phase].append(time.monotonic() - started)


def render(manifest: Path, out: Path, xdg: Path) -> None:
    env = {**os.environ, "XDG_CACHE_HOME": str(xdg)}
    result = subprocess.run([sys.executable, "-m", "gen.cli", "render", str(manifest), "-o", str(out), "--no-cache"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"render {manifest.name} failed:\n{result.stdout}\n{result.stderr}"


def init(sandbox: harness.Sandbox, unit: Path) -> None:
    result = _timed("init", sandbox.run, ["init", "-input=false", "-no-color"], unit)
    assert result.returncode == 0, f"terraform init in {unit} failed:\n{result.stdout}\n{result.stderr}"


def init_all(sandbox: harness.Sandbox, units: list[Path], pool: ThreadPoolExecutor) -> None:
    """One `terraform init` per distinct module content; the others get a copy of its result."""
    groups: dict[str, list[Path]] = defaultdict(list)
    for unit in units:
        groups[harness.module_digest(unit)].append(unit)
    list(pool.map(lambda members: init(sandbox, members[0]), groups.values()))
    for members in groups.values():
        for unit in members[1:]:
            harness.copy_init(members[0], unit)


def placeholder_vars(unit: Path, var_file: Path | None = None) -> tuple[list[str], list[str]]:
    """-var arguments for inputs only the customer can fill in, and the problems found.

    Consumer modules ship without the values the provider's manifest cannot know (the
    customer's Key Vault, or the alias before the first apply, ...): their README names each
    one. Plan needs some value, so the test passes a placeholder for every required variable
    that terraform.tfvars.json leaves out, after checking the README tells the customer."""
    args, problems = [], []
    missing = harness.missing_inputs(unit, var_file)
    readme = unit.parent / "README.md"
    readme_text = readme.read_text(encoding="utf-8") if readme.exists() else ""
    for name in missing:
        if name not in harness.CUSTOMER_PLACEHOLDERS:
            problems.append(f"required variable {name} has no value and no known placeholder")
            continue
        if f"`{name}`" not in readme_text:
            problems.append(f"required variable {name} has no value and {readme.relative_to(unit.parent.parent.parent)} "
                            f"does not tell the customer to fill it in")
        args.append(f"-var={name}={harness.CUSTOMER_PLACEHOLDERS[name]}")
    return args, problems


def check_unit(sandbox: harness.Sandbox, unit: Path, label: str, fixtures: Path) -> list[str]:
    """Validate and plan one unit; every problem as a line (empty list: all good)."""
    problems: list[str] = []
    validate = _timed("validate", sandbox.run, ["validate", "-json", "-no-color"], unit)
    try:
        verdict = json.loads(validate.stdout)
    except ValueError:
        return [f"{label}: terraform validate printed no JSON (rc {validate.returncode}):\n{validate.stdout}"
                f"\n{validate.stderr}"]
    if validate.returncode != 0 or not verdict.get("valid") or verdict.get("diagnostics"):
        problems.append(f"{label}: terraform validate (rc {validate.returncode}):\n"
                        + harness.describe(verdict.get("diagnostics", [])))

    sites = harness.site_var_files(unit)
    for site, var_file in sites.items():
        where = label if site is None else f"{label} (site {site})"
        site_args = []
        if site is not None:
            new = sandbox.run(["workspace", "new", "-no-color", site], unit)
            if new.returncode != 0:
                return problems + [f"{where}: terraform workspace new failed:\n{new.stdout}\n{new.stderr}"]
            site_args = [f"-var-file=sites/{site}.tfvars.json"]
        problems += plan_problems(sandbox, unit, where, fixtures, var_file, site_args)
    if len(sites) > 1:
        problems += wrong_workspace_problems(sandbox, unit, label, fixtures, sites)
    return problems


def plan_problems(sandbox: harness.Sandbox, unit: Path, label: str, fixtures: Path, var_file: Path,
                  site_args: list[str]) -> list[str]:
    """Plan one set of values in the selected workspace: it must create exactly the declared resources."""
    var_args, input_problems = placeholder_vars(unit, var_file)
    problems = [f"{label}: {p}" for p in input_problems]
    plan = _timed("plan", sandbox.run, ["plan", "-refresh=false", "-input=false", "-lock=false", "-json", *site_args,
                                        *var_args], unit, {"TFDOUBLE_FIXTURES": str(fixtures)})
    messages = harness.json_lines(plan.stdout)
    diags = harness.diagnostics(messages)
    if plan.returncode != 0 or diags:
        problems.append(f"{label}: terraform plan (rc {plan.returncode}):\n" + harness.describe(diags)
                        + ("" if diags else f"\n{plan.stdout[-2000:]}\n{plan.stderr[-2000:]}"))
    if plan.returncode != 0:
        return problems

    declared, _ = harness.declared_blocks(unit)
    changes = [m["change"] for m in messages if m.get("type") == "planned_change"]
    planned = {re.sub(r"\[[^\]]*\]", "", re.sub(r"^(module\.[^.]+\.)+", "", c["resource"]["addr"])) for c in changes}
    not_create = sorted(c["resource"]["addr"] for c in changes if c["action"] != "create")
    if planned != declared:
        problems.append(f"{label}: planned resources differ from the resource blocks; missing from the plan: "
                        f"{sorted(declared - planned)}, unexpected: {sorted(planned - declared)}")
    if not_create:
        problems.append(f"{label}: planned actions other than create: {not_create}")
    summary = [m["changes"] for m in messages if m.get("type") == "change_summary"]
    if not summary or summary[-1].get("add") != len(changes):
        problems.append(f"{label}: plan summary {summary} does not count {len(changes)} resources to add")
    return problems


def wrong_workspace_problems(sandbox: harness.Sandbox, unit: Path, label: str, fixtures: Path,
                             sites: dict[str | None, Path]) -> list[str]:
    """A site's values applied in another site's workspace would replace that site's endpoint:
    Terraform itself must refuse the plan, naming the workspace to select."""
    names = sorted(site for site in sites if site is not None)
    selected, other = names[-1], names[0]  # the last workspace created is the selected one
    var_args, _ = placeholder_vars(unit, sites[other])
    plan = sandbox.run(["plan", "-refresh=false", "-input=false", "-lock=false", "-json",
                        f"-var-file=sites/{other}.tfvars.json", *var_args], unit, {"TFDOUBLE_FIXTURES": str(fixtures)})
    summaries = " ".join(d.get("summary", "") + " " + d.get("detail", "") for d in harness.diagnostics(harness.json_lines(plan.stdout)))
    if plan.returncode == 0 or f"terraform workspace select -or-create {other}" not in summaries:
        return [f"{label}: the values of site {other} planned in workspace {selected} were not refused "
                f"(rc {plan.returncode}): {summaries[:500]}"]
    return []


@pytest.mark.parametrize("manifest", MANIFESTS, ids=[m.stem for m in MANIFESTS])
def test_every_unit_validates_and_plans(manifest: Path, sandbox: harness.Sandbox, tmp_path: Path):
    started = time.monotonic()
    out = tmp_path / "out"
    _timed("render", render, manifest, out, tmp_path / "xdg")
    fixtures = tmp_path / "fixtures.json"
    fixtures.write_text(json.dumps(harness.fixtures_from_manifest(manifest), indent=1), encoding="utf-8")
    units = harness.unit_directories(out)
    assert units, f"{manifest.name} rendered no Terraform unit"

    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        init_all(sandbox, units, pool)
        results = list(pool.map(
            lambda unit: check_unit(sandbox, unit, f"{manifest.name}: {unit.relative_to(out)}", fixtures), units))
    problems = [p for unit_problems in results for p in unit_problems]
    elapsed = time.monotonic() - started
    print(f"\n{manifest.name}: {len(units)} units in {elapsed:.1f}s; cumulative "
          + ", ".join(f"{phase} {len(t)}x {sum(t):.1f}s" for phase, t in sorted(TIMINGS.items())))
    assert not problems, "\n\n".join(problems)


# ---------------------------------------------------------------- the double catches things

VERSIONS_TF = """terraform {
  required_providers {
    azurerm = {
      source  = "hashicorp/azurerm"
      version = ">= 4.62, < 5.0"
    }
  }
}

provider "azurerm" {
  features {}
  subscription_id = "00000000-0000-4000-8000-000000000001"
}
"""

LB = """resource "azurerm_lb" "x" {
  name                = "lb-x"
  location            = "eastus2"
  resource_group_name = "rg-x"
  %s
}
"""

PLS = """resource "azurerm_private_link_service" "x" {
  name                                        = "pls-x"
  location                                    = "eastus2"
  resource_group_name                         = "rg-x"
  load_balancer_frontend_ip_configuration_ids = ["/subscriptions/00000000-0000-4000-8000-000000000001/resourceGroups/rg-x/providers/Microsoft.Network/loadBalancers/lb-x/frontendIPConfigurations/fe"]
  %s

  nat_ip_configuration {
    name      = "nat-ip-1"
    subnet_id = "/subscriptions/00000000-0000-4000-8000-000000000001/resourceGroups/rg-x/providers/Microsoft.Network/virtualNetworks/v/subnets/s"
    primary   = true
  }
}
"""

DATA_LB = """data "azurerm_lb" "x" {
  name                = "lb-x"
  resource_group_name = "rg-x"
}
"""

NEGATIVES = {
    # name: (main.tf, severity, summary (regex), detail (regex) or None)
    "wrong_attribute_type": (
        LB % 'sku = ["Standard"]', "error", r"^Incorrect attribute value type$", r"string required"),
    "unknown_argument": (
        LB % "frontend_ip_configurations = []", "error", r"^Unsupported argument$",
        r'"frontend_ip_configurations" is not expected here'),
    "missing_required_argument": (
        'resource "azurerm_lb" "x" {\n  name     = "lb-x"\n  location = "eastus2"\n}\n', "error",
        r"^Missing required argument$", r'"resource_group_name" is required'),
    "bad_data_source_reference": (
        DATA_LB + 'output "ids" {\n  value = data.azurerm_lb.x.frontend_ip_configurations[*].id\n}\n', "error",
        r"^Unsupported attribute$", r'named "frontend_ip_configurations"'),
    "computed_only_argument": (
        PLS % 'alias = "pls-x.00000000-0000-4000-8000-000000000000.eastus2.azure.privatelinkservice"', "error",
        r"^(Value for unconfigurable attribute|Computed attribute cannot be set)$", r'"alias"'),
    "deprecated_argument": (
        PLS % "enable_proxy_protocol = true", "warning", r"^Argument is deprecated$", None),
    "provider_enum_validator": (
        LB % 'sku = "Premium"', "error",
        r'^expected sku to be one of \["Basic" "Standard" "Gateway"\], got Premium$', None),
    "provider_enum_validator_nested_probe": (
        'resource "azurerm_lb_probe" "x" {\n  name            = "probe"\n  loadbalancer_id = "/subscriptions/'
        '00000000-0000-4000-8000-000000000001/resourceGroups/rg-x/providers/Microsoft.Network/loadBalancers/lb-x"\n'
        '  protocol        = "Udp"\n  port            = 443\n}\n', "error",
        r'^expected protocol to be one of \["Http" "Https" "Tcp"\], got Udp$', None),
    "provider_exactly_one_of": (
        PLS % 'destination_ip_address = "10.0.0.4"', "error",
        r"only one of `destination_ip_address,load_balancer_frontend_ip_configuration_ids` can be specified", None),
    "provider_regex_validator": (
        PLS.replace('"pls-x"', '"-pls-"') % "", "error", r"must be between 1 - 80 characters long", None),
}


def _module(sandbox: harness.Sandbox, directory: Path, main_tf: str) -> Path:
    directory.mkdir(parents=True)
    (directory / "versions.tf").write_text(VERSIONS_TF, encoding="utf-8")
    (directory / "main.tf").write_text(main_tf, encoding="utf-8")
    init(sandbox, directory)
    return directory


@pytest.mark.parametrize("case", sorted(NEGATIVES))
def test_double_catches(case: str, sandbox: harness.Sandbox, tmp_path: Path):
    main_tf, severity, summary, detail = NEGATIVES[case]
    module = _module(sandbox, tmp_path / case, main_tf)
    result = sandbox.run(["validate", "-json", "-no-color"], module)
    verdict = json.loads(result.stdout)
    found = [d for d in verdict["diagnostics"]
             if d["severity"] == severity and re.search(summary, d["summary"])
             and (detail is None or re.search(detail, d.get("detail", "")))]
    assert found, f"no {severity} matching {summary!r} / {detail!r}:\n{harness.describe(verdict['diagnostics'])}"
    if severity == "error":
        assert result.returncode != 0 and not verdict["valid"]
        assert found[0].get("range"), "the diagnostic should point at the configuration"
    else:
        assert result.returncode == 0 and verdict["valid"], harness.describe(verdict["diagnostics"])


ENDPOINT = """resource "azurerm_private_endpoint" "x" {
  name                = "pe-x"
  location            = "eastus2"
  resource_group_name = "rg-x"
  subnet_id           = "/subscriptions/00000000-0000-4000-8000-000000000001/resourceGroups/rg-x/providers/Microsoft.Network/virtualNetworks/v/subnets/s"

  private_service_connection {
    name                              = "pe-x-connection"
    private_connection_resource_alias = "pls-x.00000000-0000-4000-8000-000000000000.eastus2.azure.privatelinkservice"
    is_manual_connection              = %s
%s  }
}
"""

PLAN_ERRORS = {
    # name: (main.tf, error summary (regex)): CustomizeDiff checks that fail `terraform plan`
    "manual_connection_without_request_message": (
        ENDPOINT % ("true", ""),
        r'"private_service_connection":"pe-x-connection" is invalid, the "request_message" attribute must not be '
        r"empty"),
    "automatic_connection_with_request_message": (
        ENDPOINT % ("false", '    request_message = "hello"\n'),
        r'the "request_message" attribute cannot be set if the "is_manual_connection" attribute is "false"'),
}


@pytest.mark.parametrize("case", sorted(PLAN_ERRORS))
def test_double_fails_plan_like_customize_diff(case: str, sandbox: harness.Sandbox, tmp_path: Path):
    main_tf, summary = PLAN_ERRORS[case]
    module = _module(sandbox, tmp_path / case, main_tf)
    verdict = json.loads(sandbox.run(["validate", "-json", "-no-color"], module).stdout)
    assert verdict["valid"], harness.describe(verdict["diagnostics"])  # a plan-time check, not validation
    result = sandbox.run(["plan", "-refresh=false", "-input=false", "-lock=false", "-json"], module)
    diags = harness.diagnostics(harness.json_lines(result.stdout))
    assert result.returncode != 0
    assert any(re.search(summary, d["summary"]) for d in diags if d["severity"] == "error"), harness.describe(diags)


def test_valid_module_has_no_diagnostics_and_apply_is_refused(sandbox: harness.Sandbox, tmp_path: Path):
    """The control for the negatives above, and the double never pretends to create anything."""
    module = _module(sandbox, tmp_path / "ok", LB % 'sku = "Standard"\n  frontend_ip_configuration {\n'
                     '    name = "fe"\n    subnet_id = "/subscriptions/00000000-0000-4000-8000-000000000001/'
                     'resourceGroups/rg-x/providers/Microsoft.Network/virtualNetworks/v/subnets/s"\n  }')
    verdict = json.loads(sandbox.run(["validate", "-json", "-no-color"], module).stdout)
    assert verdict["valid"] and not verdict["diagnostics"], harness.describe(verdict["diagnostics"])
    result = sandbox.run(["apply", "-auto-approve", "-input=false", "-no-color"], module)
    assert result.returncode != 0
    assert "the azurerm double does not apply" in result.stdout + result.stderr


ZONE_STATE = {
    "version": 4, "terraform_version": "1.11.4", "serial": 1, "lineage": "00000000-0000-4000-8000-0000000000dd",
    "outputs": {},
    "resources": [{
        "mode": "managed", "type": "azurerm_private_dns_zone", "name": "x",
        "provider": 'provider["registry.terraform.io/hashicorp/azurerm"]',
        "instances": [{"schema_version": 0, "sensitive_attributes": [], "attributes": {
            "id": "/subscriptions/00000000-0000-4000-8000-000000000001/resourceGroups/rg-x/providers/"
                  "Microsoft.Network/privateDnsZones/api.example.com",
            "name": "api.example.com", "resource_group_name": "rg-x", "tags": None, "soa_record": [],
            "max_number_of_record_sets": 25000, "max_number_of_virtual_network_links": 1000,
            "max_number_of_virtual_network_links_with_registration": 100, "number_of_record_sets": 2,
            "timeouts": None}}],
    }],
}


def test_existing_resource_upgrades_refreshes_and_plans_no_changes(sandbox: harness.Sandbox, tmp_path: Path):
    """The update path (UpgradeResourceState, ReadResource, PlanResourceChange with a prior
    state): an unchanged resource plans no change, a changed argument plans an update."""
    zone = 'resource "azurerm_private_dns_zone" "x" {\n  name                = "api.example.com"\n' \
           '  resource_group_name = "rg-x"\n%s}\n'
    module = _module(sandbox, tmp_path / "zone", zone % "")
    (module / "terraform.tfstate").write_text(json.dumps(ZONE_STATE), encoding="utf-8")
    result = sandbox.run(["plan", "-input=false", "-lock=false", "-detailed-exitcode", "-no-color"], module)
    assert result.returncode == 0 and "No changes." in result.stdout, result.stdout + result.stderr

    (module / "main.tf").write_text(zone % '  tags = { owner = "platform" }\n', encoding="utf-8")
    result = sandbox.run(["plan", "-input=false", "-lock=false", "-detailed-exitcode", "-json"], module)
    messages = harness.json_lines(result.stdout)
    changes = [(m["change"]["resource"]["addr"], m["change"]["action"]) for m in messages
               if m.get("type") == "planned_change"]
    assert result.returncode == 2 and changes == [("azurerm_private_dns_zone.x", "update")], (
        result.stdout + result.stderr)


def test_existing_object_that_is_missing_fails_plan(sandbox: harness.Sandbox, tmp_path: Path):
    module = _module(sandbox, tmp_path / "gone", DATA_LB)
    fixtures = tmp_path / "fixtures.json"
    fixtures.write_text(json.dumps({"data_sources": {"azurerm_lb": [
        {"match": {"name": "lb-x"}, "error": 'Load Balancer "lb-x" (Resource Group "rg-x") was not found'}]}}),
        encoding="utf-8")
    result = sandbox.run(["plan", "-refresh=false", "-input=false", "-lock=false", "-json"], module,
                         {"TFDOUBLE_FIXTURES": str(fixtures)})
    diags = harness.diagnostics(harness.json_lines(result.stdout))
    assert result.returncode != 0
    assert any("was not found" in d["summary"] for d in diags if d["severity"] == "error"), harness.describe(diags)


# ---------------------------------------------------------------- the existing load balancer

def _error_message_patterns(text: str) -> list[re.Pattern]:
    """The postconditions' error_message strings, `${...}` parts matching anything."""
    patterns = []
    for body in re.findall(r"postcondition\s*\{(.*?)\n\s*\}", text, flags=re.S):
        match = re.search(r'error_message\s*=\s*"((?:[^"\\]|\\.)*)"', body)
        if match:
            literal_parts = re.split(r"\$\{[^}]*\}", json.loads(f'"{match.group(1)}"'))
            patterns.append(re.compile(".*".join(re.escape(" ".join(p.split())) for p in literal_parts), re.S))
    return patterns


def test_existing_load_balancer_without_a_named_frontend_fails_plan(sandbox: harness.Sandbox, tmp_path: Path):
    manifest = ROOT / "examples" / "tenants.yaml"
    out = tmp_path / "out"
    render(manifest, out, tmp_path / "xdg")
    fixtures = harness.fixtures_from_manifest(manifest)
    existing = fixtures["data_sources"].get("azurerm_lb")
    assert existing, f"{manifest.name} has no existing load balancer to read"
    frontends = existing[0]["values"]["frontend_ip_configuration"]
    assert len(frontends) >= 2, "the example's existing load balancer should have two frontends"
    dropped = frontends.pop()["name"]  # the load balancer in Azure lacks a frontend the manifest names
    fixtures_file = tmp_path / "fixtures.json"
    fixtures_file.write_text(json.dumps(fixtures), encoding="utf-8")

    unit = out / "provider" / "terraform"
    init(sandbox, unit)
    result = sandbox.run(["plan", "-refresh=false", "-input=false", "-lock=false", "-json"], unit,
                         {"TFDOUBLE_FIXTURES": str(fixtures_file)})
    diags = harness.diagnostics(harness.json_lines(result.stdout))
    errors = [d for d in diags if d["severity"] == "error"]
    assert result.returncode != 0 and errors, f"plan passed although frontend {dropped} does not exist"

    rendered = "\n".join(p.read_text(encoding="utf-8") for p in sorted(unit.glob("*.tf")))
    patterns = _error_message_patterns(rendered)
    postcondition = [d for d in errors if d["summary"] == "Resource postcondition failed"]
    assert postcondition, f"plan failed, but not on a postcondition:\n{harness.describe(errors)}"
    details = [" ".join(d.get("detail", "").split()) for d in postcondition]
    assert any(p.search(detail) for p in patterns for detail in details), (
        f"no postcondition error_message of the rendered data \"azurerm_lb\" matches:\n{harness.describe(errors)}")
    on_lb = [d for d in postcondition if d.get("address", "").startswith("data.azurerm_lb.")
             or 'data "azurerm_lb"' in (d.get("snippet") or {}).get("context", "")]
    assert on_lb, f"the failing postcondition is not the load balancer's:\n{harness.describe(errors)}"


# ---------------------------------------------------------------- the double itself

def test_double_understands_every_validator_it_reads():
    """Every decoded validator in azurerm-validation.json is one the double evaluates."""
    from tfdouble import schema, validators

    rules = schema.validation_rules()
    unsupported = []

    def walk(specs, where):
        for spec in specs:
            if spec["kind"] in ("any_of", "all_of"):
                walk(spec["validators"], where)
                continue
            if spec.get("when") and spec["when"] not in validators.WHEN:
                unsupported.append(f"{where}: when {spec['when']}")
            sample = 1 if spec["kind"].startswith("int_") else ({} if spec["kind"].startswith("map_") else "x")
            try:
                validators.run_validator({k: v for k, v in spec.items() if k != "when"}, sample, where)
            except validators.Unsupported as why:
                unsupported.append(f"{where}: {why}")

    for section in ("resources", "data_sources"):
        for type_name, entry in rules[section].items():
            for path, rule in entry["attributes"].items():
                walk(rule.get("validate", []), f"{type_name}.{path}")
    assert not unsupported, "\n".join(unsupported)


def test_cty_msgpack_round_trip():
    from tfdouble import cty

    ty = ["object", {"a": "string", "b": ["list", ["object", {"n": "number", "s": ["set", "string"]}]],
                     "m": ["map", "bool"], "d": "dynamic"}]
    value = {"a": cty.UNKNOWN, "b": [{"n": 3, "s": ["x", "y"]}, {"n": 1.5, "s": None}], "m": {"k": True},
             "d": cty.Dynamic(["list", "string"], ["z"])}
    assert cty.unpack(cty.pack(value, ty), ty) == value
    assert cty.pack(cty.UNKNOWN, "string") == b"\xd4\x00\x00"  # go-cty's unknown: fixext1, code 0
