"""Stage 4, render: Plan -> {relative path: text}, in memory.

One Jinja environment factory, used for every template. Terraform output is passed through
`align_terraform`, which applies terraform fmt's alignment of `=` so that the output is already
in canonical form (tests check this against the real `terraform fmt`).
"""

from __future__ import annotations

import re
from pathlib import Path

import jinja2

from .plan import OutputFile, Plan
from .naming import deployment_name
from .quoting import bicep_quote, hcl_bool, hcl_interpolate, hcl_list, hcl_quote, json_text, markdown_cell_code, markdown_code, markdown_text
from .resources import templates_dir

FILTERS = {
    "hcl": hcl_quote,
    "hcl_list": hcl_list,
    "hcl_bool": hcl_bool,
    "hcl_interpolate": hcl_interpolate,
    "bicep": bicep_quote,
    "bicep_bool": hcl_bool,
    "md": markdown_text,
    "md_code": markdown_code,
    "md_cell_code": markdown_cell_code,
    "deployment_name": deployment_name,
}


def make_environment(directory: Path | None = None) -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(directory or templates_dir())),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        # Output is HCL, Bicep and Markdown, not HTML: HTML escaping would corrupt it. Each
        # language's escaping is explicit, through the quoting filters in FILTERS.
        autoescape=False,
        auto_reload=False,
        cache_size=-1,
    )


def make_renderer(directory: Path | None = None) -> jinja2.Environment:
    env = make_environment(directory)
    env.filters.update(FILTERS)
    return env


def render_file(env: jinja2.Environment, plan: Plan, spec: OutputFile) -> str:
    if spec.template is None:
        return json_text(spec.data)
    # Templates see the service facts as `plan`, and their own context: nothing else of the
    # plan, so that a unit's input digest (gen.plan.units) covers all they read.
    text = env.get_template(spec.template).render(header=plan.header, plan=plan.service, **spec.context)
    if spec.path.endswith(".tf"):
        text = align_terraform(text)
    return text


def render(plan: Plan, directory: Path | None = None, env: jinja2.Environment | None = None,
           specs: tuple[OutputFile, ...] | None = None) -> dict[str, str]:
    """Render every planned file (or the `specs` given). Files with the same template and no
    context are rendered once and shared (the consumer module is the same bytes for every tenant)."""
    env = env or make_renderer(directory)
    shared: dict[str, str] = {}
    result: dict[str, str] = {}
    for spec in plan.files if specs is None else specs:
        if spec.template is not None and not spec.context:
            if spec.template not in shared:
                shared[spec.template] = render_file(env, plan, spec)
            result[spec.path] = shared[spec.template]
        else:
            result[spec.path] = render_file(env, plan, spec)
    return result


_ATTRIBUTE = re.compile(r"^(?P<indent> *)(?P<key>[A-Za-z_][\w-]*|\"[^\"]*\") *= *(?P<value>.*)$")
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')


def _opens_bracket(value: str) -> bool:
    depth = 0
    for char in _STRING.sub('""', value):
        if char in "[{(":
            depth += 1
        elif char in "]})":
            depth -= 1
    return depth > 0


def align_terraform(text: str) -> str:
    """Align `=` in runs of consecutive one-line attributes, as terraform fmt does.

    terraform fmt aligns the `=` of adjacent attribute lines; any other line (blank, comment,
    block header, closing bracket, or an attribute whose value continues on the next line)
    ends the run.
    """
    lines = text.split("\n")
    out: list[str] = []
    run: list[re.Match] = []

    def flush() -> None:
        width = max((len(m["key"]) for m in run), default=0)
        out.extend(f"{m['indent']}{m['key'].ljust(width)} = {m['value']}" for m in run)
        run.clear()

    for line in lines:
        match = _ATTRIBUTE.match(line)
        if match and not _opens_bracket(match["value"]):
            run.append(match)
            continue
        flush()
        out.append(line)
    flush()
    return "\n".join(out)
