"""What every API command shares: running it against the chosen instance, failing in one line, printing.

Expected failures (an API error, an unreachable instance, missing credentials) end the command with one line
on stderr and exit code 1, never a traceback. Rich and httpx are imported only when a command runs.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar

import typer

if TYPE_CHECKING:
    from rich.console import Console

    from mcphost.client import MCPHostClient

T = TypeVar("T")

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON, for scripts.")]
YesOption = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]
UrlOption = Annotated[
    str | None,
    typer.Option(
        "--url", help="The MCP Host instance (default: $MCPHOST_URL, else the one logged in to).", show_default=False
    ),
]


def fail(message: str, code: int = 1) -> NoReturn:
    """End the command with ``error: MESSAGE`` on one line of stderr."""
    typer.echo(f"error: {' '.join(message.split())}", err=True)
    raise typer.Exit(code)


def run_api(work: Callable[[MCPHostClient], Awaitable[T]], url: str | None = None, *, auth: bool = True) -> T:
    """Run ``work`` with a client of the chosen instance; expected failures become one line and exit code 1."""
    from mcphost.cli import credentials
    from mcphost.client import ApiError, ClientError, MCPHostClient

    base_url, token = credentials.current(url)
    if auth and token is None:
        fail(f"not logged in to {base_url}: run `mcphost login` or set {credentials.TOKEN_ENV}")

    async def main() -> T:
        async with MCPHostClient(base_url, token) as client:
            return await work(client)

    try:
        return asyncio.run(main())
    except ApiError as exc:
        hint = " (run `mcphost login`)" if exc.status == 401 else ""
        fail(f"{exc.message}{hint}")
    except ClientError as exc:
        fail(exc.message)


def delete_owner(
    url: str | None, remove: Callable[[MCPHostClient], Awaitable[None]], *, refusal: str, advice: Callable[[Any], str]
) -> None:
    """Delete an owner of servers (an organisation, an account); the API's refusal with the code ``refusal`` (it
    still owns servers) is told as ``advice(number of servers)``."""
    from mcphost.client import ApiError

    async def work(client: MCPHostClient) -> None:
        try:
            await remove(client)
        except ApiError as exc:
            if exc.code != refusal:
                raise
            count = exc.details.get("servers", "some") if isinstance(exc.details, dict) else "some"
            raise ApiError(exc.status, exc.code, advice(count)) from None

    run_api(work, url)


def print_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False))


def console(stderr: bool = False) -> Console:
    """A Rich console; when the output is not a terminal, wide enough that table rows stay on one line."""
    from rich.console import Console

    terminal = Console(stderr=stderr, highlight=False)
    if terminal.is_terminal:
        return terminal
    return Console(stderr=stderr, highlight=False, width=max(terminal.width, 200))


def esc(value: object) -> str:
    """``value`` as text that Rich prints as it is (brackets in names are not markup)."""
    from rich.markup import escape

    return escape("" if value is None else str(value))


def short_time(value: str | None) -> str:
    """An API timestamp as ``YYYY-MM-DD HH:MM:SS`` (UTC), for tables."""
    if not value:
        return ""
    return value.replace("T", " ")[:19]


STATUS_STYLES = {
    "running": "green",
    "starting": "yellow",
    "updating": "yellow",
    "installing": "yellow",
    "cloning": "yellow",
    "building": "yellow",
    "pushing": "yellow",
    "pending": "yellow",
    "stopping": "yellow",
    "stopped": "dim",
    "error": "red",
    "crashed": "red",
}


def styled_status(status: str) -> str:
    style = STATUS_STYLES.get(status)
    return f"[{style}]{status}[/]" if style else status
