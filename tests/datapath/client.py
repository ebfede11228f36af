"""Clients of the simulated data path: a consumer or tenant speaking HTTPS to the FQDN (the
certificate verified against the test CA), Azure's health probe, and a plain TCP client."""

from __future__ import annotations

import json
import socket
import ssl
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Result:
    stage: str  # how far it got: "connect", "tls", "http", "done"
    error: str | None = None
    status: int | None = None
    headers: dict = field(default_factory=dict)  # what the application saw (from its JSON answer)
    body: bytes = b""

    @property
    def ok(self) -> bool:
        return self.stage == "done" and self.status == 200

    def __str__(self) -> str:
        if self.stage == "done":
            return f"HTTP {self.status}, application saw {self.headers or self.body[:80]!r}"
        return f"failed at {self.stage}: {self.error}"


def _connect(ns, source: str, destination: tuple[str, int], timeout: float) -> socket.socket:
    sock = ns.socket()
    sock.settimeout(timeout)
    sock.bind((source, 0))
    sock.connect(destination)
    return sock


def _read_http(stream) -> tuple[int, bytes]:
    data = b""
    while chunk := stream.recv(65536):
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1."):
        raise OSError(f"not an HTTP response: {data[:80]!r}")
    return int(head.split()[1]), body


def https_get(ns, source: str, destination: tuple[str, int], fqdn: str, ca: Path, *, prefix: bytes = b"",
              headers: dict[str, str] | None = None, path: str = "/", timeout: float = 5) -> Result:
    """GET https://fqdn/path through `destination`, from `source`, verifying the certificate
    for `fqdn` against the test CA. `prefix` goes first on the connection (a PROXY header)."""
    try:
        sock = _connect(ns, source, destination, timeout)
    except OSError as err:
        return Result("connect", f"{type(err).__name__}: {err}")
    try:
        if prefix:
            sock.sendall(prefix)
        context = ssl.create_default_context(cafile=str(ca))
        try:
            tls = context.wrap_socket(sock, server_hostname=fqdn)
        except (OSError, ssl.SSLError) as err:
            return Result("tls", f"{type(err).__name__}: {err}")
        with tls:
            lines = [f"GET {path} HTTP/1.1", f"Host: {fqdn}", "Connection: close",
                     *(f"{k}: {v}" for k, v in (headers or {}).items())]
            try:
                tls.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
                status, body = _read_http(tls)
            except (OSError, ssl.SSLError, ValueError) as err:
                return Result("http", f"{type(err).__name__}: {err}")
    finally:
        sock.close()
    seen = {}
    if status == 200:
        try:
            seen = json.loads(body)["headers"]
        except (ValueError, KeyError):
            pass
    return Result("done", status=status, headers=seen, body=body)


def _exchange(ns, source: str, destination: tuple[str, int], timeout: float, talk) -> Result:
    """Connect, then let `talk(sock)` return the result; a failure is labelled with its stage."""
    try:
        sock = _connect(ns, source, destination, timeout)
    except OSError as err:
        return Result("connect", f"{type(err).__name__}: {err}")
    with sock:
        try:
            return talk(sock)
        except (OSError, ValueError) as err:
            return Result("http", f"{type(err).__name__}: {err}")


def http_probe(ns, source: str, destination: tuple[str, int], path: str, prefix: bytes, timeout: float = 5) -> Result:
    """Azure's Http probe: (PROXY header,) GET path, success on 200."""
    def talk(sock):
        sock.sendall(prefix + f"GET {path} HTTP/1.1\r\nHost: {destination[0]}\r\nConnection: close\r\n\r\n".encode())
        status, body = _read_http(sock)
        return Result("done", status=status, body=body)
    return _exchange(ns, source, destination, timeout, talk)


def tcp_probe(ns, source: str, destination: tuple[str, int], prefix: bytes, timeout: float = 5) -> Result:
    """Azure's Tcp probe: succeeds when the connection is accepted (the PROXY header is sent)."""
    def talk(sock):
        sock.sendall(prefix)
        return Result("done", status=200)
    return _exchange(ns, source, destination, timeout, talk)


def tcp_echo(ns, source: str, destination: tuple[str, int], payload: bytes, timeout: float = 5) -> Result:
    """Send `payload` and read it back (an RDP stand-in answers in its own protocol)."""
    def talk(sock):
        sock.sendall(payload)
        data = b""
        while len(data) < len(payload) and (chunk := sock.recv(4096)):
            data += chunk
        return Result("done", status=200 if data == payload else None, body=data)
    return _exchange(ns, source, destination, timeout, talk)
