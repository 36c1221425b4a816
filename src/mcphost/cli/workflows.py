"""``mcphost workflows``: define workflows from a JSON file, list and show them, run them (following the run's steps
as they finish), read their runs, delete them. A workflow is named by its id or its slug."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from mcphost.cli.output import JsonOption, UrlOption, YesOption, console, esc, fail, print_json, run_api, short_time

if TYPE_CHECKING:
    from mcphost.client import MCPHostClient

app = typer.Typer(
    help="Workflows: chains of tool calls on your servers, callable as one MCP tool.", no_args_is_help=True
)
WorkflowArg = Annotated[str, typer.Argument(help="The workflow's id or slug.", show_default=False)]
STEP_STYLES = {"succeeded": "green", "failed": "red", "skipped": "dim", "cancelled": "yellow", "running": "cyan"}


def _styled(status: str) -> str:
    style = STEP_STYLES.get(status)
    return f"[{style}]{status}[/]" if style else status


def _read_json(source: str, what: str) -> Any:
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text()
    except OSError as exc:
        fail(f"cannot read {source}: {exc.strerror}")
    try:
        return json.loads(text)
    except ValueError as exc:
        fail(f"{what} in {source} is not JSON: {exc}")


@app.command()
def create(
    file: Annotated[str, typer.Argument(help="A JSON file with the definition (- reads stdin).", show_default=False)],
    publish: Annotated[bool, typer.Option("--publish", help="Offer it as a tool at /mcp/workflows/{slug}.")] = False,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Define a workflow: {"name", "steps": [{"id", "server", "tool", "arguments", "needs", ...}], "input_schema"}."""
    from mcphost.client import workflows

    definition = _read_json(file, "the definition")
    if not isinstance(definition, dict):
        fail("the definition must be a JSON object with name and steps")
    if publish:
        definition["published"] = True

    async def send(client: MCPHostClient) -> dict[str, Any]:
        return await workflows.create(client, definition)

    created = run_api(send, url)
    if as_json:
        print_json(created)
        return
    typer.echo(f"Created workflow {created['slug']} ({created['id']}) with {len(created['steps'])} steps.")
    if created["published"]:
        typer.echo(f"MCP endpoint: {created['endpoint']}")


@app.command("list")
def list_workflows(url: UrlOption = None, as_json: JsonOption = False) -> None:
    """Your workflows."""
    from mcphost.client import workflows

    found = run_api(workflows.list_all, url)
    if as_json:
        print_json(found)
        return
    if not found:
        typer.echo("No workflows; define one with `mcphost workflows create FILE`.")
        return
    from rich.table import Table

    table = Table("SLUG", "NAME", "STEPS", "PUBLISHED", "VERSION", "UPDATED", box=None)
    for item in found:
        published = "[green]yes[/]" if item["published"] else "no"
        table.add_row(
            esc(item["slug"]), esc(item["name"]), str(len(item["steps"])), published, str(item["version"]),
            short_time(item["updated_at"]),
        )  # fmt: skip
    console().print(table)


@app.command()
def show(workflow: WorkflowArg, url: UrlOption = None, as_json: JsonOption = False) -> None:
    """A workflow's steps, what each waits for, and its endpoint."""
    from mcphost.client import workflows

    async def fetch(client: MCPHostClient) -> dict[str, Any]:
        return await workflows.resolve(client, workflow)

    found = run_api(fetch, url)
    if as_json:
        print_json(found)
        return
    out = console()
    out.print(f"[bold]{esc(found['name'])}[/] ({esc(found['slug'])}, version {found['version']})")
    if found["description"]:
        out.print(esc(found["description"]))
    state = f"published at {found['endpoint']}" if found["published"] else "not published"
    out.print(f"MCP tool: {esc(state)}")
    from rich.table import Table

    table = Table("STEP", "SERVER", "TOOL", "NEEDS", "TIMEOUT", "ATTEMPTS", box=None)
    for step in found["steps"]:
        table.add_row(
            esc(step["id"]), esc(step["server_slug"] or step["server_id"]), esc(step["tool"]),
            esc(", ".join(step["needs"]) or "-"), f"{step['timeout_seconds']:g} s", str(step["retry"]["attempts"]),
        )  # fmt: skip
    out.print(table)


