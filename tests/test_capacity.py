"""Issue 15, part 3: connection capacity is per NAT IP *per backend VM* (Microsoft's Private Link
FAQ), `--backend-vms` gives the VM count, and the advice sizes VMs and NAT IPs both ways."""

from __future__ import annotations

import ipaddress
import json
import re
from pathlib import Path

import pytest

from conftest import EXAMPLE, MINIMAL, ROOT, run_cli

PERMANENT = "a NAT IP configuration added to a Private Link Service cannot be removed"


def _manifest(tmp_path: Path, *, expected: int | None = None, nat_ips: int = 1, nat_subnet: str = "10.1.1.0/28") -> Path:
    """MINIMAL: pls-demo-1 (alpha, `nat_ips` dynamic NAT IPs) and pls-demo-2 (beta, one static NAT
    IP) share the NAT subnet."""
    text = MINIMAL.read_text()
    # the static NAT IP sits above the addresses the dynamic ones may take first
    replacements = [("          nat_ips: 1\n", f"          nat_ips: {nat_ips}\n"), ("10.1.1.0/28", nat_subnet),
                    ("[10.1.1.10]", f"[{ipaddress.ip_network(nat_subnet)[-2]}]")]
    if expected is not None:
        replacements.append(("    approval: auto\n", f"    approval: auto\n    expected_connections: {expected}\n"))
    for old, new in replacements:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    path = tmp_path / "tenants.yaml"
    path.write_text(text)
    return path


def _rows(manifest: Path, *args: str) -> dict[str, dict]:
    result = run_cli("capacity", manifest, *args, "--format", "json")
    assert result.exit_code == 0, result.output
    return {row["link_service"]: row for row in json.loads(result.stdout)}


def _connection_advice(row: dict) -> list[str]:
    return [text for text in row["advice"] if "the NAT subnet has" not in text]  # leave out the subnet-sizing note


# --- arithmetic ---------------------------------------------------------------------------------


def test_capacity_without_backend_vms_is_per_vm(tmp_path: Path):
    rows = _rows(_manifest(tmp_path, nat_ips=3))
    one, two = rows["pls-demo-1"], rows["pls-demo-2"]
    assert (one["nat_ips"], one["backend_vms"], one["ports_per_nat_ip_per_vm"]) == (3, None, 64_000)
    assert one["connection_capacity_per_vm"] == one["connection_capacity"] == 3 * 64_000
    assert two["connection_capacity_per_vm"] == two["connection_capacity"] == 64_000  # one static NAT IP
    assert one["nat_ips_needed"] is None and one["backend_vms_needed"] is None  # no expected connections

    text = run_cli("capacity", _manifest(tmp_path, nat_ips=3)).stdout
    assert "64,000 TCP ports per NAT IP per backend VM" in text
    assert "Without a backend VM count the figures are per VM: --backend-vms N" in text
    assert "backend VMs          not given (capacity per VM)" in text
    assert "expected connections not set (capacity ~192,000 per VM)" in text


def test_backend_vms_multiplies_the_capacity(tmp_path: Path):
    manifest = _manifest(tmp_path, nat_ips=3)
    rows = _rows(manifest, "--backend-vms", "4")
    assert rows["pls-demo-1"]["backend_vms"] == rows["pls-demo-2"]["backend_vms"] == 4
    assert rows["pls-demo-1"]["connection_capacity"] == 3 * 64_000 * 4
    assert rows["pls-demo-1"]["connection_capacity_per_vm"] == 3 * 64_000
    assert rows["pls-demo-2"]["connection_capacity"] == 64_000 * 4

    text = run_cli("capacity", manifest, "--backend-vms", "4").stdout
    assert "Without a backend VM count" not in text  # every link service has one
    assert "backend VMs          4" in text and "expected connections not set (capacity ~768,000)" in text


def test_a_named_link_service_overrides_the_count_for_every_one(tmp_path: Path):
    manifest = _manifest(tmp_path)
    rows = _rows(manifest, "--backend-vms", "2", "--backend-vms", "pls-demo-2=5")
    assert (rows["pls-demo-1"]["backend_vms"], rows["pls-demo-2"]["backend_vms"]) == (2, 5)
    assert rows["pls-demo-2"]["connection_capacity"] == 5 * 64_000
    rows = _rows(manifest, "--backend-vms", "pls-demo-2=5")
    assert (rows["pls-demo-1"]["backend_vms"], rows["pls-demo-2"]["backend_vms"]) == (None, 5)
    assert "Without a backend VM count" in run_cli("capacity", manifest, "--backend-vms", "pls-demo-2=5").stdout


# --- advice ------------------------------------------------------------------------------------


