"""`plgen cache info|prune`: what plgen keeps in its cache directory (gen.write.cachedir)."""

from __future__ import annotations

import time
from pathlib import Path

import click

from .cli_common import FORMAT, _count, _emit
from .verify.cache import default_cache_dir


CACHE_DIR = click.option("--cache-dir", type=click.Path(file_okay=False), default=None,
                         help="The cache directory (default: $XDG_CACHE_HOME/plgen).")


@click.group(short_help="Show or prune what plgen keeps in its cache directory.")
def cache() -> None:
    """plgen keeps, per output directory, the state of its last verified write and a spare
    tree (the output before last, for atomic swaps), and verdicts per plgen build. Every render
    prunes what belongs to output directories that are gone or unused for
    $PLGEN_CACHE_MAX_AGE_DAYS (default 30) and keeps the total under $PLGEN_CACHE_MAX_SIZE
    (default 2G), least recently used first."""


def _cache_dir(given: str | None) -> Path:
    return Path(given) if given else default_cache_dir()


def _output_row(entry) -> dict:
    return {"output_dir": entry.out_dir, "exists": entry.exists, "bytes": entry.size,
            "last_used": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(entry.last_used)) if entry.last_used else None}


def _size(number: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if number < 1024 or unit == "GiB":
            return f"{number:.0f} {unit}" if unit == "B" else f"{number:.1f} {unit}"
        number /= 1024
    return ""  # pragma: no cover


@cache.command("info", short_help="List what the cache holds, per output directory.")
@CACHE_DIR
@FORMAT
def cache_info(cache_dir: str | None, output_format: str) -> None:
    """List the cache directory's size and, per output directory, whether it still exists,
    when it was last rendered and what plgen keeps for it.

    \b
    Example:
      plgen cache info
    """
    from .write import cachedir

    directory = _cache_dir(cache_dir)
    found = cachedir.inventory(directory)
    max_age, max_size = cachedir.limits_from_environment()
    payload = {"cache_dir": str(directory), "bytes": found.size, "max_age_days": max_age, "max_bytes": max_size,
               "outputs": [_output_row(e) for e in found.outputs],
               "verdict_files": len(found.verdicts), "verdict_bytes": sum(size for _, _, size in found.verdicts)}
    lines = [f"{directory}: {_size(found.size)} (limit {_size(max_size)}; unused entries go after {max_age:g} days)"]
    for row in payload["outputs"]:
        state = "" if row["exists"] else " (gone)"
        lines.append(f"  {row['output_dir'] or '(unknown output directory)'}{state}: {_size(row['bytes'])}, "
                     f"last used {row['last_used'] or 'never'}")
    lines.append(f"  verdicts: {_count(payload['verdict_files'], 'file')}, {_size(payload['verdict_bytes'])}")
    _emit(output_format, payload, "\n".join(lines))


@cache.command("prune", short_help="Remove cache entries of output directories gone, unused or over the size limit.")
@CACHE_DIR
@click.option("--max-age", "max_age", type=click.FloatRange(min=0), default=None, metavar="DAYS",
              help="Remove entries unused for longer (default: $PLGEN_CACHE_MAX_AGE_DAYS or 30).")
@click.option("--max-size", "max_size", default=None, metavar="SIZE",
              help="Then keep the total under SIZE, e.g. 500M or 2G (default: $PLGEN_CACHE_MAX_SIZE or 2G).")
@click.option("--all", "everything", is_flag=True, help="Remove everything (the next render starts from scratch).")
@FORMAT
def cache_prune(cache_dir: str | None, max_age: float | None, max_size: str | None, everything: bool,
                output_format: str) -> None:
    """Remove what plgen keeps for output directories that are gone, unused for longer than
    the maximum age, or, least recently used first, beyond the maximum size. Only the cache
    is touched: output directories never are.

    \b
    Example:
      plgen cache prune --max-age 7 --max-size 500M
      plgen cache prune --all
    """
    from .write import cachedir

    default_age, default_size = cachedir.limits_from_environment()
    try:
        size_limit = cachedir.parse_size(max_size) if max_size is not None else default_size
    except ValueError as err:
        raise click.BadParameter(str(err), param_hint="--max-size") from None
    directory = _cache_dir(cache_dir)
    pruned = cachedir.prune(directory, max_age_days=default_age if max_age is None else max_age, max_size=size_limit,
                            everything=everything)
    payload = {"cache_dir": str(directory), "removed": [_output_row(e) for e in pruned.outputs],
               "removed_verdict_files": len(pruned.verdicts), "freed_bytes": pruned.freed,
               "bytes": cachedir.inventory(directory).size}
    lines = [f"removed: {row['output_dir'] or '(unknown output directory)'} ({_size(row['bytes'])})"
             for row in payload["removed"]]
    entries = len(pruned.outputs)
    lines.append(f"{directory}: freed {_size(pruned.freed)} ({entries} output director{'y' if entries == 1 else 'ies'}, "
                 f"{_count(len(pruned.verdicts), 'verdict file')}); {_size(payload['bytes'])} left")
    _emit(output_format, payload, "\n".join(lines))
