"""Issue 12, part 2: template releases. `plgen release-preview MANIFEST --templates NEW`: both
renders verified, provider files and what they mean, bundles grouped by identical change (each
group expands to every tenant's own diffs, byte for byte), replacements first; text, Markdown
(bounded) and JSON (schemas/release-preview.schema.json). And the release procedure's checks:
golden trees per release, the digest ledger and CHANGELOG.md."""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import re
import shutil
import sys
from pathlib import Path

import pytest

from conftest import EXAMPLE, MINIMAL, ROOT, run_cli, run_plgen, tree
from gen import api
from gen.resources import template_release, templates_dir
from gen.review import release as release_module
from gen.review.grouping import PLACEHOLDER, expand
from gen.review.output import MARKDOWN_MINIMUM
from gen.review.release_model import Counts, FileDiff, Group, Release, ReleaseReport
from gen.review.release_output import as_markdown

RELEASES = ROOT / "tests" / "snapshots" / "releases"
LEDGER = RELEASES / "RELEASES.json"
CHANGELOG = ROOT / "CHANGELOG.md"
RELEASE_MANIFESTS = {"example": EXAMPLE, "minimal": MINIMAL}

# A release that changes every kind of file without changing what Azure does: a guide line that
# holds the tenant's id, comments in the consumer module (Terraform and Bicep) and the provider.
README_ROW = ("docs/tenant-README.md.j2", "| Tenant id | `{{ tenant.id }}` |", "| Your tenant id | `{{ tenant.id }}` |")
CONSUMER_COMMENT = ("terraform/consumer/main.tf.j2", "# Connects to the provider's Private Link Service by its alias.",
                    "# Connects to the Private Link Service of the provider by its alias.")
PROVIDER_COMMENT = ("terraform/provider/region.tf.j2", "  # Who may see this service", "  # Who may see this link service")
# ... and one that replaces: every link service moves resource group, every endpoint moves region
PLS_GROUP = ("terraform/provider/region.tf.j2",
             "  resource_group_name = {{ provider.resource_group | hcl }}\n  location = {{ ls.location",
             "  resource_group_name = \"{{ provider.resource_group }}-pls\"\n  location = {{ ls.location")
PE_LOCATION = ("terraform/consumer/main.tf.j2", "  name = var.endpoint_name\n  location = var.location",
               "  name = var.endpoint_name\n  location = \"westeurope\"")


def templates_copy(directory: Path, version: str, *edits: tuple[str, str, str]) -> Path:
    """The installed templates with `edits` (file, old, new) and templates/VERSION `version`."""
    shutil.copytree(templates_dir(), directory)
    (directory / "VERSION").write_text(f"{version}\n", encoding="utf-8")
    for name, old, new in edits:
        text = (directory / name).read_text(encoding="utf-8")
        assert old in text, (name, old)
        (directory / name).write_text(text.replace(old, new), encoding="utf-8")
    return directory


def preview_json(*args) -> dict:
    result = run_cli("release-preview", *args, "--format", "json", "--no-cache")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def oracle(manifest: Path, templates: Path) -> tuple[dict[str, str], dict[str, str]]:
    """Both renders, independently of the preview: rendered and verified by gen.api."""
    return (api.render_manifest(manifest).files, api.render_manifest(manifest, templates=templates).files)


def unified(path: str, old: str | None, new: str | None) -> str:
    lines = (lambda text: [] if text is None else text.splitlines(keepends=True))
    return "".join(difflib.unified_diff(lines(old), lines(new), f"a/{path}" if old is not None else "/dev/null",
                                        f"b/{path}" if new is not None else "/dev/null"))


def expected_bundle_diffs(base: dict[str, str], new: dict[str, str]) -> dict[str, dict[str, str]]:
    found: dict[str, dict[str, str]] = {}
    for path in sorted(set(base) | set(new)):
        if path.startswith("tenants/") and base.get(path) != new.get(path):
            found.setdefault(path.split("/")[1], {})[path] = unified(path, base.get(path), new.get(path))
    return found


def expand_json(group: dict) -> dict[str, dict[str, str]]:
    """A group of the JSON output expanded with nothing but the JSON: each listed placeholder
    replaced by the tenant's value."""
    def concrete(text: str, values: dict[str, str]) -> str:
        return PLACEHOLDER.sub(lambda m: values[m.group(1)] if m.group(1) in group["placeholders"] else m.group(0), text)

    values = {tenant: group["values"].get(tenant, {}) for tenant in group["tenants"]}
    return {tenant: {concrete(f["path"], values[tenant]): concrete(f["diff"], values[tenant]) for f in group["files"]}
            for tenant in group["tenants"]}


