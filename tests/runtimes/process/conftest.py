"""Fixtures for runtime tests: a process runtime in a fresh home; every instance is killed afterwards."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from mcphost.runtimes.process import ProcessRuntime
from tests.runtimes.process.helpers import runtime_settings


@pytest.fixture(params=["sandboxed", "unsandboxed"])
async def runtime(request: pytest.FixtureRequest, home: Path) -> AsyncIterator[ProcessRuntime]:
    """The process runtime, once under bubblewrap and once without it."""
    sandbox = "required" if request.param == "sandboxed" else "off"
    process_runtime = ProcessRuntime(runtime_settings(home, sandbox=sandbox, stop_grace_seconds=1))
    try:
        yield process_runtime
    finally:
        await process_runtime.close()


@pytest.fixture
async def sandboxed(home: Path) -> AsyncIterator[ProcessRuntime]:
    """The process runtime that refuses to run anything outside bubblewrap (CI installs it)."""
    process_runtime = ProcessRuntime(runtime_settings(home, sandbox="required", stop_grace_seconds=1))
    try:
        yield process_runtime
    finally:
        await process_runtime.close()
