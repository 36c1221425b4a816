"""The developer loop: ``mcphost create`` scaffolds a project whose own tests pass and which deploys as a command
server on a real process runtime; ``mcphost dev`` serves a stdio server on a local endpoint and prints each call."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from mcphost.catalog.server_json import ServerJson
from tests.cli import processes
from tests.cli.live import EMAIL, PASSWORD, ok, one_line_error
from tests.support.waiting import until

ECHO_SERVER = Path(__file__).parents[1] / "fixtures" / "echo_server.py"
ACCEPT = {"Accept": "application/json, text/event-stream"}


def scaffold(tmp_path: Path, name: str, *extra: str) -> Path:
    target = tmp_path / "project"
    ok("create", name, "-o", str(target), *extra, env=processes.environment())
    return target


def test_create_python_project_passes_its_own_tests(tmp_path: Path) -> None:
    project = scaffold(tmp_path, "My Greeter!")

    module = project / "src" / "my_greeter"
    assert {p.name for p in module.iterdir()} >= {"__init__.py", "__main__.py", "server.py"}
    assert 'dependencies = ["mcp>=2"]' in (project / "pyproject.toml").read_text()
    assert "from mcp.server.mcpserver import MCPServer" in (module / "server.py").read_text()
    assert 'mcphost servers create my-greeter --command "python -m my_greeter"' in (project / "README.md").read_text()
    document = ServerJson.model_validate(json.loads((project / "server.json").read_text()))
    assert document.name == "io.github.example/my-greeter"
    assert document.packages and document.packages[0].registry_type == "pypi"
    assert document.packages[0].identifier == "my-greeter"

    tests = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=project,
        env=processes.environment(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert tests.returncode == 0, f"{tests.stdout}\n{tests.stderr}"
    assert "2 passed" in tests.stdout


def test_create_typescript_project(tmp_path: Path) -> None:
    project = scaffold(tmp_path, "weather", "--lang", "typescript", "--namespace", "io.github.someone")

    package = json.loads((project / "package.json").read_text())
    assert package["name"] == "weather" and "@modelcontextprotocol/sdk" in package["dependencies"]
    assert "registerTool(" in (project / "src" / "index.ts").read_text()
    assert (project / "README.md").exists()
    document = ServerJson.model_validate(json.loads((project / "server.json").read_text()))
    assert document.name == "io.github.someone/weather"
    assert document.packages and document.packages[0].registry_type == "npm"


def test_create_sanitises_names_and_never_overwrites(tmp_path: Path) -> None:
    env = processes.environment()
    project = scaffold(tmp_path, "42 Tools")
    assert (project / "src" / "mcp_42_tools" / "server.py").exists()

    again = processes.run("create", "other", "-o", str(project), env=env)
    assert "not empty" in one_line_error(again)
    assert not (project / "src" / "other").exists()
    nothing = processes.run("create", "!!!", "-o", str(tmp_path / "x"), env=env)
    one_line_error(nothing)
    empty = tmp_path / "empty"
    empty.mkdir()
    ok("create", "fine", "-o", str(empty), env=env)  # an empty directory is fine
    assert (empty / "server.json").exists()


@pytest.fixture
def process_instance(home: Path, cli_env: dict[str, str], tmp_path: Path) -> Iterator[tuple[str, str]]:
    """A running ``mcphost up`` whose servers run as real processes; yields its URL and the admin's token."""
    port = processes.free_port()
    url = f"http://127.0.0.1:{port}"
    env = cli_env | {
        "MCPHOST_RUNTIME__DEFAULT": "process",
        "MCPHOST_RUNTIME__HOST": "true",
        "MCPHOST_RUNTIME__SANDBOX": "off",
        "MCPHOST_JOBS__POLL_INTERVAL": "0.05",
    }
    with processes.start("up", "--home", str(home), "--port", str(port), env=env, logs=tmp_path / "logs") as up:
        up.wait_for(lambda: processes.answers(f"{url}/healthz"), "answer on /healthz")
        with httpx.Client(base_url=url, timeout=10) as http:
            assert http.post("/api/auth/register", json={"email": EMAIL, "password": PASSWORD}).status_code == 201
            token = http.post("/api/auth/login", json={"email": EMAIL, "password": PASSWORD}).json()["access_token"]
        yield url, token


