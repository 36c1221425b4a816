"""``mcphost servers tools`` and ``servers call``: a server's tools, and calling one from a terminal.

Arguments come from ``--json-args '{...}'`` and ``--arg key=value`` (which wins). A value is sent as a string
when the tool's schema says the property is a string (or says nothing), else parsed as JSON (``--arg n=3`` is
the number 3), falling back to the string when it is not JSON.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer

from mcphost.cli.output import JsonOption, UrlOption, console, esc, fail, print_json, run_api

if TYPE_CHECKING:
    from mcphost.client import MCPHostClient

ServerArg = Annotated[str, typer.Argument(help="The server's id or slug.", show_default=False)]


def tools(server: ServerArg, url: UrlOption = None, as_json: JsonOption = False) -> None:
    """The tools a server offers (as of its last start or list change), and which are withheld from clients: held
    (changed, waiting for approval), disabled, or for a role and above."""

    async def fetch(client: MCPHostClient) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        found = await client.resolve_server(server)
        return found, list((await client.capabilities(found["id"]))["tools"])

    found, found_tools = run_api(fetch, url)
    if as_json:
        print_json(found_tools)
        return
    if not found_tools:
        typer.echo("The server offers no tools.")
        return
    from rich.table import Table

    held = set(found.get("held", {}).get("tool", []))
    rules = found.get("tool_rules") or {"disabled": [], "min_role": {}}

    def access(name: str) -> str:
        if name in held:
            return "[red]held[/]"
        if name in rules["disabled"]:
            return "[dim]disabled[/]"
        return f"{rules['min_role'][name]}+" if name in rules["min_role"] else ""

    table = Table("TOOL", "ARGUMENTS", "DESCRIPTION", "ACCESS", box=None)
    for tool in found_tools:
        schema = tool.get("inputSchema") or {}
        required = set(schema.get("required") or [])
        arguments = [f"{name}{'' if name in required else '?'}" for name in (schema.get("properties") or {})]
        description = (tool.get("description") or "").strip().splitlines()
        summary = esc(description[0] if description else "")
        table.add_row(esc(tool["name"]), esc(", ".join(arguments)), summary, access(tool["name"]))
    console().print(table)


def call(
    server: ServerArg,
    tool: Annotated[str, typer.Argument(help="The tool's name.", show_default=False)],
    arg: Annotated[
        list[str] | None, typer.Option("--arg", "-a", help="An argument as KEY=VALUE; repeat for more.")
    ] = None,
    json_args: Annotated[
        str | None, typer.Option("--json-args", help="All arguments as a JSON object.", show_default=False)
    ] = None,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Call a tool and print its result; exits with 1 when the tool reports an error."""
    base = _json_object(json_args) if json_args is not None else {}
    pairs = [_pair(item) for item in arg or []]

    async def invoke(client: MCPHostClient) -> dict[str, Any]:
        from mcphost.client import ApiError

        found = await client.resolve_server(server)
        schema: dict[str, Any] = {}
        if pairs:  # the schema tells how to type KEY=VALUE arguments
            try:
                listed = (await client.capabilities(found["id"]))["tools"]
            except ApiError as exc:
                if exc.code != "not_synced":
                    raise
                listed = []
            schema = next((t.get("inputSchema") or {} for t in listed if t.get("name") == tool), {})
        arguments = base | {key: _typed(value, (schema.get("properties") or {}).get(key)) for key, value in pairs}
        return await client.call_tool(found["id"], tool, arguments)

    answer = run_api(invoke, url)
    error, result = answer.get("error"), answer.get("result") or {}
    if as_json:
        print_json(answer)
    elif error:
        fail(f"{tool} failed: {error.get('message')} (JSON-RPC error {error.get('code')})")
    else:
        _print_result(result)
    if error or result.get("isError"):
        raise typer.Exit(1)


def _print_result(result: dict[str, Any]) -> None:
    """Text content as it is; other content (images, resources...) and content-less results as JSON.
    A tool error goes to stderr."""
    is_error = bool(result.get("isError"))
    content = result.get("content")
    if not content:
        print_json(result.get("structuredContent", result))
        return
    for item in content:
        if item.get("type") == "text":
            typer.echo(item.get("text", ""), err=is_error)
        else:
            typer.echo(json.dumps(item, indent=2, ensure_ascii=False), err=is_error)


def _json_object(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise typer.BadParameter(f"not JSON: {exc}", param_hint="--json-args") from None
    if not isinstance(value, dict):
        raise typer.BadParameter("must be a JSON object", param_hint="--json-args")
    return value


def _pair(item: str) -> tuple[str, str]:
    key, sep, value = item.partition("=")
    if not sep or not key:
        raise typer.BadParameter(f"{item!r} is not KEY=VALUE", param_hint="--arg")
    return key, value


def _typed(value: str, schema: dict[str, Any] | None) -> Any:
    kind = (schema or {}).get("type")
    if kind is None or kind == "string" or (isinstance(kind, list) and "string" in kind):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value
