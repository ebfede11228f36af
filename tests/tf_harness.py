"""A provider-less Terraform configuration made of a tenant module's variables.tf, its
terraform.tfvars.json and outputs echoing every variable: `terraform apply` then proves the
values read back literally (no interpolation, no escape surprises)."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path


def echo_outputs(variables_tf: str, extra: str = "") -> str:
    names = re.findall(r'^variable "([^"]+)"', variables_tf, flags=re.M)
    outputs = "".join(f'output "{n}" {{\n  value = var.{n}\n}}\n' for n in names)
    return outputs + extra


def apply(terraform: str, workdir: Path, files: dict[str, str]) -> dict:
    workdir.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (workdir / name).write_text(text, encoding="utf-8")
    env = {**os.environ, "TF_IN_AUTOMATION": "1", "CHECKPOINT_DISABLE": "1", "TF_CLI_CONFIG_FILE": os.devnull}
    for args in (["init", "-input=false", "-no-color"], ["apply", "-auto-approve", "-input=false", "-no-color"]):
        result = subprocess.run([terraform, *args], cwd=workdir, capture_output=True, text=True, env=env, timeout=120)
        if result.returncode != 0:
            raise AssertionError(f"terraform {args[0]} failed:\n{result.stdout}\n{result.stderr}")
    result = subprocess.run([terraform, "output", "-json", "-no-color"], cwd=workdir, capture_output=True,
                            text=True, env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    return {name: entry["value"] for name, entry in json.loads(result.stdout).items()}
