"""Fixtures for the build tests: build settings that allow file://, git:// and http:// git URLs and keep their
temporary checkouts in the test's own directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from mcphost.settings import BuildSettings


@pytest.fixture
def workspaces(tmp_path: Path) -> Path:
    path = tmp_path / "workspaces"
    path.mkdir()
    return path


@pytest.fixture
def build_settings(workspaces: Path) -> BuildSettings:
    return BuildSettings(
        allow_git_schemes=["file", "git", "http"],
        workspace_dir=workspaces,
        clone_timeout_seconds=60,
    )
