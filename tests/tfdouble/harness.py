"""Test-side helpers: install the azurerm double where `terraform init` finds it, run Terraform
isolated from the machine (no registry, no user config, no plugin cache), derive data source
fixtures and placeholder inputs from a manifest, and seed or read the double's fake cloud."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
SERVER = HERE / "server.py"
PROVIDER_SOURCE = "registry.terraform.io/hashicorp/azurerm"
PROVIDER_VERSION = "4.79.0"

# Python modules the double needs (the `test` extra installs them).
REQUIRED_MODULES = ("grpc", "msgpack", "cryptography", "google.protobuf", "tf.gen.tfplugin_pb2")


def missing_modules() -> list[str]:
    import importlib

    missing = []
    for name in REQUIRED_MODULES:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - any import failure means the double cannot run
            missing.append(name)
    return missing


def terraform_platform(terraform: str) -> str:
    result = subprocess.run([terraform, "version", "-json"], capture_output=True, text=True, timeout=60,
                            env=_base_env(Path(os.devnull)))
    return json.loads(result.stdout)["platform"]


@dataclass
class Sandbox:
    """Everything Terraform may read or write outside the working directory."""

    root: Path
    terraform: str
    env: dict

    @property
    def cloud(self) -> Path | None:
        """The sandbox's cloud file (TFDOUBLE_CLOUD), when it has one."""
        value = self.env.get("TFDOUBLE_CLOUD")
        return Path(value) if value else None

    def run(self, args: list[str], cwd: Path, extra_env: dict | None = None, timeout: int = 300
            ) -> subprocess.CompletedProcess:
        env = dict(self.env)
        env.update(extra_env or {})
        return subprocess.run([self.terraform, *args], cwd=cwd, env=env, capture_output=True, text=True,
                              timeout=timeout)


def _base_env(home: Path) -> dict:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TF_", "ARM_", "CHECKPOINT_", "PLUGIN_")) and k not in ("HOME",)}
    env.update({
        "HOME": str(home),
        "CHECKPOINT_DISABLE": "1",
        "TF_IN_AUTOMATION": "1",
        "TF_INPUT": "0",
    })
    return env


def make_sandbox(root: Path, terraform: str, log: bool = False, cloud: bool = False) -> Sandbox:
    """A filesystem mirror holding the double as hashicorp/azurerm 4.79.0, a CLI config that
    installs azurerm only from it (and nothing from the registry), and an isolated HOME.

    With `cloud`, TFDOUBLE_CLOUD names `root/cloud.json` (empty): the double then applies,
    refreshes, imports and destroys against it (a test may pass another TFDOUBLE_CLOUD in
    `run(extra_env=...)` to keep its objects apart). Without, it plans only."""
    root.mkdir(parents=True, exist_ok=True)
    platform = terraform_platform(terraform)
    mirror = root / "mirror"
    package = mirror / PROVIDER_SOURCE / PROVIDER_VERSION / platform
    package.mkdir(parents=True, exist_ok=True)
    executable = package / f"terraform-provider-azurerm_v{PROVIDER_VERSION}"
    executable.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{SERVER}" "$@"\n', encoding="utf-8")
    executable.chmod(0o755)
    config = root / "terraform.rc"
    config.write_text(
        "provider_installation {\n"
        f"  filesystem_mirror {{\n    path    = {json.dumps(str(mirror))}\n"
        f"    include = [{json.dumps(PROVIDER_SOURCE)}]\n  }}\n"
        f"  direct {{\n    exclude = [{json.dumps(PROVIDER_SOURCE)}]\n  }}\n"
        "}\n", encoding="utf-8")
    home = root / "home"
    home.mkdir(exist_ok=True)
    env = _base_env(home)
    env["TF_CLI_CONFIG_FILE"] = str(config)
    if log or os.environ.get("TFDOUBLE_DEBUG"):
        env["TFDOUBLE_LOG"] = str(root / "tfdouble.log")
    if cloud:
        env["TFDOUBLE_CLOUD"] = str(root / "cloud.json")
        (root / "cloud.json").write_text("{}\n", encoding="utf-8")
    return Sandbox(root, terraform, env)


# ---------------------------------------------------------------- the fake cloud


def read_cloud(path: Path) -> dict:
    """The cloud file: {lower-cased id: {"type", "attributes"}} (see tfdouble/cloud.py)."""
    from tfdouble import cloud

    return cloud.load(Path(path))


