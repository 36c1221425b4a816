"""The ``requestState`` the gateway hands a stateless (2026-07-28) client with an ``input_required`` result.

The client must echo it unchanged when it retries; everything it says is sealed with AES-256-GCM under a key derived
from the platform's secret key (``KeyRing.request_state``), so a client can neither read nor alter it:

- which paused request it resumes (the id of a ``PendingRequest`` this gateway holds) and which round it answers
  (an older round's state is refused once a newer one was issued: each state answers one round, once);
- who may use it: the credential's principal and the server it was issued for;
- what it belongs to: the method, the tool, prompt or resource, and a digest of the arguments;
- until when: an expiry, the same as the paused request's.

A token is ``mcph1.`` followed by base64url(nonce + ciphertext); the prefix is bound into the AEAD's associated data.
Any failure is ``InvalidRequestState`` with a reason for the client (the JSON-RPC error names what to fix).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import time
from dataclasses import dataclass
from typing import Any, Final

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

__all__ = ["InvalidRequestState", "RequestStateSealer", "StateClaims", "request_identity"]

PREFIX: Final = "mcph1."
_AAD: Final = PREFIX.encode()
_NONCE: Final = 12
_TAG: Final = 16
#: Longest token accepted (a real one is ~300 characters); longer input is refused before any decoding.
MAX_TOKEN_CHARS: Final = 4096


class InvalidRequestState(ValueError):
    """A ``requestState`` that this gateway did not issue, was altered, expired, or belongs to another request."""


@dataclass(frozen=True, slots=True)
class StateClaims:
    """What a sealed state says (see the module docstring)."""

    pending_id: str
    round: int
    principal: str
    server_id: str
    method: str
    target: str
    args_digest: str
    expires_at: float


def request_identity(method: str, params: Any) -> tuple[str, str]:
    """The (target, digest of the arguments) a state is bound to: the tool or prompt name (or the resource URI) and
    a SHA-256 over the canonical JSON of the arguments."""
    params = params if type(params) is dict else {}
    if method == "resources/read":
        target, arguments = params.get("uri"), None
    else:
        target, arguments = params.get("name"), params.get("arguments")
    digest = hashlib.sha256(orjson.dumps(arguments, option=orjson.OPT_SORT_KEYS)).digest()[:16]
    return (target if type(target) is str else ""), base64.urlsafe_b64encode(digest).decode().rstrip("=")


class RequestStateSealer:
    """Seals and opens request states under one 32-byte key."""

    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise ValueError("the request-state key must be 32 bytes")
        self._aead = AESGCM(key)

    def seal(self, claims: StateClaims) -> str:
        payload = orjson.dumps(
            {
                "c": claims.pending_id,
                "r": claims.round,
                "p": claims.principal,
                "s": claims.server_id,
                "m": claims.method,
                "t": claims.target,
                "a": claims.args_digest,
                "e": claims.expires_at,
            }
        )
        nonce = os.urandom(_NONCE)
        sealed = self._aead.encrypt(nonce, payload, _AAD)
        return PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")

    def open(self, token: Any, *, now: float | None = None) -> StateClaims:
        """The claims of a token this sealer issued, not yet expired; ``InvalidRequestState`` otherwise."""
        if type(token) is not str:
            raise InvalidRequestState("requestState must be the string the gateway issued")
        if len(token) > MAX_TOKEN_CHARS or not token.startswith(PREFIX):
            raise InvalidRequestState("requestState was not issued by this gateway")
        body = token[len(PREFIX) :]
        try:
            raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        except (binascii.Error, ValueError):
            raise InvalidRequestState("requestState was altered (it is not valid base64url)") from None
        if base64.urlsafe_b64encode(raw).decode().rstrip("=") != body or len(raw) < _NONCE + _TAG:
            raise InvalidRequestState("requestState was altered")
        try:
            payload = self._aead.decrypt(raw[:_NONCE], raw[_NONCE:], _AAD)
        except InvalidTag:
            raise InvalidRequestState("requestState was altered or issued under another key") from None
        try:
            data = orjson.loads(payload)
            claims = StateClaims(
                pending_id=str(data["c"]),
                round=int(data["r"]),
                principal=str(data["p"]),
                server_id=str(data["s"]),
                method=str(data["m"]),
                target=str(data["t"]),
                args_digest=str(data["a"]),
                expires_at=float(data["e"]),
            )
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):  # a sealed payload we never write
            raise InvalidRequestState("requestState is malformed") from None
        if (time.time() if now is None else now) >= claims.expires_at:
            raise InvalidRequestState("requestState expired; send the request again without it")
        return claims
