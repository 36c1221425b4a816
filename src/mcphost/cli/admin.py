"""``mcphost users`` and ``mcphost jobs``: what platform administrators manage.

A user is named by their email or id. Other users get the instance's refusal as a one-line error.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

import typer

from mcphost.cli.output import (
    JsonOption,
    UrlOption,
    YesOption,
    console,
    delete_owner,
    esc,
    print_json,
    run_api,
    short_time,
)

if TYPE_CHECKING:
    from mcphost.client import MCPHostClient

users_app = typer.Typer(help="User accounts (administrators).", no_args_is_help=True)
jobs_app = typer.Typer(help="Background jobs (administrators).", no_args_is_help=True)

UserArg = Annotated[str, typer.Argument(help="The user's email or id.", show_default=False)]
JobArg = Annotated[str, typer.Argument(help="The job's id.", show_default=False, callback=lambda value: _job_id(value))]


class UserRole(StrEnum):
    admin = "admin"
    user = "user"


class JobState(StrEnum):
    queued = "queued"
    running = "running"
    succeeded = "succeeded"
    dead = "dead"
    cancelled = "cancelled"


JOB_STYLES = {"queued": "yellow", "running": "cyan", "succeeded": "green", "dead": "red", "cancelled": "dim"}


def _job_id(value: str) -> str:
    import uuid

    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a job id (see `mcphost jobs list`)") from None


# -- users ---------------------------------------------------------------------------------------------


@users_app.command("list")
def list_users(
    url: UrlOption = None,
    query: Annotated[str | None, typer.Option("--search", "-q", help="Only emails holding this.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Every user account."""
    from mcphost.client import resources

    async def fetch(client: MCPHostClient) -> list[dict[str, Any]]:
        return await resources.all_users(client, query=query)

    users = run_api(fetch, url)
    if as_json:
        print_json(users)
        return
    if not users:
        typer.echo("No users match.")
        return
    from rich.table import Table

    table = Table("EMAIL", "ROLE", "STATUS", "QUOTA", "CREATED", "LAST LOGIN", "ID", box=None)
    for user in users:
        table.add_row(
            esc(user["email"]),
            esc(user["role"]),
            "[green]active[/]" if user["is_active"] else "[red]disabled[/]",
            str(user["server_quota"]),
            short_time(user["created_at"]),
            short_time(user.get("last_login_at")) or "-",
            esc(user["id"]),
        )
    console().print(table)


def _update(user: str, url: str | None, **changes: Any) -> dict[str, Any]:
    from mcphost.client import resources

    async def send(client: MCPHostClient) -> dict[str, Any]:
        found = await resources.resolve_user(client, user)
        return await resources.update_user(client, found["id"], **changes)

    return run_api(send, url)


@users_app.command()
def role(
    user: UserArg,
    new_role: Annotated[UserRole, typer.Argument(metavar="ROLE", help="admin or user.")],
    url: UrlOption = None,
) -> None:
    """Make a user an administrator, or an ordinary user again."""
    changed = _update(user, url, role=new_role.value)
    typer.echo(f"{changed['email']} is now {changed['role']}")


@users_app.command()
def disable(user: UserArg, url: UrlOption = None) -> None:
    """Disable an account: it can no longer sign in, and its sessions and tokens stop working."""
    changed = _update(user, url, is_active=False)
    typer.echo(f"{changed['email']} disabled")


@users_app.command()
def enable(user: UserArg, url: UrlOption = None) -> None:
    """Enable a disabled account again."""
    changed = _update(user, url, is_active=True)
    typer.echo(f"{changed['email']} enabled")


@users_app.command()
def delete(
    user: UserArg,
    delete_servers: Annotated[
        bool,
        typer.Option(
            "--delete-servers", help="Also stop and delete the servers the account owns (else it may own none)."
        ),
    ] = False,
    url: UrlOption = None,
    yes: YesOption = False,
) -> None:
    """Delete an account: its tokens, sessions and memberships go, and the access keys it created stop working."""
    from mcphost.client import resources

    async def find(client: MCPHostClient) -> dict[str, Any]:
        return await resources.resolve_user(client, user)

    found = run_api(find, url)
    if not yes:
        what = " and the servers it owns" if delete_servers else ""
        typer.confirm(f"Delete the account {found['email']}{what}? This cannot be undone.", abort=True)

    async def remove(client: MCPHostClient) -> None:
        await resources.delete_user(client, found["id"], delete_servers=delete_servers)

    delete_owner(
        url,
        remove,
        refusal="user_has_servers",
        advice=lambda count: (
            f"{found['email']} owns {count} server(s), so the account was not deleted: run `mcphost users "
            f"delete {found['email']} --delete-servers` to stop and delete them with it, or disable the account "
            "instead (`mcphost users disable`)."
        ),
    )
    typer.echo(f"{found['email']}: deleted" + (" with the servers it owned" if delete_servers else ""))


