"""Real tools the domain tests start on free loopback ports: pebble-challtestsrv as the DNS (every name resolves to
127.0.0.1, TXT records set by the test), pebble as the ACME CA, and Caddy."""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import json
import os
import shutil
import socket
import ssl
import subprocess
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.support.waiting import eventually


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def need(program: str) -> str:
    path = shutil.which(program)
    if path is None:
        pytest.skip(f"needs {program} (Debian package {program.split('-')[0]}; scripts/setup_system.sh test)")
    return path


@contextmanager
def running(argv: list[str], log: Path, env: dict[str, str] | None = None) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as output:
        process = subprocess.Popen(argv, stdout=output, stderr=subprocess.STDOUT, env=env)
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def wait_listening(port: int, what: str, process: subprocess.Popen[bytes], log: Path) -> None:
    async def probe() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"{what} exited ({process.returncode}): {log.read_text()[-2000:]}")
        try:
            _reader, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            return False
        writer.close()
        return True

    await eventually(probe, bool, timeout=20, what=f"{what} listening on {port}")


@dataclass
class Dns:
    """pebble-challtestsrv as a DNS server: A 127.0.0.1 for every name, TXT records as set."""

    port: int
    management: int

    @property
    def resolver(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def set_txt(self, name: str, value: str) -> None:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{self.management}") as client:
            response = await client.post("/set-txt", json={"host": f"{name}.", "value": value})
            assert response.status_code == 200, response.text


@asynccontextmanager
async def dns_server(tmp: Path) -> AsyncIterator[Dns]:
    program = need("pebble-challtestsrv")
    dns = Dns(free_port(), free_port())
    argv = [
        program,
        *("-dns01", dns.resolver, "-management", f"127.0.0.1:{dns.management}"),
        *("-http01", "", "-https01", "", "-tlsalpn01", ""),
        *("-defaultIPv4", "127.0.0.1", "-defaultIPv6", ""),
    ]
    log = tmp / "challtestsrv.log"
    with running(argv, log) as process:
        await wait_listening(dns.management, "pebble-challtestsrv", process, log)
        yield dns


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and localhost (pebble's own HTTPS listener) and its key."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "pebble test listener")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "pebble-cert.pem", directory / "pebble-key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


@dataclass
class Pebble:
    directory_url: str
    management_url: str
    listener_cert: Path

    async def root(self) -> str:
        """The root of the certificates pebble issues (regenerated at every start)."""
        async with httpx.AsyncClient(verify=ssl.create_default_context(cafile=str(self.listener_cert))) as client:
            response = await client.get(f"{self.management_url}/roots/0")
            assert response.status_code == 200, response.text
            return response.text


@asynccontextmanager
async def pebble(tmp: Path, dns: Dns, *, http_port: int, tls_port: int) -> AsyncIterator[Pebble]:
    """Pebble validating challenges for real: names resolved by ``dns``, HTTP-01 on ``http_port`` and TLS-ALPN-01 on
    ``tls_port`` (Caddy's), without its random sleeps."""
    program = need("pebble")
    cert, key = self_signed(tmp)
    port, management = free_port(), free_port()
    config = {
        "pebble": {
            "listenAddress": f"127.0.0.1:{port}",
            "managementListenAddress": f"127.0.0.1:{management}",
            "certificate": str(cert),
            "privateKey": str(key),
            "httpPort": http_port,
            "tlsPort": tls_port,
            "ocspResponderURL": "",
            "externalAccountBindingRequired": False,
        }
    }
    config_file = tmp / "pebble.json"
    config_file.write_text(json.dumps(config))
    env = os.environ | {"PEBBLE_VA_NOSLEEP": "1", "PEBBLE_WFE_NONCEREJECT": "0"}
    log = tmp / "pebble.log"
    with running([program, "-config", str(config_file), "-dnsserver", dns.resolver], log, env) as process:
        await wait_listening(port, "pebble", process, log)
        yield Pebble(f"https://127.0.0.1:{port}/dir", f"https://127.0.0.1:{management}", cert)


@dataclass
class Caddy:
    admin_url: str
    log: Path


@asynccontextmanager
async def caddy(tmp: Path) -> AsyncIterator[Caddy]:
    """Caddy with only its admin API on a free loopback port; MCP Host loads the rest. Its data (certificates,
    autosave) stays under ``tmp``."""
    program = need("caddy")
    admin = free_port()
    config_file = tmp / "caddy-initial.json"
    config_file.write_text(json.dumps({"admin": {"listen": f"127.0.0.1:{admin}"}}))
    home = tmp / "caddy-home"
    home.mkdir()
    env = os.environ | {"HOME": str(home), "XDG_DATA_HOME": str(home / "data"), "XDG_CONFIG_HOME": str(home / "cfg")}
    log = tmp / "caddy.log"
    with running([program, "run", "--config", str(config_file)], log, env) as process:
        await wait_listening(admin, "caddy", process, log)
        yield Caddy(f"http://127.0.0.1:{admin}", log)