def cloud_objects(path: Path, type_name: str | None = None) -> list[dict]:
    """The attributes of every object in the cloud (of one resource type), sorted by id."""
    objects = read_cloud(path)
    return [entry["attributes"] for _, entry in sorted(objects.items())
            if type_name is None or entry["type"] == type_name]


def cloud_object(type_name: str, arguments: dict, subscription_id: str | None = None,
                 location: str | None = None) -> dict:
    """An object as Azure (and the provider's Read) would report it after creating a resource
    with these arguments (state JSON, no `timeouts`): schema Defaults applied, computed
    attributes filled the way the double's apply fills them (id from the import id format,
    alias, …)."""
    from tfdouble import cloud, cty, datasources, planning, schema

    block = schema.resource_schema(type_name)["block"]
    ty = schema.resource_type(type_name)
    value = cty.from_json(arguments, ty)
    rules = schema.validation_rules().get("resources", {}).get(type_name)
    planned, _, errors = planning.plan(type_name, block, rules, None, value, value)
    assert not errors, errors
    created = cloud.created(type_name, block, planned, subscription_id or datasources.DEFAULT_SUBSCRIPTION,
                            location or datasources.DEFAULT_LOCATION)
    return cloud.entry(type_name, cty.to_json(created))["attributes"]


def seed_cloud(path: Path, type_name: str, arguments: dict, subscription_id: str | None = None,
               location: str | None = None) -> dict:
    """Put an existing object (created outside Terraform) into the cloud file; returns it."""
    from tfdouble import cloud

    attributes = cloud_object(type_name, arguments, subscription_id, location)
    cloud.change(lambda objects: objects.__setitem__(cloud.key(type_name, attributes["id"]),
                                                     cloud.entry(type_name, attributes)), Path(path))
    return attributes


# ---------------------------------------------------------------- Terraform output


def json_lines(stdout: str) -> list[dict]:
    """The messages of `terraform plan -json` (one JSON object per line)."""
    messages = []
    for line in stdout.splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                messages.append(json.loads(line))
            except ValueError:
                pass
    return messages


def diagnostics(messages: list[dict]) -> list[dict]:
    return [m["diagnostic"] for m in messages if m.get("type") == "diagnostic"]


def describe(diags: list[dict]) -> str:
    lines = []
    for d in diags:
        where = ""
        if d.get("range"):
            where = f" ({d['range']['filename']}:{d['range']['start']['line']})"
        address = f" [{d['address']}]" if d.get("address") else ""
        lines.append(f"{d['severity']}: {d['summary']}{address}{where}: {d.get('detail', '')}".rstrip(": "))
    return "\n".join(lines)


# ---------------------------------------------------------------- units


def unit_directories(out: Path) -> list[Path]:
    """provider/terraform and every tenants/<id>/terraform of a rendered output."""
    units = [out / "provider" / "terraform"] if (out / "provider" / "terraform").is_dir() else []
    units += sorted(p for p in (out / "tenants").glob("*/terraform") if p.is_dir())
    return units


def tf_files(unit: Path) -> list[Path]:
    """The unit's .tf files, local modules included, Terraform's own .terraform/ excluded."""
    return sorted(p for p in unit.rglob("*.tf") if ".terraform" not in p.relative_to(unit).parts)


