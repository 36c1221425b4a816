"""``mcphost sdk``: the JSON Schema → type mapping, the generated Python runtime against a scripted endpoint, and the
generated packages (Python imported, TypeScript compiled with tsc and run with Node 22) calling ``echo`` through the
real gateway of a running ``mcphost up``."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from mcphost.sdkgen import Target
from mcphost.sdkgen import python as python_sdk
from mcphost.sdkgen import typescript as typescript_sdk
from mcphost.sdkgen.schema import PyTypes, camel_case, python_arg, python_type, snake_case, ts_type
from tests.cli import processes
from tests.cli.live import Instance, ok, one_line_error
from tests.gateway.conformance import INSTALL_COMMAND, node22_bin, tools_dir

ECHO = {
    "name": "echo",
    "description": "Returns its text.",
    "inputSchema": {"type": "object", "properties": {"text": {"type": "string", "description": "The text."}}},
}
FAIL = {"name": "fail-now", "inputSchema": {"type": "object", "properties": {"why": {"type": "string"}}}}

# -- the schema → type mapping ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("schema", "python", "typescript"),
    [
        ({"type": "string"}, "str", "string"),
        ({"type": "integer"}, "int", "number"),
        ({"type": "number"}, "float", "number"),
        ({"type": "boolean"}, "bool", "boolean"),
        ({"type": "null"}, "None", "null"),
        ({"type": ["string", "null"]}, "str | None", "string | null"),
        ({"type": "array", "items": {"type": "integer"}}, "list[int]", "number[]"),
        ({"type": "array", "items": {"type": ["string", "number"]}}, "list[str | float]", "Array<string | number>"),
        ({"type": "array"}, "list[Any]", "unknown[]"),
        ({"type": "object"}, "dict[str, Any]", "Record<string, unknown>"),
        ({"type": "object", "additionalProperties": {"type": "number"}}, "dict[str, float]", "Record<string, number>"),
        ({"enum": ["a", "b", "a"]}, 'Literal["a", "b"]', '"a" | "b"'),
        ({"const": 3}, "Literal[3]", "3"),
        ({"anyOf": [{"type": "string"}, {"type": "integer"}]}, "str | int", "string | number"),
        ({"oneOf": [{"type": "string"}, {"$ref": "#/defs/x"}]}, "Any", "unknown"),
        ({"$ref": "#/defs/x"}, "Any", "unknown"),
        ({"allOf": [{"type": "string"}]}, "Any", "unknown"),
        ({}, "Any", "unknown"),
        (True, "Any", "unknown"),
        ({"type": "mystery"}, "Any", "unknown"),
        ({"type": ["string", "mystery"]}, "Any", "unknown"),
    ],
)
def test_schema_types(schema: Any, python: str, typescript: str) -> None:
    assert python_type(schema) == python
    assert ts_type(schema) == typescript


def test_object_schemas_become_typed_dicts_and_inline_types() -> None:
    schema = {
        "type": "object",
        "properties": {"deep": {"type": "boolean"}, "x-y": {"type": "object", "properties": {"z": {"type": "number"}}}},
        "required": ["deep"],
    }
    types = PyTypes()
    assert types.map(schema, "Opts") == "Opts"
    assert [(t.name, [(f.key, f.type, f.required) for f in t.fields]) for t in types.typed_dicts] == [
        ("Opts", [("deep", "bool", True), ("x-y", "OptsXY", False)]),
        ("OptsXY", [("z", "float", False)]),
    ]
    assert types.map(schema, "Opts") == "Opts2"  # a second object of the same hint gets its own name
    assert ts_type(schema) == '{\n  deep: boolean;\n  "x-y"?: {\n    z?: number;\n  };\n}'


def test_names_become_identifiers() -> None:
    assert snake_case("get-user.byId") == "get_user_by_id"
    assert snake_case("HTTPRequest") == "http_request"
    assert snake_case("import") == "import_"
    assert snake_case("9lives") == "_9lives"
    assert snake_case("aclose", python_sdk.PY_RESERVED_METHODS) == "aclose_"
    assert snake_case("---") == "tool"
    assert python_arg("class") == "class_"
    assert python_arg("user-id") == "user_id"
    assert python_arg("self") == "self_"
    assert python_arg("camelCase") == "camelCase"
    assert camel_case("get_user-by.id") == "getUserById"
    assert camel_case("delete") == "delete_"
    assert camel_case("close") == "close_"
    assert camel_case("9lives") == "_9lives"


# -- the generated code, offline -------------------------------------------------------------------------------

TRICKY = [
    ECHO,
    {
        "name": "get-user.byId",
        "description": 'Finds "a" user.\n\nWith """ quotes and a \\ backslash.',
        "inputSchema": {
            "type": "object",
            "properties": {
                "class": {"type": "integer", "description": "Its class."},
                "user-id": {"type": ["string", "null"]},
                "opts": {"type": "object", "properties": {"x-y": {"type": "boolean"}}},
                "def": {"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]},
                "anything": {"$ref": "#/x"},
            },
            "required": ["class"],
        },
    },
    {"name": "call_tool", "inputSchema": {"type": "object"}},
    {"name": "call-tool", "inputSchema": "not a schema"},
    {"name": "delete", "description": "Ends */ comments?"},
    {"description": "no name: left out"},
]


