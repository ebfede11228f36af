"""`plgen release-preview` at fleet scale against a full render, through the real CLI (wall
time and peak RSS per run; rounds interleaved, so a busy machine slows both alike).

The new release touches every bundle (a guide line holding the tenant's id, a comment in the
consumer module) and the provider (a comment in each region's Terraform): the worst case for
the preview, which must then verify every unit of both renders and group 10,000 changed bundles.

- full render: `plgen render fleet.yaml -o out --no-cache` into an empty directory (render,
  verify every file, write 90,000 files), as benchmarks/fleet.py measures it;
- preview: `plgen release-preview fleet.yaml --templates NEXT --no-cache` (both renders,
  both verified, compared), with the default --jobs and with --jobs 1;
- preview, warm: the same with the verdict cache of a render with the installed templates
  (what a fleet's own machine or CI cache has).

    python benchmarks/release_preview.py                  # 10,000 tenants, best of 3 rounds
    python benchmarks/release_preview.py --tenants 1000 --repeat 1
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fleet import ROOT, run, synthetic_manifest  # noqa: E402

EDITS = (("docs/tenant-README.md.j2", "| Tenant id | `{{ tenant.id }}` |", "| Your tenant id | `{{ tenant.id }}` |"),
         ("terraform/consumer/main.tf.j2", "# Connects to the provider's Private Link Service by its alias.",
          "# Connects to the Private Link Service of the provider by its alias."),
         ("terraform/provider/region.tf.j2", "  # Who may see this service", "  # Who may see this link service"))


def next_release(directory: Path) -> Path:
    shutil.copytree(ROOT / "templates", directory)
    (directory / "VERSION").write_text("next\n")
    for name, old, new in EDITS:
        text = (directory / name).read_text()
        assert old in text, (name, old)
        (directory / name).write_text(text.replace(old, new))
    return directory


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tenants", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3, help="Rounds (best kept per measurement).")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="plgen-release-") as temp:
        work = Path(temp)
        manifest = work / "fleet.yaml"
        manifest.write_text(synthetic_manifest(args.tenants))
        templates = next_release(work / "next")
        preview = ["release-preview", str(manifest), "--templates", str(templates)]
        warm_cache, pristine = work / "warm-cache", work / "warm-cache-base"
        run(["render", str(manifest), "-o", str(work / "warm-out"), "--cache-dir", str(pristine)], ROOT)
        measurements = {
            "full render": lambda: run(["render", str(manifest), "-o", str(work / "out"), "--no-cache"], ROOT),
            "preview": lambda: run([*preview, "--no-cache"], ROOT),
            "preview --jobs 1": lambda: run([*preview, "--no-cache", "--jobs", "1"], ROOT),
            "preview, warm cache": lambda: run([*preview, "--cache-dir", str(warm_cache)], ROOT),
        }
        results: dict[str, list[tuple[float, int, int]]] = {name: [] for name in measurements}
        for _ in range(args.repeat):
            for name, measure in measurements.items():
                shutil.rmtree(work / "out", ignore_errors=True)
                if name == "preview, warm cache":  # the base release's verdicts only, each round
                    shutil.rmtree(warm_cache, ignore_errors=True)
                    shutil.copytree(pristine, warm_cache, symlinks=True)
                results[name].append(measure())
                print(json.dumps({name: results[name][-1]}), file=sys.stderr)
    best = {name: min(runs, key=lambda r: r[0]) for name, runs in results.items()}
    full = best["full render"][0]
    print(f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
          f"{time.strftime('%Y-%m-%d')}; {args.tenants:,} tenants, best of {args.repeat}")
    print("| run | wall | / full render | peak RSS | all runs |\n|---|---|---|---|---|")
    for name, (seconds, code, rss) in best.items():
        every = ", ".join(f"{r[0]:.1f}" for r in results[name])
        print(f"| {name} | {seconds:.2f} s | {seconds / full:.2f}x | {rss / 1024:.0f} MiB | {every} s |")


if __name__ == "__main__":
    main()
