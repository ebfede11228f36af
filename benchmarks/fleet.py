"""Fleet-scale benchmark: synthetic manifests of N tenants, measured through the real CLI.

For each N it measures validate; full render + verify + write into an empty directory; a
no-op re-render; a one-tenant change; --check; the peak RSS of each run; and, in the same
process run, rendering the same templates with Jinja alone (no verify, no write) as the
baseline the full pipeline is compared with.

    python benchmarks/fleet.py                # N = 100, 1000, 10000
    python benchmarks/fleet.py --sizes 1000   # one size
    python benchmarks/fleet.py --markdown     # print the README table
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REGIONS = ["eastus2", "westeurope", "southeastasia", "australiaeast"]
LINK_SERVICES_PER_REGION = 4
ENDPOINTS_PER_LINK_SERVICE = 1000


def synthetic_manifest(tenants: int) -> str:
    """A valid manifest: enough shards for the 1000-endpoint limit, public visibility where a
    shard would pass 100 subscriptions, at most 100 auto-approved subscriptions per shard."""
    shards = max(1, -(-tenants // (ENDPOINTS_PER_LINK_SERVICE // 2)))
    regions = REGIONS[: max(1, min(len(REGIONS), -(-shards // LINK_SERVICES_PER_REGION)))]
    per_region = -(-shards // len(regions))
    public = tenants / shards > 100
    lines = [
        "version: 1",
        "service: {name: fleet-api, fqdn: api.fleet.example.com, ports: [443], tags: {owner: platform}}",
        "provider:",
        "  subscription_id: 00000000-0000-4000-8000-0000000000ff",
        "  resource_group: rg-fleet",
        f"  visibility: {'public' if public else 'restricted'}",
        "  regions:",
    ]
    shard_names = []
    for r, location in enumerate(regions):
        frontends = [f"fe-{i + 1}" for i in range(per_region)]
        lines += [
            f"    - location: {location}",
            f"      vnet: {{name: vnet-{location}, resource_group: rg-net-{location}}}",
            f"      nat_subnet: {{name: snet-pls-nat, address_prefix: 10.{r + 10}.0.0/22}}",
            f"      load_balancer: {{name: lb-{location}, frontends: [{', '.join(frontends)}]}}",
            "      link_services:",
        ]
        for i in range(per_region):
            name = f"pls-fleet-{location}-{i + 1}"
            shard_names.append((location, name))
            lines += [f"        - {{name: {name}, frontend: fe-{i + 1}, nat_ips: 8}}"]
    lines.append("tenants:")
    auto_per_shard: dict[str, int] = {}
    for t in range(tenants):
        location, shard = shard_names[t % len(shard_names)]
        auto = auto_per_shard.get(shard, 0) < 50
        auto_per_shard[shard] = auto_per_shard.get(shard, 0) + (1 if auto else 0)
        subscription = f"{t:08x}-0000-4000-8000-{t:012x}"
        lines += [
            f"  - id: tenant-{t:05d}",
            f'    display_name: "Tenant {t} GmbH"',
            f"    region: {location}",
            f"    link_service: {shard}",
            f"    subscriptions: [{subscription}]",
            f"    approval: {'auto' if auto else 'manual'}",
            f'    request_message: "tenant=tenant-{t:05d} order={t}"',
            "    endpoint:",
            "      location: eastus",
            f"      resource_group: rg-consumer-{t}",
            f"      subnet_id: /subscriptions/{subscription}/resourceGroups/rg-net/providers/Microsoft.Network/virtualNetworks/vnet/subnets/snet-pe",
        ]
    return "\n".join(lines) + "\n"


def settle() -> None:
    """Flush dirty pages so each run pays for its own I/O, not for what came before it (this
    disk is mounted with `discard`: mass deletes slow down whatever follows them)."""
    os.sync()
    time.sleep(2)


def run(args: list[str], cwd: Path) -> tuple[float, int, int]:
    """Wall seconds, exit code and peak RSS (KiB) of one plgen process."""
    settle()
    start = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "gen.cli", *args], cwd=cwd, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):
        raise SystemExit(f"plgen {' '.join(args)} failed ({code}): {process.stderr.read().decode()}")
    return elapsed, code, usage.ru_maxrss


def jinja_only(manifest: Path) -> float:
    """Render the same templates with Jinja alone: no verification, no writing."""
    code = (
        "import time, sys\n"
        "from gen.load import load_file\nfrom gen.validate import validate\nfrom gen.plan import build_plan\n"
        "from gen.render import make_renderer, render_file\n"
        f"plan = build_plan(validate(load_file({str(manifest)!r})), 'm.yaml')\n"
        "env = make_renderer()\n"
        "start = time.perf_counter()\n"
        "for spec in plan.files: render_file(env, plan, spec)\n"
        "print(time.perf_counter() - start)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    return float(result.stdout.strip())


def measure(tenants: int, workdir: Path, jobs: int | None) -> dict:
    manifest = workdir / f"fleet-{tenants}.yaml"
    manifest.write_text(synthetic_manifest(tenants))
    out = workdir / f"out-{tenants}"
    jobs_args = ["--jobs", str(jobs)] if jobs else []
    results: dict = {"tenants": tenants, "manifest_mib": round(manifest.stat().st_size / 2**20, 2)}
    results["validate"] = run(["validate", str(manifest)], ROOT)
    shutil.rmtree(out, ignore_errors=True)
    results["full"] = run(["render", str(manifest), "-o", str(out), "--no-cache", *jobs_args], ROOT)
    results["files"] = len(json.loads((out / ".plgen-lock.json").read_text())["files"])
    results["noop"] = run(["render", str(manifest), "-o", str(out), *jobs_args], ROOT)
    results["check"] = run(["render", str(manifest), "-o", str(out), "--check", *jobs_args], ROOT)
    # The same file edited in place (the header names the manifest file, so a copy under
    # another name would change every file).
    manifest.write_text(manifest.read_text().replace('order=0"', 'order=0-amended"', 1))
    results["one_tenant"] = run(["render", str(manifest), "-o", str(out), *jobs_args], ROOT)
    results["jinja_only_s"] = jinja_only(manifest)
    results["peak_rss_mib"] = round(max(v[2] for k, v in results.items() if isinstance(v, tuple)) / 1024, 1)
    return results


def table(rows: list[dict]) -> str:
    head = ("| tenants | files | validate | full render+verify+write | no-op re-render | one-tenant change | --check "
            "| peak RSS | Jinja-only render | full / Jinja |\n|---|---|---|---|---|---|---|---|---|---|")
    body = []
    for r in rows:
        body.append(
            f"| {r['tenants']:,} | {r['files']:,} | {r['validate'][0]:.2f} s | {r['full'][0]:.2f} s | {r['noop'][0]:.2f} s "
            f"| {r['one_tenant'][0]:.2f} s | {r['check'][0]:.2f} s | {r['peak_rss_mib']:.0f} MiB | {r['jinja_only_s']:.2f} s "
            f"| {r['full'][0] / r['jinja_only_s']:.1f}x |"
        )
    return head + "\n" + "\n".join(body)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 10000])
    parser.add_argument("--jobs", type=int, default=None)
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="plgen-bench-") as tmp:
        for size in args.sizes:
            row = measure(size, Path(tmp), args.jobs)
            rows.append(row)
            print(json.dumps(row), file=sys.stderr)
    print(f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
          f"{time.strftime('%Y-%m-%d')}")
    print(table(rows))


if __name__ == "__main__":
    main()
