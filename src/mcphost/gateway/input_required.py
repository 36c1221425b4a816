"""Multi-round-trip requests (MRTR, protocol 2026-07-28) in front of servers of the session era.

A stateless client cannot receive a server→client request: when the server asks for input it answers the request
with an ``input_required`` result instead, naming the questions (``inputRequests``) and handing over an opaque
``requestState``; the client answers them (``inputResponses``) by sending the same request again with that state.

A server of the session era asks in the middle of a call instead (``elicitation/create``, ``sampling/createMessage``,
``roots/list``) and waits for the answer. The gateway bridges the two: the call to the server goes on in a task of its
own (a ``PendingRequest``); when the server asks, the client's HTTP request is answered with ``input_required`` and
the call waits, held by the gateway, with the server's questions open. The client's retry carries the sealed state
(``request_state.py``) that names the paused request; its answers go to the server, and the retry is answered with
whatever comes next: the final result, or the next questions.

- Questions the server asks together (within ``GATHER_SECONDS`` of each other) go out in one result.
- A question's key is what the server names in ``params._meta["mcphost/inputKey"]`` when it can (a session-era
  server knows no keys), else ``elicitation-1``, ``sampling-1``, ``roots-1``, … in the order asked.
- Answers sent before the question (a first request that already carries ``inputResponses``) are used when the
  question with that key comes; unknown keys are ignored; a question without an answer is asked again.
- A question the client declared no capability for is refused to the server with -32021 (and the data the
  2026-07-28 ``MissingRequiredClientCapability`` error carries); the server decides what to answer.
- While the client is away, the paused request is kept ``wait_seconds`` (the gateway's request timeout). If no retry
  comes by then, the server's open questions are answered with an error and its call is cancelled
  (``notifications/cancelled``). At most ``max_per_principal`` paused requests per credential and ``max_total`` in
  all are kept: beyond that the server's question is refused with an error, as if the client could not answer.
- Paused requests live in this gateway process: a retry must reach the same replica (the state says which paused
  request it resumes; another replica refuses it).
"""

from __future__ import annotations

import asyncio
import re
import secrets
import time
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from mcphost.gateway.request_state import InvalidRequestState, RequestStateSealer, StateClaims, request_identity
from mcphost.gateway.sessions import StatelessSession
from mcphost.mcp.jsonrpc import INTERNAL_ERROR, INVALID_PARAMS, METHOD_NOT_FOUND, JsonRpcError, Message, error_response
from mcphost.mcp.mux import REQUIRED_CAPABILITY

if TYPE_CHECKING:
    from mcphost.mcp.mux import Exchange

__all__ = [
    "ABSENT",
    "INPUT_KEY_META",
    "MISSING_CAPABILITY",
    "MRTR_METHODS",
    "InputSession",
    "PendingRequest",
    "PendingRequests",
    "StateRefused",
    "check_answer",
    "check_input_responses",
]

#: The requests that may be answered with ``input_required`` (2026-07-28, "Supported Requests").
MRTR_METHODS: Final = frozenset({"tools/call", "prompts/get", "resources/read"})
#: A parameter the request does not carry.
ABSENT: Final = object()
#: ``MissingRequiredClientCapability`` (2026-07-28).
MISSING_CAPABILITY: Final = -32021
#: Where a server of the session era may name the key of its question.
INPUT_KEY_META: Final = "mcphost/inputKey"
#: Questions asked within this long of each other are sent to the client together.
GATHER_SECONDS: Final = 0.25
_KEY: Final = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
_KINDS: Final = {"elicitation/create": "elicitation", "sampling/createMessage": "sampling", "roots/list": "roots"}
_REFUSED: Final = {"reason": "invalid_request_state"}


