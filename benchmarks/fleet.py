"""Fleet-scale benchmark: synthetic manifests of N tenants, measured through the real CLI.

For each N it measures validate; full render + verify + write into an empty directory; a
no-op re-render; --check; a one-tenant change; --check of a fresh checkout of out/ with the
cache directory restored (CI), and the --check after it; --check of a pull request's fresh
checkout (one tenant changed) with the base's cache; the peak RSS of each run; the floor
of an incremental run (a process that only loads and validates the manifest and walks out/
once, stat included: what a no-op cannot avoid), and each incremental run against it; and, in the
same process run, rendering the same templates with Jinja alone (no verify, no write) as the
baseline the full render is compared with.

    python benchmarks/fleet.py                        # N = 100, 1000, 10000
    python benchmarks/fleet.py --sizes 1000           # one size
    python benchmarks/fleet.py --sizes 100000         # once, by hand: ~25 min, ~6 GB of output
    python benchmarks/fleet.py --markdown             # print the README tables

A single-file manifest of 100,000 tenants (about 47 MB) is over the 10 MiB input limit; the
benchmark raises the limit in its own processes (PLGEN_BENCH_MAX_MANIFEST_MIB).
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
REGIONS = ["eastus2", "westeurope", "southeastasia", "australiaeast",
           # beyond 32 shards (about 16,000 tenants) a load balancer per region cannot carry them
           # all (at most 8 link services each): more regions
           "eastus", "westus2", "westus3", "centralus", "northcentralus", "southcentralus", "canadacentral",
           "brazilsouth", "northeurope", "uksouth", "francecentral", "germanywestcentral", "norwayeast",
           "swedencentral", "switzerlandnorth", "eastasia", "japaneast", "koreacentral", "centralindia",
           "australiasoutheast", "southafricanorth", "uaenorth", "canadaeast", "japanwest"]
LINK_SERVICES_PER_REGION = 4
MAX_LINK_SERVICES_PER_LB = 8
ENDPOINTS_PER_LINK_SERVICE = 1000


def synthetic_manifest(tenants: int) -> str:
    """A valid manifest: enough shards for the 1000-endpoint limit, public visibility where a
    shard would pass 100 subscriptions, at most 100 auto-approved subscriptions per shard."""
    shards = max(1, -(-tenants // (ENDPOINTS_PER_LINK_SERVICE // 2)))
    regions = REGIONS[: max(1, min(4, -(-shards // LINK_SERVICES_PER_REGION)), -(-shards // MAX_LINK_SERVICES_PER_LB))]
    assert len(regions) * MAX_LINK_SERVICES_PER_LB >= shards, "add regions to REGIONS"
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


def synthetic_directory(tenants: int, directory: Path) -> Path:
    """The synthetic manifest as a manifest directory (as `plgen split` writes it, without
    loading a 47 MB file at 100,000 tenants): `directory`/plgen.yaml and one file per tenant,
    tenants/<id>.yaml. It holds the same values as synthetic_manifest(tenants)."""
    head, _, body = synthetic_manifest(tenants).partition("tenants:\n")
    (directory / "tenants").mkdir(parents=True, exist_ok=True)
    (directory / "plgen.yaml").write_text(head)
    for item in body.split("  - id: ")[1:]:
        tenant_id, _, rest = item.partition("\n")
        lines = [line[4:] for line in rest.splitlines()]
        (directory / "tenants" / f"{tenant_id}.yaml").write_text("\n".join([f"id: {tenant_id}", *lines]) + "\n")
    return directory

def amend_tenant(manifest: Path, number: int) -> None:
    """Edit tenant `number`'s request message in place (the header names no manifest, so the
    edit is the only change)."""
    manifest.write_text(manifest.read_text().replace(f'order={number}"', f'order={number}-amended"', 1))


def settle() -> None:
    """Flush dirty pages so each run pays for its own I/O, not for what came before it (this
    disk is mounted with `discard`: mass deletes slow down whatever follows them)."""
    os.sync()
    time.sleep(2)


# plgen's CLI, with the input limit raised for the 100,000-tenant single-file manifest
CLI = ("import os, gen.load\n"
       "gen.load.MAX_MANIFEST_BYTES = int(os.environ.get('PLGEN_BENCH_MAX_MANIFEST_MIB', '10')) << 20\n"
       "import sys, gen.cli\nsys.argv[0] = 'plgen'\ngen.cli.entry_point()\n")

# The floor of an incremental run: load and validate the manifest, walk out/ with stat.
# Like plgen: no cyclic GC during the run, no heap teardown at exit.
FLOOR = ("import gc; gc.disable()\nimport os, sys, gen.load\n"
         "gen.load.MAX_MANIFEST_BYTES = int(os.environ.get('PLGEN_BENCH_MAX_MANIFEST_MIB', '10')) << 20\n"
         "from pathlib import Path\nfrom gen import api\nfrom gen.write.disk import Snapshot\n"
         "api.load_manifest(sys.argv[1])\nSnapshot.scan(Path(sys.argv[2]))\nos._exit(0)\n")


def run(args: list[str], cwd: Path, program: str = CLI) -> tuple[float, int, int]:
    """Wall seconds, exit code and peak RSS (KiB) of one plgen process."""
    settle()
    start = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-c", program, *args], cwd=cwd, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, env={**os.environ, "PLGEN_BENCH_MAX_MANIFEST_MIB": "64"})
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):
        raise SystemExit(f"plgen {' '.join(args)} failed ({code}): {process.stderr.read().decode()}")
    return elapsed, code, usage.ru_maxrss


def jinja_only(manifest: Path) -> float:
    """Render the same templates with Jinja alone: no verification, no writing."""
    code = (
        "import time, sys, gen.load\n"
        "gen.load.MAX_MANIFEST_BYTES = 64 << 20\n"
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


def measure(tenants: int, workdir: Path, jobs: int | None, repeat: int) -> dict:
    manifest = workdir / f"fleet-{tenants}.yaml"
    manifest.write_text(synthetic_manifest(tenants))
    out, cache = workdir / f"out-{tenants}", workdir / f"cache-{tenants}"
    jobs_args = ["--jobs", str(jobs)] if jobs else []
    render = ["render", str(manifest), "-o", str(out), "--cache-dir", str(cache), *jobs_args]
    results: dict = {"tenants": tenants, "manifest_mib": round(manifest.stat().st_size / 2**20, 2)}
    results["validate"] = run(["validate", str(manifest)], ROOT)
    shutil.rmtree(out, ignore_errors=True)
    results["full"] = run([*render, "--no-cache"], ROOT)
    results["files"] = len(json.loads((out / ".plgen-lock.json").read_text())["files"])
    # the incremental runs and their floor are short: the best of `repeat` runs each
    results["floor"] = best(repeat, lambda: run([str(manifest), str(out)], ROOT, FLOOR))
    results["noop"] = best(repeat, lambda: run(render, ROOT))
    results["check"] = best(repeat, lambda: run([*render, "--check"], ROOT))
    # The same file edited in place, a different tenant each time.
    edits = iter(range(repeat))

    def one_tenant() -> tuple[float, int, int]:
        amend_tenant(manifest, next(edits))
        return run(render, ROOT)

    results["one_tenant"] = best(repeat, one_tenant)
    # CI: a new checkout of out/ with the cache directory restored from an earlier run. The
    # first --check hashes every file (their stats are new), the next trusts the stats it kept.
    fresh_checkout(out)
    results["checkout_check"] = run([*render, "--check"], ROOT)
    results["check_after_checkout"] = best(repeat, lambda: run([*render, "--check"], ROOT))
    if (results["checkout_check"][1], results["check_after_checkout"][1]) != (0, 0):
        raise SystemExit("--check of a fresh checkout of an up-to-date output found drift")
    # CI on a pull request that changed one tenant and its output: the cache directory is the
    # base branch's (its state and verdicts, as actions/cache restores it), the checkout the
    # pull request's, whose lock is another.
    base_state = workdir / f"base-state-{tenants}"
    shutil.rmtree(base_state, ignore_errors=True)
    shutil.copytree(cache, base_state, ignore=shutil.ignore_patterns("spares"))
    pull_requests = iter(range(repeat, 2 * repeat))

    def pull_request_check() -> tuple[float, int, int]:
        amend_tenant(manifest, next(pull_requests))
        run(render, ROOT)  # the pull request's output, rendered with the base's state
        fresh_checkout(out)
        restored = workdir / f"restored-{tenants}"
        shutil.rmtree(restored, ignore_errors=True)
        shutil.copytree(base_state, restored)
        result = run(["render", str(manifest), "-o", str(out), "--cache-dir", str(restored), *jobs_args, "--check"], ROOT)
        if result[1] != 0:
            raise SystemExit("--check of a pull request's up-to-date output found drift")
        return result

    results["pull_request_check"] = best(repeat, pull_request_check)
    print(json.dumps(results), file=sys.stderr, flush=True)  # so far: a long run that fails later keeps these
    results["jinja_only_s"] = jinja_only(manifest)
    results["peak_rss_mib"] = round(max(v[2] for k, v in results.items() if isinstance(v, tuple)) / 1024, 1)
    shutil.rmtree(out, ignore_errors=True)
    shutil.rmtree(cache, ignore_errors=True)
    return results


def fresh_checkout(out: Path) -> None:
    """out/ as a new checkout holds it: the same bytes in new files (new inodes and times)."""
    checkout = out.with_name(f"{out.name}-checkout")
    shutil.copytree(out, checkout, copy_function=shutil.copyfile)
    shutil.rmtree(out)
    checkout.rename(out)


def best(repeat: int, measure_once) -> tuple[float, int, int]:
    runs = [measure_once() for _ in range(repeat)]
    return min(runs, key=lambda r: r[0])


def table(rows: list[dict]) -> str:
    head = ("| tenants | files | validate | full render+verify+write | peak RSS | Jinja-only render | full / Jinja |\n"
            "|---|---|---|---|---|---|---|")
    body = [f"| {r['tenants']:,} | {r['files']:,} | {r['validate'][0]:.2f} s | {r['full'][0]:.2f} s "
            f"| {r['peak_rss_mib']:.0f} MiB | {r['jinja_only_s']:.2f} s | {r['full'][0] / r['jinja_only_s']:.1f}x |"
            for r in rows]
    head2 = ("| tenants | floor (load+validate+stat walk) | no-op render | --check | one-tenant change "
             "| --check of a fresh checkout, cache restored (then) | --check of a one-tenant pull request, base's cache "
             "| full per tenant | no-op per tenant |\n|---|---|---|---|---|---|---|---|---|")
    body2 = [f"| {r['tenants']:,} | {r['floor'][0]:.2f} s | {r['noop'][0]:.2f} s ({r['noop'][0] / r['floor'][0]:.2f}x) "
             f"| {r['check'][0]:.2f} s ({r['check'][0] / r['floor'][0]:.2f}x) "
             f"| {r['one_tenant'][0]:.2f} s ({r['one_tenant'][0] / r['floor'][0]:.2f}x) "
             f"| {r['checkout_check'][0]:.2f} s ({r['check_after_checkout'][0]:.2f} s) "
             f"| {r['pull_request_check'][0]:.2f} s "
             f"| {r['full'][0] / r['tenants'] * 1000:.2f} ms | {r['noop'][0] / r['tenants'] * 1000:.3f} ms |"
             for r in rows]
    return head + "\n" + "\n".join(body) + "\n\n" + head2 + "\n" + "\n".join(body2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 10000])
    parser.add_argument("--jobs", type=int, default=None)
    parser.add_argument("--repeat", type=int, default=3, help="Runs of each incremental measurement (best kept).")
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="plgen-bench-") as tmp:
        for size in args.sizes:
            row = measure(size, Path(tmp), args.jobs, args.repeat)
            rows.append(row)
            print(json.dumps(row), file=sys.stderr)
    print(f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
          f"{time.strftime('%Y-%m-%d')}")
    print(table(rows))


if __name__ == "__main__":
    main()
