"""The template release each unit's files were rendered with, in the lock.

The lock's `template_release` is the release of the render that wrote it. A render that leaves
units as they are (`--only`, or an incremental render's unchanged units) keeps their files, and
those files may come from an earlier release. The lock records those units, and only those,
in `unit_releases` ({"tenants/acme": "1"}); a unit that is not listed was rendered with
`template_release`. A full render lists none, so the key is absent and a 10,000-tenant lock
grows by nothing; `gen.write.changes.lock_header` (what a no-op render compares) is unchanged.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

from .plan.units import unit_of
from .write.changes import Scope, in_scope

LOCK_KEY = "unit_releases"


def release_of(lock: Mapping[str, Any], unit: str) -> str | None:
    """The release `unit` ("provider", "tenants/<id>") was rendered with, as `lock` records it
    (None: the lock does not say, e.g. it was written before plgen recorded releases)."""
    recorded = lock.get(LOCK_KEY)
    if isinstance(recorded, dict) and isinstance(recorded.get(unit), str):
        return recorded[unit]
    release = lock.get("template_release")
    return release if isinstance(release, str) else None


def lock_entry(old_lock: Mapping[str, Any], release: str, rendered: Iterable[str], scope: Scope,
               old_units: Iterable[str] = ()) -> dict[str, Any]:
    """The lock's `unit_releases` after a render with `release` that rendered the units
    `rendered` and owns the paths in `scope` (None: all of them). Units it keeps from the old
    lock keep the release recorded for them; {} when every unit is at `release`. `old_units`:
    the units the old lock lists, when `old_lock` holds only those in scope (gen.write.lockfile)."""
    if scope is None:
        return {}  # every unit is rendered again or gone
    rendered = set(rendered)
    recorded = old_lock.get(LOCK_KEY) if isinstance(old_lock.get(LOCK_KEY), dict) else {}
    old_default = old_lock.get("template_release")

    def kept(unit: str) -> bool:
        return unit not in rendered and not in_scope(f"{unit}/", scope)

    if old_default == release or not isinstance(old_default, str):
        # only the units listed before can be at another release (a lock without a release
        # says nothing about its units)
        entries = {unit: value for unit, value in recorded.items()
                   if isinstance(value, str) and value != release and kept(unit)}
    else:
        units = set(old_units) or {unit_of(path) for path in old_lock.get("files", {})}
        entries = {}
        for unit in units:
            value = recorded.get(unit, old_default)
            if isinstance(value, str) and value != release and kept(unit):
                entries[unit] = value
    return {LOCK_KEY: dict(sorted(entries.items()))} if entries else {}