class StateRefused(Exception):
    """A retry's ``requestState`` cannot be used: a -32602 error for the client."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.error = JsonRpcError(INVALID_PARAMS, message, _REFUSED)


def check_input_responses(value: Any) -> dict[str, Any]:
    """The ``inputResponses`` of a request: ``ABSENT`` (``{}``) or an object of objects; ``JsonRpcError`` otherwise
    (an explicit null included)."""
    if value is ABSENT:
        return {}
    if type(value) is not dict:
        message = "inputResponses must be an object mapping each inputRequests key to its result."
        raise JsonRpcError(INVALID_PARAMS, message)
    for key, answer in value.items():
        if type(answer) is not dict:
            message = f"inputResponses[{key!r}] must be an object (the result of the request)."
            raise JsonRpcError(INVALID_PARAMS, message)
    return value


def check_answer(method: str, answer: dict[str, Any]) -> str | None:
    """Why ``answer`` is not a result of ``method`` (None when it is)."""
    if method == "elicitation/create":
        if answer.get("action") not in ("accept", "decline", "cancel"):
            return 'an elicitation result needs "action": "accept", "decline" or "cancel"'
        if "content" in answer and type(answer["content"]) is not dict:
            return 'the "content" of an elicitation result must be an object'
    elif method == "sampling/createMessage":
        if type(answer.get("role")) is not str or "content" not in answer or type(answer.get("model")) is not str:
            return 'a sampling result needs "role", "content" and "model"'
    elif method == "roots/list":
        roots = answer.get("roots")
        if type(roots) is not list or any(type(root) is not dict or type(root.get("uri")) is not str for root in roots):
            return 'a roots result needs "roots": a list of objects with a "uri"'
    return None


@dataclass(eq=False)
class Question:
    """One server→client request waiting for the client's answer."""

    key: str
    method: str
    params: Any
    future: asyncio.Future[dict[str, Any]]

    def as_input_request(self) -> dict[str, Any]:
        request: dict[str, Any] = {"method": self.method}
        if self.params is not None:
            request["params"] = self.params
        return request


