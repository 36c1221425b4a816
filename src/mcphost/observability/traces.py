"""Invocation traces: one record per JSON-RPC request the gateway relays, written off the request path.

The gateway calls ``TraceRecorder.record`` once per answered request. That only appends to a bounded buffer
(a full buffer drops the new record and counts it), so it costs the request next to nothing. A background loop
does everything else in batches: Prometheus observations, redaction and capping of params and results, and
one multi-row INSERT per chunk. A batch that cannot be written is logged and dropped; the loop carries on.

Redaction is by key (the values of secret-looking keys) and by value: a server's own secret values (its secret
variables, and its plain variables and config values whose names look secret) are replaced wherever they appear,
so a tool that prints its environment does not put the server's keys into the record. Values shorter than
``MIN_SECRET_CHARS`` are not redacted by value: a secret "on" or "1234" would blank out everyday text, and one
that short protects nothing anyway. A server's values are loaded once, when a batch first needs them, and kept
until the server changes (``forget_secrets``).
"""

from __future__ import annotations

import asyncio
import logging
import math
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

import sqlalchemy as sa
from prometheus_client import Counter, Histogram
from sqlalchemy.ext.asyncio import AsyncSession

from mcphost.db.session import Database
from mcphost.errors import AppError
from mcphost.models import InvocationRecord, Server, ServerAccessKey, User
from mcphost.observability.metrics import Metrics
from mcphost.observability.payloads import KnownSecrets, capped, clean_text, is_secret_name
from mcphost.security.secretbox import SecretDecryptionError
from mcphost.services.loop import ServiceLoop
from mcphost.settings import TraceSettings

__all__ = ["MIN_SECRET_CHARS", "Invocation", "SecretReader", "TraceRecorder", "is_error", "metric_method"]

log = logging.getLogger(__name__)

BATCH = 5000  # records taken from the buffer per iteration
CHUNK = 250  # rows per INSERT, and records prepared between two yields to the event loop
MAX_MESSAGE_CHARS = 2000
#: Shortest secret value redacted wherever it appears (see the module's docstring).
MIN_SECRET_CHARS: Final = 8
#: Decrypts one of a server's secret variables: (server id, variable name, sealed value) -> the value.
SecretReader = Callable[[uuid.UUID, dict[str, str]], Awaitable[dict[str, str]]]
_INT32 = 2**31 - 1
# Methods of the protocol get their own metric label; anything else a client sends is counted as "other",
# so that made-up method names cannot grow the metrics without bound.
KNOWN_METHODS = frozenset(
    {
        "initialize",
        "ping",
        "server/discover",
        "tools/list",
        "tools/call",
        "resources/list",
        "resources/read",
        "resources/templates/list",
        "resources/subscribe",
        "resources/unsubscribe",
        "prompts/list",
        "prompts/get",
        "completion/complete",
        "logging/setLevel",
        "sampling/createMessage",
        "elicitation/create",
        "roots/list",
        "tasks/get",
        "tasks/list",
        "tasks/result",
        "tasks/cancel",
    }
)


@dataclass(slots=True)
class Invocation:
    """One relayed request and its answer, as the gateway saw them (raw values: nothing is copied or cut)."""

    server_id: uuid.UUID
    method: str
    name: str | None  # the tool or prompt name, or the resource uri
    session_id: str | None
    user_id: uuid.UUID | None
    key_id: uuid.UUID | None
    request_id: int | str | None  # the client's JSON-RPC id
    params: Any
    result: Any
    error: dict[str, Any] | None  # the JSON-RPC error object: code, message, data
    started_at: float  # time.time() when the request arrived
    duration: float  # seconds until the answer
    request_bytes: int
    response_bytes: int
    server_slug: str  # for metric labels


def is_error(invocation: Invocation) -> bool:
    """A JSON-RPC error, or a tool result that says it failed (``isError: true``)."""
    if invocation.error is not None:
        return True
    result = invocation.result
    return isinstance(result, dict) and result.get("isError") is True


def metric_method(method: str) -> str:
    return method if method in KNOWN_METHODS else "other"


