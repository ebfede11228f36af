"""The HCL quoting filter against HCL's escape rules (hclsyntax spec): every text reads back
exactly, through our decoder and through python-hcl2."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gen.quoting import hcl_quote, markdown_code, markdown_text
from gen.verify import hcl


@pytest.mark.parametrize(("value", "literal"), [
    ("plain", '"plain"'),
    ('say "hi"', '"say \\"hi\\""'),
    ("back\\slash", '"back\\\\slash"'),
    ("${path.cwd}", '"$${path.cwd}"'),
    ("%{ if true }x%{ endif }", '"%%{ if true }x%%{ endif }"'),
    ("$${x}", '"$$${x}"'),
    ("$ alone % alone", '"$ alone % alone"'),
    ("line\nEOT\n", '"line\\nEOT\\n"'),
    ("tab\tcr\r", '"tab\\tcr\\r"'),
    ("bidi\u202e", '"bidi\\u202E"'),
    ("nul\x00", '"nul\\u0000"'),
    ("emoji 😀 */ # //", '"emoji 😀 */ # //"'),
])
def test_hcl_quote_escapes(value, literal):
    assert hcl_quote(value) == literal
    assert hcl.decode_string(literal) == value


@settings(max_examples=300)
@given(st.text())
def test_hcl_quote_round_trips_any_text(value):
    literal = hcl_quote(value)
    assert hcl.decode_string(literal) == value
    if "${" not in value and "%{" not in value:
        # python-hcl2 cannot parse some escaped template sequences ("$${" at the end of a
        # string); real Terraform can: see the harness test below.
        parsed = hcl.parse(f"x = {literal}\n")
        assert parsed["x"] == literal  # python-hcl2 sees one plain string literal, nothing else


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.lists(st.text(min_size=1, max_size=30), min_size=1, max_size=12))
def test_terraform_reads_hcl_quote_literals_back(values, tmp_path_factory):
    """Ground truth for the filter: real Terraform evaluates the quoted literals."""
    import shutil

    from tf_harness import apply

    terraform = shutil.which("terraform")
    if terraform is None:
        pytest.skip("terraform is not on PATH")
    values = values + ["${path.cwd}", "%{ if true }x%{ endif }", "$${x}", "${", "%{"]
    main = "".join(f'output "o{i}" {{\n  value = {hcl_quote(v)}\n}}\n' for i, v in enumerate(values))
    outputs = apply(terraform, tmp_path_factory.mktemp("hcl"), {"main.tf": main})
    assert [outputs[f"o{i}"] for i in range(len(values))] == values


@pytest.mark.parametrize("raw", ['"${var.x}"', '"%{if x}y%{endif}"', '"bad \\q"', '"\\u12"', 'var.x', '"a"b"'])
def test_decoder_refuses_what_a_literal_must_not_be(raw):
    with pytest.raises(hcl.HclError):
        hcl.decode_string(raw)


def test_hcl_quote_refuses_non_text():
    with pytest.raises(TypeError):
        hcl_quote(True)


def test_markdown_text_is_inert():
    assert markdown_text("[x](javascript:1) <b>*y*</b> a|b") == "\\[x\\](javascript:1) &lt;b&gt;\\*y\\*&lt;/b&gt; a\\|b"
    assert markdown_code("a `b` c") == "``a `b` c``"
    assert markdown_code("`x") == "`` `x ``"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children) | st.dictionaries(st.text(), children),
    max_leaves=30,
)


@settings(max_examples=300)
@given(json_values)
def test_json_text_is_byte_identical_to_the_standard_encoder(value):
    import json

    from gen.quoting import json_text

    assert json_text(value) == json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def test_hcl_parses_in_parallel_threads_do_not_corrupt_each_other():
    """python-hcl2 serializes with one mutable context shared by every call (its issue #327):
    a parse of a function call in one thread turned lists in another into their source text.
    gen.verify.hcl parses one at a time."""
    from concurrent.futures import ThreadPoolExecutor

    plain, toggles = "x = [1, 2, 3]\ny = {a = 1}\n", "z = f([1, 2, 3], {a = 1})\n"
    expected = hcl.parse(plain)
    assert expected["x"] == [1, 2, 3]

    def work(index: int):
        return hcl.parse(toggles) if index % 2 else hcl.parse(plain)

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = [r for i, r in enumerate(pool.map(work, range(400))) if i % 2 == 0]
    assert all(result == expected for result in results)
