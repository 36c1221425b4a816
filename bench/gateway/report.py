"""The gateway benchmark's results as markdown, and their place in docs/benchmarks.md (the "Gateway" section)."""

from __future__ import annotations

import argparse
import platform
import re
import subprocess
import textwrap
from dataclasses import dataclass
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "benchmarks.md"
PLACEHOLDER = "The gateway benchmark against peers (issue 4) will be added here.\n"
HEADING = "## Gateway against peers (`bench/gateway/compare.py`)"

METHOD = """\
`tools/call echo` through each gateway to the same stdio backend, on one MCP session per run: the session is
opened (`initialize`, `notifications/initialized`), warmed up, then N workers call on it for the window, each over
its own keep-alive HTTP/1.1 connection and waiting for its answer before the next call. One load generator serves
every HTTP target (`bench/gateway/loadgen.py`, asyncio streams on uvloop, JSON and SSE answers); "direct stdio
pipes" is the limit: the same calls written straight to the backend's stdin by `mcphost.mcp.StdioConnection`.
Targets are started fresh for each repetition and interleaved, so they share the machine's load.

- MCP Host: `mcphost up` on a scratch home, the backend as a command server (process runtime, sandbox off like
  the peers, tracing on as by default, the per-key rate limit raised out of the way), called at `/mcp/{slug}`
  with an access key.
- supergateway: `--stdio CMD --outputTransport streamableHttp --stateful` (one backend per session).
- mcp-proxy (sparfenyuk): its stdio→Streamable HTTP server mode, stateful (`mcp-proxy --port P -- CMD`).
- fastmcp: `create_proxy(StdioTransport(CMD))` served with `run("http")` (`bench/gateway/fastmcp_proxy.py`).

Backends: the standard-library fixture server (`tests/fixtures/echo_server.py`) and the official SDK's
`MCPServer` (`bench/gateway/sdk_echo.py`, mcp 2.x). Gateway CPU is utime + stime, from `/proc/<pid>/stat`, of the
gateway's process and its descendants over the window, per completed call; RSS is their sum at the end. The
backend is left out of both: every process whose command line names the backend's script, and its descendants
(for MCP Host the backend is a child of the platform; for supergateway, a child through a shell). Client CPU is
the load generator's own, to show it is not the bottleneck. On 2 cores the client, the gateway and the backend
compete for the CPU, so calls/s is a shared figure; CPU per call is the fairer comparison of gateways."""


@dataclass
class Run:
    calls_per_s: float
    p50_ms: float
    p99_ms: float
    errors: int
    gateway_cpu_ms: float | None  # per call
    gateway_rss_mib: float | None
    client_cpu_ms: float  # per call


@dataclass
class Row:
    backend: str
    target: str
    concurrency: int
    run: Run


def _optional(value: float | None, form: str) -> str:
    return "—" if value is None else form.format(value)


def build() -> str:
    """MCP Host's version and the commit it was measured at (+ when the work tree had changes)."""
    from mcphost import __version__

    def git(*arguments: str) -> str:
        done = subprocess.run(["git", *arguments], cwd=DOC.parents[1], capture_output=True, text=True, check=False)
        return done.stdout.strip()

    commit = git("rev-parse", "--short", "HEAD") or "unknown commit"
    return f"MCP Host {__version__} at {commit}{'+changes' if git('status', '--porcelain', 'src') else ''}"


def markdown(rows: list[Row], failed: dict[str, str], options: argparse.Namespace, load: tuple[float, float]) -> str:
    parts = [HEADING, "", METHOD, ""]
    parts.append(
        textwrap.fill(
            f"Windows of {options.seconds:g} s after {options.warmup:g} s of warm-up, median of {options.reps} "
            f"(errors summed over them); Python {platform.python_version()}, {build()}. Load average (1 min) at the "
            f"start {load[0]:.1f}, at the end {load[1]:.1f} (the benchmark itself accounts for about 2).",
            width=115,
        )
    )
    for backend in dict.fromkeys(row.backend for row in rows):
        parts += ["", f"Backend: {backend}", ""]
        parts.append(
            "| target | in flight | calls/s | p50 | p99 | errors | gateway CPU per call | gateway RSS "
            "| client CPU per call |"
        )
        parts.append("|---|---|---|---|---|---|---|---|---|")
        for row in sorted((r for r in rows if r.backend == backend), key=lambda r: r.concurrency):
            run = row.run
            parts.append(
                f"| {row.target} | {row.concurrency} | {run.calls_per_s:,.0f} | {run.p50_ms:.2f} ms "
                f"| {run.p99_ms:.2f} ms | {run.errors} | {_optional(run.gateway_cpu_ms, '{:.3f} ms')} "
                f"| {_optional(run.gateway_rss_mib, '{:.0f} MiB')} | {run.client_cpu_ms:.3f} ms |"
            )
    for target, reason in failed.items():
        parts += ["", f"Not measured: {target}: {reason}"]
    return "\n".join(parts) + "\n"


def write_section(section: str, doc: Path = DOC) -> None:
    """Replace the gateway section (or the placeholder for it) in the benchmarks document, or append it."""
    text = doc.read_text()
    existing = re.search(rf"^{re.escape(HEADING)}\n.*?(?=^## |\Z)", text, flags=re.M | re.S)
    if existing:
        text = text[: existing.start()] + section + ("\n" if text[existing.end() :] else "") + text[existing.end() :]
    elif PLACEHOLDER in text:
        text = text.replace(PLACEHOLDER, section)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    doc.write_text(text)
