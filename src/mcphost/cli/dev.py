"""``mcphost dev -- COMMAND …``: run a local stdio MCP server behind a local Streamable HTTP endpoint on the
loopback interface, and print each call live as it happens, until Ctrl+C (exit 0) or the server exits (exit 1).

The endpoint is deliberately small: the server is started and initialized once, each POSTed JSON-RPC request
is relayed over the server's stdin/stdout (``StdioConnection``) and answered as ``application/json``; the
client's ``initialize`` gets the server's own initialize answer. No auth: it listens on 127.0.0.1 only and
refuses browser origins other than localhost (DNS rebinding).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import TYPE_CHECKING, Annotated, Any

import typer

from mcphost.cli.output import fail

if TYPE_CHECKING:
    from rich.console import Console

    from mcphost.mcp.stdio import StdioConnection

READ_LIMIT = 16 * 1024 * 1024  # the longest line the server may write
MAX_BODY = 16 * 1024 * 1024
INIT_TIMEOUT = 30.0
LOOPBACK_ORIGINS = ("http://127.0.0.1", "http://localhost", "http://[::1]", "https://127.0.0.1", "https://localhost")


def dev(
    command: Annotated[
        list[str], typer.Argument(help="The stdio server to run, after `--`: PROGRAM ARGS…", show_default=False)
    ],
    port: Annotated[int, typer.Option("--port", "-p", help="The local port of the endpoint.")] = 8765,
) -> None:
    """Run a local stdio MCP server behind a local endpoint and print each call live."""
    if not command:
        raise typer.BadParameter("give the server's command after --", param_hint="COMMAND")
    if not 0 < port < 65536:
        raise typer.BadParameter("must be between 1 and 65535", param_hint="--port")
    try:
        code = asyncio.run(_main(command, port))
    except KeyboardInterrupt:  # Ctrl+C before the endpoint was up
        code = 0
    raise typer.Exit(code)


async def _main(command: list[str], port: int) -> int:
    from mcphost.cli.output import console
    from mcphost.mcp.jsonrpc import ConnectionClosed, JsonRpcError
    from mcphost.mcp.session import LATEST_PROTOCOL_VERSION
    from mcphost.mcp.stdio import StdioConnection

    out = console()
    try:
        process = await asyncio.create_subprocess_exec(
            *command, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, limit=READ_LIMIT
        )
    except OSError as exc:
        fail(f"cannot start {command[0]}: {exc.strerror or exc}")
    assert process.stdin is not None and process.stdout is not None
    connection = StdioConnection(process.stdout, process.stdin, name=command[0]).start()
    try:
        try:
            initialized = await connection.request(
                "initialize",
                {
                    "protocolVersion": LATEST_PROTOCOL_VERSION,
                    "capabilities": {},
                    "clientInfo": {"name": "mcphost-dev", "version": "1"},
                },
                timeout=INIT_TIMEOUT,
            )
            await connection.notify("notifications/initialized")
        except (ConnectionClosed, JsonRpcError, TimeoutError) as exc:
            code = await _wait_exit(process, 2.0)
            ended = f" (it exited with code {code})" if code is not None else ""
            typer.echo(f"error: the server did not initialize: {' '.join(str(exc).split())}{ended}", err=True)
            return 1
        info = initialized.get("serverInfo") or {}
        return await _serve(
            connection, process, initialized, port, out, f"{info.get('name', '?')} {info.get('version', '')}"
        )
    finally:
        await connection.close()
        await _stop(process)


async def _serve(
    connection: StdioConnection,
    process: asyncio.subprocess.Process,
    initialized: dict[str, Any],
    port: int,
    out: Console,
    server_name: str,
) -> int:
    import uvicorn

    from mcphost.cli.output import esc
    from mcphost.cli.serving import Server

    app = _App(connection, initialized, out)
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", lifespan="off", access_log=False, ws="none"
    )
    server = Server(config, on_exit=lambda: None)
    serving = asyncio.create_task(server.serve())
    while not server.started and not serving.done():  # noqa: ASYNC110 -- uvicorn has no started event
        await asyncio.sleep(0.02)
    if serving.done():  # uvicorn could not bind (it logs why)
        with contextlib.suppress(BaseException):
            serving.result()
        typer.echo(
            f"error: cannot listen on 127.0.0.1:{port} (is the port in use? choose another with --port)", err=True
        )
        return 1
    out.print(f"[bold]{esc(server_name.strip())}[/] is up: [cyan]http://127.0.0.1:{port}/mcp[/]  (Ctrl+C to stop)")
    exited = asyncio.create_task(process.wait())
    done, _ = await asyncio.wait({serving, exited}, return_when=asyncio.FIRST_COMPLETED)
    if serving in done:  # Ctrl+C or SIGTERM (the server may get the same Ctrl+C and exit too)
        exited.cancel()
        out.print("[dim]stopped[/]")
        return 0
    out.print(f"[red]the server exited with code {process.returncode}[/]")
    server.should_exit = True
    with contextlib.suppress(BaseException):
        await asyncio.wait_for(serving, 5)
    return 1


class _App:
    """The ASGI app: POST JSON-RPC on any path, relayed to the server; GET (no event stream) is 405."""

    def __init__(self, connection: StdioConnection, initialized: dict[str, Any], out: Console) -> None:
        self.connection = connection
        self.initialized = initialized
        self.out = out

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        origin = headers.get("origin")
        if origin and not origin.startswith(LOOPBACK_ORIGINS):
            await _respond(send, 403, {"error": "origin not allowed"})
            return
        if scope["method"] == "DELETE":
            await _respond(send, 200, None)
            return
        if scope["method"] != "POST":
            await _respond(send, 405, {"error": "POST JSON-RPC messages here"}, allow="POST")
            return
        body = b""
        while True:
            event = await receive()
            body += event.get("body", b"")
            if len(body) > MAX_BODY:
                await _respond(send, 413, _error(None, -32600, "the message is too large"))
                return
            if not event.get("more_body"):
                break
        import orjson

        try:
            message = orjson.loads(body)
        except orjson.JSONDecodeError:
            await _respond(send, 400, _error(None, -32700, "parse error"))
            return
        if isinstance(message, list):
            answers = [a for a in await asyncio.gather(*(self.handle(m) for m in message)) if a is not None]
            await _respond(send, 200 if answers else 202, answers or None)
            return
        answer = await self.handle(message)
        await _respond(send, 200 if answer is not None else 202, answer)

    async def handle(self, message: Any) -> dict[str, Any] | None:
        from mcphost.mcp.jsonrpc import ConnectionClosed

        if not isinstance(message, dict) or not isinstance(message.get("method"), str):
            if isinstance(message, dict) and "id" in message and ("result" in message or "error" in message):
                return None  # an answer to a server request: this endpoint sends none
            return _error(message.get("id") if isinstance(message, dict) else None, -32600, "invalid request")
        method: str = message["method"]
        params = message.get("params")
        if "id" not in message:  # a notification
            if method != "notifications/initialized":  # the server was initialized at start
                with contextlib.suppress(ConnectionClosed):
                    await self.connection.notify(method, params if isinstance(params, dict) else None)
            return None
        started = time.monotonic()
        if method == "initialize":
            answer: dict[str, Any] = {"jsonrpc": "2.0", "id": message["id"], "result": self.initialized}
        else:
            try:
                answer = dict(
                    await self.connection.roundtrip(method, params if isinstance(params, dict) else None, timeout=None)
                )
            except ConnectionClosed as exc:
                answer = _error(None, -32603, f"the server is gone: {exc}")
            answer["id"] = message["id"]
        self.log(method, params, answer, time.monotonic() - started)
        return answer

    def log(self, method: str, params: Any, answer: dict[str, Any], seconds: float) -> None:
        from mcphost.cli.output import esc

        target = ""
        if isinstance(params, dict):
            target = str(params.get("name") or params.get("uri") or "")
        error = answer.get("error")
        result = answer.get("result")
        if isinstance(error, dict):
            status = f"[red]error[/] {esc(error.get('message', ''))}"
        elif isinstance(result, dict) and result.get("isError"):
            content = result.get("content") or [{}]
            text = content[0].get("text", "") if isinstance(content[0], dict) else ""
            status = f"[red]error[/] {esc(' '.join(str(text).split())[:100])}"
        else:
            status = "[green]ok[/]"
        clock = time.strftime("%H:%M:%S")
        line = f"[dim]{clock}[/] [bold]{esc(method):<16}[/] {esc(target):<20} {seconds * 1000:7.1f} ms  {status}"
        self.out.print(line, soft_wrap=True)


def _error(request_id: Any, code: int, message: str) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request_id, "error": {"code": code, "message": message}}


async def _respond(send: Any, status: int, payload: Any, *, allow: str | None = None) -> None:
    import orjson

    body = b"" if payload is None else orjson.dumps(payload)
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if allow:
        headers.append((b"allow", allow.encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _wait_exit(process: asyncio.subprocess.Process, within: float) -> int | None:
    try:
        return await asyncio.wait_for(process.wait(), within)
    except TimeoutError:
        return None


async def _stop(process: asyncio.subprocess.Process) -> None:
    """Stdin is closed already (the MCP way to ask a stdio server to exit); then SIGTERM, then SIGKILL."""
    if process.returncode is not None:
        return
    if await _wait_exit(process, 2.0) is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        process.terminate()
    if await _wait_exit(process, 3.0) is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        process.kill()
    await process.wait()
