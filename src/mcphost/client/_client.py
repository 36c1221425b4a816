"""``MCPHostClient``: one method per API endpoint the command line uses, over one ``httpx.AsyncClient``."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Literal, Self
from urllib.parse import quote

import httpx

from mcphost.client._errors import ApiError, Unreachable

__all__ = ["DEFAULT_TIMEOUT", "MCPHostClient", "ServerAction", "SseEvent"]

#: Long enough for a tool call: the gateway itself gives up on an upstream after its request timeout (120 s).
DEFAULT_TIMEOUT = httpx.Timeout(130.0, connect=10.0)
#: A live stream sends a keep-alive at least every heartbeat (15 s by default); silence this long means it is gone.
SSE_TIMEOUT = httpx.Timeout(10.0, read=90.0)
ServerAction = Literal["start", "stop", "restart", "redeploy"]
Json = Any


@dataclass(frozen=True)
class SseEvent:
    """One Server-Sent Event: its type (``message`` when unnamed), its id if any, its data."""

    event: str
    id: str | None
    data: str


class MCPHostClient:
    """An authenticated client of one MCP Host instance; use it as an async context manager.

    ``token`` is a session token (from ``login``) or a personal access token; it may be set later by
    assigning ``client.token``. Methods return the API's JSON unchanged (dicts and lists)."""

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        *,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self._http = httpx.AsyncClient(base_url=self.base_url, timeout=timeout, transport=transport)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # -- transport ---------------------------------------------------------------------------------------

    async def request(self, method: str, path: str, *, json: Json = None, params: dict[str, Any] | None = None) -> Json:
        """Send one request; the decoded JSON body, None for an empty answer. Raises ApiError or Unreachable."""
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        query = {key: value for key, value in (params or {}).items() if value is not None}
        try:
            response = await self._http.request(method, path, json=json, params=query, headers=headers)
        except httpx.TimeoutException:
            raise Unreachable(self.base_url, "no answer in time") from None
        except httpx.TransportError as exc:
            raise Unreachable(self.base_url, _reason(exc)) from None
        if response.is_error:
            raise _api_error(response)
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise ApiError(response.status_code, "invalid_response", "the answer is not JSON") from None

    async def probe(self) -> dict[str, Any]:
        """The instance's ``/healthz`` answer (``{"status", "version"}``): it is there and it is MCP Host.

        Raises Unreachable when nothing answers, ApiError (code ``not_mcphost``) when something else does."""
        try:
            answer = await self.request("GET", "/healthz")
        except ApiError as exc:
            raise ApiError(exc.status, "not_mcphost", _not_mcphost(self.base_url, f"HTTP {exc.status}")) from None
        if not isinstance(answer, dict) or not isinstance(answer.get("version"), str):
            raise ApiError(200, "not_mcphost", _not_mcphost(self.base_url, "an answer that is not MCP Host's"))
        return answer

    # -- accounts ----------------------------------------------------------------------------------------

    async def register(self, email: str, password: str) -> dict[str, Any]:
        """Create an account (the first one on an instance becomes administrator)."""
        return dict(await self.request("POST", "/api/auth/register", json={"email": email, "password": password}))

    async def login(self, email: str, password: str) -> dict[str, Any]:
        """Sign in: ``{"access_token", "expires_at"}``. The client uses the new token from now on."""
        answer = dict(await self.request("POST", "/api/auth/login", json={"email": email, "password": password}))
        self.token = answer["access_token"]
        return answer

    async def logout(self) -> None:
        """End the session of the client's token (personal access tokens stay valid: revoke those instead)."""
        await self.request("POST", "/api/auth/logout")

    async def me(self) -> dict[str, Any]:
        """The signed-in user and their organisations."""
        return dict(await self.request("GET", "/api/me"))

    # -- servers -----------------------------------------------------------------------------------------

    async def list_servers(
        self, *, limit: int = 50, cursor: str | None = None, org_id: str | None = None
    ) -> dict[str, Any]:
        """One page of the servers the caller may see: ``{"items", "next_cursor"}``."""
        params = {"limit": limit, "cursor": cursor, "org_id": org_id}
        return dict(await self.request("GET", "/api/servers", params=params))

    async def iter_servers(self, *, org_id: str | None = None) -> AsyncIterator[dict[str, Any]]:
        """Every server the caller may see, following the pages."""
        cursor: str | None = None
        while True:
            page = await self.list_servers(limit=200, cursor=cursor, org_id=org_id)
            for item in page["items"]:
                yield item
            cursor = page.get("next_cursor")
            if not cursor:
                return

    async def all_servers(self, *, org_id: str | None = None) -> list[dict[str, Any]]:
        return [server async for server in self.iter_servers(org_id=org_id)]

    async def get_server(self, server_id: str) -> dict[str, Any]:
        return dict(await self.request("GET", f"/api/servers/{server_id}"))

    async def resolve_server(self, ref: str) -> dict[str, Any]:
        """The server named by ``ref``: its id, or else its slug (or its name, when only one has it)."""
        if _is_uuid(ref):
            return await self.get_server(ref)
        return pick_named(await self.all_servers(), ref, "server")

    async def create_server(self, name: str, source: dict[str, Any], **fields: Any) -> dict[str, Any]:
        """Deploy a server; the answer includes its ``access_key``, shown only once."""
        body = {"name": name, "source": source, **fields}
        return dict(await self.request("POST", "/api/servers", json=body))

    async def update_server(self, server_id: str, **changes: Any) -> dict[str, Any]:
        """Change the server's settings (``PATCH``: fields left out stay as they are); the server as it is now."""
        return dict(await self.request("PATCH", f"/api/servers/{server_id}", json=changes))

    async def server_action(
        self, server_id: str, action: ServerAction, options: dict[str, bool] | None = None
    ) -> dict[str, Any]:
        """Ask for start, stop, restart or redeploy (``options``: redeploy's ``no_cache`` and ``pull``); the answer
        is the server with its new desired state."""
        params = {flag: "true" for flag, on in (options or {}).items() if on}
        return dict(await self.request("POST", f"/api/servers/{server_id}/{action}", params=params))

    async def start_server(self, server_id: str) -> dict[str, Any]:
        return await self.server_action(server_id, "start")

    async def stop_server(self, server_id: str) -> dict[str, Any]:
        return await self.server_action(server_id, "stop")

    async def restart_server(self, server_id: str) -> dict[str, Any]:
        return await self.server_action(server_id, "restart")

    async def redeploy_server(self, server_id: str, *, no_cache: bool = False, pull: bool = False) -> dict[str, Any]:
        options = {"no_cache": no_cache, "pull": pull} if no_cache or pull else None
        return await self.server_action(server_id, "redeploy", options)

    async def delete_server(self, server_id: str) -> None:
        await self.request("DELETE", f"/api/servers/{server_id}")

    # -- revisions and webhooks --------------------------------------------------------------------------

    async def list_revisions(self, server_id: str, *, limit: int = 50, cursor: str | None = None) -> dict[str, Any]:
        """One page of the server's revisions (every deploy), newest first: ``{"items", "next_cursor"}``."""
        params = {"limit": limit, "cursor": cursor}
        return dict(await self.request("GET", f"/api/servers/{server_id}/revisions", params=params))

    async def get_revision(self, server_id: str, number: int) -> dict[str, Any]:
        return dict(await self.request("GET", f"/api/servers/{server_id}/revisions/{number}"))

    async def rollback(self, server_id: str, revision: int) -> dict[str, Any]:
        """Deploy revision ``revision``'s source and settings again: ``{"server", "revision"}`` (the new one)."""
        body = {"revision": revision}
        return dict(await self.request("POST", f"/api/servers/{server_id}/rollback", json=body))

    async def list_pins(self, server_id: str) -> dict[str, Any]:
        """The server's tools, prompts and resources as approved and as declared: ``{"policy", "held", "items"}``."""
        return dict(await self.request("GET", f"/api/servers/{server_id}/pins"))

    async def approve_pins(self, server_id: str, names: list[str] | None = None) -> dict[str, Any]:
        """Approve held changes (those named, else all): ``{"approved", "held"}``."""
        return dict(await self.request("POST", f"/api/servers/{server_id}/pins/approve", json={"names": names}))

    async def list_domains(self, server_id: str) -> list[dict[str, Any]]:
        """The server's custom domains, with their verification instructions and certificate state."""
        return list(await self.request("GET", f"/api/servers/{server_id}/domains"))

    async def add_domain(self, server_id: str, domain: str) -> dict[str, Any]:
        """Claim a domain for the server: the answer's ``verification`` says what to publish."""
        return dict(await self.request("POST", f"/api/servers/{server_id}/domains", json={"domain": domain}))

    async def verify_domain(self, server_id: str, domain: str) -> dict[str, Any]:
        """Check the published token; ApiError ``verification_failed`` says what each check found instead."""
        return dict(await self.request("POST", f"/api/servers/{server_id}/domains/{quote(domain, safe='')}/verify"))

    async def remove_domain(self, server_id: str, domain: str) -> None:
        await self.request("DELETE", f"/api/servers/{server_id}/domains/{quote(domain, safe='')}")

    async def get_webhook(self, server_id: str) -> dict[str, Any]:
        """The server's webhook URLs and whether it has a secret (never the secret)."""
        return dict(await self.request("GET", f"/api/servers/{server_id}/webhook"))

    async def rotate_webhook(self, server_id: str) -> dict[str, Any]:
        """A new webhook secret; ``webhook_secret`` is shown only in this answer, the old secret stops working."""
        return dict(await self.request("POST", f"/api/servers/{server_id}/webhook/rotate"))

    async def list_webhook_deliveries(
        self, server_id: str, *, limit: int = 50, cursor: str | None = None
    ) -> dict[str, Any]:
        """One page of the deliveries the server's webhooks received, newest first."""
        params = {"limit": limit, "cursor": cursor}
        return dict(await self.request("GET", f"/api/servers/{server_id}/webhook/deliveries", params=params))

    # -- observing a server ------------------------------------------------------------------------------

    async def tail_logs(self, server_id: str, tail: int = 100) -> list[dict[str, Any]]:
        """The newest ``tail`` log lines, oldest first: ``{"id", "ts", "stream", "line"}``."""
        return list(await self.request("GET", f"/api/servers/{server_id}/logs", params={"tail": tail}))

    async def capabilities(self, server_id: str) -> dict[str, Any]:
        """Its tools, resources, resource templates and prompts (404 ``not_synced`` before a first start)."""
        return dict(await self.request("GET", f"/api/servers/{server_id}/capabilities"))

    async def invoke(self, server_id: str, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """Send one MCP request: ``{"result", "error", "duration_ms"}`` (409 when the server is not running)."""
        body: dict[str, Any] = {"method": method}
        if params is not None:
            body["params"] = params
        return dict(await self.request("POST", f"/api/servers/{server_id}/invoke", json=body))

    async def call_tool(self, server_id: str, name: str, arguments: dict[str, Any] | None = None) -> dict[str, Any]:
        return await self.invoke(server_id, "tools/call", {"name": name, "arguments": arguments or {}})

    async def list_invocations(
        self,
        server_id: str,
        *,
        limit: int = 50,
        cursor: str | None = None,
        method: str | None = None,
        tool: str | None = None,
        status: Literal["ok", "error"] | None = None,
    ) -> dict[str, Any]:
        """One page of the requests relayed to the server, newest first: ``{"items", "next_cursor"}``."""
        params = {"limit": limit, "cursor": cursor, "method": method, "tool": tool, "status": status}
        return dict(await self.request("GET", f"/api/servers/{server_id}/invocations", params=params))

    async def get_invocation(self, server_id: str, invocation_id: int) -> dict[str, Any]:
        return dict(await self.request("GET", f"/api/servers/{server_id}/invocations/{invocation_id}"))

    # -- access keys -------------------------------------------------------------------------------------

    async def create_key(self, server_id: str, name: str = "default") -> dict[str, Any]:
        """A new access key for the server's endpoint; ``key`` is shown only in this answer."""
        return dict(await self.request("POST", f"/api/servers/{server_id}/keys", json={"name": name}))

    async def list_keys(self, server_id: str) -> list[dict[str, Any]]:
        return list(await self.request("GET", f"/api/servers/{server_id}/keys"))

    async def revoke_key(self, server_id: str, key_id: str) -> None:
        await self.request("DELETE", f"/api/servers/{server_id}/keys/{key_id}")

    # -- catalog -----------------------------------------------------------------------------------------

    async def get_catalog_entry(self, name: str, version: str | None = None) -> dict[str, Any]:
        """One catalog entry by its server.json name; ``inputs`` lists the variables a deployment may need."""
        return dict(await self.request("GET", f"/api/catalog/{name}", params={"version": version}))

    async def metrics(
        self, server_id: str, *, interval: Literal["minute", "hour", "day"] = "hour", limit: int = 100
    ) -> dict[str, Any]:
        """Usage of a server: ``{"interval", "since", "events", "buckets", "totals"}``."""
        params = {"interval": interval, "limit": limit}
        return dict(await self.request("GET", f"/api/servers/{server_id}/metrics", params=params))

    # -- live streams (Server-Sent Events) ---------------------------------------------------------------
    # Each stream is an async generator holding an HTTP response open. A caller that stops reading early must
    # close it (``async with contextlib.aclosing(stream)``) before the client closes: left to the event loop's
    # shutdown, the generators nested here are closed concurrently, and the inner one is "already running"
    # when its turn comes (Python prints that error after an otherwise successful command).

    async def follow_status(self, server_id: str) -> AsyncGenerator[dict[str, Any], None]:
        """The server's status now, then each change: ``{"status", "reason", "id", "slug", "name"}``.

        Endless: when the stream ends (the instance restarts, the client lagged), it is opened again, which
        first repeats the current status."""
        while True:
            async with aclosing(self.sse(f"/api/servers/{server_id}/status/stream")) as events:
                async for event in events:
                    if event.event == "server.status":
                        yield dict(_json_data(event)["data"])
            await asyncio.sleep(0.5)

    async def follow_usage(self, server_id: str) -> AsyncGenerator[dict[str, Any], None]:
        """Each usage event of the server (start, stop, crash, restart…) as it happens (endless; resumes after a
        drop)."""
        last_id: str | None = None
        while True:
            stream = self.sse(f"/api/servers/{server_id}/metrics/stream", last_event_id=last_id)
            async with aclosing(stream) as events:
                async for event in events:
                    if event.event == "server.usage":
                        last_id = event.id or last_id
                        yield dict(_json_data(event))
            await asyncio.sleep(0.5)

    async def follow_logs(self, server_id: str, tail: int = 100) -> AsyncGenerator[dict[str, Any], None]:
        """The newest ``tail`` log lines, then each new one as it is written (endless; resumes after a drop)."""
        last_id: str | None = None
        while True:
            async with aclosing(self.sse(f"/api/servers/{server_id}/logs/stream", {"tail": tail}, last_id)) as events:
                async for event in events:
                    if event.event == "log":
                        last_id = event.id or last_id
                        yield dict(_json_data(event))
            await asyncio.sleep(0.5)

    async def sse(
        self, path: str, params: dict[str, Any] | None = None, last_event_id: str | None = None
    ) -> AsyncGenerator[SseEvent, None]:
        """The events of one Server-Sent Events stream, until the server ends it. Raises ApiError or Unreachable."""
        headers = {"Accept": "text/event-stream"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        if last_event_id:
            headers["Last-Event-ID"] = last_event_id
        query = {key: value for key, value in (params or {}).items() if value is not None}
        try:
            async with self._http.stream("GET", path, params=query, headers=headers, timeout=SSE_TIMEOUT) as response:
                if response.is_error:
                    await response.aread()
                    raise _api_error(response)
                event: str | None = None
                event_id: str | None = None
                data: list[str] = []
                async for line in response.aiter_lines():
                    if not line:
                        if data or event:
                            yield SseEvent(event or "message", event_id, "\n".join(data))
                        event, data = None, []
                    elif line.startswith(":"):
                        continue
                    else:
                        field, _, value = line.partition(":")
                        value = value.removeprefix(" ")
                        if field == "event":
                            event = value
                        elif field == "data":
                            data.append(value)
                        elif field == "id":
                            event_id = value
        except httpx.TimeoutException:
            raise Unreachable(self.base_url, "the stream went quiet") from None
        except httpx.TransportError as exc:
            raise Unreachable(self.base_url, _reason(exc)) from None


def pick_named(items: list[dict[str, Any]], ref: str, noun: str) -> dict[str, Any]:
    """The item whose slug is ``ref``, or else the only one whose name is; ApiError 404 or 409 otherwise."""
    by_slug = [item for item in items if item["slug"] == ref]
    if by_slug:
        return by_slug[0]
    by_name = [item for item in items if item["name"] == ref]
    if len(by_name) == 1:
        return by_name[0]
    if len(by_name) > 1:
        slugs = ", ".join(item["slug"] for item in by_name)
        raise ApiError(409, "ambiguous", f"Several {noun}s are named {ref!r}; use a slug ({slugs}) or an id.")
    raise ApiError(404, "not_found", f"No {noun} with the id, slug or name {ref!r}.")


def _api_error(response: httpx.Response) -> ApiError:
    """The error of an error answer: the API's error body, or what can be said of another body (a proxy's)."""
    try:
        body = response.json()
    except ValueError:
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict) and isinstance(error.get("message"), str):
        return ApiError(response.status_code, str(error.get("code") or "error"), error["message"], error.get("details"))
    phrase = response.reason_phrase or "error"
    return ApiError(response.status_code, "http_error", f"HTTP {response.status_code} {phrase}")


def _json_data(event: SseEvent) -> dict[str, Any]:
    try:
        value = json.loads(event.data)
    except ValueError:
        raise ApiError(200, "invalid_response", f"a {event.event} event is not JSON") from None
    if not isinstance(value, dict):
        raise ApiError(200, "invalid_response", f"a {event.event} event is not a JSON object")
    return value


def _not_mcphost(base_url: str, what: str) -> str:
    return f"{base_url} is not an MCP Host instance (GET /healthz got {what})"


def _reason(exc: httpx.TransportError) -> str:
    if isinstance(exc, httpx.ConnectError):
        return "connection refused or host unknown"
    return str(exc) or type(exc).__name__


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True
