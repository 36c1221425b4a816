"""The pure parts of pinning and tool rules: a definition's digest ignores what is not part of it and key order;
withheld items (held, disabled, kept for a role) are left out of list results and refused on use with their reason,
in either protocol era's transform chain."""

from __future__ import annotations

from typing import Any

from mcphost.gateway.withheld import NOTHING_WITHHELD, Withheld
from mcphost.models import DefinitionKind, OrgRole, Server
from mcphost.pinning.definitions import declared, digest

ECHO = {"name": "echo", "description": "Returns its text.", "inputSchema": {"type": "object", "properties": {}}}


def _server(held: dict[str, Any], rules: dict[str, Any]) -> Server:
    return Server(slug="weather", held=held, tool_rules=rules)


def test_a_digest_covers_the_definition_and_nothing_else() -> None:
    reordered = {
        "inputSchema": {"properties": {}, "type": "object"},
        "description": "Returns its text.",
        "name": "echo",
    }
    found = declared({"tools": [ECHO | {"_meta": {"x": 1}}], "resources": [{"uri": "file:///a", "name": "a"}]})

    assert digest(found[DefinitionKind.TOOL, "echo"]) == digest(reordered)
    assert digest(found[DefinitionKind.TOOL, "echo"]) != digest(ECHO | {"description": "Returns its text!"})
    assert found[DefinitionKind.RESOURCE, "file:///a"] == {"uri": "file:///a", "name": "a"}


def test_withheld_items_are_hidden_from_lists_and_refused_on_use() -> None:
    server = _server({"tool": ["echo"], "resource": ["file:///secret"]}, {"disabled": ["crash"]})
    withheld = Withheld.for_caller(server, None, admin=False)
    seen: list[str] = []

    def then(method: str, result: dict[str, Any]) -> None:
        seen.append(method)

    hide = withheld.hiding(then)
    assert hide is not None
    tools: dict[str, Any] = {"tools": [ECHO, {"name": "add"}, {"name": "crash"}]}
    resources: dict[str, Any] = {"resources": [{"uri": "file:///secret"}, {"uri": "file:///open"}]}
    hide("tools/list", tools)
    hide("resources/list", resources)

    assert tools["tools"] == [{"name": "add"}] and resources["resources"] == [{"uri": "file:///open"}]
    assert seen == ["tools/list", "resources/list"]  # the era's own transform still runs
    held = withheld.refusal("tools/call", {"name": "echo"})
    assert held is not None and held[1] == "held" and "mcphost servers approve weather echo" in held[0]
    assert withheld.refusal("tools/call", {"name": "crash"}) == (
        "The tool 'crash' is disabled on this server by its owner.",
        "disabled",
    )
    assert withheld.refusal("resources/read", {"uri": "file:///secret"}) is not None
    assert withheld.refusal("tools/call", {"name": "add"}) is None
    assert withheld.refusal("prompts/get", {"name": "echo"}) is None  # held as a tool, not as a prompt
    assert NOTHING_WITHHELD.hiding(then) is then and NOTHING_WITHHELD.hiding() is None  # nothing withheld: no cost


def test_tools_kept_for_a_role_are_withheld_from_lower_roles_only() -> None:
    server = _server({}, {"min_role": {"deploy": "admin", "echo": "member"}})

    member = Withheld.for_caller(server, OrgRole.MEMBER, admin=False)
    owner = Withheld.for_caller(server, OrgRole.OWNER, admin=False)
    administrator = Withheld.for_caller(server, OrgRole.VIEWER, admin=True)

    refused = member.refusal("tools/call", {"name": "deploy"})
    assert refused is not None and refused[1] == "role" and "for the admin role and above" in refused[0]
    assert member.refusal("tools/call", {"name": "echo"}) is None
    assert not owner and not administrator
