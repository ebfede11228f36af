"""Counterexamples the property test over the manifest space found (tests/test_manifest_space.py)
that validate rightly accepts: each once broke rendering or the Azure-rules oracle (a Bicep
symbol that is a keyword or collides across regions, a '|' or trailing backslash in free text
inside a guide's table, a Bicep deployment name over 64 characters). Each must render and pass
verification, the oracle included. The refused ones are in tests/invalid/pt-*.yaml."""

from __future__ import annotations

from pathlib import Path

import pytest

from gen import api
from gen.verify import oracle

REGRESSIONS = sorted((Path(__file__).parent / "regressions").glob("*.yaml"))


@pytest.mark.parametrize("manifest", REGRESSIONS, ids=[p.stem for p in REGRESSIONS])
def test_counterexample_renders_and_breaks_no_azure_rule(manifest: Path):
    rendered = api.render_manifest(manifest)  # raises VerificationError if the oracle objects
    assert rendered.files
    assert oracle.check_tree(rendered.files) == []
