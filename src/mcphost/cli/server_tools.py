"""``mcphost servers tools``: a server's tools with what is withheld from clients (``servers tools SERVER`` lists
them), and the owner's rules: ``disable`` hides and refuses tools for everyone, ``enable`` brings them back, for
everyone who may call the server or, with ``--role``, for that role and above in its organisation."""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperGroup

from mcphost.cli import server_calls
from mcphost.cli.output import UrlOption, run_api

if TYPE_CHECKING:
    from mcphost.client import MCPHostClient


class _ListByDefault(TyperGroup):
    """``servers tools SERVER`` is ``servers tools list SERVER``."""

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["list", *args]
        return super().resolve_command(ctx, args)


app = typer.Typer(
    cls=_ListByDefault,
    help="A server's tools, and which of them clients may see and call.",
    no_args_is_help=True,
)
app.command("list")(server_calls.tools)
ServerArg = Annotated[str, typer.Argument(help="The server's id or slug.", show_default=False)]


class Role(enum.StrEnum):
    MEMBER = "member"
    ADMIN = "admin"
    OWNER = "owner"


ToolsArg = Annotated[list[str], typer.Argument(help="Tool names.", show_default=False)]


@app.command()
def disable(server: ServerArg, names: ToolsArg, url: UrlOption = None) -> None:
    """Hide these tools from every client and refuse calls to them (owners and organisation admins)."""

    def change(rules: dict[str, Any]) -> None:
        rules["disabled"] = sorted(set(rules["disabled"]) | set(names))

    _change_rules(server, change, url, f"disabled: {', '.join(names)}")


@app.command()
def enable(
    server: ServerArg,
    names: ToolsArg,
    role: Annotated[
        Role | None,
        typer.Option(
            "--role",
            help="Only for this role and above in the server's organisation (default: everyone who may call it).",
        ),
    ] = None,
    url: UrlOption = None,
) -> None:
    """Offer these tools again (to a role and above with --role)."""

    def change(rules: dict[str, Any]) -> None:
        rules["disabled"] = [name for name in rules["disabled"] if name not in names]
        for name in names:
            if role is None:
                rules["min_role"].pop(name, None)
            else:
                rules["min_role"][name] = role.value

    for_whom = f" (for {role.value} and above)" if role else ""
    _change_rules(server, change, url, f"enabled: {', '.join(names)}{for_whom}")


def _change_rules(server: str, change: Any, url: str | None, done: str) -> None:
    async def act(client: MCPHostClient) -> dict[str, Any]:
        found = await client.resolve_server(server)
        rules = {"disabled": list(found["tool_rules"]["disabled"]), "min_role": dict(found["tool_rules"]["min_role"])}
        change(rules)
        return await client.update_server(found["id"], tool_rules=rules)

    run_api(act, url)
    typer.echo(done)
