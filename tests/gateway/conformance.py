"""Run the official MCP conformance suite (npm `@modelcontextprotocol/conformance`) against a server URL.

`scripts/install_node_tools.sh` installs the suite, one npm prefix per version, under `.ci/node/<version>`, with
Node 22 (the suite needs Node >= 22) in the `0.1.16` prefix. `MCPHOST_CONFORMANCE_DIR` moves that root.

    result = await run_suite(url, version="0.1.16", scenarios=["server-initialize"])
    assert result.failed == {}, result.report()
    result = await run_suite(url, version="0.2.0-alpha.12", requirements="2026-07-28")

A scenario fails when any of its checks is FAILURE or WARNING (the suite itself only fails on FAILURE; its
warnings are SHOULDs a gateway must not break either). In CI a missing suite is an error, never a skip.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "FIXTURE_SERVER",
    "VERSIONS",
    "ConformanceSuiteMissing",
    "SuiteResult",
    "conformance_bin",
    "fixture_server_http",
    "node22_bin",
    "run_suite",
]

VERSIONS = ("0.1.16", "0.2.0-alpha.12")
ENV = "MCPHOST_CONFORMANCE_DIR"
REPO = Path(__file__).resolve().parents[2]
# The server implementing what the scenarios call: `python FIXTURE_SERVER` is stdio, `--http PORT` HTTP.
FIXTURE_SERVER = REPO / "tests" / "fixtures" / "conformance_server.py"
INSTALL_COMMAND = "bash scripts/install_node_tools.sh"
# Read at import too: tests/conftest.py strips every MCPHOST_* variable from the environment before each test.
_ENV_AT_IMPORT = os.environ.get(ENV)
# The suite names each result directory `server-<scenario>-<ISO timestamp with : and . as ->`.
_RESULT_DIR = re.compile(r"^server-(?P<scenario>.+)-\d{4}-\d{2}-\d{2}T[\d-]+Z$")
_FAILING = ("FAILURE", "WARNING")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


class ConformanceSuiteMissing(RuntimeError):
    """The suite (or Node 22 to run it) is not installed where the tests look."""


def tools_dir() -> Path:
    """Where the Node tools live: `$MCPHOST_CONFORMANCE_DIR` (relative to the repository) or `.ci/node`."""
    configured = os.environ.get(ENV) or _ENV_AT_IMPORT
    return REPO / configured if configured else REPO / ".ci" / "node"


def conformance_bin(version: str) -> Path:
    """The `conformance` executable of an installed suite version; raises when it is not installed."""
    if version not in VERSIONS:
        raise ValueError(f"unknown conformance suite version {version!r}; the tests use {', '.join(VERSIONS)}")
    path = tools_dir() / version / "node_modules" / ".bin" / "conformance"
    if not path.exists():
        raise ConformanceSuiteMissing(
            f"the MCP conformance suite {version} is not installed at {path}; install it with `{INSTALL_COMMAND}`"
        )
    return path


@functools.cache
def _node_major(node: Path) -> int:
    try:
        completed = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30, check=True)
    except (OSError, subprocess.SubprocessError):
        return 0
    match = re.match(r"v(\d+)\.", completed.stdout.strip())
    return int(match.group(1)) if match else 0


def node22_bin(version: str = VERSIONS[0]) -> Path:
    """A Node >= 22: the one installed next to the suite `version`, else any under the tools root, else PATH's."""
    root = tools_dir()
    candidates = [root / version / "node_modules" / ".bin" / "node"]
    candidates += sorted(root.glob("*/node_modules/.bin/node"))
    system = shutil.which("node")
    if system:
        candidates.append(Path(system))
    for candidate in candidates:
        if candidate.exists() and _node_major(candidate) >= 22:
            return candidate
    raise ConformanceSuiteMissing(
        f"no Node >= 22 under {root} or on PATH (the conformance suite needs it); install it with `{INSTALL_COMMAND}`"
    )


@dataclass
class SuiteResult:
    """Per-scenario outcome of one run: `failed` maps a scenario to its failing checks' messages."""

    version: str
    url: str
    passed: set[str] = field(default_factory=set)
    failed: dict[str, list[str]] = field(default_factory=dict)
    output: str = ""
    seconds: float = 0.0

    def report(self) -> str:
        """A readable summary for an assertion message: every failure, then the tail of the suite's output."""
        lines = [
            f"conformance {self.version} against {self.url}: {len(self.passed)} passed, {len(self.failed)} failed"
            f" in {self.seconds:.1f}s"
        ]
        for scenario, messages in sorted(self.failed.items()):
            lines.append(f"  {scenario}:")
            lines.extend(f"    - {message}" for message in messages)
        if self.failed:
            lines.append("suite output (tail):")
            lines.extend("  " + line for line in self.output.splitlines()[-40:])
        return "\n".join(lines)


