"""Fixtures of the job queue tests: a started platform with a quick queue (short polls, leases and backoff)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from mcphost.platform import Platform
from mcphost.settings import Settings
from tests.conftest import make_settings

QUICK_JOBS = {
    "poll_interval": 0.05,
    "lease_seconds": 5.0,
    "backoff_base_seconds": 0.2,
    "backoff_max_seconds": 10.0,
    "concurrency": 4,
}


@pytest.fixture
def job_settings(tmp_path: Path, database_url: str) -> Settings:
    return make_settings(tmp_path / "home", database_url, jobs=QUICK_JOBS)


@pytest.fixture
async def platform(job_settings: Settings) -> AsyncIterator[Platform]:
    """A started platform without background services: each test runs the workers it needs."""
    instance = Platform.create(job_settings)
    await instance.start(services=False)
    try:
        yield instance
    finally:
        await instance.stop()
