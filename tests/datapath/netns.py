"""Network namespaces the tests create and delete themselves, by the names they generated.

Every address a test uses is put on the loopback interface of its own namespace, so traffic
between them never leaves that namespace. Sockets are created inside a namespace by switching
the calling thread into it for the moment of creation (setns(2) is per thread); a socket stays
in the namespace it was created in, whichever thread uses it later. Servers run in it through
`ip netns exec`, which execs the program: the Popen pid is the server's own pid.
"""

from __future__ import annotations

import contextlib
import ctypes
import itertools
import os
import re
import shutil
import socket
import subprocess
from pathlib import Path

CLONE_NEWNET = 0x40000000
_LIBC = ctypes.CDLL(None, use_errno=True)
_COUNTER = itertools.count(1)

IP = shutil.which("ip") or next((p for p in ("/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip") if Path(p).exists()), None)


def _setns(fd: int) -> None:
    if _LIBC.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"setns: {os.strerror(err)}")


def sweep_stale() -> None:
    """Delete namespaces an earlier run of these tests left behind (killed before its
    finalizers ran): only names of the form plgen-dp-<pid>-... whose process is gone."""
    listed = subprocess.run([IP, "netns", "list"], capture_output=True, text=True, timeout=20).stdout
    for line in listed.splitlines():
        name = line.split()[0] if line.split() else ""
        match = re.fullmatch(r"plgen-dp-(\d+)-\S+", name)
        if match and int(match.group(1)) != os.getpid() and not Path(f"/proc/{match.group(1)}").exists():
            subprocess.run([IP, "netns", "delete", name], capture_output=True, timeout=20)


def unavailable_reason() -> str | None:
    """Why namespaces cannot be used here, or None."""
    if os.geteuid() != 0:
        return "not root (network namespaces need root)"
    if IP is None:
        return "the ip command (iproute2) is not installed"
    sweep_stale()
    probe = Namespace("probe")
    try:
        probe.create()
    except (OSError, subprocess.CalledProcessError) as err:
        return f"ip netns add does not work here: {err}"
    finally:
        probe.delete()
    return None


def link(azure: "Namespace", vm: "Namespace", azure_addresses, vm_address: str) -> None:
    """Join two created namespaces with a veth pair: `azure` holds every address Azure and the
    clients use (on its loopback), `vm` is the backend VM with `vm_address`. The VM sends
    everything to the link (a default route without gateway); Azure's side answers ARP for its
    own addresses."""
    azure._ip("-n", azure.name, "link", "add", "va", "type", "veth", "peer", "name", "vv", "netns", vm.name)
    azure.add_addresses([a for a in azure_addresses if a != vm_address])
    azure._ip("-n", azure.name, "-batch", "-", stdin=f"link set va up\nroute add {vm_address}/32 dev va\n")
    vm._ip("-n", vm.name, "-batch", "-",
           stdin=f"address add {vm_address}/32 dev vv\nlink set vv up\nroute add default dev vv\n")


class Namespace:
    """One network namespace, named plgen-dp-<pid>-<n>-<label>: unique to this test run."""

    def __init__(self, label: str):
        self.name = f"plgen-dp-{os.getpid()}-{next(_COUNTER)}-{label}"[:60]
        self.created = False

    def _ip(self, *args: str, stdin: str | None = None) -> None:
        subprocess.run([IP, *args], check=True, capture_output=True, text=True, input=stdin, timeout=20)

    def create(self) -> "Namespace":
        self._ip("netns", "add", self.name)
        self.created = True
        self._ip("-n", self.name, "link", "set", "lo", "up")
        return self

    def add_addresses(self, addresses) -> None:
        """Put each IPv4 address on this namespace's loopback (as a /32): it is then local here."""
        batch = "".join(f"address add {a}/32 dev lo\n" for a in sorted(set(addresses)) if not a.startswith("127."))
        if batch:
            self._ip("-n", self.name, "-batch", "-", stdin=batch)

    def delete(self) -> None:
        if self.created or Path(f"/run/netns/{self.name}").exists():
            subprocess.run([IP, "netns", "delete", self.name], capture_output=True, timeout=20)
            self.created = False

    @contextlib.contextmanager
    def entered(self):
        """Run the block with the calling thread inside this namespace."""
        own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
        target = os.open(f"/run/netns/{self.name}", os.O_RDONLY)
        try:
            _setns(target)
            try:
                yield
            finally:
                _setns(own)
        finally:
            os.close(target)
            os.close(own)

    def socket(self, family: int = socket.AF_INET, kind: int = socket.SOCK_STREAM) -> socket.socket:
        with self.entered():
            return socket.socket(family, kind)

    def popen(self, argv: list[str], **kwargs) -> subprocess.Popen:
        return subprocess.Popen([IP, "netns", "exec", self.name, *argv], **kwargs)
