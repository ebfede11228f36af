"""Incremental rendering: a unit (the provider, each tenant) whose input digest and files on
disk match the last verified write is neither rendered, verified nor hashed again; everything
that could make that unsafe invalidates it, and the output stays byte-identical to a render
from scratch."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings, strategies as st

import gen
import gen.resources
from conftest import EXAMPLE, ROOT, run_cli, tree

TENANT = "tenants/acme"
TENANT_VALUES = f"{TENANT}/terraform/terraform.tfvars.json"


def render(manifest: Path, out: Path, cache: Path, *extra) -> dict:
    result = run_cli("render", manifest, "-o", out, "--cache-dir", cache, "--format", "json", *extra)
    assert result.exit_code in (0, 1), result.output
    return {"exit": result.exit_code, "output": result.output, **json.loads(result.stdout or "{}")}


def from_scratch(manifest: Path, tmp_path: Path) -> dict[str, bytes]:
    """The tree a render into an empty directory with an empty cache gives."""
    scratch = tmp_path / f"scratch-{len(list(tmp_path.glob('scratch-*')))}"
    result = run_cli("render", manifest, "-o", scratch / "out", "--cache-dir", scratch / "cache", "--no-cache")
    assert result.exit_code == 0, result.output
    return tree(scratch / "out")


@pytest.fixture
def setup(tmp_path: Path):
    manifest = tmp_path / "tenants.yaml"
    manifest.write_text(EXAMPLE.read_text())
    out, cache = tmp_path / "out", tmp_path / "cache"
    first = render(manifest, out, cache)
    assert first["exit"] == 0 and first["verified"]["cached"] == 0
    return manifest, out, cache


def files_in(out: Path) -> int:
    return len(json.loads((out / ".plgen-lock.json").read_text())["files"])


def test_no_op_renders_and_verifies_nothing_and_check_agrees(setup):
    manifest, out, cache = setup
    before = {p: os.stat(out / p).st_ino for p in tree(out)}
    again = render(manifest, out, cache)
    assert again["status"] == "up-to-date"
    assert again["verified"]["cached"] == files_in(out) == again["verified"]["files"]
    assert again["verified"]["parsed"] == again["verified"]["rendered"] == 0
    assert {p: os.stat(out / p).st_ino for p in tree(out)} == before
    check = render(manifest, out, cache, "--check")
    assert check["exit"] == 0 and check["status"] == "up-to-date"


def test_one_tenant_edit_renders_that_tenant_only_and_equals_a_render_from_scratch(setup, tmp_path: Path):
    manifest, out, cache = setup
    manifest.write_text(manifest.read_text().replace("order=4471", "order=4472"))
    result = render(manifest, out, cache)
    tenant_files = sum(1 for p in tree(out) if p.startswith(TENANT + "/"))
    assert TENANT_VALUES in result["changed"]
    assert all(p.startswith(TENANT + "/") or p == ".plgen-lock.json" for p in result["changed"])
    assert result["verified"]["cached"] == files_in(out) - tenant_files
    assert result["verified"]["rendered"] == tenant_files
    assert tree(out) == from_scratch(manifest, tmp_path)


def test_check_that_finds_drift_keeps_the_state_for_the_next_render(setup):
    manifest, out, cache = setup
    manifest.write_text(manifest.read_text().replace("order=4471", "order=4472"))
    check = render(manifest, out, cache, "--check")
    assert check["exit"] == 1 and TENANT_VALUES in check["changed"]
    tenant_files = sum(1 for p in tree(out) if p.startswith(TENANT + "/"))
    result = render(manifest, out, cache)
    assert result["verified"]["rendered"] == tenant_files  # not everything again


def test_provider_only_edit_leaves_the_tenants_alone(setup, tmp_path: Path):
    manifest, out, cache = setup
    manifest.write_text(manifest.read_text().replace("cost-center: \"4471\"", "cost-center: \"4472\""))
    result = render(manifest, out, cache)
    assert result["changed"] and all(p.startswith("provider/") or p == ".plgen-lock.json" for p in result["changed"])
    provider_files = sum(1 for p in tree(out) if p.startswith("provider/"))
    assert result["verified"]["cached"] == files_in(out) - provider_files
    assert result["verified"]["rendered"] == provider_files
    assert tree(out) == from_scratch(manifest, tmp_path)


def test_template_edited_in_place_without_a_version_bump_is_rendered_again(setup, tmp_path: Path):
    manifest, out, cache = setup
    templates = tmp_path / "templates"
    shutil.copytree(ROOT / "templates", templates)
    assert render(manifest, out, cache, "--templates", templates)["status"] == "up-to-date"
    readme = templates / "docs" / "tenant-README.md.j2"
    readme.write_text(readme.read_text().replace("## Keep connections alive", "## Keep your connections alive"))
    result = render(manifest, out, cache, "--templates", templates)
    # the fingerprint changed: nothing is trusted
    assert result["verified"]["cached"] == 0 and result["verified"]["rendered"] == files_in(out)
    assert "Keep your connections alive" in (out / TENANT / "README.md").read_text()
    assert (templates / "VERSION").read_text() == (ROOT / "templates" / "VERSION").read_text()


def test_changed_reference_file_renders_and_verifies_everything(setup, tmp_path: Path, monkeypatch):
    manifest, out, cache = setup
    schemas = tmp_path / "schemas"
    shutil.copytree(ROOT / "schemas", schemas)
    monkeypatch.setattr(gen.resources, "schemas_dir", lambda: schemas)
    assert render(manifest, out, cache)["verified"]["cached"] == files_in(out)  # same bytes, same fingerprint
    notes = schemas / "reference" / "README.md"
    notes.write_text(notes.read_text() + "\nA reference file changed.\n")
    result = render(manifest, out, cache)
    assert result["verified"]["cached"] == 0 and result["verified"]["rendered"] == files_in(out)


def test_another_plgen_version_trusts_nothing(setup, monkeypatch):
    manifest, out, cache = setup
    monkeypatch.setattr(gen, "__version__", gen.__version__ + "+other")
    result = render(manifest, out, cache, "--check")
    assert result["verified"]["cached"] == 0 and result["verified"]["rendered"] == files_in(out)


def test_hand_edit_in_an_unchanged_unit_is_found_and_stops_the_render(setup):
    manifest, out, cache = setup
    (out / TENANT_VALUES).write_text("{}\n")
    check = render(manifest, out, cache, "--check")
    assert check["exit"] == 1 and TENANT_VALUES in check["edited"]
    stopped = render(manifest, out, cache)
    assert stopped["exit"] == 1 and "edited by hand" in stopped["output"]
    assert render(manifest, out, cache, "--force")["exit"] == 0
    assert json.loads((out / TENANT_VALUES).read_text())["request_message"] == "tenant=acme order=4471"


def test_same_size_hand_edit_with_the_old_mtime_is_still_found(setup):
    """An edit that keeps size and modification time (a careful tool, or `touch -r`) still
    gets a new inode when it writes through a new file, as editors and git do."""
    manifest, out, cache = setup
    path = out / TENANT_VALUES
    st = path.stat()
    text = path.read_text().replace("4471", "4470")
    replacement = path.with_name("edit.tmp")
    replacement.write_text(text)
    os.utime(replacement, ns=(st.st_atime_ns, st.st_mtime_ns))
    os.replace(replacement, path)
    assert path.stat().st_size == st.st_size and path.stat().st_mtime_ns == st.st_mtime_ns
    check = render(manifest, out, cache, "--check")
    assert check["exit"] == 1 and TENANT_VALUES in check["edited"]


def test_deleted_file_is_written_again(setup):
    manifest, out, cache = setup
    (out / TENANT_VALUES).unlink()
    check = render(manifest, out, cache, "--check")
    assert check["exit"] == 1 and check["added"] == [TENANT_VALUES]
    result = render(manifest, out, cache)
    assert result["added"] == [TENANT_VALUES] and (out / TENANT_VALUES).is_file()


def test_lock_file_with_other_bytes_is_compared_whole(setup):
    """Not the lock plgen wrote or checked, though it lists the same files: the run key's
    no-op does not apply, the lock is drift, and the units it lists as recorded are trusted
    (an altered entry: test_checkout_of_a_later_commit_with_an_earlier_cache_...)."""
    manifest, out, cache = setup
    lock = out / ".plgen-lock.json"
    lock.write_text(json.dumps(json.loads(lock.read_text()), indent=1) + "\n")  # a formatter ran over it
    result = render(manifest, out, cache, "--check")
    assert result["exit"] == 1 and result["changed"] == [".plgen-lock.json"] and result["verified"]["rendered"] == 0
    assert render(manifest, out, cache)["changed"] == [".plgen-lock.json"]
    assert render(manifest, out, cache, "--check")["status"] == "up-to-date"


def test_no_cache_renders_and_verifies_everything(setup):
    manifest, out, cache = setup
    result = render(manifest, out, cache, "--no-cache")
    assert result["status"] == "up-to-date" and result["verified"]["cached"] == 0
    assert result["verified"]["rendered"] == files_in(out) and result["verified"]["parsed"] > 0


def test_damaged_state_costs_time_only(setup, tmp_path: Path):
    manifest, out, cache = setup
    for index in cache.glob("index-*"):
        index.write_bytes(b"\x00garbage")
    manifest.write_text(manifest.read_text().replace("order=4471", "order=4473"))
    assert render(manifest, out, cache)["exit"] == 0
    assert tree(out) == from_scratch(manifest, tmp_path)


def test_offboarded_tenant_is_removed_while_the_others_stay_untouched(setup, tmp_path: Path):
    manifest, out, cache = setup
    untouched = os.stat(out / "tenants/hooli/README.md").st_ino
    manifest.write_text(manifest.read_text().replace("    request_message: \"tenant=acme order=4471\"\n",
                                                     "    request_message: \"tenant=acme order=4471\"\n    state: offboarded\n"))
    result = render(manifest, out, cache)
    assert result["exit"] == 0 and not (out / TENANT).exists()
    assert any(p.startswith(TENANT + "/") for p in result["removed"])
    assert os.stat(out / "tenants/hooli/README.md").st_ino == untouched
    assert tree(out) == from_scratch(manifest, tmp_path)


def test_interrupted_write_voids_what_is_known_of_the_spare(setup, tmp_path: Path):
    """A write killed while changing the spare leaves it half changed: the next write must
    scan it rather than trust the record (the busy mark says so)."""
    from conftest import run_plgen

    manifest, out, cache = setup
    manifest.write_text(EXAMPLE.read_text().replace("order=4471", "order=4472"))
    assert render(manifest, out, cache)["exit"] == 0  # the spare now holds the first tree, as recorded
    manifest.write_text(EXAMPLE.read_text().replace("order=4471", "order=4473").replace("GX-88", "GX-89"))
    killed = run_plgen("render", manifest, "-o", out, "--cache-dir", cache,
                       env={**os.environ, "PLGEN_TEST_KILL_AT": "staging-complete"})
    assert killed.returncode < 0
    assert list((cache / "spares").glob("*.busy"))
    manifest.write_text(EXAMPLE.read_text().replace("order=4471", "order=4474"))
    assert render(manifest, out, cache)["exit"] == 0
    assert tree(out) == from_scratch(manifest, tmp_path)
    assert not list((cache / "spares").glob("*.busy"))
    manifest.write_text(EXAMPLE.read_text().replace("order=4471", "order=4475"))
    assert render(manifest, out, cache)["exit"] == 0
    assert tree(out) == from_scratch(manifest, tmp_path)


def test_one_tenant_edit_reads_and_encodes_only_that_tenants_part_of_the_lock(setup, tmp_path: Path, monkeypatch):
    """The lock of a fleet is tens of megabytes: an incremental render reads the header and
    its own units' entries, and copies the other units' text as it is (gen.write.lockfile)."""
    from gen import api
    from gen.write import lockfile
    from gen.write.disk import Disk

    manifest, out, cache = setup
    manifest.write_text(manifest.read_text().replace("order=4471", "order=4472"))
    encodes, whole_reads = [], []
    encode, read_whole = lockfile.encode, Disk.lock
    monkeypatch.setattr(lockfile, "encode", lambda lock, old=None, owned=None: encodes.append(
        (old is not None, sorted(u for u in lockfile.file_units(old.layout) if owned(u)) if old else None))
        or encode(lock, old, owned))
    monkeypatch.setattr(Disk, "lock", lambda self, *a, **k: whole_reads.append(1) or read_whole(self, *a, **k))
    api.render_output(manifest, out, cache_dir=cache)
    assert encodes == [(True, [TENANT])] and whole_reads == []
    assert tree(out) == from_scratch(manifest, tmp_path)


def test_first_change_after_a_first_render_uses_the_primed_spare_without_scanning_it(setup, tmp_path: Path,
                                                                                   monkeypatch):
    """The first render primes the spare with hard links to what it wrote and records what it
    holds: the next change brings the spare up to date from that record instead of scanning
    it (at 100,000 tenants a scan of 900,000 files); so does the change after that, from the
    record of the tree the swap replaced (its directories' times as its walk read them)."""
    from gen import api
    from gen.write import swap

    manifest, out, cache = setup
    scans = []
    scan = swap._staging_snapshot
    monkeypatch.setattr(swap, "_staging_snapshot", lambda *args: scans.append(args) or scan(*args))
    trees = [tree(out)]
    for order in ("4472", "4473"):
        manifest.write_text(manifest.read_text().replace(f"order={int(order) - 1}", f"order={order}"))
        api.render_output(manifest, out, cache_dir=cache)
        trees.append(tree(out))
        assert trees[-1] == from_scratch(manifest, tmp_path) != trees[-2]
    assert [staging for staging, _ in scans if cache in staging.parents] == []  # (the others: renders from scratch)
    (spare,) = [path for path in (cache / "spares").iterdir() if path.is_dir()]
    assert tree(spare) == trees[1]  # the tree before last


@pytest.fixture
def parses(monkeypatch) -> list[str]:
    """The manifests parsed from now on (gen.directory.parse_manifest calls)."""
    import gen.directory

    seen: list[str] = []
    parse = gen.directory.parse_manifest
    monkeypatch.setattr(gen.directory, "parse_manifest", lambda given: seen.append(given.path) or parse(given))
    return seen


def test_fresh_checkout_with_the_cache_directory_restored_is_checked_by_its_bytes(setup, parses, monkeypatch):
    """CI: a new checkout (every file has a new inode and modification time) and the cache
    directory restored from an earlier run. Files holding the bytes plgen recorded are as
    recorded: each is hashed once, nothing is parsed or rendered, and their new stats are
    kept, so the next run hashes nothing. A file with other bytes is still found."""
    from gen.write.disk import Disk

    manifest, out, cache = setup
    files = tree(out)
    checkout(files, out)
    reads: list[str] = []
    read = Disk.read
    monkeypatch.setattr(Disk, "read", lambda disk, path: reads.append(path) or read(disk, path))
    check = render(manifest, out, cache, "--check")
    assert check["status"] == "up-to-date" and check["verified"]["rendered"] == 0 and parses == []
    assert sorted(reads) == sorted(files)  # every file once, the lock included
    reads.clear()
    assert render(manifest, out, cache, "--check")["status"] == "up-to-date" and reads == [] and parses == []
    assert render(manifest, out, cache)["status"] == "up-to-date" and tree(out) == files
    # other bytes of the same size, written through a new file
    path = out / TENANT_VALUES
    edited = path.with_name("edit.tmp")
    edited.write_text(path.read_text().replace("4471", "4470"))
    os.replace(edited, path)
    check = render(manifest, out, cache, "--check")
    assert check["exit"] == 1 and check["edited"] == [TENANT_VALUES]


def checkout(tree_files: dict[str, bytes], out: Path) -> None:
    """`out` as a fresh checkout of a commit holding `tree_files`: new files throughout."""
    shutil.rmtree(out)
    for path, data in tree_files.items():
        (out / path).parent.mkdir(parents=True, exist_ok=True)
        (out / path).write_bytes(data)


def edit_tenants(manifest: Path, change) -> None:
    data = yaml.safe_load(manifest.read_text())
    data["tenants"] = change(data["tenants"])
    manifest.write_text(yaml.safe_dump(data, sort_keys=False))


def test_checkout_of_a_later_commit_with_an_earlier_cache_renders_only_what_changed(setup, tmp_path: Path):
    """CI on a pull request: the cache directory is the base branch's, the checkout holds the
    pull request's output, whose lock is another. Units whose digest, bytes and lock entries
    are as recorded are not rendered; the lock is compared whole."""
    manifest, out, cache = setup
    base_cache = tmp_path / "base-cache"
    shutil.copytree(cache, base_cache, symlinks=True)
    edit_tenants(manifest, lambda tenants: [dict(t, request_message="tenant=acme order=4472") if t["id"] == "acme"
                                            else t for t in tenants])
    assert render(manifest, out, cache)["changed"]
    pull_request = tree(out)
    checkout(pull_request, out)
    check = render(manifest, out, base_cache, "--check")
    acme = sum(1 for path in pull_request if path.startswith(f"{TENANT}/"))
    assert check["status"] == "up-to-date" and check["verified"]["rendered"] == acme
    # the same checkout with one of globex's lock entries altered: globex is not trusted
    # (acme is: the check above recorded it), and the lock is found changed
    lock = json.loads(pull_request[".plgen-lock.json"])
    path = next(p for p in lock["files"] if p.startswith("tenants/globex/"))
    lock["files"][path] = "0" * 64
    checkout({**pull_request, ".plgen-lock.json": json.dumps(lock, indent=2).encode() + b"\n"}, out)
    check = render(manifest, out, base_cache, "--check")
    assert check["exit"] == 1 and check["changed"] == [".plgen-lock.json"]
    assert check["verified"]["rendered"] == sum(1 for p in pull_request if p.startswith("tenants/globex/"))


def test_checkout_whose_manifest_drops_a_tenant_the_stale_output_still_holds_is_drift(setup, tmp_path: Path):
    """The lock is another (an earlier pull request's output) and lists a tenant the manifest
    no longer has: its files are found stale, though every other unit is trusted."""
    manifest, out, cache = setup
    base_cache = tmp_path / "base-cache"
    shutil.copytree(cache, base_cache, symlinks=True)
    edit_tenants(manifest, lambda tenants: [dict(t, request_message="tenant=acme order=4472") if t["id"] == "acme"
                                            else t for t in tenants])
    render(manifest, out, cache)
    stale = tree(out)
    edit_tenants(manifest, lambda tenants: [t for t in tenants if t["id"] != "globex"])  # not rendered
    checkout(stale, out)
    check = render(manifest, out, base_cache, "--check")
    globex = sorted(p for p in stale if p.startswith("tenants/globex/"))
    # rendered: acme (changed since the cache's run) and the provider (its access lists lose globex)
    rendered = sum(1 for p in stale if p.startswith(("provider/", f"{TENANT}/")))
    assert check["exit"] == 1 and check["removed"] == globex and check["verified"]["rendered"] == rendered


def test_no_op_with_the_inputs_of_the_last_run_does_not_parse_the_manifest(setup, parses):
    from gen import api

    manifest, out, cache = setup
    inodes = {p: os.stat(out / p).st_ino for p in tree(out)}
    assert render(manifest, out, cache)["status"] == "up-to-date"
    assert render(manifest, out, cache, "--check")["status"] == "up-to-date"
    rendered, found = api.render_output(manifest, out, cache_dir=cache)
    assert rendered.plan is None and rendered.report.cached == found.unchanged - 1 == files_in(out)
    assert parses == [] and {p: os.stat(out / p).st_ino for p in tree(out)} == inodes
    # a comment changes the bytes: parsed again, every unit found unchanged (the lock records
    # the manifest's sha256: only it changes), and the new inputs are remembered
    manifest.write_text(manifest.read_text() + "# reviewed\n")
    again = render(manifest, out, cache)
    assert again["changed"] == [".plgen-lock.json"] and again["verified"]["rendered"] == 0 and len(parses) == 1
    assert render(manifest, out, cache)["status"] == "up-to-date" and len(parses) == 1


def test_every_file_of_a_manifest_directory_is_an_input_of_the_run(tmp_path: Path, parses):
    fleet = tmp_path / "fleet"
    shutil.copytree(ROOT / "examples" / "fleet", fleet)
    out, cache = tmp_path / "out", tmp_path / "cache"
    assert render(fleet, out, cache)["exit"] == 0 and len(parses) == 1
    (fleet / "tenants" / "README.md").write_text("Not a tenant file: plgen does not read it.\n")
    assert render(fleet, out, cache)["status"] == "up-to-date" and len(parses) == 1
    acme = fleet / "tenants" / "acme.yaml"
    acme.write_text(acme.read_text().replace("order=4471", "order=4472"))
    result = render(fleet, out, cache)
    assert result["changed"] and all(p.startswith(TENANT + "/") or p == ".plgen-lock.json" for p in result["changed"])
    assert len(parses) == 2
    shutil.copy(acme, fleet / "tenants" / "acme-copy.yml")  # a second file: the same tenant twice is refused
    assert render(fleet, out, cache)["exit"] == 1 and len(parses) == 3
    (fleet / "tenants" / "acme-copy.yml").unlink()  # back to the inputs of the last run
    assert render(fleet, out, cache)["status"] == "up-to-date" and len(parses) == 3
    assert tree(out) == from_scratch(fleet, tmp_path)


def test_only_is_an_input_of_the_run_and_the_manifest_name_is_not(setup, tmp_path: Path, parses):
    manifest, out, cache = setup
    manifest.write_text(manifest.read_text().replace("order=4471", "order=4472"))
    assert TENANT_VALUES in render(manifest, out, cache, "--only", "acme")["changed"] and len(parses) == 1
    # a run of some tenants is not a complete run: the next one compares unit by unit
    assert render(manifest, out, cache)["status"] == "up-to-date" and len(parses) == 2
    assert render(manifest, out, cache)["status"] == "up-to-date" and len(parses) == 2
    assert render(manifest, out, cache, "--only", "acme")["status"] == "up-to-date" and len(parses) == 3
    renamed = tmp_path / "fleet-tenants.yaml"  # (as `git mv` leaves it: no output quotes the name)
    renamed.write_bytes(manifest.read_bytes())
    assert render(renamed, out, cache)["status"] == "up-to-date" and len(parses) == 3
    assert tree(out) == from_scratch(renamed, tmp_path) == from_scratch(manifest, tmp_path)


@pytest.fixture
def children(monkeypatch) -> list[int]:
    """The pids of the child processes plgen starts from now on (gen.write.osfs.ChildCall)."""
    from gen.write import osfs

    started: list[int] = []
    start = osfs.ChildCall.__init__

    def spy(self, function, *args):
        start(self, function, *args)
        started.append(self._pid)

    monkeypatch.setattr(osfs.ChildCall, "__init__", spy)
    return started


@pytest.fixture
def single_threaded(monkeypatch) -> None:
    """As in the CLI: no other thread runs. (Another test may leave one running; with one,
    plgen walks in process: test_no_child_is_started_while_the_program_runs_other_threads.)"""
    from gen.write import osfs

    monkeypatch.setattr(osfs.threading, "active_count", lambda: 1)


def reaped(pid: int) -> bool:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return True
    return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the stat walk runs in a child process on Linux only")
def test_the_stat_walk_of_an_existing_output_runs_in_a_child_while_the_manifest_is_parsed(setup, children,
                                                                                         single_threaded,
                                                                                         tmp_path: Path):
    manifest, out, cache = setup
    manifest.write_text(manifest.read_text().replace("order=4471", "order=4472"))
    result = render(manifest, out, cache)
    assert result["changed"] and len(children) == 1 and reaped(children[0])
    (out / "tenants/hooli/README.md").write_text("edited\n")  # what the child saw is what counts
    check = render(manifest, out, cache, "--check")
    assert check["edited"] == ["tenants/hooli/README.md"] and len(children) == 2 and reaped(children[1])
    assert render(manifest, out, cache, "--force")["exit"] == 0
    assert tree(out) == from_scratch(manifest, tmp_path)


def test_a_walk_that_fails_in_the_child_is_done_in_process(setup, children, single_threaded, monkeypatch):
    from gen.write import disk

    manifest, out, cache = setup
    monkeypatch.setattr(disk, "_scan_packed", lambda root: 1 / 0)  # (in the child: it exits 1)
    (out / TENANT_VALUES).write_text("{}\n")
    check = render(manifest, out, cache, "--check")
    assert check["exit"] == 1 and check["edited"] == [TENANT_VALUES]
    assert len(children) == (1 if sys.platform.startswith("linux") else 0)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the stat walk runs in a child process on Linux only")
def test_a_manifest_error_stops_the_walk_it_started(setup, children, single_threaded):
    manifest, out, cache = setup
    manifest.write_text(manifest.read_text().replace("version: 1", "version: [1"))
    result = render(manifest, out, cache)
    assert result["exit"] == 1 and "YAML syntax" in result["output"]
    assert len(children) == 1 and reaped(children[0])


def test_no_child_is_started_while_the_program_runs_other_threads(setup, children):
    """plgen used as a library in a threaded program: fork would copy locks other threads hold."""
    import threading

    manifest, out, cache = setup
    release = threading.Event()
    other = threading.Thread(target=release.wait)
    other.start()
    try:
        manifest.write_text(manifest.read_text().replace("order=4471", "order=4472"))
        assert TENANT_VALUES in render(manifest, out, cache)["changed"]
    finally:
        release.set()
        other.join()
    assert children == []


# --- incremental == full, over random edit sequences ------------------------------------------


def _tenant(data: dict, index: int) -> dict:
    tenants = [t for t in data["tenants"] if t.get("connectivity", "private_link") == "private_link"]
    return tenants[index % len(tenants)]


def _edit(data: dict, op: str, index: int, text: str) -> None:
    tenant = _tenant(data, index)
    if op == "message":
        tenant["request_message"] = f"tenant={tenant['id']} {text}"
    elif op == "display":
        tenant["display_name"] = f"{tenant['display_name'].split(' #')[0]} #{text}"
    elif op == "state":
        tenant["state"] = ["active", "suspended", "offboarded"][index % 3]
    elif op == "approval":
        tenant["approval"] = "manual" if tenant.get("approval") == "auto" else "auto"
    elif op == "add":
        new = {k: v for k, v in tenant.items() if k not in ("endpoint", "endpoint_sites", "endpoints")}
        number = len(data["tenants"])
        new.update(id=f"new{number}", state="active", subscriptions=[f"{number:08x}-0000-4000-8000-00000000abcd"])
        data["tenants"].append(new)
    elif op == "service_tag":
        data["service"].setdefault("tags", {})["edited"] = text
    elif op == "support":
        data["service"]["support"]["email"] = f"help-{text}@contoso-saas.com"


OPS = ["message", "display", "state", "approval", "add", "service_tag", "support"]


@settings(max_examples=int(os.environ.get("PLGEN_INCREMENTAL_EXAMPLES", "8")), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(OPS), st.integers(0, 20), st.from_regex(r"[a-z0-9]{1,8}", fullmatch=True)),
                min_size=1, max_size=4))