def test_a_scaffolded_project_deploys_as_a_command_server(tmp_path: Path, process_instance: tuple[str, str]) -> None:
    url, token = process_instance
    project = scaffold(tmp_path, "greeter")
    user_home = tmp_path / "user"
    user_home.mkdir()
    env = processes.environment(
        HOME=str(user_home), XDG_CONFIG_HOME=str(user_home / ".config"), MCPHOST_URL=url, MCPHOST_TOKEN=token
    )

    created = processes.run(
        "servers",
        "create",
        "greeter",
        "--command",
        f"{sys.executable} -m greeter",
        "--env",
        f"PYTHONPATH={project / 'src'}",
        "--wait",
        env=env,
        timeout=120,
    )
    assert created.returncode == 0, f"{created.stdout}\n{created.stderr}"
    assert created.stdout.rstrip().endswith("greeter is running")

    def greeting() -> str | None:
        called = processes.run("servers", "call", "greeter", "greet", "--arg", "name=Ada", env=env)
        return called.stdout if called.returncode == 0 else None

    assert "Hello, Ada!" in until(greeting, "an answer from greet", timeout=30)


def post(http: httpx.Client, url: str, message: dict[str, object]) -> httpx.Response:
    return http.post(url, json=message, headers=ACCEPT)


def test_dev_serves_a_stdio_server_and_prints_each_call(tmp_path: Path) -> None:
    port = processes.free_port()
    url = f"http://127.0.0.1:{port}/mcp"
    env = processes.environment()
    command = ("dev", "--port", str(port), "--", sys.executable, str(ECHO_SERVER))

    with processes.start(*command, env=env, logs=tmp_path / "dev") as dev:
        dev.wait_for(lambda: url in dev.stdout, "the endpoint's URL")
        with httpx.Client(timeout=10) as http:
            initialize = {
                "jsonrpc": "2.0",
                "id": 1,
                "method": "initialize",
                "params": {
                    "protocolVersion": "2025-06-18",
                    "capabilities": {},
                    "clientInfo": {"name": "t", "version": "1"},
                },
            }
            answer = post(http, url, initialize)
            assert answer.status_code == 200, answer.text
            assert answer.json()["result"]["serverInfo"]["name"] == "echo-fixture"
            assert post(http, url, {"jsonrpc": "2.0", "method": "notifications/initialized"}).status_code == 202
            call = {
                "jsonrpc": "2.0",
                "id": "call-1",
                "method": "tools/call",
                "params": {"name": "echo", "arguments": {"text": "hello dev"}},
            }
            echoed = post(http, url, call)
            assert echoed.status_code == 200, echoed.text
            assert echoed.json()["id"] == "call-1"
            assert echoed.json()["result"]["content"][0]["text"] == "hello dev"
            failed = post(http, url, call | {"id": 2, "params": {"name": "fail", "arguments": {}}})
            assert failed.json()["result"]["isError"] is True

        def printed(tool: str, status: str) -> bool:
            return any("tools/call" in line and tool in line and status in line for line in dev.stdout.splitlines())

        dev.wait_for(lambda: printed("echo", " ok"), "a line for the echo call", timeout=10)
        dev.wait_for(lambda: printed("fail", "error"), "a line for the failed call", timeout=10)
        code, _ = dev.stop(signal.SIGINT)

    assert code == 0, dev.describe()
    assert "Traceback" not in dev.stderr


def test_dev_exits_1_when_the_server_exits(tmp_path: Path) -> None:
    port = processes.free_port()
    url = f"http://127.0.0.1:{port}/mcp"
    env = processes.environment()
    command = ("dev", "--port", str(port), "--", sys.executable, str(ECHO_SERVER))

    with processes.start(*command, env=env, logs=tmp_path / "dev") as dev:
        dev.wait_for(lambda: url in dev.stdout, "the endpoint's URL")
        call = {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "tools/call",
            "params": {"name": "crash", "arguments": {}},
        }
        httpx.post(url, json=call, headers=ACCEPT, timeout=10)
        code = dev.process.wait(processes.STOP_TIMEOUT)

    assert code == 1, dev.describe()
    assert "exited" in dev.stdout
    assert "Traceback" not in dev.stderr
