"""Long run of the manifest-space property (issue 15) for releases.

tests/test_manifest_space.py checks a fixed set of examples and stops at the first failure.
This script draws many more from the same strategy (tests/manifest_strategy.py), keeps going
after failures, groups them by kind (one per distinct problem: the exception type and message
with names, numbers and links blanked out), and with --shrink lets Hypothesis shrink one
example of each kind. The shortest example of each kind is written to --out as
<n>-<kind>.yaml with the error text in a comment at the top.

    .venv/bin/python benchmarks/manifest_space.py                      # 5000 examples
    .venv/bin/python benchmarks/manifest_space.py --examples 20000 --seed 7 --out /tmp/space
    .venv/bin/python benchmarks/manifest_space.py --examples 2000 --shrink --out /tmp/space

It exits 1 when any example fails. The same property, stopping at the first failure and
shrinking it, is also available through pytest:

    PLGEN_MANIFEST_EXAMPLES=5000 .venv/bin/python -m pytest -q -p no:cacheprovider tests/test_manifest_space.py
"""

from __future__ import annotations

import argparse
import atexit
import os
import re
import shutil
import sys
import tempfile
import time
import traceback
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
# like the tests: never read or write the user's cache (render runs with cache_dir=None anyway)
os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="plgen-space-cache-")
atexit.register(shutil.rmtree, os.environ["XDG_CACHE_HOME"], ignore_errors=True)

from hypothesis import HealthCheck, Phase, given, seed, settings  # noqa: E402

from gen import errors  # noqa: E402
from manifest_strategy import manifests  # noqa: E402
from test_manifest_space import check_manifest_text, dump  # noqa: E402


def kinds_of(err: BaseException) -> set[str]:
    """A failure's kinds: one per problem (or one for an exception that is no PlgenError), with
    names, numbers and links blanked out."""
    if isinstance(err, errors.PlgenError):
        return {f"{type(err).__name__}: {_blank(p.message)}" for p in err.problems}
    frame = traceback.extract_tb(err.__traceback__)[-1] if err.__traceback__ else None
    where = f" (at {Path(frame.filename).name}:{frame.name})" if frame else ""
    return {f"{type(err).__name__}: {_blank(str(err).split(chr(10), 1)[0])}{where}"}


def _blank(text: str) -> str:
    text = re.sub(r"\s*\[https?://[^\]]*\]", "", text)
    text = re.sub(r"'[^']*'", "'…'", text)
    text = re.sub(r'"[^"]*"', '"…"', text)
    text = re.sub(r"\b(resource|module) [A-Za-z_][\w.]*", r"\1 …", text)
    text = re.sub(r"\(site [^)]*\)", "(site …)", text)
    return re.sub(r"\d+", "N", text)


def slug(kind: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", kind.lower()).strip("-")[:60]


class Explorer:
    def __init__(self, examples: int, seed_value: int | None, shrink_target: str | None = None):
        self.outcomes: Counter[str] = Counter()
        self.failures: dict[str, tuple[str, str]] = {}  # kind -> (shortest manifest text, error text)
        self.counts: Counter[str] = Counter()
        self.target = shrink_target
        self.last: tuple[str, str] | None = None
        phases = [Phase.generate, Phase.shrink] if shrink_target else [Phase.generate]

        @settings(max_examples=examples, derandomize=seed_value is None, database=None, deadline=None,
                  phases=phases, suppress_health_check=list(HealthCheck), print_blob=False)
        @given(manifest=manifests())
        def explore(manifest):
            text = dump(manifest)
            try:
                self.outcomes[check_manifest_text(text)] += 1
            except Exception as err:  # noqa: BLE001 - every failure is recorded, by kind
                kinds = kinds_of(err)
                details = "".join(traceback.format_exception_only(err)) if isinstance(err, errors.PlgenError) else \
                    "".join(traceback.format_exception(err))
                if self.target is None:
                    self.outcomes["failed"] += 1
                    for kind in kinds:
                        self.counts[kind] += 1
                        # keep the shortest example of each kind (fewest other problems in the way)
                        if kind not in self.failures or len(text) < len(self.failures[kind][0]):
                            self.failures[kind] = (text, details)
                elif self.target in kinds:
                    self.last = (text, details)
                    raise

        self.run = seed(seed_value)(explore) if seed_value is not None else explore


def comment(text: str) -> str:
    return "".join(f"# {line}\n" if line else "#\n" for line in text.rstrip("\n").split("\n"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--examples", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=None, help="a seed (default: derandomized, the same examples every run)")
    parser.add_argument("--out", type=Path, default=None, help="write one manifest per failure kind here")
    parser.add_argument("--shrink", action="store_true", help="shrink one example of each failure kind (slow)")
    args = parser.parse_args()

    started = time.monotonic()
    explorer = Explorer(args.examples, args.seed)
    explorer.run()
    elapsed = time.monotonic() - started
    total = sum(explorer.outcomes.values())
    print(f"{total} examples in {elapsed:.1f} s ({1000 * elapsed / max(total, 1):.0f} ms each): "
          + ", ".join(f"{n} {outcome}" for outcome, n in explorer.outcomes.most_common()))
    found = dict(explorer.failures)
    for number, (kind, (text, details)) in enumerate(sorted(found.items()), 1):
        print(f"\n[{number}] {explorer.counts[kind]}x {kind}")
        if args.shrink:
            shrinker = Explorer(args.examples, args.seed, shrink_target=kind)
            try:
                shrinker.run()
            except Exception:  # noqa: BLE001 - the shrunk failure, expected
                pass
            if shrinker.last is not None:
                text, details = shrinker.last
        if args.out is not None:
            args.out.mkdir(parents=True, exist_ok=True)
            target = args.out / f"{number:02d}-{slug(kind)}.yaml"
            target.write_text(comment(f"{kind}\n\n{details}") + text, encoding="utf-8")
            print(f"    {target}")
        else:
            print(details.rstrip())
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
