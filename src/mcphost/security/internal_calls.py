"""Signed calls between replicas (ADR 0015): a replica that forwards a client's request to the node hosting the
server vouches for the client instead of passing its credential on.

The forwarding replica has checked the client's credential; it sends the grant it got (who the caller is and what it
may use of that server) with headers signed by HMAC-SHA256 under a key every replica derives from the installation's
shared secret key (``KeyRing.internal_calls``). The signature covers the operation, the HTTP method and target, a
timestamp, a random nonce, the forwarding node, the grant and a digest of the body. The receiving node refuses a call
whose signature does not match (compared in constant time), whose timestamp is further than
``nodes.internal_call_max_age_seconds`` from its own clock, or whose nonce it has already seen within that window (a
replay). The client's Authorization header is never forwarded, so the hosting node never sees the credential."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final

__all__ = ["HEADERS", "SIGNATURE_HEADER", "InternalCall", "InternalCallRefused", "InternalCallSigner"]

OP_HEADER: Final = b"x-mcphost-internal-op"
FROM_HEADER: Final = b"x-mcphost-internal-from"
TIME_HEADER: Final = b"x-mcphost-internal-time"
NONCE_HEADER: Final = b"x-mcphost-internal-nonce"
GRANT_HEADER: Final = b"x-mcphost-internal-grant"
SIGNATURE_HEADER: Final = b"x-mcphost-internal-signature"
#: Every header of a signed call: stripped from what clients send, so only a replica can set them.
HEADERS: Final = frozenset({OP_HEADER, FROM_HEADER, TIME_HEADER, NONCE_HEADER, GRANT_HEADER, SIGNATURE_HEADER})
_VERSION: Final = b"mcphost-internal-call/v1"
_MAX_GRANT_BYTES: Final = 65_536
#: Nonces remembered at most (a flood of valid calls faster than this within the window is refused, not let in).
MAX_NONCES: Final = 200_000


class InternalCallRefused(Exception):
    """A call that claims to come from a replica but cannot be trusted; the message says why."""


@dataclass(frozen=True, slots=True)
class InternalCall:
    op: str
    #: The node that forwarded it.
    node: str
    #: The grant it vouches for, as the forwarding replica encoded it.
    grant: bytes


class InternalCallSigner:
    def __init__(
        self, key: bytes, node: str, *, max_age_seconds: float, clock: Callable[[], float] = time.time
    ) -> None:
        self._key = key
        self.node = node
        self.max_age = max_age_seconds
        self._clock = clock
        self._seen: set[bytes] = set()
        self._expiries: deque[tuple[float, bytes]] = deque()

    def sign(self, op: str, method: str, target: str, grant: bytes, body: bytes) -> list[tuple[bytes, bytes]]:
        """The headers of a call to ``target`` (path and query) carrying ``grant``."""
        if len(grant) > _MAX_GRANT_BYTES:
            raise ValueError("the grant is too large to forward")
        fields = {
            OP_HEADER: op.encode(),
            FROM_HEADER: self.node.encode(),
            TIME_HEADER: b"%d" % int(self._clock() * 1000),
            NONCE_HEADER: secrets.token_hex(16).encode(),
            GRANT_HEADER: base64.urlsafe_b64encode(grant),
        }
        signature = self._signature(fields, method.encode(), target.encode(), body)
        return [*fields.items(), (SIGNATURE_HEADER, signature)]

    def verify(self, headers: Mapping[bytes, bytes], method: str, target: str, body: bytes) -> InternalCall:
        """The call these headers describe; raises ``InternalCallRefused``."""
        fields = {name: headers.get(name) for name in (OP_HEADER, FROM_HEADER, TIME_HEADER, NONCE_HEADER, GRANT_HEADER)}
        signature = headers.get(SIGNATURE_HEADER)
        present = {name: value for name, value in fields.items() if value is not None}
        if signature is None or len(present) != len(fields):
            raise InternalCallRefused("an internal call lacks some of its signed headers")
        if len(present[GRANT_HEADER]) > 2 * _MAX_GRANT_BYTES:
            raise InternalCallRefused("an internal call's grant is too large")
        expected = self._signature(present, method.encode(), target.encode(), body)
        if not hmac.compare_digest(expected, signature):
            raise InternalCallRefused(
                "an internal call's signature does not match (another secret key, or an altered request)"
            )
        try:
            sent_at = int(present[TIME_HEADER]) / 1000
        except ValueError:
            raise InternalCallRefused("an internal call's timestamp is not a number") from None
        skew = abs(self._clock() - sent_at)
        if skew > self.max_age:
            raise InternalCallRefused(
                f"an internal call is {skew:.0f} s away from this node's clock (at most {self.max_age:g} s)"
            )
        self._remember(present[NONCE_HEADER])
        try:
            grant = base64.urlsafe_b64decode(present[GRANT_HEADER])
        except (binascii.Error, ValueError):
            raise InternalCallRefused("an internal call's grant is not base64") from None
        return InternalCall(present[OP_HEADER].decode("latin-1"), present[FROM_HEADER].decode("latin-1"), grant)

    def _remember(self, nonce: bytes) -> None:
        now = time.monotonic()
        expiries = self._expiries
        while expiries and expiries[0][0] < now:
            self._seen.discard(expiries.popleft()[1])
        if nonce in self._seen:
            raise InternalCallRefused("an internal call was replayed (its nonce was used already)")
        if len(self._seen) >= MAX_NONCES:
            raise InternalCallRefused("too many internal calls at once; retry in a moment")
        self._seen.add(nonce)
        # Kept for the whole window in which its timestamp would be accepted, on either side of this clock.
        expiries.append((now + 2 * self.max_age, nonce))

    def _signature(self, fields: Mapping[bytes, bytes], method: bytes, target: bytes, body: bytes) -> bytes:
        material = b"\n".join(
            (
                _VERSION,
                fields[OP_HEADER],
                method,
                target,
                fields[TIME_HEADER],
                fields[NONCE_HEADER],
                fields[FROM_HEADER],
                fields[GRANT_HEADER],
                hashlib.sha256(body).hexdigest().encode(),
            )
        )
        return hmac.new(self._key, material, hashlib.sha256).hexdigest().encode()