# --- grouping: exact ------------------------------------------------------------------------------


def test_groups_expand_to_every_tenants_own_diff(tmp_path: Path):
    new_templates = templates_copy(tmp_path / "next", "2", README_ROW, CONSUMER_COMMENT, PROVIDER_COMMENT)
    report = api.release_preview(EXAMPLE, new_templates, jobs=1)
    base, new = oracle(EXAMPLE, new_templates)
    expected = expected_bundle_diffs(base, new)
    expanded: dict[str, dict[str, str]] = {}
    for group in report.groups:
        for tenant, diffs in expand(group).items():
            assert tenant not in expanded, "a bundle in two groups"
            expanded[tenant] = diffs
    assert expanded == expected
    assert report.counts.bundles_changed == len(expected) == 5 and report.counts.bundles == 6
    assert report.counts.groups == len(report.groups) <= 3
    assert {g.id for g in report.groups} == set(range(1, len(report.groups) + 1))
    assert [g.bundles for g in report.groups] == sorted((g.bundles for g in report.groups), reverse=True)
    readme = next(f for f in report.groups[0].files if f.path.endswith("README.md"))
    assert readme.path == "tenants/⟦id⟧/README.md" and "+| Your tenant id | `⟦id⟧` |" in readme.diff
    provider = {p: unified(p, base.get(p), new.get(p)) for p in sorted(set(base) | set(new))
                if not p.startswith("tenants/") and base.get(p) != new.get(p)}
    assert {f.path: f.diff for f in report.provider} == provider and len(provider) == 2
    assert report.replacements == [] and report.base.release == "1" and report.new.release == "2"
    assert report.events == []  # comments only: no fact plgen reads changes (the diffs show them)


def test_a_synthetic_fleet_changes_in_few_ways_and_the_json_expands_alone(tmp_path: Path):
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from fleet import synthetic_manifest

    manifest = tmp_path / "fleet.yaml"
    manifest.write_text(synthetic_manifest(300), encoding="utf-8")
    new_templates = templates_copy(tmp_path / "next", "2", README_ROW, CONSUMER_COMMENT)
    report = preview_json(manifest, "--templates", new_templates)
    assert report["counts"]["bundles_changed"] == report["counts"]["bundles"] == 300
    assert report["counts"]["groups"] <= 2, [g["bundles"] for g in report["groups"]]
    base, new = oracle(manifest, new_templates)
    expanded = {}
    for group in report["groups"]:
        expanded.update(expand_json(group))
    assert expanded == expected_bundle_diffs(base, new)


# --- replacements, provider, no change ------------------------------------------------------------


def test_what_would_be_replaced_in_azure_comes_first(tmp_path: Path):
    new_templates = templates_copy(tmp_path / "next", "2", PLS_GROUP, PE_LOCATION)
    result = run_cli("release-preview", EXAMPLE, "--templates", new_templates, "--no-cache")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert "4 would replace or destroy a resource in Azure" in lines[0]
    assert [line.split()[0] for line in lines[2:6]] == ["REPLACE"] * 4
    assert "link service azurerm_private_link_service.pls_contoso_api_eus2_1 (pls-contoso-api-eus2-1) would be " \
           "replaced (resource_group_name rg-contoso-api -> rg-contoso-api-pls): alias changes; 2 tenants must " \
           "reconnect" in lines[2]
    assert "private endpoint azurerm_private_endpoint.service (pe-contoso-api-acme) would be replaced (location eastus " \
           "-> westeurope)" in lines[5] and "(and the same in 4 other bundles)" in lines[5]
    assert lines[6] == "          bundles: acme, globex, hooli, initech, stark"
    report = preview_json(EXAMPLE, "--templates", new_templates)
    assert [(r["kind"], len(r["tenants"])) for r in report["replacements"]] == [("private_link_service", 0)] * 3 + [
        ("private_endpoint", 5)]
    assert {e["kind"] for e in report["events"]} == {"link_service_replaced"}
    markdown = run_cli("release-preview", EXAMPLE, "--templates", new_templates, "--format", "markdown").stdout
    assert markdown.index("would replace or destroy</b> (4)") < markdown.index("bundles, by distinct way")


