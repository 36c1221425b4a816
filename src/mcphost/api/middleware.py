"""Pure ASGI middleware: request ids, access logs and HTTP metrics; the request body size limit."""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mcphost.api.errors import error_response
from mcphost.observability.context import request_id
from mcphost.observability.metrics import Metrics

log = logging.getLogger("mcphost.access")
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class RequestContextMiddleware:
    """Tags each request with an id (``X-Request-ID``, kept from the client when sane), logs it once it is
    answered, and counts it by route template (not raw path, which would explode the label set)."""

    def __init__(self, app: ASGIApp, metrics: Metrics, *, access_log: bool) -> None:
        self.app = app
        self.metrics = metrics
        self.access_log = access_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = _header(scope, b"x-request-id")
        rid = incoming if incoming and _VALID_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        # Not reset afterwards: the error handler of an unexpected exception runs outside this middleware
        # and still needs it, and each request runs in its own task context anyway.
        request_id.set(rid)
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", rid.encode())]
            await send(message)

        self.metrics.http_in_flight.inc()
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            self.metrics.http_in_flight.dec()
            elapsed = time.perf_counter() - started
            route = _route_template(scope)
            self.metrics.http_requests.labels(scope["method"], route, str(status)).inc()
            self.metrics.http_duration.labels(scope["method"], route).observe(elapsed)
            if self.access_log:
                log.info(
                    "%s %s %d %.1fms",
                    scope["method"],
                    scope["path"],
                    status,
                    elapsed * 1000,
                    extra={
                        "method": scope["method"],
                        "path": scope["path"],
                        "status": status,
                        "duration_ms": round(elapsed * 1000, 2),
                        "route": route,
                    },
                )


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return str(value.decode("latin-1"))
    return None


def _route_template(scope: Scope) -> str:
    route: Any = scope.get("route")
    path = getattr(route, "path", None)
    return str(path) if path else "unmatched"


_NUL_ESCAPE = re.compile(rb"\\u0000", re.IGNORECASE)
_NUL_IN_URL = re.compile(rb"%00")


class RequestLimitsMiddleware:
    """Refuses what no endpoint can store safely, before it reaches one:

    - bodies over ``max_bytes`` (413): at once when Content-Length says so, otherwise as soon as the streamed
      body passes the limit;
    - NUL characters in the query or in a JSON body (422): PostgreSQL text and JSON cannot hold them, and no
      field of this API has a use for them.

    Both are raised from ``receive`` as HTTP errors, which reach the JSON error handler. Paths matching ``raw_paths``
    (signed webhook deliveries, taken as raw bytes and never stored as text) have their own limit,
    ``raw_max_bytes``, and no NUL check. Paths matching ``streamed_paths`` (file uploads, streamed to disk by
    endpoints that enforce their own size limits and quota) get neither: only the NUL check of the URL."""

    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        *,
        raw_paths: re.Pattern[str] | None = None,
        raw_max_bytes: int = 0,
        streamed_paths: re.Pattern[str] | None = None,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.raw_paths = raw_paths
        self.raw_max_bytes = raw_max_bytes
        self.streamed_paths = streamed_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.streamed_paths is not None and self.streamed_paths.match(scope.get("path", "")) is not None:
            if _NUL_IN_URL.search(scope.get("query_string", b"")) or "\x00" in scope.get("path", ""):
                response = error_response(422, "validation_error", NUL_MESSAGE, [{"loc": ["path"], "msg": NUL_MESSAGE}])
                await response(scope, receive, send)
                return
            await self.app(scope, receive, send)
            return
        raw = self.raw_paths is not None and self.raw_paths.match(scope.get("path", "")) is not None
        limit = self.raw_max_bytes if raw else self.max_bytes
        too_large = f"The request body is larger than the limit of {limit} bytes."
        declared = _header(scope, b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            response = error_response(413, "payload_too_large", too_large, {"max_bytes": limit})
            await response(scope, receive, send)
            return
        if _NUL_IN_URL.search(scope.get("query_string", b"")) or "\x00" in scope.get("path", ""):
            response = error_response(422, "validation_error", NUL_MESSAGE, [{"loc": ["query"], "msg": NUL_MESSAGE}])
            await response(scope, receive, send)
            return
        received = 0
        tail = b""

        async def limited_receive() -> Message:
            nonlocal received, tail
            message = await receive()
            if message["type"] == "http.request":
                chunk = message.get("body", b"")
                received += len(chunk)
                if received > limit:
                    raise HTTPException(413, too_large)
                if not raw and (_NUL_ESCAPE.search(tail + chunk) or b"\x00" in chunk):
                    raise HTTPException(422, NUL_MESSAGE)
                tail = chunk[-5:]
            return message

        await self.app(scope, limited_receive, send)


NUL_MESSAGE = "Text may not contain NUL characters (\\u0000)."
