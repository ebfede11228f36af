"""One decision table: tenant state x connection status -> what `plgen approvals` does, what the
tenant's guide tells the customer to expect, and the README's table. All three read this.

Why a suspended tenant's pending connection is held, not rejected: Azure cannot approve a
rejected connection later; the consumer would have to delete the private endpoint and create
a new one (learn.microsoft.com: manage-private-endpoint, "Rejected" state). Suspension is
meant to be undone, so new connections wait in Pending until the tenant is reactivated.
Offboarding is final, so its connections are rejected.
"""

from __future__ import annotations

from dataclasses import dataclass

STATES = ("active", "suspended", "offboarded", "unknown")  # unknown: no tenant owns the subscription
STATUSES = ("Pending", "Approved", "Rejected", "Disconnected")


@dataclass(frozen=True)
class Outcome:
    decision: str  # approve | reject | hold | flag | keep
    reason: str  # for `plgen approvals`; {tenant} and {where} are filled in
    customer_sees: str  # for the tenant's guide and the README table


TABLE: dict[tuple[str, str], Outcome] = {
    ("active", "Pending"): Outcome("approve", "tenant {tenant} is active on {where}",
                                   "Pending until the provider approves, then Approved"),
    ("active", "Approved"): Outcome("keep", "tenant {tenant} is active", "Approved"),
    ("suspended", "Pending"): Outcome(
        "hold", "tenant {tenant} is suspended: left pending until it is reactivated (a rejected connection "
        "could never be approved later)", "Pending until the provider reactivates the account"),
    ("suspended", "Approved"): Outcome(
        "flag", "approved, but tenant {tenant} is suspended: rejecting cuts it off for good (the customer must "
        "then delete and re-create the private endpoint)", "Approved, unless the provider rejects it"),
    ("offboarded", "Pending"): Outcome("reject", "tenant {tenant} is offboarded", "Rejected"),
    ("offboarded", "Approved"): Outcome("flag", "approved, but tenant {tenant} is offboarded: reject it",
                                        "Rejected once the provider acts"),
    ("unknown", "Pending"): Outcome("hold", "{unknown}; left pending for a human", "not applicable"),
    ("unknown", "Approved"): Outcome("flag", "approved, but {unknown}", "not applicable"),
}
REJECT_UNKNOWN = Outcome("reject", "{unknown}", "not applicable")


def outcome(state: str, status: str) -> Outcome:
    """The table's row, or "keep" for a connection that is already Rejected or Disconnected:
    nothing the provider can do brings it back (the consumer re-creates the endpoint)."""
    found = TABLE.get((state, status))
    if found is None:
        return Outcome("keep", f"connection is {status}; nothing to do", status)
    return found


def expected_status(state: str, approval: str) -> str:
    """What a tenant's guide says the new connection will show."""
    if state == "active" and approval == "auto":
        return "Approved at once (your subscription is on the auto-approval list)"
    return TABLE[(state, "Pending")].customer_sees


def verify_status(state: str) -> str:
    """The status the guide's `az network private-endpoint show` check expects."""
    return "Approved" if state == "active" else "Pending"
