"""Tool parameters mirrored into ``Mcp-Param-*`` headers (2026-07-28, ``x-mcp-header``): the gateway reads the body,
so it refuses a header that is missing, malformed or different from the body with 400 and ``HeaderMismatch``."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import httpx
import pytest

from mcphost.gateway.param_headers import HeaderMismatch, check_param_headers, decode_header_value, header_params
from mcphost.settings import Settings
from tests.gateway.stateless_client import call, fixture_settings, host_fixture
from tests.support.accounts import Account, sign_up

TOOL = "test_param_headers"  # region: string "Region" (required), priority: integer "Priority", verbose: boolean


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return fixture_settings(tmp_path / "home", database_url)


def encoded(text: str) -> str:
    return f"=?base64?{base64.b64encode(text.encode()).decode()}?="


async def test_the_headers_must_agree_with_the_arguments(client: httpx.AsyncClient) -> None:
    owner: Account = await sign_up(client, "owner@example.com")
    slug, (key,) = await host_fixture(client, owner)

    async def tool_call(arguments: dict[str, Any], **headers: str) -> httpx.Response:
        return await call(client, slug, key, "tools/call", {"name": TOOL, "arguments": arguments}, headers=headers)

    both = {"mcp-param-region": "us-west1", "mcp-param-priority": "42.0"}  # integers compare as numbers
    plain = await tool_call({"region": "us-west1", "priority": 42}, **both)
    non_ascii = await tool_call({"region": "Zürich"}, **{"mcp-param-region": encoded("Zürich")})
    missing = await tool_call({"region": "us-west1"})
    different = await tool_call({"region": "us-west1"}, **{"mcp-param-region": "eu-west1"})
    bad_base64 = await tool_call({"region": "Hello"}, **{"mcp-param-region": "=?base64?SGVsbG8?="})
    no_value = await tool_call({"region": "x"}, **{"mcp-param-region": "x", "mcp-param-verbose": "true"})
    renamed = await call(
        client,
        slug,
        key,
        "tools/call",
        {"name": TOOL, "arguments": {"region": "a"}},
        headers={"mcp-name": encoded(TOOL), "mcp-param-region": "a"},
    )

    assert plain.status_code == 200 and "region=us-west1 priority=42" in plain.text
    assert non_ascii.status_code == 200 and "region=Zürich" in non_ascii.json()["result"]["content"][0]["text"]
    assert renamed.status_code == 200  # Mcp-Name may be Base64-encoded too
    for refused, says in [
        (missing, "Mcp-Param-Region header is required"),
        (different, "does not match"),
        (bad_base64, "not valid Base64"),
        (no_value, "carry no verbose"),
    ]:
        assert refused.status_code == 400, refused.text
        error = refused.json()["error"]
        assert error["code"] == -32020
        assert says in error["message"], error


def test_header_values_decode_strictly() -> None:
    assert decode_header_value("us-west1") == "us-west1"
    assert decode_header_value("=?base64?SGVsbG8=?=") == "Hello"
    assert decode_header_value("=?base64?SGVsbG8=") == "=?base64?SGVsbG8="  # no suffix: literal
    assert decode_header_value("SGVsbG8=") == "SGVsbG8="  # no prefix: literal
    for invalid in ("=?base64?SGVsbG8?=", "=?base64?SGVs!!!bG8=?=", "caf\u00e9", "a\nb"):
        with pytest.raises(HeaderMismatch):
            decode_header_value(invalid)


def test_only_annotations_the_specification_allows_are_honoured() -> None:
    tool = {
        "name": "t",
        "inputSchema": {
            "type": "object",
            "properties": {
                "region": {"type": "string", "x-mcp-header": "Region"},
                "where": {"type": "object", "properties": {"zone": {"type": "integer", "x-mcp-header": "Zone"}}},
                "ratio": {"type": "number", "x-mcp-header": "Ratio"},  # numbers are not allowed
                "again": {"type": "string", "x-mcp-header": "region"},  # names are unique regardless of case
                "bad": {"type": "string", "x-mcp-header": "two words"},  # not a header token
                "list": {"type": "array", "items": {"type": "string", "x-mcp-header": "Item"}},  # not via properties
            },
        },
    }

    marked = header_params(tool)

    assert [(param.path, param.name, param.kind) for param in marked] == [
        (("region",), "Region", "string"),
        (("where", "zone"), "Zone", "integer"),
    ]
    check_param_headers(
        marked, {"region": "r", "where": {"zone": 7}}, {b"mcp-param-region": b"r", b"mcp-param-zone": b"7"}
    )
    check_param_headers(marked, {"region": None}, {})  # a null or absent value needs no header
    with pytest.raises(HeaderMismatch, match="Mcp-Param-Zone"):
        check_param_headers(marked, {"where": {"zone": 7}}, {b"mcp-param-zone": b"8"})