def test_the_same_templates_change_nothing(tmp_path: Path):
    report = preview_json(EXAMPLE, "--templates", templates_copy(tmp_path / "same", "1"))
    assert report["groups"] == [] and report["provider"] == [] and report["replacements"] == []
    assert report["counts"]["bundles_changed"] == 0
    assert "the two releases render the same bytes for this manifest" in report["notes"]


def test_only_what_changed_is_verified_again(tmp_path: Path, monkeypatch):
    """A unit with the same bytes (and the same link services) is not checked twice; one that
    changed is, and a broken one fails the preview."""
    verified: list[set[str]] = []
    real = release_module.verify_stage.verify

    def counting(plan, files, **options):
        verified.append({"/".join(p.split("/", 2)[:2]) if p.startswith("tenants/") else "provider" for p in files})
        return real(plan, files, **options)

    monkeypatch.setattr(release_module.verify_stage, "verify", counting)
    api.release_preview(EXAMPLE, templates_copy(tmp_path / "provider-only", "2", PROVIDER_COMMENT), jobs=1)
    assert len(verified) == 2 and verified[1] == {"provider"} and len(verified[0]) == 7
    verified.clear()
    api.release_preview(EXAMPLE, templates_copy(tmp_path / "guide-only", "2", README_ROW), jobs=1)
    assert verified[1] == {"tenants/acme", "tenants/globex", "tenants/hooli", "tenants/initech", "tenants/stark"}


# --- errors ----------------------------------------------------------------------------------------


BROKEN = ("terraform/consumer/main.tf.j2", "  name = var.endpoint_name\n", "  name = \"pe-${var.endpoint_name}\"\n")


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_release_that_does_not_verify_is_a_located_error(tmp_path: Path, jobs: str):
    broken = templates_copy(tmp_path / "broken", "2", BROKEN)
    for args, label in ((("--templates", broken), f"{broken} (release 2)"),
                        (("--base-templates", broken, "--templates", templates_dir()), f"{broken} (release 2)")):
        result = run_plgen("release-preview", EXAMPLE, *args, "--jobs", jobs, "--no-cache", cwd=tmp_path)
        assert result.returncode == 1 and result.stdout == ""
        lines = result.stderr.splitlines()
        assert lines and all(line.startswith("error: tenants/") for line in lines), result.stderr
        assert f"rendered with {label}: " in lines[0] and "Traceback" not in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken"]  # nothing written


def test_usage_and_input_errors(tmp_path: Path):
    assert run_cli("release-preview", EXAMPLE).exit_code == 2  # --templates is required
    assert run_cli("release-preview", EXAMPLE, "--templates", tmp_path / "missing").exit_code == 2
    incomplete = tmp_path / "incomplete"
    incomplete.mkdir()
    (incomplete / "VERSION").write_text("2\n")
    result = run_cli("release-preview", EXAMPLE, "--templates", incomplete)
    assert result.exit_code == 1 and result.stderr.startswith(f"error: {incomplete}: not a complete templates directory")
    syntax = templates_copy(tmp_path / "syntax", "2", ("docs/tenant-README.md.j2", "{% if several %}", "{% if several %"))
    result = run_cli("release-preview", EXAMPLE, "--templates", syntax)
    assert result.exit_code == 1
    assert re.match(rf"error: {syntax}/docs/tenant-README\.md\.j2:\d+: template syntax", result.stderr)
    invalid = tmp_path / "invalid.yaml"
    invalid.write_text(EXAMPLE.read_text().replace("approval: auto", "aproval: auto", 1))
    result = run_cli("release-preview", invalid, "--templates", templates_dir(), "--format", "json")
    assert result.exit_code == 1 and json.loads(result.stdout)["status"] == "error"


# --- formats ---------------------------------------------------------------------------------------


def test_committed_schema_is_current_and_the_json_validates(tmp_path: Path):
    from test_changes import schema_problems

    result = run_cli("schema", "release-preview")
    committed = (ROOT / "schemas" / "release-preview.schema.json").read_text(encoding="utf-8")
    assert result.exit_code == 0 and result.stdout == committed, "stale: run `make schema`"
    schema = json.loads(committed)
    for edits in ((README_ROW, CONSUMER_COMMENT, PROVIDER_COMMENT), (PLS_GROUP, PE_LOCATION), ()):
        report = preview_json(EXAMPLE, "--templates", templates_copy(tmp_path / f"t{len(edits)}", "2", *edits))
        assert schema_problems(report, schema, schema) == []
    assert schema_problems({**report, "format": "other"}, schema, schema)  # the checker does check


