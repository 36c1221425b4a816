"""``mcphost events watch``: the live event stream of what you may see, one coloured line per event."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer

from mcphost.cli.output import JsonOption, UrlOption, esc, run_api

if TYPE_CHECKING:
    from rich.console import Console

    from mcphost.client import MCPHostClient

app = typer.Typer(help="The live event stream.", no_args_is_help=True)

KIND_STYLES = {"server": "cyan", "user": "green", "org": "magenta", "job": "yellow"}
ERROR_WORDS = ("error", "fail", "crash", "dead")
#: How long to wait before resuming a stream the instance ended (lagging behind, or a replica going away).
RECONNECT_DELAY = 1.0


def kind_style(kind: str) -> str:
    """The colour of an event kind: red for errors, else by its prefix (server, user, org, job)."""
    if any(word in kind for word in ERROR_WORDS):
        return "red"
    return KIND_STYLES.get(kind.split(".", 1)[0], "white")


def event_line(event: dict[str, Any]) -> str:
    """``HH:MM:SS kind key=value …`` as Rich markup."""
    kind = str(event.get("kind", "?"))
    ts = str(event.get("ts") or "")
    clock = ts[11:19] if len(ts) >= 19 else ts
    data = event.get("data") or {}
    details = " ".join(f"{key}={value}" for key, value in data.items()) if isinstance(data, dict) else str(data)
    return f"[dim]{esc(clock)}[/] [{kind_style(kind)}]{esc(kind):<24}[/] {esc(details)}"


@app.command()
def watch(url: UrlOption = None, as_json: JsonOption = False) -> None:
    """Follow events as they happen (servers, users, organisations, jobs) until Ctrl+C."""
    import asyncio
    import json
    import sys
    from contextlib import aclosing

    from mcphost.cli.output import console
    from mcphost.client import resources

    out: Console | None = None if as_json else console()

    def show(event: dict[str, Any]) -> None:
        if out is None:
            sys.stdout.write(json.dumps(event, ensure_ascii=False) + "\n")
            sys.stdout.flush()
        else:
            out.print(event_line(event), soft_wrap=True)

    async def follow(client: MCPHostClient) -> None:
        last_id: str | None = None
        while True:
            async with aclosing(resources.stream_events(client, last_event_id=last_id)) as events:
                async for event in events:
                    last_id = event.get("id") or last_id
                    show(event)
            await asyncio.sleep(RECONNECT_DELAY)

    if out is not None and sys.stderr.isatty():
        typer.echo("Watching events; Ctrl+C to stop.", err=True)
    try:
        run_api(follow, url)
    except KeyboardInterrupt:
        raise typer.Exit(0) from None
