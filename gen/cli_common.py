"""What every plgen command shares: the MANIFEST argument and --format option, and what they
print the same way: counts, JSON or text, and errors (one line each, exit code from the
exception)."""

from __future__ import annotations

import json
import sys

import click

from .errors import PlgenError

# Not click.Path(exists=True, dir_okay=False): gen.load decides what a manifest may be, so that
# a directory or a missing file is the same one-line error (exit 1) for every command.
MANIFEST = click.argument("manifest", type=click.Path(allow_dash=True))
FORMAT = click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True,
                      help="Output for people (text) or programs (json).")


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _emit(output_format: str, payload: dict, text: str) -> None:
    if output_format == "json":
        click.echo(json.dumps(payload, indent=2, sort_keys=True, ensure_ascii=False))
    elif text:
        click.echo(text)


def _fail(err: PlgenError, output_format: str = "text", extra: dict | None = None) -> None:
    """Report every problem once: as JSON on stdout, or as text lines on stderr."""
    if output_format == "json":
        click.echo(json.dumps({"status": "error", **(extra or {}), "errors": [p.as_dict() for p in err.problems]},
                              indent=2, sort_keys=True, ensure_ascii=False))
    else:
        for problem in err.problems:
            click.echo(f"error: {problem}", err=True)
    sys.exit(err.exit_code)


def _os_error_text(err: OSError) -> str:
    # OSErrors raised by libraries (jinja's TemplateNotFound is one) may carry no strerror
    return err.strerror or str(err) or type(err).__name__


def _emit_report(forms, report, output_format: str, max_chars: int) -> None:
    """A review report in the form asked for, from its module's as_json / as_markdown /
    as_text (gen.review.output, gen.review.release_output)."""
    if output_format == "json":
        click.echo(forms.as_json(report), nl=False)
    elif output_format == "markdown":
        click.echo(forms.as_markdown(report, max_chars), nl=False)
    else:
        click.echo(forms.as_text(report), nl=False)
