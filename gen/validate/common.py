"""What every group of validation rules shares: Azure's limits and the finding types."""

from __future__ import annotations

from ..load import PathKey, format_path

MAX_ENDPOINTS_PER_LINK_SERVICE = 1000
MAX_SUBSCRIPTIONS_PER_LIST = 100
MAX_LINK_SERVICES_PER_LB = 8
MAX_NAT_IPS = 8
RESERVED_FIRST = 4  # the network address and three Azure addresses after it
RESERVED_PER_SUBNET = 5  # the network, three Azure addresses after it, and broadcast
SMALLEST_SUBNET_PREFIX = 29
GATEWAY_SUBNET_MAX_PREFIX = 27

Finding = tuple[PathKey, str]
TaggedFinding = tuple[PathKey, str, bool]  # ... and whether it is a capacity limit
LIMIT_MARK = "\x00limit"


def limit(message: str) -> str:
    """Mark a finding as a capacity limit (see validate(enforce_limits=...))."""
    return LIMIT_MARK + message


class Refs:
    """How a rule's message names another place of the manifest. In a manifest file, by its
    position (`tenants[3]`); in a manifest directory, where positions mean nothing, by the file
    and line a tenant is written in, so that a rule across files names both."""

    def __init__(self, document=None):
        self.document = document if document is not None and document.is_directory else None

    def tenant(self, t: int) -> str:
        """Another tenant: `tenants[3]`, or `tenants/acme.yaml:1:5`."""
        return f"tenants[{t}]" if self.document is None else self._where(t)

    def in_file(self, t: int) -> str:
        """Added after a tenant's id: nothing, or ` (tenants/acme.yaml:1:5)`."""
        return "" if self.document is None else f" ({self._where(t)})"

    def passed_at(self, t: int) -> str:
        """Added to a limit reported at a link service (the provider file): nothing, or where
        the tenant that passes it is written."""
        if self.document is None:
            return ""
        return f" (passed at {self._where(t)}, counting tenant files in path order)"

    def path(self, path: PathKey) -> str:
        return format_path(path) if self.document is None else self.document.format_path(path)

    def _where(self, t: int) -> str:
        location = self.document.locate(("tenants", t, "id"))
        return f"{location.file}:{location.line}:{location.column}"
