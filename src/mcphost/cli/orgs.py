"""``mcphost orgs``: organisations, their members and invitations.

An organisation is named by its id or its slug (or its name when only one has it); a member by their email or
user id.
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

app = typer.Typer(help="Organisations: members, roles and invitations.", no_args_is_help=True)

OrgArg = Annotated[str, typer.Argument(help="The organisation's id or slug.", show_default=False)]
MemberArg = Annotated[str, typer.Argument(help="The member's email or user id.", show_default=False)]


class Role(StrEnum):
    owner = "owner"
    admin = "admin"
    member = "member"
    viewer = "viewer"


@app.command()
def create(
    name: Annotated[str, typer.Argument(help="The organisation's name.", show_default=False)],
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Create an organisation; you become its owner."""
    from mcphost.client import resources

    async def send(client: MCPHostClient) -> dict[str, Any]:
        return await resources.create_org(client, name)

    org = run_api(send, url)
    if as_json:
        print_json(org)
        return
    typer.echo(f"Created organisation {org['name']} (slug {org['slug']}, id {org['id']})")


@app.command("list")
def list_orgs(url: UrlOption = None, as_json: JsonOption = False) -> None:
    """Your organisations (administrators: all)."""
    from mcphost.client import resources

    orgs = run_api(resources.list_orgs, url)
    if as_json:
        print_json(orgs)
        return
    if not orgs:
        typer.echo("No organisations.")
        return
    from rich.table import Table

    table = Table("SLUG", "NAME", "ROLE", "QUOTA", "CREATED", "ID", box=None)
    for org in orgs:
        table.add_row(
            esc(org["slug"]),
            esc(org["name"]),
            esc(org.get("role") or "-"),
            str(org["server_quota"]),
            short_time(org["created_at"]),
            esc(org["id"]),
        )
    console().print(table)


@app.command()
def members(org: OrgArg, url: UrlOption = None, as_json: JsonOption = False) -> None:
    """The members of an organisation and its pending invitations."""
    from mcphost.client import resources

    async def fetch(client: MCPHostClient) -> dict[str, Any]:
        found = await resources.resolve_org(client, org)
        return await resources.list_members(client, found["id"])

    listing = run_api(fetch, url)
    if as_json:
        print_json(listing)
        return
    from rich.table import Table

    table = Table("EMAIL", "ROLE", "SINCE", "USER ID", box=None)
    for member in listing["members"]:
        table.add_row(
            esc(member["email"]), esc(member["role"]), short_time(member["joined_at"]), esc(member["user_id"])
        )
    for invitation in listing["invitations"]:
        table.add_row(
            esc(invitation["email"]),
            esc(invitation["role"]),
            "[yellow]invited[/] " + short_time(invitation["created_at"]),
            "-",
        )
    console().print(table)


@app.command()
def invite(
    org: OrgArg,
    email: Annotated[str, typer.Argument(help="Their email.", show_default=False)],
    role: Annotated[Role, typer.Option("--role", help="Their role in the organisation.")] = Role.member,
    url: UrlOption = None,
) -> None:
    """Add someone by email; an email without an account is invited and joins when it signs up."""
    from mcphost.client import resources

    async def send(client: MCPHostClient) -> tuple[dict[str, Any], dict[str, Any]]:
        found = await resources.resolve_org(client, org)
        return found, await resources.add_member(client, found["id"], email, role.value)

    found, result = run_api(send, url)
    if result["status"] == "added":
        typer.echo(f"{email} added to {found['slug']} as {role.value}")
    else:
        typer.echo(f"{email} invited to {found['slug']} as {role.value} (joins on sign-up)")


@app.command()
def role(
    org: OrgArg,
    member: MemberArg,
    new_role: Annotated[Role, typer.Argument(metavar="ROLE", help="owner, admin, member or viewer.")],
    url: UrlOption = None,
) -> None:
    """Change a member's role."""
    from mcphost.client import resources

    async def send(client: MCPHostClient) -> tuple[dict[str, Any], dict[str, Any]]:
        found = await resources.resolve_org(client, org)
        who = await resources.resolve_member(client, found["id"], member)
        return found, await resources.update_member(client, found["id"], who["user_id"], new_role.value)

    found, changed = run_api(send, url)
    typer.echo(f"{changed['email']} is now {changed['role']} in {found['slug']}")


@app.command()
def remove(org: OrgArg, member: MemberArg, url: UrlOption = None) -> None:
    """Remove a member from an organisation (your own email: leave it)."""
    from mcphost.client import resources

    async def send(client: MCPHostClient) -> tuple[dict[str, Any], dict[str, Any]]:
        found = await resources.resolve_org(client, org)
        who = await resources.resolve_member(client, found["id"], member)
        await resources.remove_member(client, found["id"], who["user_id"])
        return found, who

    found, who = run_api(send, url)
    typer.echo(f"{who['email']} removed from {found['slug']}")


@app.command()
def delete(
    org: OrgArg,
    delete_servers: Annotated[
        bool,
        typer.Option(
            "--delete-servers", help="Also stop and delete the organisation's servers (otherwise it must have none)."
        ),
    ] = False,
    url: UrlOption = None,
    yes: YesOption = False,
) -> None:
    """Delete an organisation (owners). One that still has servers is deleted only with --delete-servers."""
    from mcphost.client import resources

    async def find(client: MCPHostClient) -> dict[str, Any]:
        return await resources.resolve_org(client, org)

    found = run_api(find, url)
    if not yes:
        what = " and all its servers" if delete_servers else ""
        typer.confirm(f"Delete the organisation {found['slug']}{what}? This cannot be undone.", abort=True)

    async def remove(client: MCPHostClient) -> None:
        await resources.delete_org(client, found["id"], delete_servers=delete_servers)

    delete_owner(
        url,
        remove,
        refusal="org_has_servers",
        advice=lambda count: (
            f"{found['slug']} still has {count} server(s), so it was not deleted: run `mcphost orgs delete "
            f"{found['slug']} --delete-servers` to stop and delete them with it, or delete them first "
            "(`mcphost servers list`)."
        ),
    )
    typer.echo(f"{found['slug']}: deleted" + (" with its servers" if delete_servers else ""))