def test_advice_both_ways_with_the_permanence_warning(tmp_path: Path):
    # 1 NAT IP x 2 VMs x 64,000 = 128,000 < 200,000: 4 VMs at 1 NAT IP, or 2 NAT IPs at 2 VMs
    row = _rows(_manifest(tmp_path, expected=200_000), "--backend-vms", "2")["pls-demo-1"]
    assert (row["connection_capacity"], row["backend_vms_needed"], row["nat_ips_needed"]) == (128_000, 4, 2)
    assert row["nat_ips_addable"] == 7  # 8 - 1; the /28 has 11 usable addresses, 2 in use
    vms, nat_ips = _connection_advice(row)
    assert "add backend VMs (4 in all carry them at 1 NAT IP)" in vms and PERMANENT not in vms
    assert nat_ips.startswith("or add 1 NAT IP (2 in all carry them at 2 backend VMs); NAT IPs are permanent")
    assert PERMANENT in nat_ips and "prefer backend VMs" in nat_ips
    assert row["exceeded"] == []  # connections advise; they are not a hard limit

    result = run_cli("capacity", _manifest(tmp_path, expected=200_000), "--backend-vms", "2")
    assert result.exit_code == 0
    assert "expected connections 200,000 of ~128,000\n" in result.stdout
    assert f"  advice: {vms}\n  advice: {nat_ips}\n" in result.stdout


@pytest.mark.parametrize(("expected", "advised"), [(128_000, False), (128_001, True)])
def test_advice_starts_just_above_the_capacity(tmp_path: Path, expected: int, advised: bool):
    row = _rows(_manifest(tmp_path, expected=expected), "--backend-vms", "2")["pls-demo-1"]
    assert bool(_connection_advice(row)) is advised
    assert row["backend_vms_needed"] == (2 if expected == 128_000 else 3)
    assert row["nat_ips_needed"] == (1 if expected == 128_000 else 2)


def test_nat_ips_beyond_the_ceiling_of_8_are_not_advised(tmp_path: Path):
    # 1,100,000 / (64,000 x 2 VMs) = 8.6: 9 NAT IPs, one more than a link service may have
    row = _rows(_manifest(tmp_path, expected=1_100_000), "--backend-vms", "2")["pls-demo-1"]
    assert (row["nat_ips_needed"], row["backend_vms_needed"]) == (9, 18)
    vms, ceiling = _connection_advice(row)
    assert "add backend VMs (18 in all carry them at 1 NAT IP)" in vms
    assert ceiling == ("NAT IPs alone cannot carry them: 9 would be needed at 2 backend VMs, and a link service "
                       "has at most 8; add backend VMs or a shard")
    assert not any(PERMANENT in text for text in row["advice"])


def test_a_link_service_already_at_8_nat_ips_is_told_to_add_vms(tmp_path: Path):
    # 8 x 64,000 = 512,000 per VM; 600,000 need 2 VMs, or 10 NAT IPs at 1 VM
    row = _rows(_manifest(tmp_path, expected=600_000, nat_ips=8), "--backend-vms", "1")["pls-demo-1"]
    assert (row["nat_ips_needed"], row["backend_vms_needed"], row["nat_ips_addable"]) == (10, 2, 0)
    vms, ceiling = _connection_advice(row)
    assert "add backend VMs (2 in all carry them at 8 NAT IPs)" in vms
    assert ceiling.startswith("NAT IPs alone cannot carry them: 10 would be needed")


def test_nat_ips_beyond_the_free_addresses_of_the_nat_subnet_are_not_advised(tmp_path: Path):
    # /29: 3 usable addresses, 2 taken by the region's NAT IPs; 4 NAT IPs at 1 VM would need 3 more
    row = _rows(_manifest(tmp_path, expected=200_000, nat_subnet="10.1.1.0/29"), "--backend-vms", "1")["pls-demo-1"]
    assert (row["nat_subnet_free"], row["nat_ips_addable"], row["nat_ips_needed"]) == (1, 1, 4)
    vms, subnet = _connection_advice(row)
    assert "add backend VMs (4 in all carry them at 1 NAT IP)" in vms
    assert subnet == ("4 NAT IPs would carry them at 1 backend VM, but the NAT subnet 10.1.1.0/29 has 1 free address "
                      "for the region's NAT IPs; add backend VMs, or plan a larger NAT subnet (a subnet cannot grow in place)")
    assert not any(PERMANENT in text for text in row["advice"])
    # the same need in the /28 (9 free) is advised as NAT IPs
    roomy = _rows(_manifest(tmp_path, expected=200_000), "--backend-vms", "1")["pls-demo-1"]
    assert _connection_advice(roomy)[1].startswith("or add 3 NAT IPs (4 in all carry them at 1 backend VM)")