def module_digest(unit: Path) -> str:
    """Digest of what `terraform init` depends on: the .tf files (not the tfvars)."""
    digest = hashlib.sha256()
    for path in tf_files(unit):
        digest.update(str(path.relative_to(unit)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


RESOURCE_BLOCK = re.compile(r'^(resource|data)\s+"([^"]+)"\s+"([^"]+)"', re.M)


def declared_blocks(unit: Path) -> tuple[set[str], set[str]]:
    """(resource addresses, data source addresses) declared in a unit's .tf files (module
    prefixes and instance keys left out)."""
    resources, data = set(), set()
    for path in tf_files(unit):
        for kind, type_name, name in RESOURCE_BLOCK.findall(path.read_text(encoding="utf-8")):
            (resources if kind == "resource" else data).add(f"{'data.' if kind == 'data' else ''}{type_name}.{name}")
    return resources, data


def copy_init(source: Path, target: Path) -> None:
    """Reuse one `terraform init` for a unit with identical .tf files."""
    shutil.copytree(source / ".terraform", target / ".terraform", symlinks=True)
    shutil.copy2(source / ".terraform.lock.hcl", target / ".terraform.lock.hcl")


# ---------------------------------------------------------------- the customer's inputs

# Variables a rendered consumer module may leave to the customer (its README lists them).
# Placeholder values, shaped so that the module's own validation accepts them.
CUSTOMER_PLACEHOLDERS = {
    "key_vault_id": "/subscriptions/00000000-0000-4000-8000-0000000000cc/resourceGroups/rg-customer-secrets"
                    "/providers/Microsoft.KeyVault/vaults/kv-customer",
    "shared_key_secret_name": "customer-psk",
    "private_link_service_alias": "pls-placeholder.00000000-0000-4000-8000-0000000000aa.eastus2.azure."
                                  "privatelinkservice",
    "location": "eastus",
    "resource_group_name": "rg-customer",
    "subnet_id": "/subscriptions/00000000-0000-4000-8000-0000000000cc/resourceGroups/rg-customer-net/providers/"
                 "Microsoft.Network/virtualNetworks/vnet-customer/subnets/snet-pe",
}


def site_var_files(unit: Path) -> dict[str | None, Path]:
    """A unit's value files: terraform.tfvars.json (loaded by Terraform itself) or, for a
    tenant with several endpoints, sites/<name>.tfvars.json, each for the workspace <name>."""
    sites = {path.name.removesuffix(".tfvars.json"): path for path in sorted((unit / "sites").glob("*.tfvars.json"))}
    return sites or {None: unit / "terraform.tfvars.json"}


def missing_inputs(unit: Path, tfvars_path: Path | None = None) -> list[str]:
    """Variables without a default that the value file (terraform.tfvars.json) does not set."""
    import hcl2

    from gen.verify.hcl import HCL2_LOCK  # (python-hcl2 is not safe in parallel threads)

    tfvars_path = tfvars_path or unit / "terraform.tfvars.json"
    given = json.loads(tfvars_path.read_text(encoding="utf-8")) if tfvars_path.exists() else {}
    missing = []
    for path in sorted(unit.glob("*.tf")):
        text = path.read_text(encoding="utf-8")
        with HCL2_LOCK:  # units are checked in parallel threads
            document = hcl2.loads(text)
        for variable in document.get("variable", []):
            for name, body in variable.items():
                name = name.strip('"')
                if "default" not in body and name not in given:
                    missing.append(name)
    return sorted(missing)


# ---------------------------------------------------------------- data source fixtures


def fixtures_from_manifest(manifest: Path) -> dict:
    """What the existing Azure objects a manifest names look like: each region's VNet in its
    location, each existing load balancer as a Standard LB in the region with exactly the
    manifest's frontends, the subnets the NAT gateway attaches to."""
    document = yaml.safe_load(manifest.read_text(encoding="utf-8"))
    provider = document.get("provider", {})
    data_sources: dict[str, list] = {}
    locations = []
    for region in provider.get("regions", []):
        location = region["location"]
        locations.append(location)
        vnet = region.get("vnet") or {}
        if vnet.get("name"):
            data_sources.setdefault("azurerm_virtual_network", []).append({
                "match": {"name": vnet["name"], "resource_group_name": vnet.get("resource_group")},
                "values": {"location": location, "address_space": ["10.0.0.0/8"]},
            })
        lb = region.get("load_balancer") or {}
        if lb.get("name") and not lb.get("create"):
            data_sources.setdefault("azurerm_lb", []).append({
                "match": {"name": lb["name"],
                          "resource_group_name": lb.get("resource_group") or provider.get("resource_group")},
                "values": {"location": location, "sku": "Standard",
                           "frontend_ip_configuration": [{"name": f} for f in lb.get("frontends", [])]},
            })
        for subnet in (region.get("nat_gateway") or {}).get("subnets", []):
            data_sources.setdefault("azurerm_subnet", []).append({
                "match": {"name": subnet, "virtual_network_name": vnet.get("name"),
                          "resource_group_name": vnet.get("resource_group")},
                "values": {"address_prefixes": ["10.0.1.0/24"]},
            })
    return {
        "defaults": {"location": locations[0] if locations else "eastus2",
                     "subscription_id": provider.get("subscription_id")},
        "data_sources": data_sources,
    }
