"""What GitHub sends: the signature of a delivery (``X-Hub-Signature-256``: ``sha256=`` and the HMAC-SHA256 of the
raw body with the webhook's secret) and push events, in either content type a GitHub webhook can use."""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

SIGNATURE_PREFIX = "sha256="


def signature_of(secret: str, body: bytes) -> str:
    return SIGNATURE_PREFIX + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signature_matches(secret: str, body: bytes, given: str | None) -> bool:
    """Whether ``given`` is the body's signature with this secret (compared in constant time)."""
    if not given or not given.startswith(SIGNATURE_PREFIX):
        return False
    return hmac.compare_digest(signature_of(secret, body).encode(), given.strip().encode())


class PayloadError(ValueError):
    """The body is not a GitHub event payload."""


def parse_payload(body: bytes, content_type: str | None) -> dict[str, Any]:
    """The event's JSON, sent as application/json or as the ``payload`` field of a form."""
    text = body.decode("utf-8", errors="replace")
    if (content_type or "").split(";")[0].strip().lower() == "application/x-www-form-urlencoded":
        fields = parse_qs(text)
        if "payload" not in fields:
            raise PayloadError("the form has no 'payload' field")
        text = fields["payload"][0]
    try:
        payload = json.loads(text)
    except ValueError:
        raise PayloadError("the body is not JSON") from None
    if not isinstance(payload, dict):
        raise PayloadError("the payload is not a JSON object")
    return payload


@dataclass(frozen=True)
class Push:
    ref: str
    deleted: bool
    commit: str | None
    message: str | None
    default_branch: str | None

    @classmethod
    def of(cls, payload: dict[str, Any]) -> Push:
        head, repository = payload.get("head_commit"), payload.get("repository")
        after = payload.get("after")
        message = head.get("message") if isinstance(head, dict) else None
        default = repository.get("default_branch") if isinstance(repository, dict) else None
        return cls(
            ref=str(payload.get("ref") or ""),
            deleted=payload.get("deleted") is True,
            commit=after if isinstance(after, str) and after.strip("0") else None,
            message=message.splitlines()[0][:200] if isinstance(message, str) and message else None,
            default_branch=default if isinstance(default, str) else None,
        )

    def describe(self, branch: str) -> str:
        """``push to main: 1a2b3c4 Fix the parser``."""
        parts = [f"push to {branch}"]
        if self.commit:
            parts.append(f": {self.commit[:7]}")
            if self.message:
                parts.append(f" {self.message}")
        return "".join(parts)