def test_without_backend_vms_the_advice_is_the_vms_needed(tmp_path: Path):
    row = _rows(_manifest(tmp_path, expected=200_000))["pls-demo-1"]
    assert (row["backend_vms"], row["backend_vms_needed"], row["nat_ips_needed"]) == (None, 4, None)
    assert _connection_advice(row) == [
        "200,000 expected connections need at least 4 backend VMs at 1 NAT IP (64,000 per VM): give --backend-vms "
        "to compare them with the VMs behind the load balancer and to size NAT IPs"]
    text = run_cli("capacity", _manifest(tmp_path, expected=200_000)).stdout
    assert "expected connections 200,000 of ~64,000 per VM\n" in text
    # one VM's worth is not advised on
    assert _connection_advice(_rows(_manifest(tmp_path, expected=64_000))["pls-demo-1"]) == []


# --- JSON ---------------------------------------------------------------------------------------

FIELDS = ["link_service", "region", "endpoints", "endpoints_limit", "visibility_subscriptions",
          "auto_approval_subscriptions", "subscriptions_limit", "nat_ips", "nat_ips_limit", "nat_subnet",
          "nat_subnet_free", "link_services_on_load_balancer", "link_services_per_load_balancer_limit",
          "expected_connections", "tenants_without_expected_connections", "connection_capacity",
          "ports_per_nat_ip_assumed", "backend_vms", "ports_per_nat_ip_per_vm", "connection_capacity_per_vm",
          "backend_vms_needed", "nat_ips_needed", "nat_ips_addable", "exceeded", "advice"]


@pytest.mark.parametrize("args", [(), ("--backend-vms", "3")])
def test_json_keeps_the_old_fields_and_adds_the_new_ones_in_a_fixed_order(args: tuple[str, ...]):
    first = run_cli("capacity", EXAMPLE, *args, "--format", "json").stdout
    assert first == run_cli("capacity", EXAMPLE, *args, "--format", "json").stdout
    rows = json.loads(first)
    assert [list(row) for row in rows] == [FIELDS] * 3
    assert [row["link_service"] for row in rows] == ["pls-contoso-api-eus2-1", "pls-contoso-api-eus2-2", "pls-contoso-api-weu-1"]
    assert all(row["ports_per_nat_ip_assumed"] == row["ports_per_nat_ip_per_vm"] == 64_000 for row in rows)
    eus1 = rows[0]
    assert eus1["backend_vms"] == (3 if args else None)
    assert eus1["connection_capacity"] == 2 * 64_000 * (3 if args else 1)
    assert eus1["backend_vms_needed"] == 1 and eus1["nat_ips_needed"] == (1 if args else None)  # 200 connections
    assert rows[1]["backend_vms_needed"] is None  # no tenant gives expected connections


# --- bad values -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "problem"), [
    ("0", "at least 1 backend VM"), ("-2", "at least 1 backend VM"), ("abc", "whole number"), ("1.5", "whole number"),
    ("", "whole number"), ("=3", "name the link service"), ("pls-demo-1=0", "at least 1 backend VM"),
    ("pls-demo-1=many", "whole number"),
])
def test_bad_backend_vms_is_a_usage_error(value: str, problem: str):
    result = run_cli("capacity", MINIMAL, "--backend-vms", value)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "Invalid value for '--backend-vms'" in result.stderr and problem in result.stderr


@pytest.mark.parametrize(("values", "problem"), [
    (["2", "3"], "N for every link service is given twice (2 and 3)"),
    (["pls-demo-1=2", "pls-demo-1=3"], "pls-demo-1 is given twice (2 and 3)"),
    (["pls-nope=2"], "no link service named pls-nope (the manifest has pls-demo-1, pls-demo-2)"),
])
def test_contradicting_or_unknown_backend_vms_are_usage_errors(values: list[str], problem: str):
    args = [arg for value in values for arg in ("--backend-vms", value)]
    result = run_cli("capacity", MINIMAL, *args, "--format", "json")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert problem in result.stderr


# --- the README shows real output -----------------------------------------------------------------


def _readme_blocks() -> list[tuple[str, str]]:
    section = (ROOT / "README.md").read_text().split("### Capacity\n", 1)[1].split("\n### ", 1)[0]
    return re.findall(r"```text\n\$ plgen (capacity [^\n]*)\n(.*?)```", section, re.S)


def test_the_readme_capacity_excerpts_are_what_plgen_prints(tmp_path: Path):
    example = EXAMPLE.read_text()
    assert example.count("expected_connections: 200\n") == 1
    raised = tmp_path / "tenants.yaml"
    raised.write_text(example.replace("expected_connections: 200\n", "expected_connections: 500000\n"))
    blocks = _readme_blocks()
    assert [command for command, _ in blocks] == ["capacity examples/tenants.yaml", "capacity tenants.yaml --backend-vms 3"]
    (_, plain), (_, advised) = blocks
    assert run_cli("capacity", EXAMPLE).stdout.startswith(plain)
    excerpt = advised.removeprefix("...\n")
    assert excerpt != advised and excerpt in run_cli("capacity", raised, "--backend-vms", "3").stdout
