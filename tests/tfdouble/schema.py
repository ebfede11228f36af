"""The azurerm schema the double serves: the JSON dump (`terraform providers schema -json`
format) converted into tfplugin6 Schema messages, plus lookups by type name."""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path

from . import cty

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
PROVIDER_ADDRESS = "registry.terraform.io/hashicorp/azurerm"

# Overridable for tests of the double itself; the defaults are the project's reference files.
SCHEMA_FILE = Path(os.environ.get("TFDOUBLE_SCHEMA", ROOT / "schemas" / "reference" / "azurerm-provider-schema.json"))
VALIDATION_FILE = Path(os.environ.get("TFDOUBLE_VALIDATION",
                                      ROOT / "schemas" / "reference" / "azurerm-validation.json"))
REPLACEMENT_FILE = Path(os.environ.get("TFDOUBLE_REPLACEMENT",
                                       ROOT / "schemas" / "reference" / "azurerm-replacement.json"))
PROVIDER_CONFIG_FILE = HERE / "azurerm-provider-config-schema.json"


@functools.cache
def provider_schemas() -> dict:
    with open(SCHEMA_FILE, encoding="utf-8") as handle:
        dump = json.load(handle)
    entry = dump["provider_schemas"][PROVIDER_ADDRESS]
    provider = entry.get("provider")
    if provider is None:  # the reference dump has no provider block: serve the transcribed one
        with open(PROVIDER_CONFIG_FILE, encoding="utf-8") as handle:
            provider = json.load(handle)["provider"]
    return {
        "provider": provider,
        "provider_version": entry.get("provider_version", "4.79.0"),
        "resource_schemas": entry.get("resource_schemas", {}),
        "data_source_schemas": entry.get("data_source_schemas", {}),
    }


@functools.cache
def validation_rules() -> dict:
    with open(VALIDATION_FILE, encoding="utf-8") as handle:
        return json.load(handle)


@functools.cache
def replacement_rules() -> dict:
    """azurerm-replacement.json: per resource type its ForceNew paths and import id format."""
    with open(REPLACEMENT_FILE, encoding="utf-8") as handle:
        return json.load(handle)


def replacement(type_name: str) -> dict:
    return replacement_rules().get("resources", {}).get(type_name) or {}


def resource_schema(type_name: str) -> dict | None:
    return provider_schemas()["resource_schemas"].get(type_name)


def data_source_schema(type_name: str) -> dict | None:
    return provider_schemas()["data_source_schemas"].get(type_name)


@functools.cache
def resource_type(type_name: str):
    return cty.block_type(resource_schema(type_name)["block"])


@functools.cache
def data_source_type(type_name: str):
    return cty.block_type(data_source_schema(type_name)["block"])


@functools.cache
def provider_type():
    return cty.block_type(provider_schemas()["provider"]["block"])


# ---------------------------------------------------------------- protobuf conversion


def to_proto_schema(pb, entry: dict):
    """One schema entry ({"version", "block"}) as a tfplugin6.Schema message."""
    return pb.Schema(version=entry.get("version", 0), block=_block(pb, entry["block"]))


def _kind(pb, name: str | None):
    return pb.StringKind.MARKDOWN if name == "markdown" else pb.StringKind.PLAIN


def _block(pb, block: dict):
    attributes = [_attribute(pb, name, attr) for name, attr in sorted(block.get("attributes", {}).items())]
    block_types = [_nested_block(pb, name, nested) for name, nested in sorted(block.get("block_types", {}).items())]
    return pb.Schema.Block(
        attributes=attributes,
        block_types=block_types,
        description=block.get("description", ""),
        description_kind=_kind(pb, block.get("description_kind")),
        deprecated=bool(block.get("deprecated", False)),
    )


def _attribute(pb, name: str, attr: dict):
    message = pb.Schema.Attribute(
        name=name,
        description=attr.get("description", ""),
        description_kind=_kind(pb, attr.get("description_kind")),
        required=bool(attr.get("required", False)),
        optional=bool(attr.get("optional", False)),
        computed=bool(attr.get("computed", False)),
        sensitive=bool(attr.get("sensitive", False)),
        deprecated=bool(attr.get("deprecated", False)),
    )
    if "type" in attr:
        # The protobuf field carries the cty type as JSON, exactly as the schema dump shows it.
        message.type = json.dumps(attr["type"], separators=(",", ":")).encode()
    else:
        nested = attr["nested_type"]
        modes = {"single": pb.Schema.Object.SINGLE, "list": pb.Schema.Object.LIST, "set": pb.Schema.Object.SET,
                 "map": pb.Schema.Object.MAP}
        message.nested_type.CopyFrom(pb.Schema.Object(
            attributes=[_attribute(pb, n, a) for n, a in sorted(nested["attributes"].items())],
            nesting=modes[nested["nesting_mode"]],
        ))
    return message


_NESTING = {"single": "SINGLE", "list": "LIST", "set": "SET", "map": "MAP", "group": "GROUP"}


def _nested_block(pb, name: str, nested: dict):
    return pb.Schema.NestedBlock(
        type_name=name,
        block=_block(pb, nested["block"]),
        nesting=getattr(pb.Schema.NestedBlock, _NESTING[nested["nesting_mode"]]),
        min_items=int(nested.get("min_items", 0)),
        max_items=int(nested.get("max_items", 0)),
    )
