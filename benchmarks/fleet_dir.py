"""The manifest as a directory at fleet scale (issue 16), through the real CLI: the synthetic
fleet of benchmarks/fleet.py as plgen.yaml + one file per tenant, against the same fleet as one
file. For each size and form: validate; a full render (--no-cache, empty output); a no-op
render; --check; one new tenant (a new file, or a tenant appended to the single file) rendered
incrementally. Wall time and peak RSS of each run, and the per-tenant cost.

    python benchmarks/fleet_dir.py                      # 1,000 and 10,000 tenants, both forms
    python benchmarks/fleet_dir.py --sizes 100000 --forms directory   # once, by hand: ~6 GB of output

The directory form runs plgen as it ships (no raised input limit: each file is far below
10 MiB); the single file runs with the limit raised, as benchmarks/fleet.py does.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fleet import CLI, ROOT, run, synthetic_directory, synthetic_manifest  # noqa: E402

PLAIN_CLI = "import sys, gen.cli\nsys.argv[0] = 'plgen'\ngen.cli.entry_point()\n"  # no limit raised


def new_tenant(number: int, shards: list[tuple[str, str]]) -> str:
    """A tenant file for tenant `number` (manual approval: no auto-approval list grows)."""
    name, location = shards[number % len(shards)]
    subscription = f"{number:08x}-0000-4000-8000-{number:012x}"
    return (f"id: tenant-{number:05d}\ndisplay_name: \"Tenant {number} GmbH\"\nregion: {location}\n"
            f"link_service: {name}\nsubscriptions: [{subscription}]\napproval: manual\n"
            f"request_message: \"tenant=tenant-{number:05d} order={number}\"\nendpoint:\n  location: eastus\n"
            f"  resource_group: rg-consumer-{number}\n  subnet_id: /subscriptions/{subscription}/resourceGroups/rg-net/"
            "providers/Microsoft.Network/virtualNetworks/vnet/subnets/snet-pe\n")


def as_list_item(text: str) -> str:
    lines = text.splitlines()
    return "\n".join([f"  - {lines[0]}", *(f"    {line}" for line in lines[1:])]) + "\n"


def best(repeat: int, once) -> tuple[float, int, int]:
    return min((once() for _ in range(repeat)), key=lambda r: r[0])


def measure(tenants: int, form: str, work: Path, repeat: int) -> dict:
    if form == "directory":
        manifest = synthetic_directory(tenants, work / f"fleet-{tenants}")
        program = PLAIN_CLI
    else:
        manifest = work / f"fleet-{tenants}.yaml"
        manifest.write_text(synthetic_manifest(tenants))
        program = CLI
    provider_text = (manifest / "plgen.yaml").read_text() if form == "directory" else manifest.read_text()
    shards = re.findall(r"- \{name: (pls-fleet-(\w+)-\d+),", provider_text)
    out, cache = work / f"out-{form}-{tenants}", work / f"cache-{form}-{tenants}"
    render = ["render", str(manifest), "-o", str(out), "--cache-dir", str(cache)]
    row: dict = {"tenants": tenants, "form": form}
    row["validate"] = run(["validate", str(manifest)], ROOT, program)
    shutil.rmtree(out, ignore_errors=True)
    row["full"] = run([*render, "--no-cache"], ROOT, program)
    row["files"] = len(json.loads((out / ".plgen-lock.json").read_text())["files"])
    row["noop"] = best(repeat, lambda: run(render, ROOT, program))
    row["check"] = best(repeat, lambda: run([*render, "--check"], ROOT, program))
    added = iter(range(tenants, tenants + repeat))

    def one_new_tenant() -> tuple[float, int, int]:
        number = next(added)
        text = new_tenant(number, shards)
        if form == "directory":
            (manifest / "tenants" / f"tenant-{number:05d}.yaml").write_text(text)
        else:
            with open(manifest, "a") as handle:
                handle.write(as_list_item(text))
        return run(render, ROOT, program)

    row["new_tenant"] = best(repeat, one_new_tenant)
    codes = {k: v[1] for k, v in row.items() if isinstance(v, tuple)}
    assert set(codes.values()) == {0}, codes
    shutil.rmtree(out, ignore_errors=True)
    shutil.rmtree(cache, ignore_errors=True)
    return row


STEPS = (("validate", "validate"), ("full", "full render"), ("noop", "no-op"), ("check", "--check"),
         ("new_tenant", "one new tenant"))


def table(rows: list[dict]) -> str:
    head = ("| tenants | form | files | " + " | ".join(label for _, label in STEPS)
            + " | full per tenant |\n|---|---|---|" + "---|" * len(STEPS) + "---|")
    body = []
    for r in rows:
        cells = " | ".join(f"{r[key][0]:.2f} s, {r[key][2] / 1024:.0f} MiB" for key, _ in STEPS)
        body.append(f"| {r['tenants']:,} | {r['form']} | {r['files']:,} | {cells} | "
                    f"{r['full'][0] / r['tenants'] * 1000:.2f} ms |")
    ratios = []
    for r in rows:
        other = next((o for o in rows if o["tenants"] == r["tenants"] and o["form"] == "file"), None)
        if r["form"] == "directory" and other:
            ratios.append(f"{r['tenants']:,} tenants, directory / file: " + ", ".join(
                f"{label} {r[key][0] / other[key][0]:.2f}x" for key, label in STEPS))
    return "\n".join([head, *body, "", *ratios])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--forms", nargs="+", choices=["directory", "file"], default=["directory", "file"])
    parser.add_argument("--repeat", type=int, default=3, help="Runs of each incremental measurement (best kept).")
    parser.add_argument("--workdir", type=Path, default=None, help="Where to build (default: a temporary directory).")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="plgen-bench-dir-", dir=args.workdir) as temp:
        for size in args.sizes:
            for form in args.forms:
                row = measure(size, form, Path(temp), args.repeat)
                rows.append(row)
                print(json.dumps(row), file=sys.stderr, flush=True)
    print(f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
          f"{time.strftime('%Y-%m-%d')}")
    print(table(rows))


if __name__ == "__main__":
    main()
