"""Fleet-scale behaviour that must hold at any size: the double-buffered write gives the same
tree as a fresh render through any sequence of changes, the progress bar appears only on a
terminal, and the benchmark's synthetic manifests are valid."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from pathlib import Path

from conftest import EXAMPLE, ROOT, run_cli, tree

sys.path.insert(0, str(ROOT / "benchmarks"))
from fleet import synthetic_manifest  # noqa: E402


def _variants() -> list[tuple[str, str]]:
    base = EXAMPLE.read_text()
    return [
        ("base", base),
        ("message", base.replace("order=4471", "order=4472")),
        ("offboard-globex", base.replace("order=4471", "order=4472").replace(
            "    approval: manual\n    request_message: \"tenant=globex", "    approval: manual\n    state: offboarded\n    request_message: \"tenant=globex")),
        ("back", base),
        ("alias-known", base.replace("alias: null     # not created yet: its tenants' bundles wait for the alias",
                                     "alias: pls-contoso-api-weu-1.11111111-2222-4333-8444-555555555555.westeurope.azure.privatelinkservice")),
        ("back-again", base),
    ]


def test_double_buffered_writes_equal_fresh_renders(tmp_path: Path):
    cache = tmp_path / "state"
    out = tmp_path / "out"
    manifest = tmp_path / "tenants.yaml"
    for step, (name, text) in enumerate(_variants()):
        manifest.write_text(text)
        if step == 2:
            (out / "tenants" / "acme" / "NOTES.md").write_text("user file\n")
            os.symlink("README.md", out / "tenants" / "acme" / "GUIDE.md")
        result = run_cli("render", manifest, "-o", out, "--cache-dir", cache)
        assert result.exit_code == 0, (name, result.output)
        fresh = tmp_path / f"fresh-{step}"
        assert run_cli("render", manifest, "-o", fresh, "--no-cache", "--cache-dir", tmp_path / f"s{step}").exit_code == 0
        expected = tree(fresh)
        actual = tree(out)
        if step >= 2:
            assert actual.pop("tenants/acme/NOTES.md") == b"user file\n"
            assert os.readlink(out / "tenants" / "acme" / "GUIDE.md") == "README.md"
            actual.pop("tenants/acme/GUIDE.md")
        assert actual == expected, name
        spares = [p for p in (cache / "spares").iterdir() if p.is_dir()]
        assert len(spares) == 1
        assert os.stat(spares[0]).st_ino != os.stat(out).st_ino


def test_stale_or_damaged_spare_is_repaired(tmp_path: Path):
    cache, out = tmp_path / "state", tmp_path / "out"
    assert run_cli("render", EXAMPLE, "-o", out, "--cache-dir", cache).exit_code == 0
    spare = next(p for p in (cache / "spares").iterdir() if p.is_dir())  # not its .origin file beside it
    # damage the spare: a stray file, a missing file, a directory where a file belongs
    (spare / "stray.txt").write_text("x")
    (spare / "tenants" / "acme" / "README.md").unlink()
    (spare / "provider" / "terraform" / "versions.tf").unlink()
    (spare / "provider" / "terraform" / "versions.tf").mkdir()
    changed = tmp_path / "tenants.yaml"
    changed.write_text(EXAMPLE.read_text().replace("order=4471", "order=4472"))
    assert run_cli("render", changed, "-o", out, "--cache-dir", cache).exit_code == 0
    fresh = tmp_path / "fresh"
    assert run_cli("render", changed, "-o", fresh, "--cache-dir", tmp_path / "s2").exit_code == 0
    assert tree(out) == tree(fresh)


def test_spare_changed_after_a_swap_is_scanned_not_trusted(tmp_path: Path):
    """After a swap the spare (the tree before last) is recorded so that the next write need
    not scan it; a file removed or added deep inside it since voids that record."""
    cache, out = tmp_path / "state", tmp_path / "out"
    manifest = tmp_path / "tenants.yaml"
    for order in ("4471", "4472", "4473"):
        manifest.write_text(EXAMPLE.read_text().replace("order=4471", f"order={order}"))
        assert run_cli("render", manifest, "-o", out, "--cache-dir", cache).exit_code == 0
        if order == "4472":
            spare = next(p for p in (cache / "spares").iterdir() if p.is_dir())
            (spare / "tenants" / "globex" / "terraform" / "main.tf").unlink()  # a unit the next render keeps
            (spare / "tenants" / "globex" / "bicep" / "stray.bicep").write_text("x")
    fresh = tmp_path / "fresh"
    assert run_cli("render", manifest, "-o", fresh, "--cache-dir", tmp_path / "s2").exit_code == 0
    assert tree(out) == tree(fresh)


def test_hand_edit_in_place_is_seen_through_shared_inodes(tmp_path: Path):
    cache, out = tmp_path / "state", tmp_path / "out"
    assert run_cli("render", EXAMPLE, "-o", out, "--cache-dir", cache).exit_code == 0
    target = out / "tenants" / "acme" / "terraform" / "main.tf"
    with open(target, "r+") as handle:  # in place: the spare shares this inode
        handle.seek(0, 2)
        handle.write("# edited\n")
    result = run_cli("render", EXAMPLE, "-o", out, "--cache-dir", cache)
    assert result.exit_code == 1 and "edited by hand" in result.stderr
    assert run_cli("render", EXAMPLE, "-o", out, "--cache-dir", cache, "--force").exit_code == 0
    assert not target.read_text().endswith("# edited\n")


def test_progress_bar_only_on_a_terminal(tmp_path: Path):
    env = {**os.environ, "PLGEN_PROGRESS_AFTER": "0", "XDG_CACHE_HOME": str(tmp_path / "xdg")}
    piped = subprocess.run([sys.executable, "-m", "gen.cli", "render", str(EXAMPLE), "-o", str(tmp_path / "a")],
                           capture_output=True, text=True, env=env, cwd=ROOT)
    assert piped.returncode == 0 and "plgen: " not in piped.stderr
    leader, follower = pty.openpty()
    process = subprocess.Popen([sys.executable, "-m", "gen.cli", "render", str(EXAMPLE), "-o", str(tmp_path / "b")],
                               stdout=subprocess.PIPE, stderr=follower, env=env, cwd=ROOT)
    os.close(follower)
    seen = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    assert process.wait() == 0
    os.close(leader)
    assert b"plgen: write" in seen and b"\r" in seen


def test_synthetic_fleet_manifests_are_valid_and_shard_correctly(tmp_path: Path):
    for size in (50, 1500):
        manifest = tmp_path / f"fleet-{size}.yaml"
        manifest.write_text(synthetic_manifest(size))
        result = run_cli("validate", manifest, "--format", "json")
        assert result.exit_code == 0, result.output
    assert "visibility: public" in synthetic_manifest(1500)


def test_spares_of_deleted_output_directories_are_pruned(tmp_path: Path):
    import shutil

    cache = tmp_path / "state"
    for name in ("gone", "kept"):
        assert run_cli("render", EXAMPLE, "-o", tmp_path / name, "--cache-dir", cache).exit_code == 0
    assert len([p for p in (cache / "spares").iterdir() if p.is_dir()]) == 2
    shutil.rmtree(tmp_path / "gone")
    changed = tmp_path / "tenants.yaml"
    changed.write_text(EXAMPLE.read_text().replace("order=4471", "order=4472"))
    assert run_cli("render", changed, "-o", tmp_path / "kept", "--cache-dir", cache).exit_code == 0
    spares = [p for p in (cache / "spares").iterdir() if p.is_dir()]
    assert len(spares) == 1
    assert json.loads((spares[0].with_suffix(".origin")).read_text())["out_dir"] == str(tmp_path / "kept")