def target(tools: list[dict[str, Any]], package: str) -> Target:
    return Target("srv", "srv", "http://127.0.0.1:9/mcp/srv", package, tools)


def write(files: dict[str, str], out: Path) -> None:
    for relative, content in files.items():
        (out / relative).parent.mkdir(parents=True, exist_ok=True)
        (out / relative).write_text(content)


def test_generated_python_is_deterministic_typed_and_formatted(tmp_path: Path) -> None:
    files = python_sdk.render(target(TRICKY, "tricky_sdk"))
    assert files == python_sdk.render(target(TRICKY, "tricky_sdk"))
    assert set(files) == {
        "pyproject.toml",
        "tricky_sdk/__init__.py",
        "tricky_sdk/client.py",
        "tricky_sdk/_runtime.py",
        "tricky_sdk/py.typed",
    }
    client = files["tricky_sdk/client.py"]
    for expected in (
        "async def echo(",
        "async def get_user_by_id(",
        "async def call_tool_(",
        "async def call_tool__2(",
    ):
        assert expected in client
    assert "class_: int," in client and "user_id: str | None = None," in client and "anything: Any = None," in client
    assert "GetUserByIdOpts = TypedDict(" in client and "class GetUserByIdDef(TypedDict):" in client
    assert "def_: GetUserByIdDef | None = None," in client and '_args["user-id"] = user_id' in client
    write(files, tmp_path)
    bin_dir = Path(sys.executable).parent
    for command in (["format", "--check"], ["check"]):
        checked = subprocess.run(
            [bin_dir / "ruff", *command, "--isolated", "--line-length", "120", "."],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            check=False,
        )
        assert checked.returncode == 0, checked.stdout + checked.stderr
    typed = subprocess.run(
        [bin_dir / "mypy", "--strict", "--no-incremental", "tricky_sdk"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert typed.returncode == 0, typed.stdout


@pytest.fixture
def generated(tmp_path: Path) -> Iterator[Any]:
    """The Python package generated for ECHO and FAIL, imported in this process."""
    write(python_sdk.render(target([ECHO, FAIL], "scripted_sdk")), tmp_path)
    sys.path.insert(0, str(tmp_path))
    try:
        yield importlib.import_module("scripted_sdk")
    finally:
        sys.path.remove(str(tmp_path))
        for name in [name for name in sys.modules if name.split(".")[0] == "scripted_sdk"]:
            del sys.modules[name]


def scripted_endpoint(seen: list[dict[str, Any]]) -> httpx.MockTransport:
    """A Streamable HTTP endpoint: JSON for initialize, SSE (a ping of its own first) for tools/call."""

    def handle(request: httpx.Request) -> httpx.Response:
        assert request.headers["authorization"] == "Bearer mcph_sk_test"
        message = json.loads(request.content) if request.content else {}
        seen.append({"http": request.method, "session": request.headers.get("mcp-session-id"), **message})
        if message.get("method") == "initialize":
            result = {"protocolVersion": "2025-06-18", "capabilities": {}, "serverInfo": {"name": "s", "version": "1"}}
            body = {"jsonrpc": "2.0", "id": message["id"], "result": result}
            return httpx.Response(200, json=body, headers={"mcp-session-id": "sess-1"})
        if request.method == "DELETE" or "id" not in message or "method" not in message:
            return httpx.Response(202)
        assert request.headers["mcp-session-id"] == "sess-1"
        name, arguments = message["params"]["name"], message["params"]["arguments"]
        if name == "echo":
            answer: dict[str, Any] = {"result": {"content": [{"type": "text", "text": arguments["text"]}]}}
        elif "why" in arguments:
            answer = {"result": {"content": [{"type": "text", "text": f"failed: {arguments['why']}"}], "isError": True}}
        else:
            answer = {"error": {"code": -32602, "message": "why is required"}}
        events = [
            {"jsonrpc": "2.0", "method": "notifications/message", "params": {"level": "info", "data": "x"}},
            {"jsonrpc": "2.0", "id": "mcph-1", "method": "ping"},
            {"jsonrpc": "2.0", "id": message["id"], **answer},
        ]
        stream = "".join(f"event: message\nid: {i}\ndata: {json.dumps(e)}\n\n" for i, e in enumerate(events))
        return httpx.Response(200, text=stream, headers={"content-type": "text/event-stream"})

    return httpx.MockTransport(handle)


async def test_generated_python_runtime_speaks_streamable_http(generated: Any) -> None:
    seen: list[dict[str, Any]] = []
    http = httpx.AsyncClient(transport=scripted_endpoint(seen))
    async with http, generated.SrvClient("mcph_sk_test", http=http) as client:
        assert (await client.echo(text="hi"))["content"][0]["text"] == "hi"
        with pytest.raises(generated.ToolError, match="fail-now failed: failed: no") as raised:
            await client.fail_now(why="no")
        assert raised.value.text == "failed: no"
        with pytest.raises(generated.RpcError, match="why is required") as rpc:
            await client.fail_now()
        assert rpc.value.code == -32602
    assert [m.get("method") for m in seen[:2]] == ["initialize", "notifications/initialized"]
    assert seen[1]["session"] == "sess-1"
    assert any(m.get("id") == "mcph-1" and m.get("result") == {} for m in seen)  # its ping was answered
    assert (seen[-1]["http"], seen[-1]["session"]) == ("DELETE", "sess-1")


def test_generated_python_needs_a_key(generated: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MCPHOST_KEY", raising=False)
    with pytest.raises(generated.MCPHostError, match="MCPHOST_KEY"):
        generated.SrvClient()


def test_generated_typescript_is_deterministic() -> None:
    files = typescript_sdk.render(target(TRICKY, "tricky-sdk"))
    assert files == typescript_sdk.render(target(TRICKY, "tricky-sdk"))
    index = files["src/index.ts"]
    assert "export interface GetUserByIdArgs {" in index and '  "user-id"?: string | null;' in index
    assert "async getUserById(args: GetUserByIdArgs): Promise<ToolResult>" in index
    assert "async echo(args: EchoArgs = {}): Promise<ToolResult>" in index
    assert "async delete_(): Promise<ToolResult>" in index and "Ends *\\/ comments?" in index
    assert json.loads(files["package.json"])["name"] == "tricky-sdk"


# -- against a running instance --------------------------------------------------------------------------------


def api_env(instance: Instance) -> dict[str, str]:
    return instance.env(MCPHOST_URL=instance.url, MCPHOST_TOKEN=instance.token)


def access_key(instance: Instance) -> str:
    with instance.api() as api:
        created = api.post(f"/api/servers/{instance.server['id']}/keys", json={"name": "sdk test"})
    assert created.status_code == 201, created.text
    return str(created.json()["key"])


def test_python_sdk_calls_a_tool_through_the_gateway(instance: Instance, tmp_path: Path) -> None:
    out = tmp_path / "py-sdk"
    env = api_env(instance)
    printed = ok("sdk", instance.server["slug"], "--lang", "python", "-o", str(out), env=env)
    package = f"{instance.server['slug'].replace('-', '_')}_client"
    assert package in printed
    assert (out / "pyproject.toml").exists() and (out / package / "client.py").exists()

    script = textwrap.dedent(
        f"""
        import asyncio
        import {package} as sdk

        async def main():
            client = next(getattr(sdk, name) for name in sdk.__all__ if name.endswith("Client"))
            async with client() as c:
                print((await c.echo(text="hi"))["content"][0]["text"])
                try:
                    await c.crash()
                except sdk.MCPHostError as exc:
                    print("raised", type(exc).__name__, exc)

        asyncio.run(main())
        """
    )
    run_env = instance.env(PYTHONPATH=str(out), MCPHOST_KEY=access_key(instance))
    done = subprocess.run(
        [sys.executable, "-c", script], env=run_env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "hi"
    assert lines[1].startswith("raised RpcError"), lines


def test_sdk_refuses_a_directory_that_is_not_empty(instance: Instance, tmp_path: Path) -> None:
    out = tmp_path / "busy"
    out.mkdir()
    (out / "mine.txt").write_text("keep")
    env = api_env(instance)
    slug = instance.server["slug"]
    refused = processes.run("sdk", slug, "--lang", "python", "-o", str(out), env=env)
    assert "--force" in one_line_error(refused)
    assert sorted(p.name for p in out.iterdir()) == ["mine.txt"]

    ok("sdk", slug, "--lang", "typescript", "-o", str(out), "--force", "--package-name", "@me/srv", env=env)
    assert (out / "mine.txt").read_text() == "keep"
    assert json.loads((out / "package.json").read_text())["name"] == "@me/srv"

    bad = processes.run("sdk", slug, "--lang", "python", "-o", str(tmp_path / "x"), "--package-name", "a-b", env=env)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    missing = processes.run("sdk", "nope", "--lang", "python", "-o", str(tmp_path / "y"), env=env)
    assert "nope" in one_line_error(missing)


def tsc_js() -> Path:
    path = tools_dir() / "typescript" / "node_modules" / "typescript" / "bin" / "tsc"
    if not path.exists():
        raise AssertionError(f"TypeScript is not installed at {path}; install it with `{INSTALL_COMMAND}`")
    return path


def test_typescript_sdk_compiles_and_calls_a_tool_with_node(instance: Instance, tmp_path: Path) -> None:
    node, tsc = node22_bin(), tsc_js()  # a missing tool fails the test, never skips it
    out = tmp_path / "ts-sdk"
    ok("sdk", instance.server["slug"], "--lang", "typescript", "-o", str(out), env=api_env(instance))
    compiled = subprocess.run([node, tsc, "-p", str(out)], capture_output=True, text=True, timeout=120, check=False)
    assert compiled.returncode == 0, compiled.stdout + compiled.stderr
    assert (out / "dist" / "index.js").exists() and (out / "dist" / "index.d.ts").exists()

    script = tmp_path / "call.mjs"
    script.write_text(
        textwrap.dedent(
            f"""
            import * as sdk from {json.dumps((out / "dist" / "index.js").as_uri())};
            const isClient = (value) => typeof value === "function" && value.name.endsWith("Client");
            const Client = Object.values(sdk).find(isClient);
            const client = new Client();
            const result = await client.echo({{ text: "hi" }});
            console.log(result.content[0].text);
            try {{
              await client.crash();
              console.log("no error");
            }} catch (error) {{
              console.log("raised", error.name, error.message);
            }}
            await client.close();
            """
        )
    )
    run_env = instance.env(MCPHOST_KEY=access_key(instance))
    done = subprocess.run([node, script], env=run_env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "hi"
    assert lines[1].startswith("raised RpcError"), lines
