"""`plgen changes` at fleet scale, through the real CLI (wall time and peak RSS per run):

- `changes BASE NEW`: NEW adds 100 tenants to a synthetic fleet (benchmarks/fleet.py);
- `changes NEW -o out`: the same, against BASE rendered into a directory;
- `changes BASE NEW --format markdown` where every tenant's bundle changes (the FQDN) and every
  auto-approval is withdrawn: the comment's size.

    python benchmarks/changes.py                 # 10,000 tenants
    python benchmarks/changes.py --tenants 1000
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fleet import ROOT, run, synthetic_manifest  # noqa: E402


def added_tenants(base: str, first: int, count: int) -> str:
    shards = re.findall(r"- \{name: (pls-fleet-(\w+)-\d+),", base)
    lines = []
    for t in range(first, first + count):
        name, location = shards[t % len(shards)]
        subscription = f"{t:08x}-0000-4000-8000-{t:012x}"
        lines += [f"  - id: tenant-{t:05d}", f'    display_name: "Tenant {t}"', f"    region: {location}",
                  f"    link_service: {name}", f"    subscriptions: [{subscription}]"]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tenants", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="plgen-changes-") as temp:
        work = Path(temp)
        base = synthetic_manifest(args.tenants)
        (work / "base.yaml").write_text(base)
        (work / "new.yaml").write_text(base + added_tenants(base, args.tenants, 100))
        (work / "busy.yaml").write_text(base.replace("api.fleet.example.com", "api2.fleet.example.com")
                                        .replace("approval: auto", "approval: manual"))
        run(["render", str(work / "base.yaml"), "-o", str(work / "out"), "--cache-dir", str(work / "cache")], ROOT)
        rows = [
            ("changes BASE NEW (100 tenants added)", ["changes", "base.yaml", "new.yaml"]),
            ("changes NEW -o out", ["changes", "new.yaml", "-o", "out"]),
            ("changes BASE BUSY --format markdown", ["changes", "base.yaml", "busy.yaml", "--format", "markdown"]),
        ]
        print(f"{args.tenants} tenants")
        for label, command in rows:
            seconds, code, rss = run(command, work)
            print(f"  {label:<40} {seconds:6.2f} s  {rss / 1024:6.0f} MiB  exit {code}")
        comment = subprocess.run([sys.executable, "-m", "gen.cli", "changes", "base.yaml", "busy.yaml", "--format",
                                  "markdown"], cwd=work, capture_output=True, text=True, check=True).stdout
        print(f"  markdown comment: {len(comment):,} characters")


if __name__ == "__main__":
    main()
