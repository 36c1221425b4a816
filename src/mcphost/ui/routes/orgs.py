"""Organisation pages: your organisations (create one), and one organisation's members and invitations.

Org admins and owners invite by email (an existing account becomes a member at once, another email gets a pending
invitation), change roles, remove members and withdraw invitations; owners rename and delete. The changes are htmx
forms that swap the members panel in place; without JavaScript the same forms post and come back to the page.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from starlette.responses import Response

from mcphost.accounts.principal import Principal
from mcphost.api.deps import PlatformDep, SessionDep
from mcphost.errors import Conflict, ValidationFailed
from mcphost.models import OrgRole
from mcphost.orgs import service
from mcphost.orgs.schemas import MemberAdd, MemberUpdate, OrgCreate, OrgOut, OrgUpdate
from mcphost.ui.forms import validated
from mcphost.ui.routing import ConsoleRoute, ConsoleUser, redirect
from mcphost.ui.templating import is_htmx, render

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)
FormText = Annotated[str, Form(max_length=1000)]


def _may_manage(principal: Principal, org: OrgOut) -> bool:
    return principal.is_admin or (org.role is not None and org.role.at_least(OrgRole.ADMIN))


def _is_owner(principal: Principal, org: OrgOut) -> bool:
    return principal.is_admin or org.role is OrgRole.OWNER


async def _org_context(session: SessionDep, principal: Principal, org_id: uuid.UUID) -> dict[str, Any]:
    org = await service.get_org(session, principal, org_id)
    owner = _is_owner(principal, org)
    return {
        "section": "orgs",
        "org": org,
        "people": await service.list_members(session, principal, org_id),
        "may_manage": _may_manage(principal, org),
        "is_owner": owner,
        "grantable": [role for role in OrgRole if owner or role is not OrgRole.OWNER],
        "server_count": await service.server_count(session, org_id) if owner else 0,
    }


async def _members_panel(
    request: Request, session: SessionDep, principal: Principal, org_id: uuid.UUID, done: str
) -> Response:
    """After a change: the refreshed members panel (htmx) or the whole page again (a plain form post)."""
    if not is_htmx(request):
        return redirect(request, f"/orgs/{org_id}")
    context = await _org_context(session, principal, org_id)
    return render(request, "orgs/members.html", {**context, "done": done})


@router.get("/orgs")
async def orgs_page(request: Request, principal: ConsoleUser, session: SessionDep) -> Response:
    orgs = await service.list_orgs(session, principal)
    counts = await service.member_counts(session, orgs)
    return render(request, "orgs/list.html", {"section": "orgs", "orgs": orgs, "counts": counts})


@router.post("/orgs")
async def create_org(
    request: Request, principal: ConsoleUser, session: SessionDep, platform: PlatformDep, name: FormText = ""
) -> Response:
    data = validated(OrgCreate, {"name": "Name"}, name=name)
    org = await service.create_org(session, platform.settings.auth, principal, data.name)
    return redirect(request, f"/orgs/{org.id}")


@router.get("/orgs/{org_id}")
async def org_page(request: Request, org_id: uuid.UUID, principal: ConsoleUser, session: SessionDep) -> Response:
    return render(request, "orgs/detail.html", await _org_context(session, principal, org_id))


@router.post("/orgs/{org_id}/members")
async def invite(
    request: Request,
    org_id: uuid.UUID,
    principal: ConsoleUser,
    session: SessionDep,
    email: FormText = "",
    role: FormText = "member",
) -> Response:
    data = validated(MemberAdd, {"email": "Email", "role": "Role"}, email=email.strip(), role=role)
    result = await service.add_member(session, principal, org_id, data)
    done = (
        f"{data.email} is now a {data.role.value} of the organisation."
        if result.status == "added"
        else f"{data.email} has no account yet: invited as {data.role.value}; they join when they sign up."
    )
    return await _members_panel(request, session, principal, org_id, done)


@router.post("/orgs/{org_id}/members/{user_id}/role")
async def change_role(
    request: Request,
    org_id: uuid.UUID,
    user_id: uuid.UUID,
    principal: ConsoleUser,
    session: SessionDep,
    role: FormText = "",
) -> Response:
    data = validated(MemberUpdate, {"role": "Role"}, role=role)
    member = await service.update_member(session, principal, org_id, user_id, data.role)
    return await _members_panel(request, session, principal, org_id, f"{member.email} is now {data.role.value}.")


@router.post("/orgs/{org_id}/members/{user_id}/remove")
async def remove_member(
    request: Request, org_id: uuid.UUID, user_id: uuid.UUID, principal: ConsoleUser, session: SessionDep
) -> Response:
    await service.remove_member(session, principal, org_id, user_id)
    if user_id == principal.user_id:
        return redirect(request, "/orgs")
    return await _members_panel(request, session, principal, org_id, "The member was removed.")


@router.post("/orgs/{org_id}/invitations/{invitation_id}/withdraw")
async def withdraw_invitation(
    request: Request, org_id: uuid.UUID, invitation_id: uuid.UUID, principal: ConsoleUser, session: SessionDep
) -> Response:
    await service.revoke_invitation(session, principal, org_id, invitation_id)
    return await _members_panel(request, session, principal, org_id, "The invitation was withdrawn.")


@router.post("/orgs/{org_id}/rename")
async def rename(
    request: Request, org_id: uuid.UUID, principal: ConsoleUser, session: SessionDep, name: FormText = ""
) -> Response:
    data = validated(OrgUpdate, {"name": "Name"}, name=name)
    if data.name is None:
        raise ValidationFailed("Name: enter the organisation's new name.")
    await service.update_org(session, principal, org_id, data)
    return redirect(request, f"/orgs/{org_id}")


@router.post("/orgs/{org_id}/delete")
async def delete(
    request: Request, org_id: uuid.UUID, principal: ConsoleUser, session: SessionDep, delete_servers: FormText = ""
) -> Response:
    try:
        await service.delete_org(session, principal, org_id, delete_servers=delete_servers == "on")
    except Conflict as exc:
        if exc.code != "org_has_servers":
            raise
        count = int(exc.details["servers"]) if isinstance(exc.details, dict) else 0
        raise Conflict(
            f"This organisation still has {service.servers_phrase(count)}, so it was not deleted. Tick “Also stop "
            "and delete its servers” to delete them with it, or delete them first from the Servers page.",
            code="org_has_servers",
            details=exc.details,
        ) from None
    return redirect(request, "/orgs")
