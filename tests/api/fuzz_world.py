"""The world the API fuzzer runs in: the real app served on a loopback port from a background thread, and
the accounts, tokens, organisations, invitations and jobs that generated requests can reach."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, TypeVar

import httpx
import sqlalchemy as sa
from fastapi import FastAPI

from mcphost.db.base import utcnow
from mcphost.jobs import queue
from mcphost.models import (
    CustomDomain,
    EvaluationCase,
    EvaluationResult,
    EvaluationRun,
    EvaluationStatus,
    EvaluationSuite,
    EvaluationTrigger,
    IngestionJob,
    IngestionStatus,
    InvocationRecord,
    MatchMode,
    OAuthClient,
    OAuthClientKind,
    OAuthGrant,
    RunStatus,
    Server,
    VectorDatabase,
    VectorDbStatus,
    Workflow,
    WorkflowRun,
)
from mcphost.observability.traces import Invocation
from mcphost.platform import Platform
from mcphost.servers.launch import data_dir
from tests.support.accounts import Account, sign_up
from tests.support.live import serve

T = TypeVar("T")
ALL_SCOPES = ("read", "write", "invoke", "admin")


@dataclass
class LiveServer:
    url: str
    loop: asyncio.AbstractEventLoop

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float = 30) -> T:
        """Run a coroutine on the server's own event loop (where its database engine lives)."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)


@contextmanager
def serve_in_thread(app: FastAPI) -> Iterator[LiveServer]:
    """Serve the app (lifespan included) under uvicorn in a thread of its own, so that blocking test code (the
    fuzzer's synchronous HTTP calls) can talk to it."""
    started = threading.Event()
    state: dict[str, Any] = {}

    async def main() -> None:
        state["stop"], state["loop"] = asyncio.Event(), asyncio.get_running_loop()
        async with serve(app) as url:
            state["url"] = url
            started.set()
            await state["stop"].wait()

    def run() -> None:
        try:
            asyncio.run(main())
        except BaseException as exc:
            state["error"] = exc
        finally:
            started.set()

    thread = threading.Thread(target=run, name="fuzz-server", daemon=True)
    thread.start()
    if not started.wait(60) or "url" not in state:
        raise RuntimeError("the app did not start") from state.get("error")
    try:
        yield LiveServer(state["url"], state["loop"])
    finally:
        state["loop"].call_soon_threadsafe(state["stop"].set)
        thread.join(60)
        if "error" in state:
            raise state["error"]


@dataclass
class Persona:
    """Who the fuzzer calls as: a credential (none for anonymous) and the user it belongs to."""

    name: str
    token: str | None = None
    token_id: str | None = None
    user_id: str | None = None

    @property
    def headers(self) -> dict[str, str] | None:
        return {"Authorization": f"Bearer {self.token}"} if self.token else None


@dataclass
class World:
    admin: Persona
    member: Persona
    anonymous: Persona = field(default_factory=lambda: Persona("anonymous"))
    # Ids of existing objects by path parameter name, mixed into generated path parameters.
    ids: dict[str, list[str]] = field(default_factory=dict)
    # The webhook secret of each seeded server (kept current when the fuzzer rotates one).
    webhook_secrets: dict[str, str] = field(default_factory=dict)

    def persona(self, name: str) -> Persona:
        return {"admin": self.admin, "member": self.member, "anonymous": self.anonymous}[name]


async def _token(http: httpx.AsyncClient, owner: Account, name: str, *scopes: str) -> tuple[str, str]:
    response = await http.post("/api/tokens", json={"name": name, "scopes": list(scopes)}, headers=owner.headers)
    assert response.status_code == 201, response.text
    return str(response.json()["id"]), str(response.json()["token"])


async def _post(http: httpx.AsyncClient, path: str, owner: Account, body: dict[str, Any]) -> dict[str, Any]:
    response = await http.post(path, json=body, headers=owner.headers)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


