"""`plgen cache info` / `plgen cache prune`, and the pruning every render does: entries of
output directories that are gone or unused for the maximum age go, then the least recently
used ones beyond the maximum size; the output directories themselves are never touched."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from conftest import EXAMPLE, run_cli, tree

DAY = 86400


def render(out: Path, cache: Path, env: dict | None = None):
    result = run_cli("render", EXAMPLE, "-o", out, "--cache-dir", cache)
    assert result.exit_code == 0, result.output
    return result


def info(cache: Path) -> dict:
    result = run_cli("cache", "info", "--cache-dir", cache, "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def age(cache: Path, out: Path, days: float) -> None:
    """Make the cache entries of `out` look last used `days` ago."""
    when = time.time() - days * DAY
    row = next(r for r in info(cache)["outputs"] if r["output_dir"] == str(out))
    assert row
    for path in [*cache.glob("index-*.marshal"), *(cache / "spares").glob("*.origin")]:
        if path.name.endswith(".origin") and json.loads(path.read_text())["out_dir"] != str(out):
            continue
        if path.name.startswith("index-") and not _belongs(path, cache, out):
            continue
        os.utime(path, (when, when))


def _belongs(index: Path, cache: Path, out: Path) -> bool:
    from gen.write.cachedir import output_key

    return output_key(out) in index.name


def test_info_lists_each_output_directory_with_its_size(tmp_path: Path):
    cache = tmp_path / "cache"
    render(tmp_path / "a", cache)
    render(tmp_path / "b", cache)
    found = info(cache)
    assert {r["output_dir"] for r in found["outputs"]} == {str(tmp_path / "a"), str(tmp_path / "b")}
    assert all(r["exists"] and r["bytes"] > 0 for r in found["outputs"])
    assert found["bytes"] >= sum(r["bytes"] for r in found["outputs"])
    text = run_cli("cache", "info", "--cache-dir", cache).stdout
    assert str(tmp_path / "a") in text and "last used" in text


def test_prune_removes_entries_of_output_directories_that_are_gone_and_nothing_else(tmp_path: Path):
    cache = tmp_path / "cache"
    render(tmp_path / "a", cache)
    render(tmp_path / "b", cache)
    kept = tree(tmp_path / "a")
    for path in sorted((tmp_path / "b").rglob("*"), reverse=True):
        path.rmdir() if path.is_dir() else path.unlink()
    (tmp_path / "b").rmdir()
    result = run_cli("cache", "prune", "--cache-dir", cache, "--format", "json")
    assert result.exit_code == 0
    pruned = json.loads(result.stdout)
    assert [r["output_dir"] for r in pruned["removed"]] == [str(tmp_path / "b")] and pruned["freed_bytes"] > 0
    assert [r["output_dir"] for r in info(cache)["outputs"]] == [str(tmp_path / "a")]
    assert tree(tmp_path / "a") == kept


def test_prune_removes_entries_unused_for_the_maximum_age(tmp_path: Path):
    cache = tmp_path / "cache"
    render(tmp_path / "old", cache)
    render(tmp_path / "new", cache)
    age(cache, tmp_path / "old", 8)
    result = run_cli("cache", "prune", "--cache-dir", cache, "--max-age", "7")
    assert result.exit_code == 0 and f"removed: {tmp_path / 'old'}" in result.stdout
    assert [r["output_dir"] for r in info(cache)["outputs"]] == [str(tmp_path / "new")]
    assert (tmp_path / "old" / ".plgen-lock.json").is_file()  # the output itself stays


def test_prune_keeps_the_total_under_the_maximum_size_least_recently_used_first(tmp_path: Path):
    cache = tmp_path / "cache"
    for name, days in (("first", 3), ("second", 2), ("third", 1)):
        render(tmp_path / name, cache)
        age(cache, tmp_path / name, days)
    sizes = {r["output_dir"]: r["bytes"] for r in info(cache)["outputs"]}
    limit = sizes[str(tmp_path / "third")] + sizes[str(tmp_path / "second")] + 4096 + info(cache)["verdict_bytes"]
    result = run_cli("cache", "prune", "--cache-dir", cache, "--max-size", str(limit), "--format", "json")
    assert [r["output_dir"] for r in json.loads(result.stdout)["removed"]] == [str(tmp_path / "first")]
    assert info(cache)["bytes"] <= limit


def test_every_render_prunes_what_is_gone_or_too_old_but_not_what_was_just_used(tmp_path: Path, monkeypatch):
    cache = tmp_path / "cache"
    render(tmp_path / "stale", cache)
    render(tmp_path / "recent", cache)
    age(cache, tmp_path / "stale", 31)
    render(tmp_path / "third", cache)
    assert {r["output_dir"] for r in info(cache)["outputs"]} == {str(tmp_path / "recent"), str(tmp_path / "third")}
    monkeypatch.setenv("PLGEN_CACHE_MAX_SIZE", "1")  # everything over the limit: still, recent entries stay
    render(tmp_path / "fourth", cache)
    assert {r["output_dir"] for r in info(cache)["outputs"]} == {str(tmp_path / n) for n in ("recent", "third", "fourth")}


def test_prune_all_empties_the_cache_and_the_next_render_starts_over(tmp_path: Path):
    cache = tmp_path / "cache"
    render(tmp_path / "out", cache)
    assert run_cli("cache", "prune", "--cache-dir", cache, "--all").exit_code == 0
    assert info(cache)["outputs"] == [] and info(cache)["verdict_files"] == 0
    again = json.loads(run_cli("render", EXAMPLE, "-o", tmp_path / "out", "--cache-dir", cache, "--format", "json").stdout)
    assert again["status"] == "up-to-date" and again["verified"]["cached"] == 0


def test_bad_size_is_a_usage_error(tmp_path: Path):
    result = run_cli("cache", "prune", "--cache-dir", tmp_path, "--max-size", "lots")
    assert result.exit_code == 2 and "not a size" in result.output
