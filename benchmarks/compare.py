"""Two plgen revisions on the same synthetic fleet, measured in alternation through the real CLI.

On a shared machine the same full render can take 21 s one minute and 46 s the next, so two
benchmark runs an hour apart cannot say whether a change made it faster. This runs both
revisions in the same minutes instead: each round measures the base and this checkout, in an
order that alternates from round to round (ABBA...), with the same manifest, the same settle
before every process, and fresh output and state directories for each full render.

    python benchmarks/compare.py --base 8cbd953                # 10,000 tenants, 3 rounds
    python benchmarks/compare.py --base v1 --tenants 1000 --rounds 5

For each side it reports every round's full render (--no-cache into an empty directory), no-op
re-render, --check and one-tenant change, with the median and the ratio this checkout / base.
The base is `git archive`d from this repository into a temporary directory and run from there
with this checkout's virtualenv (so both sides use the same Python and libraries).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import fleet  # noqa: E402  (the same manifest generator, settle and process measurement)

STEPS = ("full", "noop", "check", "one_tenant")

# fleet.CLI, for revisions from before `gen.cli.entry_point` too
CLI = fleet.CLI.replace("gen.cli.entry_point()", "(getattr(gen.cli, 'entry_point', None) or gen.cli.main)()")


def export(revision: str, directory: Path) -> Path:
    """The tree of `revision`, extracted into `directory`."""
    directory.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(fleet.ROOT), "archive", revision], capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(directory)], input=archive.stdout, check=True)
    return directory


def measure_side(code: Path, manifest: Path, workdir: Path, edit: int) -> dict:
    """One round of one revision: full render, no-op, --check, then one tenant edited."""
    workdir.mkdir(parents=True, exist_ok=True)
    out, cache = workdir / "out", workdir / "cache"
    shutil.rmtree(out, ignore_errors=True)
    shutil.rmtree(cache, ignore_errors=True)
    render = ["render", str(manifest), "-o", str(out), "--cache-dir", str(cache)]
    result = {"full": fleet.run([*render, "--no-cache"], code, CLI)}
    result["files"] = len(json.loads((out / ".plgen-lock.json").read_text())["files"])
    result["noop"] = fleet.run(render, code, CLI)
    result["check"] = fleet.run([*render, "--check"], code, CLI)
    if (result["full"][1], result["noop"][1], result["check"][1]) != (0, 0, 0):
        raise SystemExit(f"{code}: a render, a no-op or the --check after them exited 1")
    original = manifest.read_text()
    fleet.amend_tenant(manifest, edit)
    try:
        result["one_tenant"] = fleet.run(render, code, CLI)
    finally:
        manifest.write_text(original)
    shutil.rmtree(out, ignore_errors=True)
    shutil.rmtree(cache, ignore_errors=True)
    return result


def _each(values: list[float]) -> str:
    return ", ".join(f"{value:.2f}" for value in values)


def summary(rounds: list[dict[str, dict]]) -> str:
    lines = ["| step | base (each round) | this checkout (each round) | median base | median this | this / base |",
             "|---|---|---|---|---|---|"]
    for step in STEPS:
        base = [r["base"][step][0] for r in rounds]
        this = [r["this"][step][0] for r in rounds]
        lines.append(f"| {step} | {_each(base)} s | {_each(this)} s | {statistics.median(base):.2f} s "
                     f"| {statistics.median(this):.2f} s | {statistics.median(this) / statistics.median(base):.2f}x |")
    peak = {side: max(max(r[side][s][2] for s in STEPS) for r in rounds) / 1024 for side in ("base", "this")}
    files = {side: rounds[0][side]["files"] for side in ("base", "this")}
    lines.append(f"\nPeak RSS: base {peak['base']:.0f} MiB, this {peak['this']:.0f} MiB. "
                 f"Files rendered: base {files['base']:,}, this {files['this']:,}.")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", required=True, help="The revision to compare this checkout with.")
    parser.add_argument("--tenants", type=int, default=10000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="plgen-compare-") as tmp:
        work = Path(tmp)
        base = export(args.base, work / "base")
        manifest = work / f"fleet-{args.tenants}.yaml"
        manifest.write_text(fleet.synthetic_manifest(args.tenants))
        rounds = []
        for number in range(args.rounds):
            order = [("base", base), ("this", fleet.ROOT)]
            if number % 2:
                order.reverse()
            measured = {side: measure_side(code, manifest, work / side / "run", number) for side, code in order}
            rounds.append(measured)
            print(json.dumps({"round": number, **measured}), file=sys.stderr, flush=True)
    print(f"base {args.base}, {args.tenants:,} tenants, {args.rounds} rounds in alternation")
    print(summary(rounds))


if __name__ == "__main__":
    main()