class TraceRecorder(ServiceLoop):
    """Buffers invocation records from the gateway and writes them in batches."""

    name = "trace-writer"

    def __init__(self, db: Database, settings: TraceSettings, metrics: Metrics) -> None:
        super().__init__(settings.flush_interval_seconds)
        self.db = db
        self.settings = settings
        self.metrics = metrics
        self.dropped = 0  # records refused because the buffer was full
        self.failed = 0  # records lost because their batch could not be written
        self._buffer: deque[Invocation] = deque()
        self._capacity = settings.buffer
        self._wake_at = min(1000, max(1, settings.buffer // 2))
        self._enabled = settings.enabled
        self._dropped_counted = 0
        self._series: dict[tuple[str, str, str], tuple[Histogram, Counter]] = {}
        self._reveal: SecretReader | None = None
        self._secrets: dict[uuid.UUID, tuple[frozenset[str], KnownSecrets | None]] = {}
        #: Values of servers changed since they were loaded: still redacted once, from records made before.
        self._former: dict[uuid.UUID, frozenset[str]] = {}

    def redact_secrets_with(self, reveal: SecretReader) -> None:
        """Redact each server's own secret values from its records; ``reveal`` reads its secret variables' values
        (the secret store's ``read``)."""
        self._reveal = reveal

    def forget_secrets(self, server_id: uuid.UUID) -> None:
        """The server changed: load its secret values again for the next batch."""
        known = self._secrets.pop(server_id, None)
        if known is not None:
            self._former[server_id] = known[0]

    def record(self, invocation: Invocation) -> None:
        """Queue one record. O(1) and never blocks: a full buffer drops the record and counts it."""
        if not self._enabled:
            return
        buffer = self._buffer
        if len(buffer) >= self._capacity:
            self.dropped += 1
            return
        buffer.append(invocation)
        if len(buffer) == self._wake_at:
            self.wake()

    @property
    def pending(self) -> int:
        """Records waiting to be written."""
        return len(self._buffer)

    async def run_once(self) -> None:
        self._count_dropped()
        if not self._buffer:
            return
        batch = [self._buffer.popleft() for _ in range(min(len(self._buffer), BATCH))]
        self._observe(batch)
        try:
            await self._load_secrets({invocation.server_id for invocation in batch})
        except Exception:
            self.failed += len(batch)  # never written unredacted: without the values, the batch is dropped
            log.exception("loading the secret values of %d invocation records failed; they are dropped", len(batch))
            return
        rows: list[dict[str, Any]] = []
        for start in range(0, len(batch), CHUNK):
            if start:
                await asyncio.sleep(0)  # let requests through between chunks of CPU-bound preparation
            rows.extend(row for row in map(self._row, batch[start : start + CHUNK]) if row is not None)
        try:
            async with self.db.session_scope() as session:
                rows = await _writable(session, rows)
                for start in range(0, len(rows), CHUNK):  # executemany: one cached statement for every chunk
                    await session.execute(sa.insert(InvocationRecord), rows[start : start + CHUNK])
        except Exception:
            self.failed += len(rows)
            log.exception("writing %d invocation records failed; they are dropped", len(rows))
        if self._buffer:
            self.wake()

    async def flush(self) -> None:
        """Write everything buffered now."""
        while self._buffer:
            await self.run_once()
        self._count_dropped()

    async def on_stop(self) -> None:
        try:
            await self.flush()
        except Exception:
            log.exception("writing the last invocation records failed")

    def _count_dropped(self) -> None:
        new = self.dropped - self._dropped_counted
        if new:
            self._dropped_counted += new
            self.metrics.gateway_traces_dropped.inc(new)
            log.warning("%d invocation records dropped: the trace buffer (%d) was full", new, self._capacity)

    def _observe(self, batch: list[Invocation]) -> None:
        series = self._series
        for invocation in batch:
            key = (invocation.server_slug, metric_method(invocation.method), "error" if is_error(invocation) else "ok")
            children = series.get(key)
            if children is None:
                children = (self.metrics.gateway_duration.labels(*key), self.metrics.gateway_requests.labels(*key))
                series[key] = children
            children[0].observe(invocation.duration)
            children[1].inc()

    async def _load_secrets(self, server_ids: set[uuid.UUID]) -> None:
        missing = [server_id for server_id in server_ids if server_id not in self._secrets]
        if not missing or self._reveal is None:
            return
        async with self.db.session_scope() as session:
            servers = await session.execute(
                sa.select(Server.id, Server.env, Server.config, Server.secret_env).where(Server.id.in_(missing))
            )
            rows = list(servers)
        for server_id, env, config, secret_env in rows:
            values = self._former.pop(server_id, frozenset()) | await self._revealed(server_id, secret_env or {})
            values |= secret_looking(env or {}) | secret_looking(config or {})
            self._secrets[server_id] = (values, KnownSecrets.of(values, MIN_SECRET_CHARS))
        for server_id in missing:
            self._secrets.setdefault(server_id, (frozenset(), None))  # deleted: its records are not written anyway

    async def _revealed(self, server_id: uuid.UUID, stored: dict[str, str]) -> frozenset[str]:
        assert self._reveal is not None
        try:
            return frozenset((await self._reveal(server_id, stored)).values())
        except (SecretDecryptionError, AppError) as exc:  # the server cannot read them either (AppError: Vault)
            log.warning("the secrets of server %s could not be read to redact them: %s", server_id, exc)
            return frozenset()

    def _row(self, invocation: Invocation) -> dict[str, Any] | None:
        try:
            known = self._secrets.get(invocation.server_id)
            return _row(invocation, self.settings.max_payload_chars, known[1] if known is not None else None)
        except (ValueError, TypeError, OverflowError, OSError):
            # A record the gateway filled wrongly (a timestamp out of range...) is skipped, not the batch.
            self.failed += 1
            log.exception("an invocation record of %s could not be prepared", invocation.server_slug)
            return None


def secret_looking(values: dict[str, Any]) -> frozenset[str]:
    """The values of variables or config keys whose names look secret (``API_TOKEN``, ``db_password``)."""
    return frozenset(str(value) for name, value in values.items() if is_secret_name(name) and type(value) in (str, int))


def _row(invocation: Invocation, max_chars: int, secrets: KnownSecrets | None = None) -> dict[str, Any]:
    error = invocation.error if isinstance(invocation.error, dict) else None
    code = error.get("code") if error is not None else None
    message = error.get("message") if error is not None else None
    if secrets is not None and isinstance(message, str):
        message = secrets.redact(message)
    duration = invocation.duration if math.isfinite(invocation.duration) else 0.0
    return {
        "server_id": invocation.server_id,
        "ts": datetime.fromtimestamp(invocation.started_at, UTC),
        "method": clean_text(invocation.method, 100),
        "name": _text(secrets.redact(invocation.name) if secrets and invocation.name else invocation.name, 500),
        "status": "error" if is_error(invocation) else "ok",
        "error_code": code if isinstance(code, int) and not isinstance(code, bool) and abs(code) <= _INT32 else None,
        "error_message": _text(message, MAX_MESSAGE_CHARS),
        "session_id": _text(invocation.session_id, 100),
        "user_id": invocation.user_id,
        "key_id": invocation.key_id,
        "request_id": _text(invocation.request_id, 100),
        "params": capped(invocation.params, max_chars, secrets),
        # An error answer has no result: its error object (with its data) is kept in its place.
        "result": capped(invocation.result if invocation.result is not None else error, max_chars, secrets),
        "duration_ms": max(0.0, duration * 1000),
        "request_bytes": min(max(0, invocation.request_bytes), _INT32),
        "response_bytes": min(max(0, invocation.response_bytes), _INT32),
    }


def _text(value: object, limit: int) -> str | None:
    return None if value is None else clean_text(str(value), limit)


async def _writable(session: AsyncSession, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows whose server still exists, with references to users or keys deleted meanwhile cleared: a record
    is written after its request was answered, and a foreign key violation would lose the whole batch."""
    if not rows:
        return rows
    servers = await _existing(session, Server.id, {row["server_id"] for row in rows})
    users = await _existing(session, User.id, {row["user_id"] for row in rows if row["user_id"] is not None})
    keys = await _existing(session, ServerAccessKey.id, {row["key_id"] for row in rows if row["key_id"] is not None})
    kept = []
    for row in rows:
        if row["server_id"] not in servers:
            continue
        if row["user_id"] is not None and row["user_id"] not in users:
            row["user_id"] = None
        if row["key_id"] is not None and row["key_id"] not in keys:
            row["key_id"] = None
        kept.append(row)
    return kept


async def _existing(session: AsyncSession, column: Any, ids: set[uuid.UUID]) -> set[uuid.UUID]:
    if not ids:
        return set()
    return set((await session.scalars(sa.select(column).where(column.in_(ids)))).all())
