"""The administrators' page: users (search by email, change role or server quota, disable and enable) and the
job queue (filter by status, retry dead or cancelled jobs, cancel queued ones). Every row action swaps its row
and says what happened in the flash region (``HX-Trigger: mcphost:done``, shown by ``admin.js``)."""

from __future__ import annotations

import json
import uuid
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from starlette.responses import Response

from mcphost.accounts import service as accounts
from mcphost.accounts.schemas import UserUpdate
from mcphost.api.deps import SessionDep
from mcphost.errors import ValidationFailed
from mcphost.jobs import service as jobs
from mcphost.models import Job, JobStatus, UserRole
from mcphost.ui.forms import validated
from mcphost.ui.routing import ConsoleAdmin, ConsoleRoute, redirect
from mcphost.ui.templating import is_htmx, render

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)
PAGE = 50
QueryText = Annotated[str, Query(max_length=320)]
USER_LABELS = {"role": "Role", "server_quota": "Server quota", "is_active": "Active"}


def _job_status(value: str) -> JobStatus | None:
    if not value:
        return None
    try:
        return JobStatus(value)
    except ValueError as exc:
        choices = ", ".join(status.value for status in JobStatus)
        raise ValidationFailed(f"Job status: “{value[:40]}” is not one; pick one of {choices}.") from exc


def _page_url(**params: str | None) -> str:
    return "/admin?" + urlencode({key: value for key, value in params.items() if value})


@router.get("/admin")
async def admin_page(
    request: Request,
    _admin: ConsoleAdmin,
    session: SessionDep,
    q: QueryText = "",
    status: QueryText = "",
    users_cursor: QueryText = "",
    jobs_cursor: QueryText = "",
) -> Response:
    job_status = _job_status(status)
    query = q.strip()
    users, users_next = await accounts.list_users(session, limit=PAGE, cursor=users_cursor or None, query=query or None)
    job_rows, jobs_next = await jobs.list_jobs(
        session, status=job_status, kind=None, limit=PAGE, cursor=jobs_cursor or None
    )
    context: dict[str, Any] = {
        "section": "admin",
        "q": query,
        "status": job_status.value if job_status else "",
        "users": users,
        "jobs": job_rows,
        "roles": list(UserRole),
        "statuses": list(JobStatus),
        "users_next": users_next and _page_url(q=query, status=status, users_cursor=users_next),
        "jobs_next": jobs_next and _page_url(q=query, status=status, jobs_cursor=jobs_next),
    }
    return render(request, "admin/page.html", context)


async def _user_row(request: Request, session: SessionDep, user_id: uuid.UUID, changes: UserUpdate) -> Response:
    user = await accounts.update_user(session, user_id, changes)
    if not is_htmx(request):
        return redirect(request, _page_url(q=user.email))
    state = "active" if user.is_active else "disabled"
    done = f"{user.email}: {user.role.value}, quota {user.server_quota}, {state}."
    return render(
        request,
        "admin/user_row.html",
        {"u": user, "roles": list(UserRole)},
        headers={"HX-Trigger": json.dumps({"mcphost:done": done})},
    )


@router.post("/admin/users/{user_id}")
async def update_user(
    request: Request,
    user_id: uuid.UUID,
    _admin: ConsoleAdmin,
    session: SessionDep,
    role: Annotated[str, Form(max_length=20)] = "",
    server_quota: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    quota = server_quota.strip()
    changes = validated(
        UserUpdate,
        USER_LABELS,
        role=role or None,
        server_quota=int(quota) if quota.isdigit() else (quota or None),
    )
    return await _user_row(request, session, user_id, changes)


@router.post("/admin/users/{user_id}/disable")
async def disable_user(request: Request, user_id: uuid.UUID, _admin: ConsoleAdmin, session: SessionDep) -> Response:
    return await _user_row(request, session, user_id, UserUpdate(is_active=False))


@router.post("/admin/users/{user_id}/enable")
async def enable_user(request: Request, user_id: uuid.UUID, _admin: ConsoleAdmin, session: SessionDep) -> Response:
    return await _user_row(request, session, user_id, UserUpdate(is_active=True))


@router.post("/admin/users/{user_id}/delete")
async def delete_user(request: Request, user_id: uuid.UUID, admin: ConsoleAdmin, session: SessionDep) -> Response:
    """The button's confirmation says the account's servers go with it, so this deletes them (delete_servers)."""
    user = await accounts.get_user(session, user_id)
    email = user.email
    removed = await accounts.delete_user(session, admin, user_id, delete_servers=True)
    if not is_htmx(request):
        return redirect(request, "/admin")
    servers = f" and its {removed} server{'' if removed == 1 else 's'}" if removed else ""
    done = f"{email}{servers} deleted."
    return Response(status_code=200, headers={"HX-Trigger": json.dumps({"mcphost:done": done})})


async def _job_row(request: Request, job: Job, done: str) -> Response:
    if not is_htmx(request):
        return redirect(request, "/admin")
    headers = {"HX-Trigger": json.dumps({"mcphost:done": done})}
    return render(request, "admin/job_row.html", {"job": job}, headers=headers)


@router.post("/admin/jobs/{job_id}/retry")
async def retry_job(request: Request, job_id: uuid.UUID, _admin: ConsoleAdmin, session: SessionDep) -> Response:
    job = await jobs.retry_job(session, job_id)
    return await _job_row(request, job, f"The {job.kind} job is queued again.")


@router.post("/admin/jobs/{job_id}/cancel")
async def cancel_job(request: Request, job_id: uuid.UUID, _admin: ConsoleAdmin, session: SessionDep) -> Response:
    job = await jobs.cancel_job(session, job_id)
    return await _job_row(request, job, f"The {job.kind} job was cancelled.")
