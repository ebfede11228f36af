"""An independent oracle of Azure's rules, applied to the rendered files.

It reads what `render` produced (Terraform through python-hcl2, Bicep through pycep, the JSON
values files, the Markdown guides), never the plan, and applies Azure's rules (rules.py, each
with its source) to every resource and every relation between them: names, load balancer
ports, which subnets each feature may use, addresses, aliases, and the guides' Markdown and
facts. It runs in `verify`, so output that breaks a rule is never written, and it is the oracle
of the property test over the valid manifest space (tests/test_manifest_space.py).
"""

from __future__ import annotations

import functools
import json
import posixpath
from typing import Any, Iterator

from .. import hcl
from ..bicep import BicepUnit
from ..facts import value_file_index
from ..terraform import ParsedModule
from . import bicep as bicep_names, consumer, guides, network, rules, terraform

PROVIDER_TERRAFORM = "provider/terraform"


def name_problem(kind: str | None, value: Any) -> str | None:
    if value is None or not isinstance(value, str) or "${" in value:
        return None  # not known until deployment: Azure checks it then
    return _name_problem(kind, value)


@functools.lru_cache(maxsize=65536)
def _name_problem(kind: str | None, value: str) -> str | None:
    if kind is None:
        return "no Azure name rule is known for this name; add it to gen/verify/oracle"
    if kind == "dns_zone":
        problem, source = rules.dns_zone_name_problem(value), rules.DNS_ZONE_URL
    elif kind == "resource_group":
        problem, source = rules.resource_group_problem(value), rules.NAME_RULES_URL
    else:
        problem, source = rules.NAME_RULES[kind].problem(value), rules.NAME_RULES[kind].source
    return f"{problem} [{source}]" if problem else None


def _terraform_file(directory: str, module: ParsedModule, where: str) -> str:
    block, type_name, label = where.split(" ", 3)[:3]
    return posixpath.join(directory, module.where.get((block, type_name, label.strip("'")), ""))


def _values_index(files: dict[str, str]) -> dict[str, dict[str | None, str]]:
    return value_file_index(files, "terraform.tfvars.json", ".tfvars.json")


def _values_files(files: dict[str, str], index: dict[str, dict[str | None, str]], directory: str) -> dict[str | None, dict]:
    found = {site: json.loads(files[path]) for site, path in sorted(index.get(directory, {}).items(), key=str)}
    return found or {None: {}}


def read_link_services(files: dict[str, str], modules: dict[str, ParsedModule]) -> dict[str, terraform.LinkService] | None:
    """The link services the provider's Terraform creates, by lower-cased name (None when
    `files` hold no provider Terraform)."""
    module = modules.get(PROVIDER_TERRAFORM)
    if module is None:
        parsed = {posixpath.basename(p): hcl.parse(t) for p, t in sorted(files.items())
                  if posixpath.dirname(p) == PROVIDER_TERRAFORM and p.endswith(".tf")}
        if not parsed:
            return None
        module = ParsedModule.from_files(parsed)
    values = terraform.Values(module, _values_files(files, _values_index(files), PROVIDER_TERRAFORM)[None])
    return {str(ls.name).lower(): ls for ls in terraform.network(module, values).link_services.values()}


def problems(files: dict[str, str], modules: dict[str, ParsedModule], bicep_units: dict[str, BicepUnit],
             context: dict[str, str] | None = None,
             link_services: dict[str, terraform.LinkService] | None = None) -> Iterator[tuple[str, str]]:
    """(path, message) for every rule the rendered `files` break. `modules` and `bicep_units`
    are their parsed Terraform and Bicep; `context` is the whole rendered tree (a subset may be
    checked while the provider's link services are read from the rest). `link_services`: what
    read_link_services found in the provider's files, when the caller already has it (an
    incremental render that leaves the provider as it is keeps it from the last one)."""
    context = context if context is not None else files
    if link_services is None:
        link_services = read_link_services(context, modules)
    index, context_index = _values_index(files), _values_index(context)
    memo: dict[tuple, list] = {}  # identical modules (every tenant's) share their parsed files
    for directory, module in sorted(modules.items()):
        key = tuple(id(parsed) for parsed in module.files.values())
        if key not in memo:
            memo[key] = [terraform.name_arguments(module), _value_arguments(module)]
        names, arguments = memo[key]
        for site, variables in _values_files(files, index, directory).items():
            values = terraform.Values(module, variables)
            for where, kind, raw in names:
                problem = name_problem(kind, values(raw))
                if problem:
                    yield _terraform_file(directory, module, where), f"{where}: {problem}"
            for path, message in _module_problems(directory, module, arguments, values, site, link_services):
                yield path, message
    for directory, unit in sorted(bicep_units.items()):
        if "/sites/" not in directory:
            for message in bicep_names.symbol_problems(unit):
                yield f"{directory}/main.bicep", message
        for where, kind, value in bicep_names.names(unit):
            problem = name_problem(kind, value)
            if problem:
                yield f"{directory.split('/sites/')[0]}/main.bicep", f"{where}: {problem}"
    for path, text in sorted(files.items()):
        if path.endswith(".md"):
            for message in guides.markdown_problems(text):
                yield path, message
            if path.startswith("tenants/") and link_services is not None and "| Private Link Service |" in text:
                directory = posixpath.dirname(path) + "/terraform"
                aliases = [v.get("private_link_service_alias") for v in _values_files(context, context_index, directory).values()]
                for message in guides.fact_problems(text, aliases, link_services):
                    yield path, message


