"""What a custom domain name may be: a public DNS name a CA can issue a certificate for, in one canonical form
(IDNA A-labels, lower case, no trailing dot). Each refusal says what to change."""

from __future__ import annotations

import ipaddress
import re

import idna

MAX_NAME = 253
MAX_LABEL = 63
_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
#: Names no public CA issues for and no one can prove on the internet (RFC 6761, RFC 8375, RFC 6762).
_RESERVED_SUFFIXES = ("localhost", "local", "invalid", "home.arpa", "in-addr.arpa", "ip6.arpa")

#: The record and the path under which an owner publishes a domain's token.
TXT_PREFIX = "_mcphost-challenge"
HTTP_PATH = "/.well-known/mcphost-domain/"


class InvalidDomain(ValueError):
    """A name that cannot be a custom domain; the message says why and what to send instead."""


def normalize(raw: str) -> str:
    """The canonical form of ``raw``, or ``InvalidDomain``."""
    text = raw.strip()
    if not text:
        raise InvalidDomain("The domain is empty; send a name such as mcp.example.com.")
    if "://" in text or "/" in text or "@" in text:
        raise InvalidDomain(f"{_shown(raw)!r} is not a bare domain name; send only the name, e.g. mcp.example.com.")
    if ":" in text or _is_ip(text):
        raise InvalidDomain(f"{_shown(raw)!r} is an IP address or has a port; a custom domain is a DNS name.")
    if "*" in text:
        raise InvalidDomain(
            f"{_shown(raw)!r} is a wildcard; add each name on its own (wildcards need DNS-01 certificates)."
        )
    text = text.removesuffix(".")
    if len(text) > MAX_NAME:  # the ASCII form is never shorter
        raise InvalidDomain(f"The domain is {len(text)} characters long; DNS names have at most {MAX_NAME}.")
    try:
        name = idna.encode(text, uts46=True).decode("ascii")
    except idna.IDNAError as exc:
        raise InvalidDomain(f"{_shown(raw)!r} is not a valid internationalised domain name: {exc}.") from None
    name = name.lower()
    if len(name) > MAX_NAME:
        raise InvalidDomain(f"The domain is {len(name)} characters long; DNS names have at most {MAX_NAME}.")
    labels = name.split(".")
    if len(labels) < 2:
        raise InvalidDomain(f"{_shown(raw)!r} has a single label; send a fully qualified name such as mcp.example.com.")
    for label in labels:
        if len(label) > MAX_LABEL:
            raise InvalidDomain(f"The label {label[:20]!r}... is longer than {MAX_LABEL} characters.")
        if not _LABEL.match(label):
            raise InvalidDomain(
                f"The label {label!r} of {_shown(raw)!r} is not valid: letters, digits and inner hyphens only "
                "(no underscores, no empty labels)."
            )
    if labels[-1].isdigit():
        raise InvalidDomain(f"{_shown(raw)!r} ends in a numeric label; top-level domains are not numbers.")
    for suffix in _RESERVED_SUFFIXES:
        if name == suffix or name.endswith("." + suffix):
            raise InvalidDomain(
                f"{_shown(raw)!r} is under .{suffix}, a special-use name no CA issues certificates for."
            )
    return name


def display(name: str) -> str:
    """The name as people read it (U-labels), falling back to the ASCII form."""
    try:
        return idna.decode(name)
    except idna.IDNAError:
        return name


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        return False
    return True


def _shown(raw: str) -> str:
    return raw if len(raw) <= 80 else raw[:77] + "..."


def http_url(name: str, token: str, port: int = 80) -> str:
    """Where a domain's verification file is fetched from."""
    return f"http://{name}{'' if port == 80 else f':{port}'}{HTTP_PATH}{token}"