def test_incremental_renders_equal_renders_from_scratch(tmp_path_factory, edits):
    tmp_path = tmp_path_factory.mktemp("edits")
    manifest = tmp_path / "tenants.yaml"
    data = yaml.safe_load(EXAMPLE.read_text())
    manifest.write_text(yaml.safe_dump(data, sort_keys=False))
    out, cache = tmp_path / "out", tmp_path / "cache"
    assert render(manifest, out, cache)["exit"] == 0
    for op, index, text in edits:
        _edit(data, op, index, text)
        manifest.write_text(yaml.safe_dump(data, sort_keys=False))
        if run_cli("validate", manifest).exit_code != 0:
            continue  # an edit the rules refuse (e.g. a shard over its limits): nothing to render
        result = render(manifest, out, cache)
        assert result["exit"] == 0, result
        assert tree(out) == from_scratch(manifest, tmp_path), (op, index, text)
        again = render(manifest, out, cache, "--check")  # the same inputs: found by the run key
        assert again["status"] == "up-to-date" and again["verified"]["rendered"] == 0


@settings(max_examples=int(os.environ.get("PLGEN_INCREMENTAL_EXAMPLES", "8")), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(OPS), st.integers(0, 20), st.from_regex(r"[a-z0-9]{1,8}", fullmatch=True)),
                min_size=1, max_size=3), st.tuples(*[st.integers(0, 3)] * 3))
