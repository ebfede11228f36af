"""What a template release would make Terraform replace or destroy: the replacement guard
(gen.guard), fed with facts read from the two renders' files instead of from the plan.

The lock's identities come from the plan, and a release does not change the plan: what it can
change is how the templates write a resource. So for every resource the guard watches (link
services, tenants' private endpoints, NAT subnets, public IPs, VPN gateways; gen.plan.identities
says which, where and with which ForceNew arguments), each side's value of each ForceNew
argument is read from its rendered Terraform: a literal, a `var.` reference resolved from the
values file of the module (or workspace), the load balancer frontend of a link service resolved
as `plgen changes` does, a block's count where the count is what replaces it; any other
expression is compared as written. Those facts become two identities sections, and
gen.guard.hazards says what would be replaced, in its own words.

A tenant module whose values files are the same bytes on both sides, and whose .tf files are
too or parse to the same variables and resource blocks, cannot differ in these facts: it is not
read (the consumer module is the same for every tenant, so this is decided once).
"""

from __future__ import annotations

import json
import posixpath
from typing import Any

from ..guard import Hazard, hazards
from ..plan.identities import PROVIDER_MODULE, Resource, plan_resources
from ..refactor import FORMAT
from ..verify import hcl
from ..verify.terraform import ParsedModule, _label, evaluate
from .facts import _frontend, _parse

FRONTEND_IDS = "load_balancer_frontend_ip_configuration_ids"


class _Modules:
    """One tree's Terraform module directories, parsed on demand (each text once)."""

    def __init__(self, files: dict[str, str]):
        self.files = files
        self.by_dir: dict[str, list[str]] = {}
        self.values: dict[str, list[str]] = {}  # module directory -> its values files (sites/ too)
        for path in files:
            if path.endswith(".tf"):
                self.by_dir.setdefault(posixpath.dirname(path), []).append(path)
            elif path.endswith(".tfvars.json"):
                directory = posixpath.dirname(path)
                self.values.setdefault(directory[:-6] if directory.endswith("/sites") else directory, []).append(path)

    def texts(self, directory: str) -> tuple[tuple[str, str], ...]:
        return tuple((posixpath.basename(p), self.files[p]) for p in sorted(self.by_dir.get(directory, ())))

    def module(self, directory: str) -> ParsedModule | None:
        parsed = {}
        for name, text in self.texts(directory):
            try:
                parsed[name] = _parse(text)  # once per text, shared with `plgen changes`' facts
            except hcl.HclError:
                return None  # verification would have failed; nothing to read
        return ParsedModule.from_files(parsed) if parsed else None

    def variables(self, resource: Resource) -> dict[str, Any]:
        """The values the resource's module (or workspace) is applied with."""
        directory = resource.unit
        text = self.files.get(f"{directory}/sites/{resource.workspace}.tfvars.json" if resource.workspace
                              else f"{directory}/terraform.tfvars.json")
        try:
            value = json.loads(text) if text is not None else {}
        except ValueError:
            value = {}
        return value if isinstance(value, dict) else {}


def _block(module: ParsedModule, resource: Resource) -> dict | None:
    return module.resources.get((resource.type, resource.label))


def _argument(module: ParsedModule, block: dict, argument: str, variables: dict[str, Any], planned: Any) -> Any:
    if argument == FRONTEND_IDS:
        return _frontend(module, block.get(argument))[0]
    head, _, rest = argument.partition(".")
    if rest:
        nested = block.get(head)
        if isinstance(nested, list) and nested and isinstance(nested[0], dict):
            return _argument(module, nested[0], rest, variables, planned)
        for dynamic in block.get("dynamic") or []:
            for label, body in dynamic.items():
                if _label(label) == head and isinstance(body, dict):
                    content = (body.get("content") or [{}])[0]
                    return {"for_each": evaluate(body.get("for_each"), variables, module),
                            rest: evaluate(content.get(rest), variables, module)}
        return None
    value = block.get(argument)
    if isinstance(planned, int) and not isinstance(planned, bool) and isinstance(value, list):
        return len(value)  # a block whose count replaces the resource (a VPN gateway's ip_configuration)
    return evaluate(value, variables, module)


def _entry(resource: Resource, module: ParsedModule, tree: _Modules) -> dict[str, Any] | None:
    block = _block(module, resource)
    if block is None:
        return None
    variables = tree.variables(resource)
    facts = {argument: _argument(module, block, argument, variables, planned)
             for argument, planned in resource.force_new.items()}
    named = Resource(resource.kind, resource.type, resource.label, resource.unit, resource.workspace,
                     resource.subscription, {**resource.args, **{k: v for k, v in facts.items() if isinstance(v, str)}})
    item: dict[str, Any] = {"id": named.import_id, "kind": resource.kind, "force_new": facts}
    if resource.context:
        item["context"] = dict(resource.context)
    return item


def _signature(module: ParsedModule | None) -> str | None:
    """All a module's resource facts can depend on besides its values files: its variables
    (defaults) and resource blocks."""
    return None if module is None else repr((sorted(module.variables.items()), sorted(module.resources.items())))


def _may_differ(trees: tuple[_Modules, _Modules], directory: str, same: dict[tuple, bool]) -> bool:
    """Whether a tenant module's facts may differ: not when its values files are the same
    bytes and its .tf files are too, or parse to the same variables and resources (decided
    once per pair of texts: the consumer module is shared)."""
    values = [sorted(tree.values.get(directory, ())) for tree in trees]
    if values[0] != values[1] or any(trees[0].files[p] != trees[1].files[p] for p in values[0]):
        return True
    texts = (trees[0].texts(directory), trees[1].texts(directory))
    if texts[0] == texts[1]:
        return False
    if texts not in same:
        before = _signature(trees[0].module(directory))
        same[texts] = before is None or before != _signature(trees[1].module(directory))
    return same[texts]


def release_hazards(plan, base: dict[str, str], new: dict[str, str], changed_units: set[str]) -> list[Hazard]:
    """The hazards of going from the `base` render to the `new` one of the same plan (only
    units in `changed_units`, "provider" or "tenants/<id>", can differ)."""
    trees = (_Modules(base), _Modules(new))
    same: dict[tuple, bool] = {}
    modules = {PROVIDER_MODULE if unit == "provider" else f"{unit}/terraform" for unit in changed_units}
    modules = {m for m in modules if m == PROVIDER_MODULE or _may_differ(trees, m, same)}
    by_module: dict[str, list[Resource]] = {}
    for resource in plan_resources(plan, modules):
        if resource.guard:
            by_module.setdefault(resource.unit, []).append(resource)
    sections = ({"format": FORMAT, "resources": {}}, {"format": FORMAT, "resources": {}})
    for directory, resources in sorted(by_module.items()):
        for tree, section in zip(trees, sections):
            module = tree.module(directory)
            for resource in resources:
                key = resource.unit if not resource.workspace else f"{resource.unit}@{resource.workspace}"
                entries = section["resources"].setdefault(key, {})  # present, even empty: a missing block is a destroy
                item = _entry(resource, module, tree) if module is not None else None
                if item is not None:
                    entries[resource.address] = item
    return [h for h in hazards(sections[0], sections[1]) if h.action in ("replace", "destroy")]
