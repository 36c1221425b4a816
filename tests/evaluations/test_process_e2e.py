"""A suite run against a real hosted server: the fixture MCP server as a sandboxed process (the process runtime), its
tools called through the gateway, every match mode scored on the real answers; a tool error is a failed case with
the reason."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from mcphost.settings import Settings
from tests.conftest import make_settings
from tests.evaluations.helpers import by_name, case, run, suite
from tests.servers.hosting import PROCESS, status_of
from tests.support.accounts import sign_up

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "echo_server.py"


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return make_settings(tmp_path / "home", database_url, **PROCESS)


async def test_a_suite_scores_a_real_servers_answers(app: FastAPI, client: httpx.AsyncClient) -> None:
    admin = await sign_up(client, "admin@example.com")  # the first account: may deploy commands
    source = {"type": "command", "command": [sys.executable, str(FIXTURE)]}
    created = await client.post("/api/servers", json={"name": "fixture", "source": source}, headers=admin.headers)
    assert created.status_code == 201, created.text
    server = created.json()
    await status_of(client, admin, server["id"], "running", timeout=60)
    found = await suite(client, admin, "fixture answers")
    document = json.dumps({"name": "echo-fixture", "version": {"major": 1, "minor": 0}})
    for name, tool, arguments, expected, mode, extra in [
        ("adds", "add", {"a": 2, "b": 3}, "5", "exact", {}),
        ("adds wrong", "add", {"a": 2, "b": 2}, "5", "exact", {}),
        ("says", "echo", {"text": "a sentence about evaluations"}, "about", "contains", {}),
        ("document", "echo", {"text": document}, {"version": {"major": 1}}, "json_subset", {}),
        ("close", "echo", {"text": "evaluation"}, "evaluations", "similarity", {"threshold": 0.95}),
        ("far", "echo", {"text": "evaluation"}, "deployment", "similarity", {"threshold": 0.95}),
        ("fails", "fail", {}, "anything", "contains", {}),
    ]:
        await case(
            client,
            admin,
            found["id"],
            server["id"],
            name=name,
            tool=tool,
            arguments=arguments,
            expected=expected,
            match_mode=mode,
            **extra,
        )

    done = await run(client, admin, found["id"], timeout=60)
    results = by_name(done)

    assert {name: result["passed"] for name, result in results.items()} == {
        "adds": True,
        "adds wrong": False,
        "says": True,
        "document": True,
        "close": True,
        "far": False,
        "fails": False,
    }
    assert results["adds wrong"]["actual"] == "4" and results["adds wrong"]["score"] == 0.0
    assert results["close"]["score"] == pytest.approx(0.9818, abs=0.001)
    assert results["far"]["score"] < 0.7
    assert results["fails"]["error"] == "The tool answered with an error: this tool always fails"
    assert done["status"] == "failed" and done["passed"] == 4 and done["cases"] == 7