# a tenant offboarded: its files are in the first commit's output, the lock there is not the
# state's, and the manifest no longer has the tenant
@example(edits=[("state", 2, "x")], picks=(1, 0, 1))
def test_check_of_any_checkout_with_any_earlier_cache_says_what_a_check_from_scratch_says(tmp_path_factory, edits,
                                                                                        picks):
    """CI restores the cache directory of some earlier run and checks out some commit, whose
    output may be stale for its manifest. Whichever they are (`picks`: the commits of the
    cache, the output and the manifest), --check finds exactly the drift a --check with an
    empty cache finds."""
    tmp_path = tmp_path_factory.mktemp("checkouts")
    manifest = tmp_path / "tenants.yaml"
    document = yaml.safe_load(EXAMPLE.read_text())
    out, cache = tmp_path / "out", tmp_path / "cache"
    commits: list[tuple[str, dict[str, bytes], Path]] = []

    def commit() -> None:
        kept = shutil.copytree(cache, tmp_path / f"cache-{len(commits)}", symlinks=True)
        commits.append((manifest.read_text(), tree(out), kept))

    manifest.write_text(yaml.safe_dump(document, sort_keys=False))
    assert render(manifest, out, cache)["exit"] == 0
    commit()
    for op, index, text in edits:
        _edit(document, op, index, text)
        manifest.write_text(yaml.safe_dump(document, sort_keys=False))
        if run_cli("validate", manifest).exit_code == 0:
            assert render(manifest, out, cache)["exit"] == 0
            commit()
    state, files, text = (commits[picks[0] % len(commits)][2], commits[picks[1] % len(commits)][1],
                          commits[picks[2] % len(commits)][0])
    manifest.write_text(text)
    checkout(files, out)
    found = render(manifest, out, state, "--check")
    expected = render(manifest, out, tmp_path / f"empty-{len(list(tmp_path.glob('empty-*')))}", "--check")
    keys = ("exit", "added", "changed", "removed", "edited", "foreign")
    assert {k: found.get(k) for k in keys} == {k: expected.get(k) for k in keys}
