"""Stage 1: YAML is read strictly, every value is located, and abuse is refused."""

from __future__ import annotations

import unicodedata

import pytest

from gen.errors import ManifestError
from gen.load import MAX_DEPTH, MAX_MANIFEST_BYTES, load_file, load_text


def error_of(text: str) -> str:
    with pytest.raises(ManifestError) as info:
        load_text(text, "m.yaml")
    return str(info.value)


def test_values_carry_their_line_and_column():
    document = load_text("a:\n  b: [x, 'y']\n", "m.yaml")
    assert document.data == {"a": {"b": ["x", "y"]}}
    assert document.locate(("a", "b", 1)).line == 2
    assert document.locate(("a", "b", 1)).column == 10
    assert str(document.locate(("a", "b", 1))) == "m.yaml:2:10: a.b[1]"


def test_missing_field_is_located_at_its_parent():
    document = load_text("a:\n  b: 1\n", "m.yaml")
    assert str(document.locate(("a", "c"))) == "m.yaml:2:3: a.c"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a: 1\na: 2\n", "m.yaml:2:1: a: duplicate key 'a'"),
        ("a: &x 1\nb: *x\n", "m.yaml:1:4: a: YAML anchors (&name) are not allowed"),
        ("a: !!python/object/apply:os.system [ls]\n", "YAML tags (tag:yaml.org,2002:python/object/apply:os.system) are not allowed"),
        ("a: !custom x\n", "YAML tags (!custom) are not allowed"),
        ("1: x\n", "mapping keys must be plain strings"),
        ("? [a]\n: x\n", "mapping keys must be plain strings"),
        ("a: b\n---\nc: d\n", "the manifest must be a single YAML document"),
        ("", "the manifest is empty"),
        ("a: [\n", "m.yaml:2:1: YAML syntax"),
        ("a: \"\\x\"\n", "YAML syntax"),
    ],
    ids=["duplicate-key", "anchor", "python-tag", "custom-tag", "int-key", "complex-key", "two-documents",
         "empty", "unclosed", "bad-escape"],
)
def test_refused_yaml(text, expected):
    assert expected in error_of(text)


def test_billion_laughs_is_refused_at_the_first_anchor():
    bomb = 'a: &a ["lol","lol"]\nb: &b [*a,*a]\nc: &c [*b,*b]\nd: &d [*c,*c]\n'
    assert "m.yaml:1:4: a: YAML anchors" in error_of(bomb)


def test_alias_without_anchor_is_refused():
    assert "YAML" in error_of("a: *nothing\n")


def test_deep_nesting_is_refused():
    text = "a: " + "[" * (MAX_DEPTH + 5) + "]" * (MAX_DEPTH + 5) + "\n"
    assert f"nested deeper than {MAX_DEPTH} levels" in error_of(text)


@pytest.mark.parametrize(
    ("scalar", "value"),
    [("no", False), ("yes", True), ("0123", 83), ("1e3", 1000.0), ("0o17", 15), ("0x1F", 31), ("~", None),
     ("'no'", "no"), ('"0123"', "0123"), ("1e3x", "1e3x"), ("10.0.0.0/24", "10.0.0.0/24")],
)
def test_implicit_types_are_resolved_so_text_fields_can_refuse_them(scalar, value):
    assert load_text(f"a: {scalar}\n", "m.yaml").data["a"] == value


def test_text_is_normalised_to_nfc():
    decomposed = unicodedata.normalize("NFD", "Zürich")
    assert decomposed != "Zürich"
    document = load_text(f'name: "{decomposed}"\n{decomposed}: x\n', "m.yaml")
    assert document.data["name"] == "Zürich"
    assert "Zürich" in document.data


def test_file_size_cap(tmp_path):
    big = tmp_path / "big.yaml"
    big.write_bytes(b"a: " + b"x" * (MAX_MANIFEST_BYTES + 1) + b"\n")
    with pytest.raises(ManifestError, match="larger than the 10 MiB limit"):
        load_file(big)


def test_unreadable_and_non_utf8_files(tmp_path):
    with pytest.raises(ManifestError, match="not found"):
        load_file(tmp_path / "missing.yaml")
    with pytest.raises(ManifestError, match="is a directory"):
        load_file(tmp_path)
    latin = tmp_path / "latin.yaml"
    latin.write_bytes(b"a: \xe9\n")
    with pytest.raises(ManifestError, match="not UTF-8"):
        load_file(latin)
