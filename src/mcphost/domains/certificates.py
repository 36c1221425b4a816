"""What Caddy knows of each domain's certificate, read back two ways: the certificate it serves for the name (a TLS
handshake to its HTTPS port, with the name as SNI), and, when Caddy writes its certificate log where MCP Host can
read it, the newest attempt to obtain or renew one (for the reason a certificate could not be had)."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import orjson
from cryptography import x509
from cryptography.x509.oid import ExtensionOID, NameOID

#: How much of the end of Caddy's certificate log is read (its newest entries).
LOG_TAIL_BYTES = 1_048_576


@dataclass(frozen=True)
class Served:
    """The certificate Caddy served for a name."""

    names: tuple[str, ...]
    issuer: str
    not_after: datetime

    def covers(self, name: str, now: datetime) -> bool:
        return name in self.names and self.not_after > now


@dataclass(frozen=True)
class Attempt:
    """The newest log entry about obtaining or renewing a name's certificate."""

    at: datetime
    succeeded: bool
    message: str


async def served_certificate(host: str, port: int, name: str, *, timeout: float) -> Served | str:  # noqa: ASYNC109
    """The certificate served for ``name`` (SNI), or why none was (the handshake's error)."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # only read what is served; clients verify it against their roots
    try:
        async with asyncio.timeout(timeout):
            _reader, writer = await asyncio.open_connection(host, port, ssl=context, server_hostname=name)
    except (OSError, TimeoutError, ssl.SSLError) as exc:
        return f"no certificate is served for {name} yet ({type(exc).__name__}: {exc or 'timed out'})"
    try:
        ssl_object = writer.get_extra_info("ssl_object")
        der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
    finally:
        writer.close()
        with contextlib.suppress(OSError, ssl.SSLError):
            await writer.wait_closed()
    if not der:
        return f"Caddy served no certificate for {name}"
    certificate = x509.load_der_x509_certificate(der)
    try:
        san = certificate.extensions.get_extension_for_oid(ExtensionOID.SUBJECT_ALTERNATIVE_NAME).value
        names = tuple(str(value).lower() for value in san.get_values_for_type(x509.DNSName))  # type: ignore[attr-defined]
    except x509.ExtensionNotFound:
        names = ()
    issuers = certificate.issuer.get_attributes_for_oid(NameOID.COMMON_NAME)
    issuer = str(issuers[0].value) if issuers else certificate.issuer.rfc4514_string()
    return Served(names=names, issuer=issuer, not_after=certificate.not_valid_after_utc)


def newest_attempts(log_file: Path, names: set[str]) -> dict[str, Attempt]:
    """The newest logged attempt per name, from the end of Caddy's certificate log (empty when it is unreadable)."""
    try:
        with log_file.open("rb") as handle:
            handle.seek(0, 2)
            size = handle.tell()
            handle.seek(max(0, size - LOG_TAIL_BYTES))
            tail = handle.read()
    except OSError:
        return {}
    found: dict[str, Attempt] = {}
    for line in tail.splitlines():
        attempt = _attempt(line, names)
        if attempt is not None:
            found[attempt[0]] = attempt[1]
    return found


def _attempt(line: bytes, names: set[str]) -> tuple[str, Attempt] | None:
    try:
        entry = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(entry, dict):
        return None
    name = entry.get("identifier")
    if not isinstance(name, str) or name.lower() not in names:
        return None
    message = str(entry.get("msg", ""))
    level = entry.get("level")
    succeeded = "successfully" in message
    if not succeeded and level != "error":
        return None
    detail = message if succeeded else str(entry.get("error") or message)
    at = datetime.fromtimestamp(float(entry.get("ts") or 0), UTC)
    return name.lower(), Attempt(at=at, succeeded=succeeded, message=detail)