def _print_run(run: dict[str, Any]) -> None:
    from rich.table import Table

    out = console()
    table = Table("STEP", "STATUS", "ATTEMPTS", "DURATION", "ERROR", box=None)
    for step in run.get("steps") or []:
        duration = f"{step['duration_ms'] / 1000:.2f} s" if step["duration_ms"] is not None else ""
        table.add_row(
            esc(step["step_id"]), _styled(step["status"]), str(step["attempts"]), duration, esc(step["error"] or "")
        )
    out.print(table)
    out.print(f"Run {run['id']}: {_styled(run['status'])}")
    if run["status"] == "succeeded":
        output = run["output"]
        typer.echo(output if isinstance(output, str) else json.dumps(output, indent=2, ensure_ascii=False))
    elif run["error"]:
        out.print(f"[red]{esc(run['error'])}[/]")


@app.command()
def run(
    workflow: WorkflowArg,
    data: Annotated[
        str | None, typer.Option("--input", "-i", help='The input as JSON (\'{"city": "Paris"}\'), or @FILE.')
    ] = None,
    wait: Annotated[bool, typer.Option("--wait/--no-wait", help="Follow the run until it finishes.")] = True,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Run a workflow and follow it; the exit code is 1 when the run fails."""
    from mcphost.client import workflows

    given: Any = {}
    if data:
        given = _read_json(data[1:], "the input") if data.startswith("@") else _parse_input(data)
    if not isinstance(given, dict):
        fail("the input must be a JSON object")

    async def start(client: MCPHostClient) -> dict[str, Any]:
        found = await workflows.resolve(client, workflow)
        queued = await workflows.run(client, found["id"], given)
        if not wait:
            return queued
        with console(stderr=True).status(f"Running {found['slug']}…"):
            return await workflows.wait(client, found["id"], queued["id"])

    result = run_api(start, url)
    if as_json:
        print_json(result)
    elif not wait:
        typer.echo(f"Queued run {result['id']}.")
    else:
        _print_run(result)
    if result["status"] in ("failed", "cancelled"):
        raise typer.Exit(1)


def _parse_input(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        fail(f"--input is not JSON: {exc}")


@app.command()
def runs(
    workflow: WorkflowArg,
    run_id: Annotated[str | None, typer.Argument(help="One run's id: its steps in detail.", show_default=False)] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=200, help="How many of the newest runs.")] = 20,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """The workflow's runs, newest first (or one run with its steps)."""
    from mcphost.client import workflows

    async def fetch(client: MCPHostClient) -> Any:
        found = await workflows.resolve(client, workflow)
        if run_id:
            return await workflows.get_run(client, found["id"], run_id)
        return await workflows.list_runs(client, found["id"], limit=limit)

    found = run_api(fetch, url)
    if as_json:
        print_json(found)
        return
    if run_id:
        _print_run(found)
        return
    if not found:
        typer.echo("No runs yet.")
        return
    from rich.table import Table

    table = Table("RUN", "STATUS", "TRIGGER", "STARTED", "DURATION", "ERROR", box=None)
    for item in found:
        duration = f"{item['duration_ms'] / 1000:.2f} s" if item["duration_ms"] is not None else ""
        table.add_row(
            esc(item["id"]), _styled(item["status"]), esc(item["trigger"]), short_time(item["started_at"]), duration,
            esc((item["error"] or "")[:80]),
        )  # fmt: skip
    console().print(table)


@app.command()
def delete(workflow: WorkflowArg, url: UrlOption = None, yes: YesOption = False) -> None:
    """Delete a workflow and its runs."""
    from mcphost.client import workflows

    async def fetch(client: MCPHostClient) -> dict[str, Any]:
        return await workflows.resolve(client, workflow)

    found = run_api(fetch, url)
    if not yes:
        typer.confirm(f"Delete the workflow {found['slug']} and its runs?", abort=True)

    async def remove(client: MCPHostClient) -> None:
        await workflows.delete(client, found["id"])

    run_api(remove, url)
    typer.echo(f"{found['slug']}: deleted")
