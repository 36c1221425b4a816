"""Watching a server live from a terminal: ``--wait`` until it settles, and ``logs -f``.

Progress goes to stderr (a spinner on a terminal, one line per status change always), so stdout keeps only
what a script wants (the endpoint, the key, the log lines).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing, asynccontextmanager
from typing import TYPE_CHECKING, Annotated, Any

import typer

from mcphost.cli.output import console, esc, short_time, styled_status

if TYPE_CHECKING:
    from mcphost.client import MCPHostClient

DEFAULT_TIMEOUT = 300.0
WaitOption = Annotated[bool, typer.Option("--wait", "-w", help="Show the live status until it settles.")]
TimeoutOption = Annotated[
    float, typer.Option("--timeout", min=1, help="With --wait: give up after this many seconds (exit code 1).")
]
#: Statuses a server passes through; anything else (running, stopped, error) is where it settles.
TRANSITIONAL = frozenset(
    {"pending", "installing", "cloning", "building", "pushing", "starting", "updating", "stopping", "crashed"}
)


class WaitFailed(Exception):
    """The server settled in ``error`` (or did not settle in time); the message says why."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


async def wait_for(
    client: MCPHostClient,
    server: dict[str, Any],
    target: str,
    *,
    within: float,
    changes: AsyncIterator[dict[str, Any]] | None = None,
    must_change: bool = False,
) -> dict[str, Any]:
    """Follow the server's status until it is ``target`` (returns the last status event) or ``error``
    (raises WaitFailed with its reason), for at most ``within`` seconds.

    ``changes`` is a status stream opened before the change was asked for, so none of its steps is missed
    (its opener closes it: see ``opened``); ``must_change`` ignores ``target`` until a transitional status was
    seen (a restart starts from running)."""
    if changes is None:
        async with aclosing(client.follow_status(server["id"])) as stream:
            return await _settle(stream, server, target, within=within, must_change=must_change)
    return await _settle(changes, server, target, within=within, must_change=must_change)


async def _settle(
    stream: AsyncIterator[dict[str, Any]], server: dict[str, Any], target: str, *, within: float, must_change: bool
) -> dict[str, Any]:
    slug = server["slug"]
    out = console(stderr=True)
    last: dict[str, Any] = {"status": server.get("status", "pending"), "reason": server.get("status_reason")}
    moved, passed_through = not must_change, False
    with out.status(f"{esc(slug)}: waiting", spinner="dots") as spinner:
        try:
            async with asyncio.timeout(within):
                async for event in stream:
                    status, reason = event["status"], event.get("reason")
                    if status != last.get("status") or reason != last.get("reason"):
                        out.print(f"{esc(slug)}: {styled_status(status)}{_reason(reason)}")
                    last = event
                    spinner.update(f"{esc(slug)}: {styled_status(status)}{_reason(reason)}")
                    if status in TRANSITIONAL:
                        moved = passed_through = True
                    elif status == "error" and moved:
                        raise WaitFailed(f"{slug} failed: {reason or 'no reason given'}")
                    elif status == target and moved:
                        if status == "running" and reason and passed_through:  # a redeploy failed; the old serves
                            raise WaitFailed(f"{slug}: {reason}")
                        return event
        except TimeoutError:
            raise WaitFailed(f"{slug} is still {last.get('status')} after {within:g}s") from None
    raise WaitFailed(f"{slug}: the status stream ended")


@asynccontextmanager
async def opened(
    stream: AsyncGenerator[dict[str, Any], None],
) -> AsyncIterator[tuple[dict[str, Any], AsyncIterator[dict[str, Any]]]]:
    """Open a status stream for a block: its first event (the status now) and the stream with that event put
    back. The stream is closed when the block ends, however it ends (see MCPHostClient's live streams)."""
    async with aclosing(stream):
        first = await anext(stream)

        async def again() -> AsyncGenerator[dict[str, Any], None]:
            yield first
            async for event in stream:
                yield event

        async with aclosing(again()) as changes:
            yield first, changes


async def print_logs(client: MCPHostClient, server_id: str, tail: int, as_json: bool) -> None:
    """Print the newest ``tail`` lines, then each new line, until interrupted."""
    import json

    async with aclosing(client.follow_logs(server_id, tail)) as lines:
        async for line in lines:
            if as_json:
                typer.echo(json.dumps(line, ensure_ascii=False))
            else:
                typer.echo(format_log_line(line))


async def print_usage(client: MCPHostClient, server_id: str, as_json: bool) -> None:
    """Print each usage event of the server as it happens, until interrupted."""
    import json

    async with aclosing(client.follow_usage(server_id)) as events:
        async for event in events:
            if as_json:
                typer.echo(json.dumps(event, ensure_ascii=False))
            else:
                data = event.get("data") or {}
                details = " ".join(f"{key}={value}" for key, value in (data.get("data") or {}).items())
                usage = data.get("usage", event.get("kind", "?"))
                typer.echo(f"{short_time(event.get('ts') or '')} {usage:<8} {details}")


def format_log_line(line: dict[str, Any]) -> str:
    # Plain text, not Rich markup: log lines may hold brackets, and are meant for grep.
    return f"{short_time(line['ts'])} {line['stream']:<8} {line['line']}"


def _reason(reason: str | None) -> str:
    return f" ({esc(reason)})" if reason else ""
