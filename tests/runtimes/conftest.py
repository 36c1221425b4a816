"""Fixtures every runtime backend's tests use: a fresh home, and a server's data directory in it."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "home" / "servers" / "test-server" / "data"