async def populate(url: str) -> World:
    """Through the API, as users would: an administrator (the first account) and a member, each with a
    personal access token to fuzz with and a spare one to be revoked; an organisation of the administrator
    that the member belongs to, with a pending invitation; and an organisation of the member alone."""
    async with httpx.AsyncClient(base_url=url) as http:
        admin = await sign_up(http, "admin@example.com")
        member = await sign_up(http, "member@example.com")
        spare_user = await sign_up(http, "spare@example.com")  # one account an administrator may delete
        admin_token_id, admin_token = await _token(http, admin, "fuzz", *ALL_SCOPES)
        spare_admin_token, _ = await _token(http, admin, "spare", "read")
        member_token_id, member_token = await _token(http, member, "fuzz", "read", "write", "invoke")
        spare_member_token, _ = await _token(http, member, "spare", "read")
        shared = await _post(http, "/api/orgs", admin, {"name": "Shared"})
        await _post(http, f"/api/orgs/{shared['id']}/members", admin, {"email": member.email, "role": "member"})
        invited = await _post(http, f"/api/orgs/{shared['id']}/members", admin, {"email": "invitee@example.com"})
        own = await _post(http, "/api/orgs", member, {"name": "Own"})
        package = {"type": "package", "registry_type": "pypi", "identifier": "mcp-server-time"}
        admins_server = await _post(http, "/api/servers", admin, {"name": "Admin's", "source": package})
        shared_server = await _post(
            http, "/api/servers", member, {"name": "Shared", "source": package, "org_id": shared["id"]}
        )
        spare_key = await _post(http, f"/api/servers/{shared_server['id']}/keys", member, {"name": "spare"})
        for server in (admins_server, shared_server):  # revision 2, so that rolling back to 1 can succeed
            changed = await http.patch(
                f"/api/servers/{server['id']}", json={"env": {"TZ": "UTC"}}, headers=admin.headers
            )
            assert changed.status_code == 200, changed.text
    return World(
        admin=Persona("admin", admin_token, admin_token_id, str(admin.id)),
        member=Persona("member", member_token, member_token_id, str(member.id)),
        ids={
            "user_id": [str(admin.id), str(member.id), str(spare_user.id)],
            "org_id": [shared["id"], own["id"]],
            "invitation_id": [invited["invitation"]["id"]],
            "token_id": [spare_admin_token, spare_member_token],
            "server_id": [admins_server["id"], shared_server["id"]],
            "key_id": [spare_key["id"]],
            "name": ["io.github.modelcontextprotocol/time", "io.github.modelcontextprotocol/memory"],
            "number": ["1", "2"],
        },
        webhook_secrets={server["id"]: server["webhook_secret"] for server in (admins_server, shared_server)},
    )


async def sync_servers(platform: Platform, server_ids: list[str]) -> None:
    """Give the seeded servers what a completed start records (no runtime hosts them in the fuzz world)."""
    async with platform.db.session_scope() as session:
        await session.execute(
            sa.update(Server)
            .where(Server.id.in_([uuid.UUID(server_id) for server_id in server_ids]))
            .values(
                manifest={
                    "serverInfo": {"name": "seed", "version": "1"},
                    "protocolVersion": "2025-11-25",
                    "capabilities": {"tools": {}},
                    "instructions": None,
                },
                capabilities={"tools": [], "resources": [], "resource_templates": [], "prompts": []},
                capabilities_synced_at=utcnow(),
            )
        )


async def add_jobs(platform: Platform) -> list[str]:
    """One job in each state the job endpoints treat differently: queued, dead (failed) and succeeded."""
    worker, lease = "fuzz-seed", timedelta(minutes=5)
    async with platform.db.session_scope() as session:
        queued = await queue.enqueue(session, "fuzz.queued", {"n": 1})
        dead = await queue.enqueue(session, "fuzz.dead", {"n": 2})
        done = await queue.enqueue(session, "fuzz.done", {"n": 3})
        for job in await queue.claim(session, worker, ["fuzz.dead", "fuzz.done"], 2, lease):
            if job.kind == "fuzz.dead":
                await queue.fail(session, job.id, worker, "boom", queue.RetryPolicy(), permanent=True)
            else:
                await queue.complete(session, job.id, worker, {"ok": True})
    return [str(job_id) for job_id in (queued.id, dead.id, done.id)]


async def add_invocations(platform: Platform, server_ids: list[str]) -> list[str]:
    """Invocation records of the seeded servers, as if the gateway had relayed a tool call and a failed one."""
    async with platform.db.session_scope() as session:
        servers = (
            await session.scalars(sa.select(Server).where(Server.id.in_([uuid.UUID(s) for s in server_ids])))
        ).all()
    for server in servers:
        for request_id, error in ((1, None), (2, {"code": -32602, "message": "Unknown tool"})):
            platform.traces.record(
                Invocation(
                    server_id=server.id,
                    method="tools/call",
                    name="echo",
                    session_id="fuzz",
                    user_id=None,
                    key_id=None,
                    request_id=request_id,
                    params={"name": "echo", "arguments": {"text": "hi"}},
                    result=None if error else {"content": [{"type": "text", "text": "hi"}]},
                    error=error,
                    started_at=utcnow().timestamp(),
                    duration=0.001,
                    request_bytes=50,
                    response_bytes=50,
                    server_slug=server.slug,
                )
            )
    await platform.traces.flush()
    async with platform.db.session_scope() as session:
        return [str(record_id) for record_id in (await session.scalars(sa.select(InvocationRecord.id))).all()]


