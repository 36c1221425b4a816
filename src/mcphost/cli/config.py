"""``mcphost config show``: the effective settings, secrets masked; ``config export``: configuration of MCP clients."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from mcphost.cli.export import export
from mcphost.cli.options import HomeOption, load_settings

app = typer.Typer(help="Configuration.", no_args_is_help=True)
app.command()(export)


@app.command()
def show(
    home: HomeOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Print the effective settings (environment MCPHOST_* and defaults), with secrets masked."""
    import orjson

    data = load_settings(home).masked()
    if as_json:
        typer.echo(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode())
        return
    from rich.console import Console
    from rich.table import Table

    table = Table("setting", "value", "environment variable", box=None)
    for key, value, env in _flatten(data):
        table.add_row(key, "" if value is None else str(value), env)
    console = Console()
    Console(width=max(console.width, 160) if not console.is_terminal else None).print(table)


def _flatten(data: dict[str, Any], prefix: str = "") -> list[tuple[str, Any, str]]:
    rows: list[tuple[str, Any, str]] = []
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            rows.extend(_flatten(value, f"{name}."))
        else:
            rows.append((name, value, "MCPHOST_" + name.replace(".", "__").upper()))
    return rows
