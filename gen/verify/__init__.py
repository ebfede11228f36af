"""Stage 5, verify: every rendered file is parsed back and checked before anything is written.

- every file that allows comments opens with the constant header line;
- `.tf`: parses (python-hcl2), every resource/data block matches the azurerm schema, every
  reference in its module resolves;
- `.json`: parses and holds exactly the plan's values;
- equivalence: the facts read back from the parsed output equal the plan's facts.

Checks of file contents are memoised by content hash: identical bytes (the consumer module
is the same for every tenant) are parsed and checked once per run.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
from pathlib import Path
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from ..errors import Location, Problem, VerificationError
from ..plan import BICEP_PARAMETER_NAMES, PROVIDER_UNIT, OutputFile, Plan, VpnTenantPlan, tenant_dir, unit_of
from . import facts as facts_module
from . import bicep, cache, hcl, oracle
from .terraform import ParsedModule, reference_problems, schema_problems

COMMENT_PREFIX = {".tf": "# ", ".md": "<!-- ", ".bicep": "// ", ".cfg": "# ", ".conf": "# ", ".yaml": "# "}


@dataclass
class Report:
    files: int = 0
    parsed: int = 0
    reused: int = 0
    units: int = 0
    cached: int = 0
    rendered: int | None = None  # files rendered this run (None: all of them)
    problems: list[Problem] = field(default_factory=list)
    # what the oracle read of the provider's link services (None if the provider was not
    # among the files): kept so that a later run leaving the provider as it is can use it
    link_services: dict | None = None


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class Verifier:
    def __init__(self, plan: Plan, files: dict[str, str], context: dict[str, str] | None = None,
                 specs: tuple[OutputFile, ...] | None = None, link_services: dict | None = None):
        self.plan = plan
        self.files = files
        self.context = context if context is not None else files  # the whole rendered tree
        self.report = Report(files=len(files))
        self.specs = {spec.path: spec for spec in (plan.files if specs is None else specs)}
        self.known_link_services = link_services
        self.parse_cache: cache.ParseCache | None = None
        self.parsed_by_sha: dict[str, dict[str, Any] | None] = {}
        self.problems_by_sha: dict[str, list[str]] = {}

    def fail(self, path: str, message: str) -> None:
        self.report.problems.append(Problem(Location(path), message))

    def run(self) -> Report:
        for path, text in self.files.items():
            self.check_header(path, text)
            if path.endswith(".tf"):
                self.check_terraform_file(path, text)
            elif path.endswith(".bicep"):
                self.check_bicep_file(path, text)
            elif path.endswith(".json"):
                self.check_json(path, text)
        modules: dict[str, list[str]] = defaultdict(list)
        for path in self.files:
            if path.endswith(".tf"):
                modules[posixpath.dirname(path)].append(path)
        module_memo: dict[str, list[str]] = {}
        parsed_modules: dict[str, ParsedModule] = {}
        for directory, paths in sorted(modules.items()):
            parsed = {posixpath.basename(p): self.parsed_by_sha.get(_sha(self.files[p])) for p in sorted(paths)}
            if any(value is None for value in parsed.values()):
                continue
            key = _sha("\0".join(f"{name}\0{_sha(self.files[posixpath.join(directory, name)])}" for name in sorted(parsed)))
            module = ParsedModule.from_files(parsed)  # cheap: reuses the parsed dicts
            parsed_modules[directory] = module
            if key not in module_memo:
                module_memo[key] = list(reference_problems(module))
            for message in module_memo[key]:
                self.fail(directory, message)
        bicep_units = self.check_bicep_units()
        self.report.units = len(parsed_modules) + len(bicep_units)
        for path, message in facts_module.equivalence_problems(self.plan, self.files, parsed_modules, bicep_units):
            self.fail(path, message)
        link_services = oracle.read_link_services(self.context, parsed_modules)
        self.report.link_services = link_services
        for path, message in oracle.problems(self.files, parsed_modules, bicep_units, self.context,
                                             link_services if link_services is not None else self.known_link_services):
            self.fail(path, f"Azure would refuse or misbehave: {message}")
        return self.report

    def check_bicep_units(self) -> dict[str, "bicep.BicepUnit"]:
        """Each bicep/ directory: module calls match module files, parameters match main.bicep."""
        units: dict[str, bicep.BicepUnit] = {}
        modules_by_unit: dict[str, dict[str, bicep.BicepFile]] = defaultdict(dict)
        for path, text in self.files.items():
            head, marker, rest = path.partition("/bicep/")
            if marker and path.endswith(".bicep") and rest != "main.bicep":
                parsed = self.parsed_by_sha.get(_sha(text))
                if parsed is not None:
                    modules_by_unit[head + "/bicep"][rest] = parsed
        tenants = {tenant.id: tenant for tenant in self.plan.tenants}
        memo: dict[tuple, list[str]] = {}
        value_files = facts_module.value_file_index(self.files, "main.parameters.json", ".parameters.json")
        for path in sorted(self.files):
            if not path.endswith("/bicep/main.bicep"):
                continue
            directory = posixpath.dirname(path)
            main = self.parsed_by_sha.get(_sha(self.files[path]))
            if main is None:
                continue
            modules = modules_by_unit[directory]
            key = (_sha(self.files[path]),) + tuple(sorted((name, id(f)) for name, f in modules.items()))
            if key not in memo:
                memo[key] = list(bicep.module_problems(main, modules)) + list(bicep.vnet_write_order_problems(main, modules))
            for message in memo[key]:
                self.fail(path, message)
            spec = self.specs.get(path)
            tenant = tenants.get(spec.unit.split(":", 1)[1]) if spec and spec.unit.startswith("tenant:") else None
            sites = {site.name: site for site in tenant.sites} if tenant else {}
            for site, parameters_path in value_files.get(directory, {}).items():
                parameters = json.loads(self.files[parameters_path])
                # resource_group_name has no Bicep parameter: Bicep deploys into `-g`
                may_be_missing = ({BICEP_PARAMETER_NAMES[n] for n in tenant.missing_inputs(sites[site]) if n in BICEP_PARAMETER_NAMES}
                                  if tenant and site in sites else set())
                if spec and spec.unit.startswith("vpn-tenant:"):
                    may_be_missing = set(VpnTenantPlan.MISSING_BICEP)  # the tenant's own Key Vault
                for message in bicep.parameter_file_problems(main, parameters, may_be_missing):
                    self.fail(parameters_path, message)
                units[directory if site is None else f"{directory}/sites/{site}"] = bicep.BicepUnit(main, parameters.get("parameters", {}))
        return units

    def check_header(self, path: str, text: str) -> None:
        prefix = COMMENT_PREFIX.get(posixpath.splitext(path)[1])
        if prefix is None:
            return
        expected = prefix + self.plan.header + (" -->" if prefix == "<!-- " else "")
        if text.split("\n", 1)[0] != expected:
            self.fail(path, f"first line is not the constant header {expected!r}")

    def check_terraform_file(self, path: str, text: str) -> None:
        self._check_once(path, text, _analyse_terraform)

    def check_bicep_file(self, path: str, text: str) -> None:
        self._check_once(path, text, _analyse_bicep)

    def _check_once(self, path: str, text: str, analyse) -> None:
        """Parse and check each distinct content once; identical files share the verdict."""
        sha = _sha(text)
        known = self.parse_cache.get(sha) if self.parse_cache is not None and sha not in self.problems_by_sha else None
        if known is not None:
            self.parsed_by_sha[sha], self.problems_by_sha[sha] = known
        if sha in self.problems_by_sha:
            self.report.reused += 1
        else:
            self.report.parsed += 1
            self.parsed_by_sha[sha], self.problems_by_sha[sha] = analyse(text)
            if self.parse_cache is not None:
                self.parse_cache.add(sha, text, self.parsed_by_sha[sha], self.problems_by_sha[sha])
        for message in self.problems_by_sha[sha]:
            self.fail(path, message)

    def check_json(self, path: str, text: str) -> None:
        try:
            value = json.loads(text)
        except json.JSONDecodeError as err:
            self.fail(path, f"does not parse as JSON: {err}")
            return
        spec = self.specs.get(path)
        if spec is not None and spec.data is not None and value != json.loads(json.dumps(spec.data)):
            self.fail(path, "JSON does not hold the plan's values")


def _analyse_terraform(text: str) -> tuple[dict | None, list[str]]:
    try:
        parsed = hcl.parse(text)
    except hcl.HclError as err:
        return None, [str(err)]
    return parsed, list(schema_problems(parsed))


def _analyse_bicep(text: str) -> tuple["bicep.BicepFile | None", list[str]]:
    problems = list(bicep.literal_problems(text))
    try:
        parsed = bicep.BicepFile.of(bicep.parse(text))
        problems.extend(bicep.resource_problems(parsed))
        problems.extend(bicep.reference_problems(parsed))
    except bicep.BicepError as err:
        return None, problems + [str(err)]
    return parsed, problems


def verify(plan: Plan, files: dict[str, str], *, specs: tuple[OutputFile, ...] | None = None,
           jobs: int | None = None, cache_dir: Path | None = None, templates: Path | None = None,
           reuse: bool = True, link_services: dict | None = None) -> Report:
    """Raise VerificationError naming every failed file and check; else return the report.

    `files` are the rendered files of `specs` (default: all the plan's files). An incremental
    render passes only the units it rendered, with the provider's `link_services` from the
    run that last verified the provider when the provider is not among them.

    With a cache directory, the digests of units that pass are recorded, and (with reuse)
    units whose digest (see gen.verify.cache) passed before are not checked again; every other
    unit is checked in full, with small Terraform and Bicep files already parsed and checked
    in an earlier run (same bytes, same build) taken from the parse cache.
    """
    specs = plan.files if specs is None else specs
    digests: dict[str, str] = {}
    todo = files
    store = None
    if cache_dir is not None:
        store = cache.VerdictCache(cache_dir, cache.namespace(templates))
        digests = _unit_digests(plan, files, specs)
        if reuse:
            todo = {path: text for path, text in files.items() if digests[unit_of(path)] not in store}
    verifier = Verifier(plan, todo, files, specs, link_services)
    if store is not None and reuse:
        verifier.parse_cache = cache.ParseCache(cache_dir, cache.namespace(templates))
    report = verifier.run()
    report.files, report.cached = len(files), len(files) - len(todo)
    if report.problems:
        raise VerificationError(report.problems)
    if store is not None:
        store.save(set(digests.values()))
        if verifier.parse_cache is not None:
            verifier.parse_cache.save()
    return report


def _unit_digests(plan: Plan, files: dict[str, str], specs: tuple[OutputFile, ...]) -> dict[str, str]:
    """Each unit's verdict digest: its files' bytes, and the plan facts and data its checks
    compare them with (grouped in one pass: per-unit filtering would be quadratic)."""
    by_unit: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for path in sorted(files):
        by_unit[unit_of(path)].append((path, _sha(files[path])))
    tenant_ids = {unit.split("/")[1] for unit in by_unit if unit != PROVIDER_UNIT}
    unit_facts: dict[str, dict] = defaultdict(dict)
    for key, value in facts_module.plan_facts(plan, tenant_ids, include_provider=PROVIDER_UNIT in by_unit).items():
        owner = PROVIDER_UNIT if key.startswith("link service ") else tenant_dir(key.split(" ")[1])
        unit_facts[owner][key] = value
    data = {spec.path: spec.data for spec in specs if spec.data is not None}
    return {unit: cache.unit_digest(plan.header, unit_files, [unit_facts[unit], [data.get(p) for p, _ in unit_files]])
            for unit, unit_files in by_unit.items()}