async def add_evaluations(platform: Platform, world: World) -> None:
    """An evaluation suite of the administrator's and one of the shared organisation, each with a case of a seeded
    server and a finished run with its result; their ids join ``suite_id``, ``case_id`` and ``run_id``."""
    admin_server, shared_server = (uuid.UUID(server_id) for server_id in world.ids["server_id"][:2])
    org_id = uuid.UUID(world.ids["org_id"][0])
    async with platform.db.session_scope() as session:
        for owner, org, server_id in (
            (uuid.UUID(world.admin.user_id), None, admin_server),
            (None, org_id, shared_server),
        ):
            suite = EvaluationSuite(id=uuid.uuid4(), name="fuzz", owner_user_id=owner, org_id=org, description="")
            case = EvaluationCase(
                id=uuid.uuid4(),
                suite_id=suite.id,
                server_id=server_id,
                name="echo",
                tool="echo",
                arguments={"text": "hi"},
                expected="hi",
                match_mode=MatchMode.EXACT,
            )
            run = EvaluationRun(
                id=uuid.uuid4(),
                suite_id=suite.id,
                trigger=EvaluationTrigger.MANUAL,
                status=EvaluationStatus.PASSED,
                cases=1,
                passed=1,
                average_score=1.0,
                finished_at=utcnow(),
            )
            session.add(suite)
            await session.flush()  # no relationships declared: the suite's row goes first
            session.add_all([case, run])
            await session.flush()
            session.add(
                EvaluationResult(
                    run_id=run.id,
                    case_id=case.id,
                    server_id=server_id,
                    case_name="echo",
                    tool="echo",
                    match_mode=MatchMode.EXACT,
                    passed=True,
                    score=1.0,
                    actual="hi",
                    duration_ms=1.0,
                )
            )
            for name, value in (("suite_id", suite.id), ("case_id", case.id), ("run_id", run.id)):
                world.ids.setdefault(name, []).append(str(value))


async def add_context_cloud(platform: Platform, world: World) -> None:
    """One of each object of the newer endpoints, the administrator's, so that their paths get past "not found": a
    workflow with a finished run, a vector database (on another node: no Chroma server is started for it, so its
    collection endpoints answer 503) with an ingestion job, a pending custom domain and a file of the first server,
    and an app the administrator authorised. Their ids join ``workflow_id``, ``run_id``, ``vector_db_id``,
    ``job_id``, ``domain``, ``path``, ``name`` and ``grant_id``, and revision 1 joins ``number``."""
    admin = uuid.UUID(str(world.admin.user_id))
    server_id = uuid.UUID(world.ids["server_id"][0])
    step = {"id": "say", "server_id": str(server_id), "tool": "echo", "arguments": {"text": "hi"}, "needs": []}
    step |= {"timeout_seconds": 10, "retry": {"attempts": 1, "backoff_seconds": 1, "backoff_multiplier": 2}}
    workflow = Workflow(id=uuid.uuid4(), owner_user_id=admin, name="fuzz", slug="fuzz-workflow", steps=[step])
    database = VectorDatabase(
        id=uuid.uuid4(), name="fuzz", owner_user_id=admin, node="fuzz-elsewhere", status=VectorDbStatus.FAILED, token=""
    )
    client = OAuthClient(id=uuid.uuid4(), client_id="fuzz-client", kind=OAuthClientKind.REGISTERED,
                         redirect_uris=["http://127.0.0.1/callback"], token_endpoint_auth_method="none")  # fmt: skip
    async with platform.db.session_scope() as session:
        session.add_all([workflow, database, client])
        await session.flush()
        run = WorkflowRun(id=uuid.uuid4(), workflow_id=workflow.id, owner_user_id=admin, version=1,
                          definition={"steps": [step], "output": None}, status=RunStatus.SUCCEEDED)  # fmt: skip
        job = IngestionJob(id=uuid.uuid4(), vector_db_id=database.id, collection="docs", owner_user_id=admin,
                           chunk_size=1000, chunk_overlap=200, status=IngestionStatus.SUCCEEDED)  # fmt: skip
        grant = OAuthGrant(id=uuid.uuid4(), user_id=admin, client_pk=client.id, server_id=server_id, scopes=["invoke"])
        domain = CustomDomain(server_id=server_id, name="fuzz.example.test", token="t" * 32)
        session.add_all([run, job, grant, domain])
        server = await session.get(Server, server_id)
        assert server is not None
        files = data_dir(platform.settings.home, server)
    files.mkdir(parents=True, exist_ok=True)
    (files / "notes.txt").write_text("seeded for the fuzzer\n")
    seeded = {"workflow_id": workflow.id, "run_id": run.id, "vector_db_id": database.id, "job_id": job.id,
              "grant_id": grant.id, "domain": "fuzz.example.test", "path": "notes.txt", "name": "docs",
              "number": 1}  # fmt: skip
    for name, value in seeded.items():
        world.ids.setdefault(name, []).append(str(value))


def is_uuid(value: object) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True
