"""Azure's part of the data path, as the rendered Terraform describes it, played on this machine.

`read_region` reads a region's Private Link Services, NAT subnet and (created) load balancer from
the generated Terraform with python-hcl2: the load balancer's rules, inbound NAT rules and probe
come from there, never from the manifest. `Relay` carries TCP connections the way the Private
Link Service (from a NAT IP, with a PROXY v2 header) or a load balancer rule (frontend port to
backend port, the client's source address kept) does.
"""

from __future__ import annotations

import ipaddress
import json
import re
import socket
import struct
import threading
from dataclasses import dataclass, field
from pathlib import Path

import hcl2

from gen.verify.hcl import HCL2_LOCK  # (python-hcl2 is not safe in parallel threads)

from .servers import stop_listening

AZURE_PROBE_SOURCE = "168.63.129.16"
PP2_SIGNATURE = b"\r\n\r\n\x00\r\nQUIT\n"
AZURE_TLV = 0xEE


def proxy_v2_header(source: tuple[str, int], destination: tuple[str, int], link_id: int | None = None) -> bytes:
    """A PROXY protocol v2 header (PROXY command, TCP over IPv4) as a Private Link Service sends
    it: the consumer's address as source and, with a LinkID, the Azure TLV 0xEE (subtype 0x01,
    then the LinkID as 4 bytes little-endian)."""
    body = (ipaddress.IPv4Address(source[0]).packed + ipaddress.IPv4Address(destination[0]).packed
            + struct.pack(">HH", source[1], destination[1]))
    if link_id is not None:
        value = bytes([0x01]) + struct.pack("<I", link_id)
        body += bytes([AZURE_TLV]) + struct.pack(">H", len(value)) + value
    return PP2_SIGNATURE + bytes([0x21, 0x11]) + struct.pack(">H", len(body)) + body


# --- the rendered Terraform ------------------------------------------------------------------

def _text(value) -> str:
    """An HCL string literal as python-hcl2 returns it (quotes kept), as its value."""
    if isinstance(value, str) and len(value) >= 2 and value[0] == '"' and value[-1] == '"':
        return json.loads(value)
    return value


def _resources(path: Path) -> list[tuple[str, str, dict]]:
    text = path.read_text()
    with HCL2_LOCK:  # the regions run in parallel threads
        parsed = hcl2.loads(text)
    found = []
    for block in parsed.get("resource", []):
        for kind, named in block.items():
            for name, body in named.items():
                found.append((_text(kind), _text(name), body))
    return found


def _blocks(value) -> list[dict]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


@dataclass(frozen=True)
class Rule:
    name: str
    frontend: str
    frontend_port: int
    backend_port: int


@dataclass(frozen=True)
class Probe:
    protocol: str
    port: int
    path: str | None


@dataclass(frozen=True)
class LinkService:
    name: str
    frontend: str
    proxy_protocol: bool
    nat_ips: tuple[str, ...]  # static NAT IPs; dynamic ones are drawn from the NAT subnet here


@dataclass
class Region:
    location: str
    nat_subnet: ipaddress.IPv4Network
    link_services: list[LinkService]
    load_balancer_created: bool
    frontends: dict[str, str | None]  # name -> private IP (None: an existing load balancer's)
    rules: list[Rule]
    nat_rules: list[Rule]
    probe: Probe | None  # None: an existing load balancer's probe, which plgen does not know

    @property
    def link_service_frontends(self) -> set[str]:
        return {ls.frontend for ls in self.link_services}

    def rules_of(self, kind: str) -> list[Rule]:
        """"private_link": rules on a link service's frontend; "routed": the other rules."""
        linked = self.link_service_frontends
        return [r for r in self.rules if (r.frontend in linked) == (kind == "private_link")]


def read_region(out: Path, location: str, service_ports: list[int]) -> Region:
    terraform = out / "provider" / "terraform"
    region_resources = _resources(terraform / f"region-{location}.tf")
    nat_subnets = [body for kind, _, body in region_resources
                   if kind == "azurerm_subnet" and body.get("private_link_service_network_policies_enabled") is False]
    assert len(nat_subnets) == 1, f"region-{location}.tf: expected one NAT subnet, found {len(nat_subnets)}"
    nat_subnet = ipaddress.IPv4Network(_text(nat_subnets[0]["address_prefixes"][0]))

    lb_path = terraform / f"load-balancer-{location}.tf"
    created = lb_path.exists()
    frontends: dict[str, str | None] = {}
    frontend_order: list[str] = []
    rules: list[Rule] = []
    nat_rules: list[Rule] = []
    probe = None
    if created:
        for kind, _, body in _resources(lb_path):
            if kind == "azurerm_lb":
                for fe in _blocks(body.get("frontend_ip_configuration")):
                    frontends[_text(fe["name"])] = _text(fe.get("private_ip_address"))
                    frontend_order.append(_text(fe["name"]))
            elif kind in ("azurerm_lb_rule", "azurerm_lb_nat_rule"):
                assert _text(body["protocol"]) == "Tcp", body
                rule = Rule(_text(body["name"]), _text(body["frontend_ip_configuration_name"]),
                            int(body["frontend_port"]), int(body["backend_port"]))
                (rules if kind == "azurerm_lb_rule" else nat_rules).append(rule)
            elif kind == "azurerm_lb_probe":
                probe = Probe(_text(body["protocol"]), int(body["port"]), _text(body.get("request_path")))

    link_services = []
    for kind, _, body in region_resources:
        if kind != "azurerm_private_link_service":
            continue
        (reference,) = body["load_balancer_frontend_ip_configuration_ids"]
        by_index = re.search(r"frontend_ip_configuration\[(\d+)\]", reference)
        by_name = re.search(r'\["([^"]+)"\]', reference)
        if by_index and created:
            frontend = frontend_order[int(by_index.group(1))]
        elif by_name:
            frontend = by_name.group(1)
        else:
            raise AssertionError(f"cannot tell which frontend {reference} is")
        nat_ips = tuple(_text(c["private_ip_address"]) for c in _blocks(body.get("nat_ip_configuration"))
                        if c.get("private_ip_address"))
        link_services.append(LinkService(_text(body["name"]), frontend, body.get("proxy_protocol_enabled") is True,
                                         nat_ips))

    if not created:
        # An existing load balancer: its rules are the provider's own; plgen's backend configs
        # assume each link service's frontend forwards the service ports unchanged.
        for ls in link_services:
            frontends.setdefault(ls.frontend, None)
        rules = [Rule(f"{fe}-{port}", fe, port, port) for fe in sorted(frontends) for port in sorted(service_ports)]
    return Region(location, nat_subnet, link_services, created, frontends, rules, nat_rules, probe)


