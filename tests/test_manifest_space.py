"""Issue 15: across the whole manifest schema, validate refuses with located messages, or the
real pipeline (plan -> render -> verify, in memory, nothing written) succeeds.

Verification is the oracle: it raises VerificationError when rendered output breaks one of
Azure's rules, so a manifest that validate accepts and verification refuses is a gap in
validate (or a bug in plan or the templates). Any other exception from plan or render is a
bug too. The manifests come from `manifest_strategy.manifests()`: mostly valid, with rare
deliberate edges.

CI runs a fixed, derandomized set of PLGEN_MANIFEST_EXAMPLES examples (default 300: about a
minute on two cores, 0.2 s per example on average; a failure adds a few minutes of
shrinking). For a release, run the long version (later examples grow larger, so 5000 take
well over half an hour):

    PLGEN_MANIFEST_EXAMPLES=5000 .venv/bin/python -m pytest -q -p no:cacheprovider tests/test_manifest_space.py

or `benchmarks/manifest_space.py`, which keeps going after a failure, groups the failures
by kind and shrinks one example of each (see its docstring).

Rendering each manifest twice to compare the trees is left out: it would add about 40% to
every example, and within one process (one hash seed) it proves little; test_golden.py
checks determinism across processes.
"""

from __future__ import annotations

import os

import yaml
from hypothesis import HealthCheck, event, given, note, settings

from gen import errors
from gen.api import render_loaded
from gen.load import load_text
from gen.validate import validate
from manifest_strategy import manifests

SOURCE = "generated.yaml"
EXAMPLES = int(os.environ.get("PLGEN_MANIFEST_EXAMPLES", "300"))

MANIFEST_SPACE_SETTINGS = settings(
    max_examples=EXAMPLES,
    derandomize=True,  # the same examples every run, in CI and locally
    database=None,  # nothing written to .hypothesis/; derandomized runs replay anyway
    deadline=None,
    print_blob=False,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)


def dump(manifest: dict) -> str:
    return yaml.safe_dump(manifest, sort_keys=False, allow_unicode=True)


def unlocated(error: errors.PlgenError) -> list[errors.Problem]:
    """The problems of a refusal that do not say where: a line and a field path."""
    return [p for p in error.problems if not (p.location.file == SOURCE and p.location.line >= 1 and p.location.path)]


def check_manifest_text(text: str) -> str:
    """The property for one manifest: "refused" (every problem located) or "rendered"; raises
    AssertionError or the pipeline's own exception otherwise."""
    try:
        document = load_text(text, SOURCE)
        manifest = validate(document)
    except errors.ManifestError as err:
        missing = unlocated(err)
        assert not missing, "refused without a location:\n" + "\n".join(map(str, missing))
        return "refused"
    # validate accepted it: plan, render and verify must succeed (VerificationError, a
    # ManifestError from plan, or any traceback fails the test)
    render_loaded(manifest, document, SOURCE, cache_dir=None)
    return "rendered"


@MANIFEST_SPACE_SETTINGS
@given(manifest=manifests())
def test_generated_manifests_are_refused_with_locations_or_render(manifest):
    text = dump(manifest)
    note(f"--- generated.yaml ---\n{text}")
    try:
        outcome = check_manifest_text(text)
    except errors.PlgenError as err:
        note("problems:\n" + "\n".join(str(p) for p in err.problems))
        raise
    event(outcome)
