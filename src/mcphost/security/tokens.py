"""Opaque bearer secrets (personal access tokens, later server access keys) and session JWTs.

Opaque secrets are high-entropy random strings; only an HMAC of them (keyed by a derived instance key) is
stored, so a copy of the database alone neither reveals nor verifies a token.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt

PAT_PREFIX = "mcph_pat_"
_JWT_ALGORITHM = "HS256"
_JWT_AUDIENCE = "mcphost"


def hash_token(key: bytes, token: str) -> str:
    return hmac.new(key, token.encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class IssuedToken:
    """A new opaque secret: shown once, stored only as ``hash``; ``prefix`` lets people recognise it."""

    secret: str
    hash: str
    prefix: str


def issue_opaque_token(key: bytes, kind_prefix: str) -> IssuedToken:
    secret = kind_prefix + secrets.token_urlsafe(32)
    return IssuedToken(secret=secret, hash=hash_token(key, secret), prefix=secret[: len(kind_prefix) + 6])


@dataclass(frozen=True)
class SessionClaims:
    user_id: uuid.UUID
    session_id: uuid.UUID
    expires_at: datetime


class ExpiredToken(Exception):
    def __init__(self, expired_at: datetime | None) -> None:
        super().__init__("token expired")
        self.expired_at = expired_at


class InvalidToken(Exception):
    pass


def new_session_claims(user_id: uuid.UUID, session_id: uuid.UUID, ttl: timedelta) -> SessionClaims:
    return SessionClaims(user_id=user_id, session_id=session_id, expires_at=datetime.now(UTC) + ttl)


def encode_jwt(key: bytes, claims: SessionClaims) -> str:
    now = datetime.now(UTC)
    payload = {
        "sub": str(claims.user_id),
        "sid": str(claims.session_id),
        "aud": _JWT_AUDIENCE,
        "iat": int(now.timestamp()),
        "exp": int(claims.expires_at.timestamp()),
    }
    return jwt.encode(payload, key, algorithm=_JWT_ALGORITHM)


def looks_like_jwt(token: str) -> bool:
    return token.count(".") == 2 and token.startswith("eyJ")


def decode_jwt(key: bytes, token: str) -> SessionClaims:
    try:
        payload = jwt.decode(
            token,
            key,
            algorithms=[_JWT_ALGORITHM],
            audience=_JWT_AUDIENCE,
            options={"require": ["sub", "sid", "exp", "aud"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise ExpiredToken(_unverified_expiry(token)) from exc
    except jwt.PyJWTError as exc:
        raise InvalidToken(str(exc)) from exc
    try:
        return SessionClaims(
            user_id=uuid.UUID(payload["sub"]),
            session_id=uuid.UUID(payload["sid"]),
            expires_at=datetime.fromtimestamp(payload["exp"], UTC),
        )
    except (ValueError, TypeError) as exc:
        raise InvalidToken("malformed claims") from exc


def _unverified_expiry(token: str) -> datetime | None:
    try:
        exp = jwt.decode(token, options={"verify_signature": False}).get("exp")
        return datetime.fromtimestamp(int(exp), UTC) if exp is not None else None
    except (jwt.PyJWTError, TypeError, ValueError, OverflowError, OSError):
        return None
