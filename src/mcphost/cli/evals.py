"""``mcphost evals``: evaluation suites of test cases against hosted servers, their runs with scores, and the
scoreboard. A suite is named by its id or its name; a server by its id, slug or name."""

from __future__ import annotations

import json
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

import typer

from mcphost.cli.output import JsonOption, UrlOption, YesOption, console, esc, fail, print_json, run_api, short_time

if TYPE_CHECKING:
    from mcphost.client import MCPHostClient

app = typer.Typer(
    help="Evaluations: suites of tool calls with expected answers, runs and scores.", no_args_is_help=True
)
cases_app = typer.Typer(help="The cases of a suite.", no_args_is_help=True)
app.add_typer(cases_app, name="cases")

SuiteArg = Annotated[str, typer.Argument(help="The suite's id or name.", show_default=False)]
ServerOption = Annotated[str, typer.Option("--server", "-s", help="The server's id, slug or name.", show_default=False)]
RESULT_STYLES = {"passed": "green", "failed": "red", "error": "red", "queued": "yellow", "running": "yellow"}


class Mode(StrEnum):
    exact = "exact"
    contains = "contains"
    json_subset = "json_subset"
    similarity = "similarity"


def _status(status: str) -> str:
    return f"[{RESULT_STYLES.get(status, '')}]{status}[/]"