@users_app.command()
def quota(
    user: UserArg,
    servers: Annotated[int, typer.Argument(min=0, max=100_000, help="How many servers they may own.")],
    url: UrlOption = None,
) -> None:
    """Set how many servers a user may own."""
    changed = _update(user, url, server_quota=servers)
    typer.echo(f"{changed['email']} may now own {changed['server_quota']} servers")


# -- jobs ----------------------------------------------------------------------------------------------


def _styled_state(state: str) -> str:
    style = JOB_STYLES.get(state)
    return f"[{style}]{state}[/]" if style else state


@jobs_app.command("list")
def list_jobs(
    url: UrlOption = None,
    state: Annotated[JobState | None, typer.Option("--state", help="Only jobs in this state.")] = None,
    kind: Annotated[str | None, typer.Option("--kind", help="Only jobs of this kind.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000, help="How many of the newest.")] = 50,
    as_json: JsonOption = False,
) -> None:
    """Background jobs, newest first."""
    from mcphost.client import resources

    async def fetch(client: MCPHostClient) -> list[dict[str, Any]]:
        return await resources.all_jobs(client, status=state.value if state else None, kind=kind, limit=limit)

    jobs = run_api(fetch, url)
    if as_json:
        print_json(jobs)
        return
    if not jobs:
        typer.echo("No jobs.")
        return
    from rich.table import Table

    table = Table("ID", "KIND", "STATE", "ATTEMPTS", "CREATED", "FINISHED", "ERROR", box=None)
    for job in jobs:
        table.add_row(
            esc(job["id"]),
            esc(job["kind"]),
            _styled_state(job["status"]),
            f"{job['attempts']}/{job['max_attempts']}",
            short_time(job["created_at"]),
            short_time(job.get("finished_at")) or "-",
            esc((job.get("last_error") or "").splitlines()[0] if job.get("last_error") else ""),
        )
    console().print(table)


def _print_job(job: dict[str, Any]) -> None:
    import json

    from rich.table import Table

    rows = [
        ("id", esc(job["id"])),
        ("kind", esc(job["kind"])),
        ("queue", esc(job["queue"])),
        ("state", _styled_state(job["status"])),
        ("attempts", f"{job['attempts']}/{job['max_attempts']}"),
        ("priority", str(job["priority"])),
        ("payload", esc(json.dumps(job.get("payload") or {}))),
        ("result", esc(json.dumps(job["result"])) if job.get("result") is not None else "-"),
        ("last error", esc(job.get("last_error") or "-")),
        ("created", short_time(job["created_at"])),
        ("run after", short_time(job.get("run_after"))),
        ("started", short_time(job.get("started_at")) or "-"),
        ("finished", short_time(job.get("finished_at")) or "-"),
        ("lease", esc(job.get("lease_owner") or "-")),
    ]
    table = Table(box=None, show_header=False)
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    for key, value in rows:
        table.add_row(key, value)
    console().print(table)


@jobs_app.command()
def show(job: JobArg, url: UrlOption = None, as_json: JsonOption = False) -> None:
    """Everything about one job."""
    from mcphost.client import resources

    async def fetch(client: MCPHostClient) -> dict[str, Any]:
        return await resources.get_job(client, job)

    found = run_api(fetch, url)
    if as_json:
        print_json(found)
        return
    _print_job(found)


@jobs_app.command()
def retry(job: JobArg, url: UrlOption = None) -> None:
    """Queue a dead or cancelled job again."""
    from mcphost.client import resources

    async def send(client: MCPHostClient) -> dict[str, Any]:
        return await resources.retry_job(client, job)

    changed = run_api(send, url)
    typer.echo(f"{changed['id']}: {changed['status']}")


@jobs_app.command()
def cancel(job: JobArg, url: UrlOption = None) -> None:
    """Cancel a queued job."""
    from mcphost.client import resources

    async def send(client: MCPHostClient) -> dict[str, Any]:
        return await resources.cancel_job(client, job)

    changed = run_api(send, url)
    typer.echo(f"{changed['id']}: {changed['status']}")