def _read_results(directory: Path) -> dict[str, list[dict[str, object]]]:
    checks: dict[str, list[dict[str, object]]] = {}
    for path in sorted(directory.glob("*/checks.json")):
        match = _RESULT_DIR.match(path.parent.name)
        scenario = match.group("scenario") if match else path.parent.name
        checks.setdefault(scenario, []).extend(json.loads(path.read_text()))
    return checks


def _failures(checks: list[dict[str, object]]) -> list[str]:
    return [
        f"{check.get('status')} {check.get('name') or check.get('id')}: "
        f"{check.get('errorMessage') or check.get('description')}"
        for check in checks
        if check.get("status") in _FAILING
    ]


async def _run(argv: list[str], env: dict[str, str], deadline: float) -> tuple[int | None, str]:
    """Run one suite invocation; returns (exit status or None on timeout, combined output)."""
    process = await asyncio.create_subprocess_exec(
        *argv,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env=env,
        start_new_session=True,  # its own process group, so a timeout ends everything it started
    )
    try:
        async with asyncio.timeout(max(deadline - time.monotonic(), 0.1)):
            stdout, _ = await process.communicate()
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        stdout, _ = await process.communicate()
        return None, stdout.decode(errors="replace")
    return process.returncode, stdout.decode(errors="replace")


async def run_suite(
    url: str,
    *,
    version: str,
    scenarios: Sequence[str] | None = None,
    spec_version: str | None = None,
    requirements: str | None = None,
    timeout: float = 300.0,
    output_dir: Path | None = None,
) -> SuiteResult:
    """Run the suite's server scenarios against `url`: the listed `scenarios` one by one, or (None) in one go the
    active suite, or with `requirements` (0.2.0: "2025-11-25", "2026-07-28") exactly what that revision requires plus
    what the suite runs unscored. Async, so a server in this event loop keeps serving. `output_dir` keeps the raw
    results."""
    suite = conformance_bin(version)
    node = node22_bin(version)
    env = {**os.environ, "PATH": f"{node.parent}{os.pathsep}{os.environ.get('PATH', '')}", "NO_COLOR": "1"}
    base = [str(node), str(suite.resolve()), "server", "--url", url]
    if spec_version:
        base += ["--spec-version", spec_version]
    if requirements:
        base += ["--requirements", requirements]
    invocations = [[*base, "--scenario", name] for name in scenarios] if scenarios is not None else [base]

    result = SuiteResult(version=version, url=url)
    started = time.monotonic()
    deadline = started + timeout
    with tempfile.TemporaryDirectory(prefix="conformance-") as scratch:
        results = Path(tempfile.mkdtemp(prefix=f"{version}-", dir=output_dir)) if output_dir else Path(scratch)
        outputs: list[str] = []
        crashed: list[str] = []
        for argv in invocations:
            status, output = await _run([*argv, "-o", str(results)], env, deadline)
            outputs.append(output)
            if status is None:
                crashed.append(f"timed out after {timeout:.0f}s running {' '.join(argv[2:])}")
                break
        result.output = _ANSI.sub("", "\n".join(outputs))
        for scenario, checks in _read_results(results).items():
            if failures := _failures(checks):
                result.failed[scenario] = failures
            else:
                result.passed.add(scenario)
    for name in scenarios or ():
        if name not in result.passed and name not in result.failed:
            result.failed[name] = ["no results: the scenario did not run (unknown, or not for this --spec-version?)"]
    if crashed or (not result.passed and not result.failed):
        result.failed["(suite)"] = crashed or ["the suite wrote no results"]
    result.seconds = time.monotonic() - started
    return result


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@asynccontextmanager
async def fixture_server_http(*, check_host: bool = False, startup: float = 30.0) -> AsyncIterator[str]:
    """Run the conformance fixture over Streamable HTTP on a free port; yields its URL (`.../mcp`).

    `check_host` turns on the SDK's localhost Host/Origin checks (only `dns-rebinding-protection` needs them when
    the suite talks to the fixture directly; behind the gateway, the gateway does that job)."""
    port = _free_port()
    argv = [sys.executable, str(FIXTURE_SERVER), "--http", str(port), *(["--check-host"] if check_host else [])]
    with tempfile.TemporaryFile() as log:  # a file, not a pipe: nobody reads it while the fixture runs
        process = await asyncio.create_subprocess_exec(*argv, stdin=asyncio.subprocess.DEVNULL, stdout=log, stderr=log)
        try:
            async with asyncio.timeout(startup):
                while not await _accepts_connections(port):
                    if process.returncode is not None:
                        log.seek(0)
                        raise RuntimeError(f"the conformance fixture exited: {log.read().decode()[-2000:]}")
                    await asyncio.sleep(0.05)
            yield f"http://127.0.0.1:{port}/mcp"
        finally:
            if process.returncode is None:
                process.terminate()
                try:
                    async with asyncio.timeout(10):
                        await process.wait()
                except TimeoutError:
                    process.kill()
                    await process.wait()


async def _accepts_connections(port: int) -> bool:
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return False
    writer.close()
    await writer.wait_closed()
    return True