def _big_report(groups: int) -> ReleaseReport:
    diff = "".join(f"+line {i} " + "`" * (i % 5) + "<x>\n" for i in range(400))
    files = [FileDiff(path=f"tenants/⟦id⟧/file-{j}.tf", status="changed", added_lines=400, removed_lines=0,
                      diff=f"--- a/f\n+++ b/f\n{diff}") for j in range(3)]
    made = []
    for i in range(groups):
        ids = [f"tenant-{i:03d}-{t:02d}" for t in range(50)]
        made.append(Group(id=i + 1, bundles=50, tenants=ids, files=files, placeholders=["id"],
                          values={tenant: {"id": tenant} for tenant in ids}))
    side = Release(templates="a" * 300, release="1", files=10)
    counts = Counts(provider_files_changed=groups, provider_files_added=0, provider_files_removed=0, bundles=50 * groups,
                    bundles_changed=50 * groups, groups=groups, tenant_files_added=0, tenant_files_removed=0,
                    replacements=0)
    return ReleaseReport(manifest="m.yaml", base=side, new=side, counts=counts, replacements=[], events=[],
                         provider=files * groups, groups=made, notes=["note <&>`| " * 40] * 30)


@pytest.mark.parametrize("limit", [MARKDOWN_MINIMUM, 30_000, 60_000, 65_536])
def test_markdown_never_exceeds_its_limit(limit: int):
    report = _big_report(200)
    text = as_markdown(report, limit)
    assert len(text) <= limit and text.startswith("<!-- plgen-release-preview -->\n")
    assert re.search(r"\*\*[\d,]+ of [\d,]+ items not shown\*\*", text)
    assert text.count("<details") == text.count("</details>")
    assert "cut here:" in text  # each diff is capped


def test_output_is_the_same_across_hash_seeds(tmp_path: Path):
    new_templates = templates_copy(tmp_path / "next", "2", README_ROW, PLS_GROUP)
    outputs = set()
    for seed in ("1", "2"):
        result = run_plgen("release-preview", EXAMPLE, "--templates", new_templates, "--format", "json", "--no-cache",
                           env={**os.environ, "PYTHONHASHSEED": seed})
        assert result.returncode == 0, result.stderr
        outputs.add(result.stdout)
    assert len(outputs) == 1


def test_readme_example_is_real_output(tmp_path: Path, monkeypatch):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    command = "$ plgen release-preview tenants.yaml --templates next\n"
    excerpt = readme.split(command, 1)[1].split("```", 1)[0]
    shutil.copy(EXAMPLE, tmp_path / "tenants.yaml")
    templates_copy(tmp_path / "next", "2", README_ROW)
    monkeypatch.chdir(tmp_path)
    result = run_cli(*command[len("$ plgen "):].split(), "--no-cache")
    assert result.exit_code == 0 and result.stdout == excerpt


# --- the release procedure: golden trees per release, ledger, changelog ----------------------------


def tree_digest(files: dict[str, bytes]) -> str:
    """sha256 of `sha256sum` lines over a golden tree, its lock file left out (the lock names the
    plgen version, which is not the template release)."""
    lines = "".join(f"{hashlib.sha256(data).hexdigest()}  {path}\n" for path, data in sorted(files.items())
                    if path != ".plgen-lock.json")
    return hashlib.sha256(lines.encode()).hexdigest()


def test_golden_trees_are_kept_under_the_current_release():
    releases = sorted(p.name for p in RELEASES.iterdir() if p.is_dir())
    assert releases == [template_release()], (
        f"tests/snapshots/releases/ holds {releases}; the golden trees live under the current release "
        f"({template_release()}): a release moves them (git mv), so its pull request shows the snapshot diff")
    assert sorted(p.name for p in (RELEASES / template_release()).iterdir()) == sorted(RELEASE_MANIFESTS)


@pytest.mark.parametrize("name", sorted(set(RELEASE_MANIFESTS) - {"example"}))  # example: tests/test_golden.py
def test_manifest_matches_its_golden_tree(name: str, tmp_path: Path, snapshot):
    from test_golden import nested

    out = tmp_path / "out"
    assert run_cli("render", RELEASE_MANIFESTS[name], "-o", out).exit_code == 0
    snapshot.snapshot_dir = RELEASES / template_release()
    snapshot.assert_match_dir(nested(tree(out)), name)