# --- the simulated network -------------------------------------------------------------------

@dataclass
class Addresses:
    """Every address of one simulated region. All live on the loopback of the test's namespace."""

    backend: str = "100.64.0.4"  # the backend VM: nginx / HAProxy / Envoy listen here
    routed_tenant: str = "100.66.0.7"  # a vnet_to_vnet tenant's VM, reached over the VPN
    frontends: dict[str, str] = field(default_factory=dict)
    endpoints: dict[str, str] = field(default_factory=dict)  # link service -> its private endpoint
    consumers: dict[str, str] = field(default_factory=dict)  # link service -> a consumer VM
    nat_ips: dict[str, str] = field(default_factory=dict)  # link service -> the NAT IP it uses
    untrusted: str = ""  # the first address after the NAT subnet: in the VNet, not trusted

    @classmethod
    def plan(cls, region: Region) -> "Addresses":
        addresses = cls()
        for n, name in enumerate(sorted(region.frontends)):
            addresses.frontends[name] = region.frontends[name] or f"100.64.1.{10 + n}"
        static = {ip for ls in region.link_services for ip in ls.nat_ips}
        # Dynamic NAT IPs: Azure's first free addresses (the first four are reserved).
        free = (str(ip) for ip in list(region.nat_subnet.hosts())[3:] if str(ip) not in static)
        for n, ls in enumerate(sorted(region.link_services, key=lambda ls: ls.name)):
            addresses.endpoints[ls.name] = f"100.64.2.{10 + n}"
            addresses.consumers[ls.name] = f"100.65.{n}.9"
            addresses.nat_ips[ls.name] = ls.nat_ips[0] if ls.nat_ips else next(free)
        addresses.untrusted = str(region.nat_subnet.broadcast_address + 1)
        return addresses

    def all(self) -> list[str]:
        return sorted({self.backend, self.routed_tenant, self.untrusted, AZURE_PROBE_SOURCE, *self.frontends.values(),
                       *self.endpoints.values(), *self.consumers.values(), *self.nat_ips.values()})


class Relay:
    """Accepts TCP connections at `listen` (in the namespace) and carries each one to `target`,
    connecting from `source(peer)`, after sending `prefix(peer)` (a PROXY header) if given."""

    def __init__(self, ns, label: str, listen: tuple[str, int], target: tuple[str, int], source, prefix=None):
        self.ns, self.label, self.listen, self.target = ns, label, listen, target
        self.source, self.prefix = source, prefix
        self.errors: list[str] = []
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._server = ns.socket()
        self._server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._server.bind(listen)
        self._server.listen(64)
        self._closed = False
        self._accepting = threading.Thread(target=self._accept, name=f"relay {label}", daemon=True)
        self._accepting.start()

    def _track(self, sock: socket.socket) -> socket.socket:
        with self._lock:
            self._sockets.append(sock)
        return sock

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, peer = self._server.accept()
            except OSError:
                return
            threading.Thread(target=self._carry, args=(self._track(client), peer), daemon=True).start()

    def _carry(self, client: socket.socket, peer) -> None:
        upstream = self._track(self.ns.socket())
        try:
            upstream.settimeout(5)
            upstream.bind((self.source(peer), 0))
            upstream.connect(self.target)
            if self.prefix is not None:
                upstream.sendall(self.prefix(peer))
        except OSError as err:
            self.errors.append(f"{self.label}: connecting from {self.source(peer)} to {self.target[0]}:{self.target[1]}: {err}")
            client.close()
            upstream.close()
            return
        client.settimeout(15)
        upstream.settimeout(15)
        back = threading.Thread(target=_pump, args=(upstream, client), daemon=True)
        back.start()
        _pump(client, upstream)
        back.join(15)
        client.close()
        upstream.close()

    def close(self) -> None:
        self._closed = True
        stop_listening(self._server, self._accepting)
        with self._lock:
            for sock in self._sockets:
                try:
                    sock.close()
                except OSError:
                    pass


def _pump(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        try:
            sink.shutdown(socket.SHUT_WR)
        except OSError:
            pass