def _score(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


@app.command()
def create(
    name: Annotated[str, typer.Argument(help="The suite's name.", show_default=False)],
    org: Annotated[str | None, typer.Option(help="Make it this organisation's suite (id).")] = None,
    every: Annotated[int | None, typer.Option(help="Run it every this many minutes.", min=1)] = None,
    on_deploy: Annotated[bool, typer.Option(help="Run a server's cases after each redeploy.")] = True,
    description: Annotated[str, typer.Option(help="What the suite checks.")] = "",
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Create a suite; add cases with `mcphost evals cases add` or `mcphost evals record`."""
    from mcphost.client import evaluations

    async def send(client: MCPHostClient) -> dict[str, Any]:
        return await evaluations.create_suite(
            client,
            name,
            org_id=org,
            description=description,
            run_on_deploy=on_deploy,
            schedule_seconds=every * 60 if every else None,
        )

    suite = run_api(send, url)
    if as_json:
        print_json(suite)
        return
    typer.echo(f"Created suite {suite['name']} (id {suite['id']})")


@app.command("list")
def list_suites(url: UrlOption = None, as_json: JsonOption = False) -> None:
    """The suites you can see, with their last run."""
    from mcphost.client import evaluations

    suites = run_api(evaluations.list_suites, url)
    if as_json:
        print_json(suites)
        return
    if not suites:
        typer.echo("No suites.")
        return
    from rich.table import Table

    table = Table("NAME", "CASES", "LAST RUN", "SCORE", "SCHEDULE", "ID", box=None)
    for suite in suites:
        last = suite.get("last_run") or {}
        every = f"every {suite['schedule_seconds'] // 60} min" if suite.get("schedule_seconds") else "-"
        table.add_row(
            esc(suite["name"]),
            str(suite["case_count"]),
            _status(last["status"]) if last else "never",
            _score(last.get("average_score")),
            every,
            suite["id"],
        )
    console().print(table)


@app.command()
def delete(suite: SuiteArg, yes: YesOption = False, url: UrlOption = None) -> None:
    """Delete a suite with its cases and runs."""
    from mcphost.client import evaluations

    if not yes:
        typer.confirm(f"Delete the suite {suite} with its cases and runs?", abort=True)

    async def send(client: MCPHostClient) -> None:
        found = await evaluations.resolve_suite(client, suite)
        await evaluations.delete_suite(client, found["id"])

    run_api(send, url)
    typer.echo(f"Deleted suite {suite}")


@cases_app.command("list")
def list_cases(suite: SuiteArg, url: UrlOption = None, as_json: JsonOption = False) -> None:
    """The suite's cases."""
    from mcphost.client import evaluations

    async def fetch(client: MCPHostClient) -> list[dict[str, Any]]:
        return await evaluations.list_cases(client, (await evaluations.resolve_suite(client, suite))["id"])

    cases = run_api(fetch, url)
    if as_json:
        print_json(cases)
        return
    from rich.table import Table

    table = Table("NAME", "TOOL", "ARGUMENTS", "EXPECTED", "MATCH", "ID", box=None)
    for case in cases:
        expected = case["expected"] if isinstance(case["expected"], str) else json.dumps(case["expected"])
        mode = case["match_mode"] + (f" >= {case['threshold']}" if case.get("threshold") is not None else "")
        table.add_row(
            esc(case["name"]),
            esc(case["tool"]),
            esc(json.dumps(case["arguments"])[:60]),
            esc(expected[:60]),
            mode,
            case["id"],
        )
    console().print(table)


@cases_app.command("add")
def add_case(
    suite: SuiteArg,
    server: ServerOption,
    tool: Annotated[str, typer.Option("--tool", "-t", help="The tool to call.", show_default=False)],
    expect: Annotated[
        str, typer.Option("--expect", "-e", help="The expected output (JSON for json_subset).", show_default=False)
    ],
    arguments: Annotated[str, typer.Option("--args", "-a", help="The tool's arguments as a JSON object.")] = "{}",
    mode: Annotated[Mode, typer.Option("--mode", "-m", help="How to compare.")] = Mode.exact,
    threshold: Annotated[float | None, typer.Option(help="similarity: the score needed to pass (0..1).")] = None,
    name: Annotated[str | None, typer.Option(help="The case's name (default: the tool's).")] = None,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Add a case: call TOOL on the server with the arguments and expect the output."""
    from mcphost.client import evaluations

    parsed_arguments = _parse("--args", arguments)
    expected: Any = _parse("--expect", expect) if mode is Mode.json_subset else expect

    async def send(client: MCPHostClient) -> dict[str, Any]:
        found = await evaluations.resolve_suite(client, suite)
        target = await client.resolve_server(server)
        return await evaluations.add_case(
            client,
            found["id"],
            server_id=target["id"],
            tool=tool,
            arguments=parsed_arguments,
            expected=expected,
            match_mode=mode.value,
            threshold=threshold,
            name=name,
        )

    case = run_api(send, url)
    if as_json:
        print_json(case)
        return
    typer.echo(f"Added case {case['name']} ({case['match_mode']}, id {case['id']})")


@cases_app.command("rm")
def remove_case(
    suite: SuiteArg,
    case_id: Annotated[str, typer.Argument(help="The case's id.", show_default=False)],
    url: UrlOption = None,
) -> None:
    """Delete a case (its past results stay)."""
    from mcphost.client import evaluations

    async def send(client: MCPHostClient) -> None:
        await evaluations.delete_case(client, (await evaluations.resolve_suite(client, suite))["id"], case_id)

    run_api(send, url)
    typer.echo(f"Deleted case {case_id}")


@app.command()
def record(
    suite: SuiteArg,
    server: ServerOption,
    tool: Annotated[str | None, typer.Option("--tool", "-t", help="Only calls of this tool.")] = None,
    since: Annotated[str | None, typer.Option(help="Only calls at or after this time (ISO 8601).")] = None,
    limit: Annotated[int, typer.Option(help="At most this many cases.", min=1, max=100)] = 20,
    mode: Annotated[Mode, typer.Option("--mode", "-m", help="The match mode of the cases made.")] = Mode.exact,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Record and replay: turn the server's recorded tool calls into cases expecting the answers it gave."""
    from mcphost.client import evaluations

    async def send(client: MCPHostClient) -> dict[str, Any]:
        found = await evaluations.resolve_suite(client, suite)
        target = await client.resolve_server(server)
        filters = {"server_id": target["id"], "tool": tool, "since": since, "limit": limit, "match_mode": mode.value}
        return await evaluations.record_cases(client, found["id"], **filters)

    answer = run_api(send, url)
    if as_json:
        print_json(answer)
        return
    typer.echo(f"Recorded {len(answer['created'])} cases")
    for case in answer["created"]:
        typer.echo(f"  + {case['name']}")
    for skipped in answer["skipped"]:
        typer.echo(f"  skipped invocation {skipped['invocation']}: {skipped['reason']}")


@app.command()
def run(
    suite: SuiteArg,
    server: Annotated[str | None, typer.Option("--server", "-s", help="Only this server's cases.")] = None,
    wait: Annotated[bool, typer.Option(help="Wait for the results (exit code 1 unless every case passed).")] = True,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the results.", min=1)] = 600,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Run the suite now, as you; shows each case's result and score when it has finished."""
    from mcphost.client import evaluations

    out = console(stderr=True)

    async def send(client: MCPHostClient) -> dict[str, Any]:
        found = await evaluations.resolve_suite(client, suite)
        server_id = (await client.resolve_server(server))["id"] if server else None
        started = await evaluations.start_run(client, found["id"], server_id)
        if not wait:
            return started
        with out.status(f"running {found['name']}…") as status:

            def progress(now: dict[str, Any]) -> None:
                done = len(now.get("results") or [])
                status.update(f"{found['name']}: {now['status']}, {done} of {now['cases'] or '?'} cases done")

            return await evaluations.wait_for_run(client, started["id"], timeout, progress)

    answer = run_api(send, url)
    if as_json:
        print_json(answer)
    elif not wait:
        typer.echo(f"Started run {answer['id']} (follow it with `mcphost evals results {answer['id']}`)")
    else:
        _print_run(answer)
    if wait and answer["status"] not in evaluations.FINISHED:
        fail(f"the run has not finished after {timeout:.0f} seconds; see `mcphost evals results {answer['id']}`")
    if wait and answer["status"] != "passed":
        raise typer.Exit(1)


@app.command()
def results(
    target: Annotated[
        str, typer.Argument(help="A run's id, or a suite's id or name (its latest run).", show_default=False)
    ],
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """A run's results: each case's pass or fail, score, actual output, duration and error."""
    from mcphost.client import ApiError, evaluations

    async def fetch(client: MCPHostClient) -> dict[str, Any]:
        try:
            return await evaluations.get_run(client, target)
        except ApiError as exc:
            if exc.status not in (404, 422):
                raise
        return await evaluations.latest_run(client, (await evaluations.resolve_suite(client, target))["id"])

    found = run_api(fetch, url)
    if as_json:
        print_json(found)
        return
    _print_run(found)


@app.command()
def scoreboard(
    suite: Annotated[str | None, typer.Option(help="Only runs of this suite (id or name).")] = None,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Servers ranked by the average score of their latest evaluated run."""
    from mcphost.client import evaluations

    async def fetch(client: MCPHostClient) -> dict[str, Any]:
        suite_id = (await evaluations.resolve_suite(client, suite))["id"] if suite else None
        return await evaluations.scoreboard(client, suite_id)

    board = run_api(fetch, url)
    if as_json:
        print_json(board)
        return
    if not board["items"]:
        typer.echo("No server has been evaluated yet.")
        return
    from rich.table import Table

    table = Table("RANK", "SERVER", "AVG SCORE", "PASS RATE", "CASES", "SUITE", "WHEN", box=None)
    for entry in board["items"]:
        table.add_row(
            str(entry["rank"]),
            esc(entry["server_slug"]),
            _score(entry["average_score"]),
            f"{entry['pass_rate'] * 100:.0f}%",
            f"{entry['passed']}/{entry['cases']}",
            esc(entry["suite_name"]),
            short_time(entry["finished_at"]),
        )
    console().print(table)


def _print_run(found: dict[str, Any]) -> None:
    from rich.table import Table

    out = console()
    out.print(
        f"run {found['id']}: {_status(found['status'])} ({found['trigger']}), "
        f"{found['passed']}/{found['cases']} passed, average score {_score(found['average_score'])}"
    )
    if found.get("error"):
        out.print(f"[red]{esc(found['error'])}[/]")
    table = Table("CASE", "TOOL", "MATCH", "RESULT", "SCORE", "ACTUAL", "MS", "ERROR", box=None)
    for result in found.get("results") or []:
        actual = result["actual"]
        shown = actual if isinstance(actual, str) else ("" if actual is None else json.dumps(actual))
        table.add_row(
            esc(result["case_name"]),
            esc(result["tool"]),
            result["match_mode"],
            "[green]pass[/]" if result["passed"] else "[red]fail[/]",
            _score(result["score"]),
            esc(shown[:60]),
            f"{result['duration_ms']:.0f}",
            esc(result["error"] or ""),
        )
    out.print(table)


def _parse(option: str, value: str) -> Any:
    try:
        return json.loads(value)
    except ValueError:
        fail(f"{option} is not valid JSON: {value[:80]}")
