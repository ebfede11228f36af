"""The one exception hierarchy. Exceptions carry locations; only the CLI turns them into text
and exit codes."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Location:
    """Where a problem is: a file, 1-based line and column (0 when unknown, e.g. for a problem
    with the whole file), and the manifest field path."""

    file: str
    line: int = 0
    column: int = 0
    path: str = ""

    def __str__(self) -> str:
        where = self.file
        if self.line:
            where += f":{self.line}:{self.column}" if self.column else f":{self.line}"
        return f"{where}: {self.path}" if self.path else where


@dataclass(frozen=True, order=True)
class Problem:
    location: Location
    message: str

    def __str__(self) -> str:
        return f"{self.location}: {self.message}"

    def as_dict(self) -> dict:
        """For --format json: an unknown line or column is null, never a made-up 0."""
        location = self.location
        return {"file": location.file, "line": location.line or None, "column": location.column or None,
                "path": location.path, "message": self.message}


class PlgenError(Exception):
    """Base of every error plgen reports to a user (never a traceback)."""

    exit_code = 1

    def __init__(self, problems: list[Problem] | Problem | str):
        if isinstance(problems, str):
            problems = [Problem(Location("plgen"), problems)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems = sorted(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class ManifestError(PlgenError):
    """The manifest could not be loaded or is invalid."""


class VerificationError(PlgenError):
    """A rendered file failed its round-trip check; nothing was written."""


class ReplacementError(PlgenError):
    """A render would replace or destroy a resource whose loss others pay for (a link service's
    alias, a tenant's endpoint, ...) and --allow-replace does not name it; nothing was written."""


class TemplatesError(PlgenError):
    """A --templates directory lacks a file the manifest needs, or one of its templates fails."""


class WriteError(PlgenError):
    """The output directory could not be updated safely; it was left as it was."""
