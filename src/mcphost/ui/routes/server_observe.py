"""Console pages to observe one server: its logs (live tail, search, download), its metrics (charts and the
usage event list) and its invocations (filterable table and detail).

htmx requests for the metrics window, the event filter and the invocation filters get only the part of the page
they replace; a history restore (back button) gets the whole page.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Path, Query, Request
from starlette.responses import Response

from mcphost.api.deps import SessionDep
from mcphost.errors import NotFound, ValidationFailed
from mcphost.models import Server
from mcphost.servers import invocations, logs, metrics_series, service, usage
from mcphost.ui.charts import Series, bar_chart, line_chart, number
from mcphost.ui.routing import ConsoleRoute, ConsoleUser
from mcphost.ui.templating import is_htmx, render

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)
TAIL_LINES = 300
DOWNLOAD_LINES = 10_000
EVENT_LIMIT = 100
INVOCATION_PAGE = 50
METHODS = (
    "tools/call",
    "tools/list",
    "resources/read",
    "resources/list",
    "resources/templates/list",
    "prompts/get",
    "prompts/list",
    "completion/complete",
    "initialize",
    "ping",
)
Text = Annotated[str | None, Query(max_length=200)]


def _fragment(request: Request) -> bool:
    """An htmx swap of part of the page (not the back button restoring a whole page)."""
    return is_htmx(request) and request.headers.get("hx-history-restore-request") != "true"


def _blank(value: str | None) -> str | None:
    return value.strip() or None if value is not None else None


# -- logs ---------------------------------------------------------------------------------------------------------


@router.get("/servers/{server_id}/logs")
async def logs_page(
    server_id: uuid.UUID, request: Request, principal: ConsoleUser, session: SessionDep, q: Text = None
) -> Response:
    server = await service.get_visible(session, principal, server_id)
    query = _blank(q)
    if query:
        lines = await logs.search(session, server_id, query, TAIL_LINES)
    else:
        lines = await logs.tail(session, server_id, TAIL_LINES)
    last_id = max((line.id for line in lines), default=0)
    if query:  # the live tail starts after the newest line, matching or not
        newest = await logs.tail(session, server_id, 1)
        last_id = max([last_id, *(line.id for line in newest)])
    context = {"server": server, "tab": "logs", "lines": lines, "q": query or "", "last_id": last_id}
    return render(request, "server/logs.html", context | {"tail_lines": TAIL_LINES})


@router.get("/servers/{server_id}/logs/download")
async def logs_download(server_id: uuid.UUID, principal: ConsoleUser, session: SessionDep) -> Response:
    server = await service.get_visible(session, principal, server_id)
    lines = await logs.tail(session, server_id, DOWNLOAD_LINES)
    text = "".join(f"{line.ts.astimezone(UTC).isoformat()} {line.stream.value} {line.line}\n" for line in lines)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    disposition = f'attachment; filename="{server.slug}-logs-{stamp}.txt"'
    return Response(text, media_type="text/plain; charset=utf-8", headers={"Content-Disposition": disposition})


# -- metrics ------------------------------------------------------------------------------------------------------


def _charts(data: metrics_series.Series) -> list[dict[str, Any]]:
    times, step, span = data.starts, data.step, data.label
    calls, errors = data.total_calls, data.total_errors
    peak = max(data.per_second, default=0.0)
    p50 = [v for v in data.p50 if v is not None]
    p99 = [v for v in data.p99 if v is not None]
    restarts, crashes = sum(data.restarts), sum(data.crashes)
    latency = (
        f"Latency over the {span}: median of buckets {number(sorted(p50)[len(p50) // 2])} ms, "
        f"highest p99 {number(max(p99))} ms"
        if p50
        else f"Latency over the {span}: no calls"
    )
    return [
        {
            "title": "Calls per second",
            "empty": calls == 0 and f"No calls in the {span}.",
            "legend": [("Calls/s", "var(--accent)")],
            "svg": line_chart(
                times,
                [Series("Calls per second", data.per_second)],
                step=step,
                summary=f"Calls per second over the {span}: {calls} calls in total, peak {number(peak)}/s",
                unit="/s",
            ),
        },
        {
            "title": "Latency",
            "empty": not p50 and f"No calls in the {span}.",
            "legend": [("p50", "var(--accent)"), ("p99", "var(--busy)")],
            "svg": line_chart(
                times,
                [Series("p50", data.p50, "series-1"), Series("p99", data.p99, "series-2")],
                step=step,
                summary=latency,
                unit=" ms",
            ),
            "hint": data.latency_sampled and "From the newest 20 000 calls of the window.",
        },
        {
            "title": "Errors",
            "empty": calls == 0 and f"No calls in the {span}.",
            "legend": [("Errors", "var(--bad)")],
            "svg": bar_chart(
                times,
                [Series("Errors", data.errors, "bar-bad")],
                step=step,
                summary=f"Errors over the {span}: {errors} of {calls} calls failed",
            ),
        },
        {
            "title": "Restarts",
            "empty": restarts + crashes == 0 and f"No restarts or crashes in the {span}.",
            "legend": [("Restarts", "var(--accent)"), ("Crashes", "var(--bad)")],
            "svg": bar_chart(
                times,
                [Series("Restarts", data.restarts, "bar"), Series("Crashes", data.crashes, "bar-bad")],
                step=step,
                summary=f"Restarts over the {span}: {restarts} restarts, {crashes} crashes",
            ),
        },
    ]


@router.get("/servers/{server_id}/metrics")
async def metrics_page(
    server_id: uuid.UUID, request: Request, principal: ConsoleUser, session: SessionDep, window: str = "1h"
) -> Response:
    server = await service.get_visible(session, principal, server_id)
    if window not in metrics_series.WINDOWS:
        raise ValidationFailed("window: choose 1h, 24h or 7d.", code="invalid_window")
    charts = _charts(await metrics_series.series(session, server_id, window))
    context = {"server": server, "tab": "metrics", "charts": charts, "window": window}
    if _fragment(request) and request.headers.get("hx-target") == "charts":
        return render(request, "server/partials/observe_charts.html", context)
    kinds = await usage.kinds(session, server_id)
    events = await usage.recent(session, server_id, None, EVENT_LIMIT)
    context |= {"windows": metrics_series.WINDOWS, "kinds": kinds, "chosen": set(kinds), "events": events}
    return render(request, "server/metrics.html", context)


@router.get("/servers/{server_id}/metrics/events")
async def metrics_events(
    server_id: uuid.UUID,
    request: Request,
    principal: ConsoleUser,
    session: SessionDep,
    kind: Annotated[list[str] | None, Query(max_length=50)] = None,
) -> Response:
    """The event list: with ``filtered`` only the kinds given (none: an empty list), else every kind."""
    server = await service.get_visible(session, principal, server_id)
    chosen = [value[:32] for value in kind or []] if "filtered" in request.query_params else None
    events = await usage.recent(session, server_id, chosen, EVENT_LIMIT)
    return render(request, "server/partials/observe_events.html", {"server": server, "events": events})


# -- invocations --------------------------------------------------------------------------------------------------


@router.get("/servers/{server_id}/invocations")
async def invocations_page(
    server_id: uuid.UUID,
    request: Request,
    principal: ConsoleUser,
    session: SessionDep,
    method: Text = None,
    tool: Text = None,
    status: Text = None,
    session_id: Annotated[str | None, Query(alias="session", max_length=100)] = None,
    cursor: Text = None,
) -> Response:
    server = await service.get_visible(session, principal, server_id)
    chosen = {"method": _blank(method), "tool": _blank(tool), "status": _blank(status), "session": _blank(session_id)}
    if chosen["status"] not in (None, "ok", "error"):
        raise ValidationFailed("status: choose ok or error (or any).", code="invalid_status")
    where = invocations.InvocationFilter(chosen["method"], chosen["tool"], chosen["status"], chosen["session"])
    rows, next_cursor = await invocations.page(session, server_id, where, limit=INVOCATION_PAGE, cursor=_blank(cursor))
    filters = {key: value for key, value in chosen.items() if value}
    context = {
        "server": server,
        "tab": "invocations",
        "rows": rows,
        "filters": filters,
        "older": next_cursor and "?" + _query(filters | {"cursor": next_cursor}),
        "newest": cursor and "?" + _query(filters),
        "methods": METHODS,
    }
    if _fragment(request) and request.headers.get("hx-target") == "invocation-results":
        return render(request, "server/partials/observe_invocations.html", context)
    return render(request, "server/invocations.html", context)


def _query(values: dict[str, str]) -> str:
    return urlencode(values)


def _pretty(value: Any) -> str | None:
    return None if value is None else json.dumps(value, indent=2, ensure_ascii=False, sort_keys=False)


@router.get("/servers/{server_id}/invocations/{invocation_id}")
async def invocation_page(
    server_id: uuid.UUID,
    invocation_id: Annotated[int, Path(ge=1, le=2**63 - 1)],
    request: Request,
    principal: ConsoleUser,
    session: SessionDep,
) -> Response:
    server: Server = await service.get_visible(session, principal, server_id)
    record = await invocations.get(session, server_id, invocation_id)
    if record is None:
        raise NotFound("No invocation with this id for this server (old records are purged after a while).")
    email, key_name = await invocations.caller(session, record)
    context = {
        "server": server,
        "tab": "invocations",
        "record": record,
        "params": _pretty(record.params),
        "result": _pretty(record.result),
        "email": email,
        "key_name": key_name,
    }
    return render(request, "server/invocation.html", context)