def test_release_ledger_and_changelog_name_the_current_release():
    release = template_release()
    ledger = json.loads(LEDGER.read_text(encoding="utf-8"))
    digests = {name: tree_digest(tree(RELEASES / release / name)) for name in RELEASE_MANIFESTS}
    assert ledger.get(release) == digests, (
        f"the golden trees of release {release} are not the ones recorded in {LEDGER.relative_to(ROOT)}. Output that "
        f"changes is a new template release: bump templates/VERSION, move tests/snapshots/releases/{release} to the new "
        f"release, add its CHANGELOG.md entry and record {json.dumps(digests)} under it")
    headings = re.findall(r"^## Release (\S+)", CHANGELOG.read_text(encoding="utf-8"), re.M)
    assert headings and headings[0] == release, "CHANGELOG.md must start with the current release's entry"
    assert set(ledger) <= set(headings) and len(headings) == len(set(headings))


def test_readme_replacement_excerpt_is_real_output(tmp_path: Path, monkeypatch):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    command = "$ plgen release-preview tenants.yaml --templates moved\n"
    excerpt = [line for line in readme.split(command, 1)[1].split("```", 1)[0].splitlines() if line != "..."]
    shutil.copy(EXAMPLE, tmp_path / "tenants.yaml")
    templates_copy(tmp_path / "moved", "2", PLS_GROUP, PE_LOCATION)
    monkeypatch.chdir(tmp_path)
    lines = run_cli(*command[len("$ plgen "):].split(), "--no-cache").stdout.splitlines()
    assert excerpt == [line for line in lines if line in excerpt] and len(excerpt) == 6


def test_grouping_edge_cases_stay_exact():
    """Added and removed files, a tenant whose own text holds the brackets, values inside
    placeholder names or escaped by the templates, and a shared file whose words equal a
    tenant's value: every tenant still expands to its own diffs."""
    from gen.review.grouping import Grouping

    tenants = {
        "acme": {"id": "acme", "display_name": "A*C_M|E", "display_name|md": "A\\*C\\_M\\|E", "region": "eastus"},
        "charlie": {"id": "charlie", "display_name": "C*D", "display_name|md": "C\\*D", "region": "eastus"},
        "bravo": {"id": "bravo", "display_name": "Bravo", "region": "westeurope"},
        "delta": {"id": "delta", "display_name": "Delta", "region": "eastus"},
        "odd": {"id": "odd", "display_name": "has ⟦id⟧ in it", "region": "eastus"},
        "named": {"id": "named", "display_name": "region", "region": "eastus"},  # a value inside a placeholder's name
    }
    shared_old, shared_new = "module\nregion westeurope\n", "module\nregion westeurope\nmore\n"
    grouping, expected = Grouping(), {}
    for tenant, values in tenants.items():
        unit = f"tenants/{tenant}"
        guide_old = f"# {values.get('display_name|md', values['display_name'])}\nid {tenant}\nin {values['region']}\n"
        guide_new = guide_old.replace("\nid ", "\nyour id ")
        changes = [(f"{unit}/README.md", guide_old, guide_new, False),
                   (f"{unit}/new.json", None, f'{{"id": "{tenant}"}}\n', False),
                   (f"{unit}/old.tf", f"# {tenant}\n", None, False), (f"{unit}/main.tf", shared_old, shared_new, True)]
        grouping.add(tenant, unit, values, changes)
        expected[tenant] = {path: unified(path, old, new) for path, old, new, _ in changes}
    groups = grouping.groups()
    expanded = {}
    for group in groups:
        expanded.update(expand(group))
    assert expanded == expected
    assert grouping.added == grouping.removed == len(tenants)
    by_tenant = {t: g for g in groups for t in g.tenants}
    assert by_tenant["odd"].placeholders == [] and by_tenant["odd"].bundles == 1  # its own brackets: literal
    main = next(f for f in by_tenant["bravo"].files if f.path.endswith("main.tf"))
    assert "region westeurope" in main.diff  # a shared file keeps its text
    assert by_tenant["acme"] is by_tenant["charlie"] and by_tenant["bravo"] is by_tenant["delta"]  # escaped forms too
    assert "display_name" not in by_tenant["named"].placeholders and len(groups) == 4
