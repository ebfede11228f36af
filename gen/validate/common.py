"""What every group of validation rules shares: Azure's limits and the finding types."""

from __future__ import annotations

from ..load import PathKey

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
