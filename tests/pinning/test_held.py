"""The pure parts of pinning: a definition's digest ignores what is not part of it and key order; held items are
left out of list results and refused on use, in either protocol era's transform chain."""

from __future__ import annotations

from typing import Any

from mcphost.models import DefinitionKind
from mcphost.pinning.definitions import declared, digest
from mcphost.pinning.held import NOTHING_HELD, Held

ECHO = {"name": "echo", "description": "Returns its text.", "inputSchema": {"type": "object", "properties": {}}}


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


def test_held_items_are_hidden_from_lists_and_refused_on_use() -> None:
    held = Held.of({"tool": ["echo"], "resource": ["file:///secret"]}, "weather")
    seen: list[str] = []

    def then(method: str, result: dict[str, Any]) -> None:
        seen.append(method)

    hide = held.hiding(then)
    assert hide is not None
    tools: dict[str, Any] = {"tools": [ECHO, {"name": "add"}]}
    resources: dict[str, Any] = {"resources": [{"uri": "file:///secret"}, {"uri": "file:///open"}]}
    hide("tools/list", tools)
    hide("resources/list", resources)

    assert tools["tools"] == [{"name": "add"}] and resources["resources"] == [{"uri": "file:///open"}]
    assert seen == ["tools/list", "resources/list"]  # the era's own transform still runs
    assert "mcphost servers approve weather echo" in str(held.refusal("tools/call", {"name": "echo"}))
    assert held.refusal("resources/read", {"uri": "file:///secret"}) is not None
    assert held.refusal("tools/call", {"name": "add"}) is None
    assert held.refusal("prompts/get", {"name": "echo"}) is None  # held as a tool, not as a prompt
    assert NOTHING_HELD.hiding(then) is then and NOTHING_HELD.hiding() is None  # nothing held: nothing added
