"""`plgen approvals`: decide what to do with each private endpoint connection, from the
manifest (or the rendered provider/approvals.json) and the connections Azure reports.

The request message is shown but never decides: it is written by the consumer.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import decisions
from .errors import Location, ManifestError, Problem

DECISIONS = ("approve", "reject", "hold", "flag", "keep")
_PLS_IN_ID = re.compile(r"/providers/Microsoft\.Network/privateLinkServices/([^/]+)/privateEndpointConnections/", re.I)
_SUBSCRIPTION_IN_ID = re.compile(r"^/subscriptions/([0-9a-fA-F-]{36})/", re.I)


@dataclass(frozen=True)
class Decision:
    id: str
    decision: str
    tenant: str | None
    reason: str
    link_service: str | None
    subscription: str | None
    status: str
    link_id: str | None
    request_message: str | None

    def command(self) -> str | None:
        """The az command that carries the decision out (flag: a command to consider)."""
        verb = {"approve": "approve", "reject": "reject", "flag": "reject"}.get(self.decision)
        if verb is None:
            return None
        description = f"plgen: {self.reason}"[:140]
        command = f"az network private-endpoint-connection {verb} --id {shlex.quote(self.id)} --description {shlex.quote(description)}"
        return f"# review, then: {command}" if self.decision == "flag" else command


def expected_tenants(source: Path) -> dict[str, Any]:
    """The link services and their tenants, from a manifest or from provider/approvals.json."""
    if source.suffix == ".json" and not source.is_dir():
        try:
            data = json.loads(source.read_text(encoding="utf-8"))
        except (OSError, ValueError) as err:
            raise ManifestError(Problem(Location(str(source)), f"cannot read approvals file: {err}")) from None
        if not isinstance(data, dict) or data.get("format") != "plgen-approvals/1":
            raise ManifestError(Problem(Location(str(source)), "not a plgen approvals file (format plgen-approvals/1)"))
        return data
    from . import api
    from .plan import approvals_data, build_plan

    manifest, _ = api.load_manifest(source)
    return approvals_data(manifest, build_plan(manifest, source.name).provider)


SHAPES = (
    "a list of connections (az network private-endpoint-connection list --id <pls-id>, or ... -g RG -n PLS "
    "--type Microsoft.Network/privateLinkServices)",
    "a link service with privateEndpointConnections, or a list of them (az network private-link-service show)",
    "a REST list response {\"value\": [...]} of either",
)


def read_connections(path: Path) -> tuple[list[dict[str, Any]], str]:
    """The connections in FILE and which of the accepted shapes they came in."""
    where = Location(str(path))
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise ManifestError(Problem(where, f"cannot read connections: {err}")) from None
    shape = "az network private-endpoint-connection list"
    if isinstance(data, dict) and isinstance(data.get("value"), list):
        data, shape = data["value"], "REST list response"
    items = data if isinstance(data, list) else [data]
    connections: list[dict[str, Any]] = []
    if items and all(isinstance(i, dict) and isinstance(i.get("privateEndpointConnections"), list) for i in items):
        shape = "az network private-link-service show" if shape != "REST list response" else "REST list of link services"
        connections = [c for item in items for c in item["privateEndpointConnections"]]
    elif isinstance(data, list):
        connections = data
    else:
        connections = None  # type: ignore[assignment]
    problem = _shape_problem(connections)
    if problem:
        raise ManifestError(Problem(where, f"{problem}; expected {'; or '.join(SHAPES)}"))
    return connections, shape


def _properties(connection: dict[str, Any]) -> dict[str, Any]:
    # ARM returns {"properties": {...}}; `az network private-link-service show` flattens them.
    return connection.get("properties") if isinstance(connection.get("properties"), dict) else connection


def _shape_problem(connections: Any) -> str | None:
    if connections is None:
        return "not a list of private endpoint connections"
    for index, connection in enumerate(connections):
        if not isinstance(connection, dict):
            return f"item {index} is not an object"
        properties = _properties(connection)
        if not _PLS_IN_ID.search(str(connection.get("id", ""))):
            return f"item {index} has no private endpoint connection id of a link service (…/privateLinkServices/NAME/privateEndpointConnections/…)"
        if not isinstance((properties.get("privateEndpoint") or {}).get("id"), str):
            return f"item {index} ({connection['id']}) has no privateEndpoint.id, so its subscription is unknown"
        if not isinstance((properties.get("privateLinkServiceConnectionState") or {}).get("status"), str):
            return f"item {index} ({connection['id']}) has no privateLinkServiceConnectionState.status"
    return None


def decide(expected: dict[str, Any], connections: list[dict[str, Any]], *, reject_unknown: bool = False) -> list[Decision]:
    owners: dict[tuple[str, str], tuple[str, dict]] = {}
    elsewhere: dict[str, tuple[str, str]] = {}  # subscription -> (tenant, its link service)
    for link_service, entry in expected["link_services"].items():
        for tenant_id, tenant in entry["tenants"].items():
            for subscription in tenant["subscriptions"]:
                owners[(link_service.lower(), subscription.lower())] = (tenant_id, tenant)
                elsewhere[subscription.lower()] = (tenant_id, link_service)
    known_services = {name.lower() for name in expected["link_services"]}
    decisions = []
    for index, connection in enumerate(connections):
        properties = _properties(connection)
        connection_id = str(connection.get("id", f"<connection {index}>"))
        state = properties.get("privateLinkServiceConnectionState") or {}
        status = str(state.get("status", "Unknown"))
        endpoint_id = str((properties.get("privateEndpoint") or {}).get("id", ""))
        match = _PLS_IN_ID.search(connection_id)
        link_service = match.group(1) if match else None
        sub_match = _SUBSCRIPTION_IN_ID.match(endpoint_id)
        subscription = sub_match.group(1).lower() if sub_match else None
        owner = owners.get((link_service.lower(), subscription)) if link_service and subscription else None
        tenant_id, tenant = owner if owner else (None, None)
        decision, reason = _rule(status, tenant_id, tenant, link_service, subscription, reject_unknown,
                                 known_service=bool(link_service) and link_service.lower() in known_services,
                                 other=elsewhere.get(subscription or ""))
        link_id = properties.get("linkIdentifier")
        decisions.append(Decision(
            id=connection_id, decision=decision, tenant=tenant_id, reason=reason, link_service=link_service,
            subscription=subscription, status=status, link_id=str(link_id) if link_id is not None else None,
            request_message=state.get("description") if isinstance(state.get("description"), str) else None,
        ))
    return decisions


def _rule(status: str, tenant_id, tenant, link_service, subscription, reject_unknown: bool, *,
          known_service: bool = True, other: tuple[str, str] | None = None) -> tuple[str, str]:
    """The decision table (gen.decisions), filled in for this connection."""
    where = f"link service {link_service}"
    if not known_service:
        unknown = f"link service {link_service} is not in the manifest"
    elif other is not None:
        unknown = f"subscription {subscription} belongs to tenant {other[0]} on {other[1]}, not {link_service} (wrong shard)"
    else:
        unknown = f"subscription {subscription} is not a tenant of {where}"
    state = tenant["state"] if tenant is not None else "unknown"
    row = decisions.outcome(state, status)
    if state == "unknown" and status == "Pending" and reject_unknown:
        # a known customer on the wrong shard is held, and said so: rejecting would be final
        row = decisions.REJECT_UNKNOWN if other is None else decisions.Outcome(
            "hold", "{unknown}; held although --reject-unknown: ask the customer to connect to the right alias", "")
    return row.decision, row.reason.format(tenant=tenant_id, where=where, unknown=unknown)


def link_id_map(decisions: list[Decision]) -> dict[str, str]:
    """LinkID -> tenant, to attribute the PROXY protocol TLV 0xEE seen by the backends."""
    return {d.link_id: d.tenant for d in sorted(decisions, key=lambda d: d.link_id or "") if d.link_id and d.tenant}


def as_json(decisions: list[Decision]) -> str:
    rows = [{"id": d.id, "decision": d.decision, "tenant": d.tenant, "reason": d.reason, "link_service": d.link_service,
             "subscription": d.subscription, "status": d.status, "link_id": d.link_id,
             "request_message": d.request_message} for d in decisions]
    return json.dumps(rows, indent=2, ensure_ascii=False)


def as_script(decisions: list[Decision]) -> str:
    """The approve/reject commands as a runnable script; every value quoted for the shell."""
    lines = ["#!/bin/sh", "# Generated by plgen approvals: review before running.", "set -eu"]
    for d in decisions:
        command = d.command()
        if command is None:
            lines.append(f"# {d.decision}: {shlex.quote(d.id)}")
        elif d.decision == "flag":
            lines.append(command)  # already commented out: a human decides
        else:
            lines.append(command)
    return "\n".join(lines) + "\n"


def as_text(decisions: list[Decision], shape: str | None = None) -> str:
    lines = [f"read: {shape}"] if shape else []
    for d in decisions:
        # While a connection is Pending, Azure's state description is the consumer's request
        # message; after a decision it is the provider's description.
        label = "request message (the consumer's; never decides)" if d.status == "Pending" else "state description"
        message = f"  {label}: {json.dumps(d.request_message, ensure_ascii=False)}" if d.request_message else ""
        lines.append(f"{d.decision.upper():8} {d.tenant or '-':20} {d.status:12} {d.id}")
        lines.append(f"         {d.reason}")
        if message:
            lines.append(message)
    commands = [d.command() for d in decisions if d.command()]
    if commands:
        lines += ["", "Commands:"] + commands
    mapping = link_id_map(decisions)
    lines += ["", "LinkID -> tenant (PROXY protocol TLV 0xEE):"]
    lines += [f"  {link_id} {tenant}" for link_id, tenant in mapping.items()] or ["  (none)"]
    return "\n".join(lines)