class PendingRequest:
    """One relayed request that may outlive the client's HTTP request: its upstream call and open questions."""

    def __init__(
        self,
        store: PendingRequests,
        *,
        principal: str,
        server_id: str,
        method: str,
        params: Any,
        capabilities: dict[str, Any],
        answers: dict[str, Any],
    ) -> None:
        self.store = store
        self.id = secrets.token_urlsafe(18)
        self.principal = principal
        self.server_id = server_id
        self.method = method
        self.target, self.args_digest = request_identity(method, params)
        #: The client's capabilities, as its latest request declared them.
        self.capabilities = capabilities
        #: The rounds answered with ``input_required`` so far; a state is valid for the latest only.
        self.round = 0
        self.open: dict[str, Question] = {}
        self.exchange: Exchange | None = None
        self.task: asyncio.Task[Message] | None = None
        #: A client request is being answered from this one (a second retry with the same state is refused).
        self.busy = False
        self.expires_at = 0.0
        self._offered = dict(answers)
        self._asked = asyncio.Event()
        self._counts: dict[str, int] = {}
        self._timer: asyncio.TimerHandle | None = None

    def start(self, call: Coroutine[Any, Any, Message]) -> None:
        self.task = asyncio.get_running_loop().create_task(call, name=f"mrtr:{self.method}:{self.target}")

    # -- the server asks ------------------------------------------------------------------------------------------

    async def ask(self, method: str, params: Any) -> dict[str, Any]:
        """The client's answer to a server→client request made during this call (raises ``JsonRpcError`` for the
        server when the client cannot be asked)."""
        capability = REQUIRED_CAPABILITY.get(method)
        if capability is None:
            raise JsonRpcError(METHOD_NOT_FOUND, f"{method} cannot be relayed to a client of protocol 2026-07-28.")
        if capability not in self.capabilities:
            raise JsonRpcError(
                MISSING_CAPABILITY,
                f"The client did not declare the {capability} capability.",
                {"requiredCapabilities": {capability: {}}},
            )
        key, params = self._key_of(method, params)
        offered: dict[str, Any] | None = self._offered.pop(key, None)
        if offered is not None and check_answer(method, offered) is None:
            return offered  # answered before it was asked (the request already carried it)
        if not self.store.may_wait(self):
            raise JsonRpcError(
                INTERNAL_ERROR, f"The gateway holds too many requests waiting for their clients; {method} was refused."
            )
        question = Question(key, method, params, asyncio.get_running_loop().create_future())
        self.open[key] = question
        self._asked.set()
        try:
            answer: dict[str, Any] = await question.future
            return answer
        finally:
            if self.open.get(key) is question:
                del self.open[key]

    def _key_of(self, method: str, params: Any) -> tuple[str, Any]:
        """The key of a new question, and its params without the key hint."""
        hint = None
        if type(params) is dict and type(meta := params.get("_meta")) is dict and INPUT_KEY_META in meta:
            hint = meta[INPUT_KEY_META]
            rest = {name: value for name, value in meta.items() if name != INPUT_KEY_META}
            params = {name: value for name, value in params.items() if name != "_meta"}
            if rest:
                params["_meta"] = rest
        if type(hint) is str and _KEY.match(hint) and hint not in self.open:
            return hint, params
        kind = _KINDS.get(method, "input")
        while True:
            count = self._counts[kind] = self._counts.get(kind, 0) + 1
            key = f"{kind}-{count}"
            if key not in self.open:
                return key, params

    # -- the client answers ---------------------------------------------------------------------------------------

    def answer(self, responses: dict[str, Any]) -> None:
        """Give the open questions their answers (unknown keys are ignored, unanswered questions stay open);
        ``JsonRpcError`` (nothing given) when an answer is not a result of its question's method."""
        given = [(self.open[key], value) for key, value in responses.items() if key in self.open]
        for question, value in given:
            reason = check_answer(question.method, value)
            if reason is not None:
                raise JsonRpcError(INVALID_PARAMS, f"inputResponses[{question.key!r}]: {reason}.")
        for question, value in given:
            del self.open[question.key]
            if not question.future.done():
                question.future.set_result(value)

    async def next_outcome(self, timeout: float) -> Message | None:  # noqa: ASYNC109 -- a deadline per round
        """Wait for what comes next: the call's answer, or None when questions are open (``self.open``) and no
        more came for ``GATHER_SECONDS``. ``TimeoutError`` when neither happens within ``timeout``."""
        task = self.task
        assert task is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not task.done():
            quiet = bool(self.open)
            self._asked.clear()
            remaining = GATHER_SECONDS if quiet else deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError
            asked = loop.create_task(self._asked.wait())
            try:
                await asyncio.wait({task, asked}, timeout=remaining, return_when=asyncio.FIRST_COMPLETED)
            finally:
                asked.cancel()
            if quiet and not self._asked.is_set() and not task.done():
                return None
        if task.cancelled():  # failed (expired, or the gateway stops) while this round began
            return error_response(None, JsonRpcError(INTERNAL_ERROR, "The request was ended by the gateway."))
        return task.result()

    # -- the gateway's side ---------------------------------------------------------------------------------------

    def input_required(self, state: str) -> dict[str, Any]:
        requests = {key: question.as_input_request() for key, question in self.open.items()}
        return {"resultType": "input_required", "inputRequests": requests, "requestState": state}

    def fail(self, error: JsonRpcError) -> None:
        """Answer every open question with ``error`` and cancel the call (the server is told)."""
        for question in list(self.open.values()):
            if not question.future.done():
                question.future.set_exception(error)
        self.open.clear()
        if self.task is not None and not self.task.done():
            self.task.cancel()


@dataclass(eq=False)
class InputSession(StatelessSession):
    """A stateless request whose server→client requests become questions of its ``PendingRequest``."""

    pending: PendingRequest | None = None

    async def ask_client(self, method: str, params: Any) -> dict[str, Any]:
        """Called by the upstream mux for a server→client request routed to this request."""
        if self.pending is None:
            raise JsonRpcError(INTERNAL_ERROR, f"no client to send {method} to")
        return await self.pending.ask(method, params)


