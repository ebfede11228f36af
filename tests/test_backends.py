"""The generated backend configs pass the real programs' checks, and nginx, fed a PROXY v2 header
with an Azure TLV, logs the consumer's address instead of the connection's.

The configs are used as generated except for what cannot work on a test machine: the TLS
certificate paths (a self-signed pair made here), ports (free local ones), log and pid paths,
and the NAT subnets (the loopback plays the NAT subnet, since that is where the test connects
from)."""

from __future__ import annotations

import ipaddress
import re
import shutil
import socket
import ssl
import struct
import subprocess
import time
from pathlib import Path

import pytest
import yaml

NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
HAPROXY = shutil.which("haproxy") or ("/usr/sbin/haproxy" if Path("/usr/sbin/haproxy").exists() else None)
OPENSSL = shutil.which("openssl")
FQDN = "api.contoso-saas.com"


@pytest.fixture
def tls_pair(tmp_path: Path) -> tuple[Path, Path]:
    if OPENSSL is None:
        pytest.skip("openssl is not installed (needed to make a test certificate)")
    cert, key = tmp_path / "tls.crt", tmp_path / "tls.key"
    subprocess.run([OPENSSL, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", f"/CN={FQDN}",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return cert, key


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def nginx_for_test(conf: str, tmp_path: Path, cert: Path, key: Path, port: int) -> Path:
    conf = conf.replace(f"/etc/nginx/tls/{FQDN}.crt", str(cert)).replace(f"/etc/nginx/tls/{FQDN}.key", str(key))
    conf = re.sub(r"access_log /var/log/nginx/\S+", f"access_log {tmp_path}/access.log", conf)
    conf = re.sub(r"listen \d+ ssl proxy_protocol;", f"listen 127.0.0.1:{port} ssl proxy_protocol;", conf, count=1)
    conf = re.sub(r"\n    server \{\n        listen \d+ ssl proxy_protocol;.*?\n    \}\n", "\n", conf, flags=re.S)
    conf = re.sub(r"set_real_ip_from [^;]+;", "set_real_ip_from 127.0.0.0/8;", conf)
    conf = conf.replace("worker_processes auto;", f"worker_processes 1;\npid {tmp_path}/nginx.pid;\n"
                        f"error_log {tmp_path}/error.log;")
    path = tmp_path / "nginx.conf"
    path.write_text(conf)
    return path


def test_nginx_config_passes_nginx_t(example_out: Path, tmp_path: Path, tls_pair):
    if NGINX is None:
        pytest.skip("nginx is not installed and could not be installed (tests/system-deps.sh)")
    conf = (example_out / "provider/backend/nginx.conf").read_text()
    assert "listen 443 ssl proxy_protocol;" in conf
    assert "set_real_ip_from 10.50.1.0/24;" in conf and "set_real_ip_from 10.60.1.0/26;" in conf
    assert "real_ip_header proxy_protocol;" in conf
    assert "proxy_set_header X-Forwarded-For $proxy_protocol_addr;" in conf
    path = nginx_for_test(conf, tmp_path, *tls_pair, free_port())
    result = subprocess.run([NGINX, "-t", "-p", str(tmp_path), "-c", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "syntax is ok" in result.stderr


def test_haproxy_config_passes_haproxy_c(example_out: Path, tmp_path: Path, tls_pair):
    if HAPROXY is None:
        pytest.skip("haproxy is not installed and could not be installed (tests/system-deps.sh)")
    conf = (example_out / "provider/backend/haproxy.cfg").read_text()
    assert re.search(r"bind :443 ssl crt \S+ accept-proxy", conf)
    assert "fc_pp_tlv(0xEE)" in conf
    pem = tmp_path / "tls.pem"
    pem.write_text(tls_pair[0].read_text() + tls_pair[1].read_text())
    path = tmp_path / "haproxy.cfg"
    path.write_text(conf.replace(f"/etc/haproxy/tls/{FQDN}.pem", str(pem)))
    result = subprocess.run([HAPROXY, "-c", "-f", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Configuration file is valid" in result.stdout + result.stderr


def test_envoy_listener_reads_the_azure_tlv(example_out: Path):
    config = yaml.safe_load((example_out / "provider/backend/envoy.yaml").read_text())
    listener = config["static_resources"]["listeners"][0]
    proxy_filter = listener["listener_filters"][0]
    assert proxy_filter["name"] == "envoy.filters.listener.proxy_protocol"
    rule = proxy_filter["typed_config"]["rules"][0]
    assert rule["tlv_type"] == 0xEE
    assert rule["on_tlv_present"]["key"] == "azure_private_link_id"
    assert listener["address"]["socket_address"]["port_value"] == 443


def proxy_v2_header(client: str, client_port: int, server: str, server_port: int, link_id: int) -> bytes:
    """A PROXY protocol v2 header as Azure Private Link sends it, with the 0xEE TLV."""
    tlv_value = bytes([0x01]) + struct.pack("<I", link_id)
    tlv = bytes([0xEE]) + struct.pack(">H", len(tlv_value)) + tlv_value
    addresses = ipaddress.IPv4Address(client).packed + ipaddress.IPv4Address(server).packed
    body = addresses + struct.pack(">HH", client_port, server_port) + tlv
    return b"\r\n\r\n\x00\r\nQUIT\n" + bytes([0x21, 0x11]) + struct.pack(">H", len(body)) + body


def test_nginx_logs_the_real_client_address_from_proxy_v2(example_out: Path, tmp_path: Path, tls_pair):
    if NGINX is None:
        pytest.skip("nginx is not installed and could not be installed (tests/system-deps.sh)")
    port = free_port()
    path = nginx_for_test((example_out / "provider/backend/nginx.conf").read_text(), tmp_path, *tls_pair, port)
    server = subprocess.Popen([NGINX, "-p", str(tmp_path), "-c", str(path), "-g", "daemon off;"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                raw = socket.create_connection(("127.0.0.1", port), timeout=2)
                break
            except OSError:
                assert server.poll() is None, server.stderr.read().decode()
                assert time.monotonic() < deadline, "nginx did not start listening"
                time.sleep(0.05)
        with raw:
            raw.sendall(proxy_v2_header("203.0.113.7", 51234, "10.50.1.5", 443, link_id=0x12345678))
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            with context.wrap_socket(raw, server_hostname=FQDN) as tls:
                tls.sendall(f"GET /healthz HTTP/1.1\r\nHost: {FQDN}\r\nConnection: close\r\n\r\n".encode())
                response = b""
                while chunk := tls.recv(4096):
                    response += chunk
        assert response.startswith(b"HTTP/1.1 "), response[:100]
        log = tmp_path / "access.log"
        deadline = time.monotonic() + 5
        while not (log.exists() and log.read_text().strip()):
            assert time.monotonic() < deadline, "nothing was logged"
            time.sleep(0.05)
        line = log.read_text().strip().splitlines()[-1]
        client = line.split()[0]
        assert client == "203.0.113.7:51234", line
        assert not client.startswith("127.0.0.1"), line
        assert "nat=127.0.0.1" in line  # the connection itself came from the loopback
    finally:
        server.terminate()
        server.wait(timeout=10)
