"""The lock file in runs per unit (gen.write.lockfile): encoding gives json_text's bytes; a
render that owns some units splices the others' runs from the old text and gets the bytes a
whole encode of the merged lock gives; reading the owned units gives their entries and the
header, and a layout that does not fit the bytes is refused."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings, strategies as st

from gen.quoting import json_text
from gen.write import lockfile

# Tenant ids chosen so that sorting by id and sorting by path disagree ("a" < "a-b" but
# "a-b/" < "a/"): the runs must follow the order of the paths.
UNITS = ["provider", "tenants/a", "tenants/a-b", "tenants/a.b", "tenants/a0", "tenants/ab", "tenants/b", "tenants/é"]
FILES = ["README.md", "terraform/main.tf", "terraform/terraform.tfvars.json", "bicep/main.bicep", "x/ü.txt"]
values = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=8),
                      lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children,
                                                                                           max_size=3),
                      max_leaves=6)


@st.composite
def locks(draw, units=st.lists(st.sampled_from(UNITS), unique=True, max_size=len(UNITS))):
    chosen = draw(units)
    files = {f"{unit}/{name}": draw(st.text(min_size=1, max_size=10))
             for unit in chosen for name in draw(st.lists(st.sampled_from(FILES), unique=True, max_size=3))}
    resources = {f"{unit}/terraform{workspace}": draw(st.dictionaries(st.text(max_size=6), values, max_size=3))
                 for unit in chosen for workspace in draw(st.lists(st.sampled_from(["", "@one", "@two"]),
                                                                   unique=True, max_size=2))}
    moved = {f"{unit}/terraform": [{"from": "a", "to": draw(st.text(max_size=4)), "since": "1"}]
             for unit in (draw(st.lists(st.sampled_from(chosen), unique=True)) if chosen else [])}
    identities = {"format": 1, "releases": draw(st.lists(st.text(max_size=3), max_size=2)), "resources": resources,
                  **({"moved": moved} if moved else {})}
    if draw(st.booleans()):
        identities["offboarded"] = ["x"]
    header = {"tool_version": draw(st.text(max_size=5)), "template_release": "1", "manifest_sha256": "0" * 64}
    if draw(st.booleans()):
        header["unit_releases"] = {"tenants/a": "0"}
    return {**header, "files": files, "identities": identities}


def in_units(entries: dict, owned) -> dict:
    return {key: value for key, value in entries.items() if owned(_unit(key))}


def _unit(key: str) -> str:
    return "/".join(key.split("/", 2)[:2]) if key.startswith("tenants/") else "provider"


def restricted(lock: dict, owned) -> dict:
    """The lock with only the owned units' entries in its sections."""
    identities = dict(lock["identities"])
    identities["resources"] = in_units(identities["resources"], owned)
    if "moved" in identities:
        identities["moved"] = in_units(identities["moved"], owned)
        if not identities["moved"]:
            del identities["moved"]
    return {**lock, "files": in_units(lock["files"], owned), "identities": identities}


def merged(old: dict, new: dict, owned) -> dict:
    """What the splice must give: new's header, old's entries of units not owned, new's of those owned."""
    keep = lambda unit: not owned(unit)  # noqa: E731
    identities = dict(new["identities"])
    identities["resources"] = {**in_units(old["identities"]["resources"], keep),
                               **in_units(new["identities"]["resources"], owned)}
    moved = {**in_units(old["identities"].get("moved", {}), keep), **in_units(new["identities"].get("moved", {}), owned)}
    identities.pop("moved", None)
    if moved:
        identities["moved"] = moved
    return {**new, "files": {**in_units(old["files"], keep), **in_units(new["files"], owned)}, "identities": identities}


@settings(max_examples=300)
@given(locks())
def test_encoding_gives_json_text_bytes_and_reading_everything_gives_the_lock(lock):
    data, layout = lockfile.encode(lock)
    assert data == json_text(lock).encode("utf-8")
    assert lockfile.read(data, layout, lambda unit: True) == lock
    assert lockfile.file_units(layout) == sorted({_unit(k) for k in lock["files"]}, key=lambda unit: f"{unit}/")


@settings(max_examples=300)
@given(locks(), st.sets(st.sampled_from(UNITS)))
def test_reading_owned_units_gives_the_header_and_their_entries(lock, owned_units):
    data, layout = lockfile.encode(lock)
    owned = owned_units.__contains__
    expected = restricted(lock, owned)
    if "moved" in lock["identities"] and "moved" not in expected["identities"]:
        expected["identities"]["moved"] = {}  # the section is there, with none of the owned units
    assert lockfile.read(data, layout, owned) == expected


@settings(max_examples=400)
@given(locks(), locks(), st.sets(st.sampled_from(UNITS)), st.sets(st.sampled_from(UNITS)))
def test_splicing_equals_encoding_the_merged_lock_twice_over(first, second, scope, scope_again):
    """A render owning `scope` splices `second` into `first`; another, owning `scope_again`,
    splices `first` back into that result: both times the bytes and layout are those of a
    whole encode of the merged lock."""
    old_data, old_layout = lockfile.encode(first)
    owned = scope.__contains__
    data, layout = lockfile.encode(restricted(second, owned), lockfile.OldLock(old_data, old_layout), owned)
    expected = merged(first, second, owned)
    assert (data, layout) == lockfile.encode(expected)
    assert data == json_text(expected).encode("utf-8")

    owned_again = scope_again.__contains__
    again, again_layout = lockfile.encode(restricted(first, owned_again), lockfile.OldLock(data, layout), owned_again)
    assert (again, again_layout) == lockfile.encode(merged(expected, first, owned_again))


def test_a_layout_that_does_not_fit_the_bytes_is_refused():
    lock = {"files": {"provider/a.tf": "1", "tenants/a/b.tf": "2"}, "identities": {"format": 1, "resources": {}},
            "tool_version": "x"}
    data, layout = lockfile.encode(lock)
    with pytest.raises(ValueError):
        lockfile.read(b" " + data, layout, lambda unit: True)
    shifted = json.dumps(lock, indent=2, sort_keys=True).replace('"1"', '"11"').encode()
    with pytest.raises(ValueError):
        lockfile.read(shifted, layout, lambda unit: True)