class PendingRequests:
    """The paused requests of this gateway, bounded in number, each kept ``wait_seconds`` between rounds."""

    def __init__(
        self, sealer: RequestStateSealer, *, wait_seconds: float, max_total: int = 1000, max_per_principal: int = 32
    ) -> None:
        self.sealer = sealer
        self.wait_seconds = wait_seconds
        self.max_total = max_total
        self.max_per_principal = max_per_principal
        self._held: dict[str, PendingRequest] = {}
        self._per_principal: dict[str, int] = {}
        #: Paused requests that expired (their servers were answered with an error), since start.
        self.expired = 0

    def __len__(self) -> int:
        return len(self._held)

    def create(self, **fields: Any) -> PendingRequest:
        return PendingRequest(self, **fields)

    def may_wait(self, pending: PendingRequest) -> bool:
        """Whether ``pending`` may keep (another) question open for its client."""
        if pending.id in self._held:
            return True
        held_by_principal = self._per_principal.get(pending.principal, 0)
        return len(self._held) < self.max_total and held_by_principal < self.max_per_principal

    def park(self, pending: PendingRequest) -> str:
        """Hold ``pending`` until its client comes back (or ``wait_seconds`` pass); the ``requestState`` to give it."""
        if pending.id not in self._held:
            self._held[pending.id] = pending
            self._per_principal[pending.principal] = self._per_principal.get(pending.principal, 0) + 1
        pending.round += 1
        pending.busy = False
        pending.expires_at = time.time() + self.wait_seconds
        if pending._timer is not None:
            pending._timer.cancel()
        pending._timer = asyncio.get_running_loop().call_later(self.wait_seconds, self._expire, pending)
        claims = StateClaims(
            pending_id=pending.id,
            round=pending.round,
            principal=pending.principal,
            server_id=pending.server_id,
            method=pending.method,
            target=pending.target,
            args_digest=pending.args_digest,
            expires_at=pending.expires_at,
        )
        return self.sealer.seal(claims)

    def resume(self, state: Any, *, principal: str, server_id: str, method: str, params: Any) -> PendingRequest:
        """The paused request a retry's ``requestState`` names, now attached to that retry; ``StateRefused``
        when the state is not this gateway's, altered, expired, someone else's or another request's."""
        try:
            claims = self.sealer.open(state)
        except InvalidRequestState as exc:
            raise StateRefused(f"Invalid requestState: {exc}.") from None
        if claims.principal != principal or claims.server_id != server_id:
            raise StateRefused("Invalid requestState: it was issued to another credential or for another server.")
        target, args_digest = request_identity(method, params)
        if (claims.method, claims.target, claims.args_digest) != (method, target, args_digest):
            raise StateRefused(
                "Invalid requestState: it belongs to another request; retry with the same method, name and arguments."
            )
        pending = self._held.get(claims.pending_id)
        if pending is None:
            raise StateRefused(
                "The request this requestState resumes is no longer held (it expired, was answered already, or was "
                "paused on another gateway replica); send the request again without requestState."
            )
        if claims.round != pending.round:
            raise StateRefused("This requestState was already used; send the requestState of the latest result.")
        if pending.busy:
            raise StateRefused("Another request is answering with this requestState already.")
        pending.busy = True
        if pending._timer is not None:
            pending._timer.cancel()
            pending._timer = None
        return pending

    def hold(self, pending: PendingRequest) -> None:
        """Hold ``pending`` again, unchanged, after a retry that could not be used (its state stays valid)."""
        pending.busy = False
        if pending.id in self._held and pending._timer is None:
            delay = max(pending.expires_at - time.time(), 0.0)
            pending._timer = asyncio.get_running_loop().call_later(delay, self._expire, pending)

    def release(self, pending: PendingRequest) -> None:
        """Forget ``pending``: its call ended, or its client will not be back."""
        if self._held.pop(pending.id, None) is not None:
            count = self._per_principal.get(pending.principal, 1) - 1
            if count:
                self._per_principal[pending.principal] = count
            else:
                self._per_principal.pop(pending.principal, None)
        if pending._timer is not None:
            pending._timer.cancel()
            pending._timer = None

    def _expire(self, pending: PendingRequest) -> None:
        pending._timer = None
        self.release(pending)
        self.expired += 1
        asked = ", ".join(sorted({question.method for question in pending.open.values()})) or "its questions"
        pending.fail(
            JsonRpcError(
                INTERNAL_ERROR,
                f"The client did not answer {asked} within {self.wait_seconds:g} s "
                "(it did not send the request again).",
            )
        )

    def close(self) -> None:
        """End every paused request (the gateway stops)."""
        for pending in list(self._held.values()):
            self.release(pending)
            pending.fail(JsonRpcError(INTERNAL_ERROR, "The gateway is shutting down."))
