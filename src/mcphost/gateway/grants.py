"""A grant as one replica hands it to another with a forwarded request (``security/internal_calls.py`` signs it):
the hosting node serves the request for this caller without checking the client's credential again."""

from __future__ import annotations

import uuid
from typing import Any

import orjson

from mcphost.gateway.access import Grant
from mcphost.gateway.withheld import Withheld
from mcphost.mcp.uri_template import template_pattern
from mcphost.models import Isolation

__all__ = ["decode_grant", "encode_grant"]


def encode_grant(grant: Grant) -> bytes:
    withheld = grant.withheld
    return orjson.dumps(
        {
            "server_id": str(grant.server_id),
            "slug": grant.slug,
            "isolation": grant.isolation.value,
            "principal": grant.principal,
            "user_id": str(grant.user_id) if grant.user_id else None,
            "key_id": str(grant.key_id) if grant.key_id else None,
            "node": grant.node,
            "withheld": {
                kind: {name: list(why) for name, why in names.items()} for kind, names in withheld.reasons.items()
            },
        }
    )


def decode_grant(raw: bytes) -> Grant:
    """Raises ``ValueError`` when ``raw`` is not an encoded grant."""
    try:
        data: dict[str, Any] = orjson.loads(raw)
        reasons = {
            str(kind): {str(name): (str(why[0]), str(why[1])) for name, why in names.items()}
            for kind, names in (data.get("withheld") or {}).items()
        }
        templates = tuple((name, template_pattern(name)) for name in reasons.get("resource_template", {}))
        return Grant(
            server_id=uuid.UUID(data["server_id"]),
            slug=str(data["slug"]),
            isolation=Isolation(data["isolation"]),
            principal=str(data["principal"]),
            user_id=uuid.UUID(data["user_id"]) if data.get("user_id") else None,
            key_id=uuid.UUID(data["key_id"]) if data.get("key_id") else None,
            withheld=Withheld(reasons, str(data["slug"]), templates) if reasons else Withheld({}, str(data["slug"])),
            node=data.get("node"),
        )
    except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError, IndexError, ValueError) as exc:
        raise ValueError(f"not a grant: {exc}") from None
