"""Stage 2, validate: loaded document -> Manifest, or every problem found, each located.

Pydantic checks each field; the semantic rules below check how fields relate (limits that
Azure enforces only at apply time, references between tenants and regions, address plans).
"""

from __future__ import annotations

import difflib
import typing
from collections.abc import Iterator
from typing import Any

import pydantic

from ..errors import ManifestError, Problem
from ..load import Document, PathKey
from ..manifest import Manifest
from .common import (LIMIT_MARK, MAX_ENDPOINTS_PER_LINK_SERVICE, MAX_LINK_SERVICES_PER_LB, MAX_NAT_IPS,
                     MAX_SUBSCRIPTIONS_PER_LIST, SMALLEST_SUBNET_PREFIX, Finding, Refs, TaggedFinding)
from .adoption import _adoption_rules
from .names import _name_rules
from .network import _region_rules, usable_addresses

from .tenants import _link_service_limits, _tenant_rules

__all__ = ["validate", "semantic_findings", "usable_addresses", "MAX_ENDPOINTS_PER_LINK_SERVICE", "MAX_LINK_SERVICES_PER_LB",
           "MAX_NAT_IPS", "MAX_SUBSCRIPTIONS_PER_LIST", "SMALLEST_SUBNET_PREFIX"]


def validate(document: Document, *, enforce_limits: bool = True) -> Manifest:
    """Raise ManifestError listing every located problem, or return the Manifest.

    enforce_limits=False skips the Azure capacity limits (endpoints, list sizes, link services
    per load balancer, NAT subnet size) so that `plgen capacity` can report on them.
    """
    loaded = list(document.problems)  # a manifest directory's: a tenant file named after another id
    try:
        manifest = Manifest.model_validate(document.data, strict=True)
    except pydantic.ValidationError as err:
        raise ManifestError(loaded + [_pydantic_problem(document, e) for e in err.errors()]) from None
    findings = [(path, message) for path, message, is_limit in semantic_findings(manifest, Refs(document))
                if enforce_limits or not is_limit]
    if findings or loaded:
        raise ManifestError(loaded + [Problem(document.locate(path), message) for path, message in findings])
    return manifest


def _pydantic_problem(document: Document, error: dict[str, Any]) -> Problem:
    path = tuple(error["loc"])
    kind = error["type"]
    if kind == "extra_forbidden":
        return Problem(document.locate(path, at_key=True), f"unknown field {path[-1]!r}{_did_you_mean(path)}")
    if kind == "missing":
        return Problem(document.locate(path), "required field is missing")
    if kind == "value_error":
        return Problem(document.locate(path), str(error["ctx"]["error"]))
    if kind == "string_type":
        got = error["input"]
        if got is None or isinstance(got, (dict, list)):
            return Problem(document.locate(path), f"expected text, got {_yaml_kind(got)}")
        return Problem(document.locate(path), f"expected text, but YAML reads this value as {_yaml_kind(got)} ({got!r}); quote it to keep it as text")
    if kind in ("int_type", "bool_type", "list_type", "dict_type", "model_type"):
        expected = {"int_type": "a whole number", "bool_type": "true or false", "list_type": "a list",
                    "dict_type": "a mapping", "model_type": "a mapping"}[kind]
        return Problem(document.locate(path), f"expected {expected}, got {_yaml_kind(error['input'])} {error['input']!r}")
    return Problem(document.locate(path), error["msg"][:1].lower() + error["msg"][1:])


def _did_you_mean(path: PathKey) -> str:
    """'; did you mean 'approval'?' for a misspelt field, from the fields of the model at that place."""
    model = _model_at(path[:-1])
    matches = difflib.get_close_matches(str(path[-1]), list(model.model_fields), n=1) if model else []
    return f"; did you mean {matches[0]!r}?" if matches else ""


def _model_at(path: PathKey) -> type[pydantic.BaseModel] | None:
    annotation: Any = Manifest
    for part in path:
        if isinstance(part, int):
            continue  # a list item: _model_in looks through list[...] to the item's model
        model = _model_in(annotation)
        if model is None or part not in model.model_fields:
            return None
        annotation = model.model_fields[part].annotation
    return _model_in(annotation)


def _model_in(annotation: Any) -> type[pydantic.BaseModel] | None:
    """The model inside an annotation such as `Support | None` or `list[Tenant]`."""
    if isinstance(annotation, type) and issubclass(annotation, pydantic.BaseModel):
        return annotation
    for argument in typing.get_args(annotation):
        model = _model_in(argument)
        if model is not None:
            return model
    return None


def _yaml_kind(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "a boolean", int: "a number", float: "a number", str: "text", list: "a list",
            dict: "a mapping"}.get(type(value), type(value).__name__)


# --- semantic rules -------------------------------------------------------------------------

def semantic_findings(manifest: Manifest, refs: Refs | None = None) -> Iterator[TaggedFinding]:
    """Every semantic finding; `refs` says how messages name other tenants (a manifest
    directory names their files)."""
    refs = refs or Refs()
    for path, message in [*_service_rules(manifest), *_name_rules(manifest), *_region_rules(manifest),
                          *_tenant_rules(manifest, refs), *_link_service_limits(manifest, refs),
                          *_adoption_rules(manifest)]:
        is_limit = message.startswith(LIMIT_MARK)
        yield path, message.removeprefix(LIMIT_MARK), is_limit


def _service_rules(manifest: Manifest) -> Iterator[Finding]:
    for p, port in enumerate(manifest.service.ports):
        if port in manifest.service.ports[:p]:
            yield ("service", "ports", p), f"port {port} is listed twice"
    support = manifest.service.support
    if support is not None and support.email is None and support.url is None:
        yield ("service", "support"), "give an `email` or a `url` (or both) where customers ask for help, or remove `support`"