def _value_arguments(module: ParsedModule) -> list[tuple[str, str, str, str, Any]]:
    """(file name, resource type, label, argument, unevaluated value) of the arguments whose values
    the rules read: resource ids, tags, the endpoint's connection. Walked once per module."""
    found = []
    for (type_name, label), body in sorted(module.resources.items()):
        path = module.where.get(("resource", type_name, label), "")
        for argument, value in terraform.arguments(body):
            if (argument.endswith(("_id", "_ids", ".tags")) or argument == "tags"
                    or argument.startswith("private_service_connection.")):
                found.append((path, type_name, label, argument, value))
    return found


def _module_problems(directory: str, module: ParsedModule, arguments: list, values: terraform.Values, site: str | None,
                     link_services: dict[str, terraform.LinkService] | None) -> Iterator[tuple[str, str]]:
    endpoints: dict[tuple[str, str], dict[str, Any]] = {}
    for name, type_name, label, argument, raw in arguments:
        path = posixpath.join(directory, name)
        where = f"{type_name} {label!r}" + (f" (site {site})" if site else "")
        value = values(raw)
        if argument == "tags" or argument.endswith(".tags"):
            for message in _tag_problems(where, value):
                yield path, message
        elif argument.endswith(("_id", "_ids")):
            for item in value if isinstance(value, list) else [value]:
                for message in consumer.id_problems(f"{where} {argument}", item):
                    yield path, message
        if type_name == "azurerm_private_endpoint":
            endpoint = endpoints.setdefault((path, where), {"subscription_id": values.variables.get("subscription_id"),
                                                            "private_ip": values.variables.get("private_ip")})
            key = {"subnet_id": "subnet_id", "private_service_connection.private_connection_resource_alias": "alias",
                   "private_service_connection.request_message": "request_message"}.get(argument)
            if key is not None:
                endpoint[key] = value if values.known(value) else None
    for (path, where), endpoint in endpoints.items():
        for message in consumer.endpoint_problems(where, endpoint, link_services):
            yield path, message
        for message in consumer.workspace_problems(where, site, values.variables.get("workspace")):
            yield path, message
    if directory == PROVIDER_TERRAFORM:
        for message in network.problems(terraform.network(module, values)):
            yield directory, message


def _tag_problems(where: str, tags: Any) -> Iterator[str]:
    if not isinstance(tags, dict):
        return
    if len(tags) > rules.MAX_TAGS:
        yield f"{where}: {len(tags)} tags; Azure allows {rules.MAX_TAGS} [{rules.TAGS_URL}]"
    for key, value in sorted(tags.items()):
        if len(key) > rules.MAX_TAG_NAME or set(key) & rules.TAG_NAME_FORBIDDEN:
            yield f"{where}: tag name {key!r} is longer than {rules.MAX_TAG_NAME} or holds one of < > % & \\ ? / [{rules.TAGS_URL}]"
        if isinstance(value, str) and len(value) > rules.MAX_TAG_VALUE:
            yield f"{where}: the value of tag {key!r} is longer than {rules.MAX_TAG_VALUE} characters [{rules.TAGS_URL}]"


def check_tree(files: dict[str, str]) -> list[tuple[str, str]]:
    """The oracle over a whole rendered tree, parsing it itself (for tests and reviews of a
    tree on disk; `verify` hands over what it already parsed)."""
    from .. import bicep as bicep_parser  # the parser, not this package's name table

    by_directory: dict[str, dict[str, Any]] = {}
    for path, text in sorted(files.items()):
        if path.endswith(".tf"):
            by_directory.setdefault(posixpath.dirname(path), {})[posixpath.basename(path)] = hcl.parse(text)
    modules = {directory: ParsedModule.from_files(parsed) for directory, parsed in by_directory.items()}
    units: dict[str, BicepUnit] = {}
    for path, text in sorted(files.items()):
        if not path.endswith("/bicep/main.bicep"):
            continue
        directory = posixpath.dirname(path)
        main = bicep_parser.BicepFile.of(bicep_parser.parse(text))
        value_files = {None: f"{directory}/main.parameters.json"} if f"{directory}/main.parameters.json" in files else {}
        value_files.update({p[len(directory) + 7:-len(".parameters.json")]: p for p in files
                            if p.startswith(f"{directory}/sites/") and p.endswith(".parameters.json")})
        for site, values_path in value_files.items():
            parameters = json.loads(files[values_path]).get("parameters", {})
            units[directory if site is None else f"{directory}/sites/{site}"] = BicepUnit(main, parameters)
    return list(problems(files, modules, units))
