"""The short-lived commands: ``version`` (and the ``mcpctl`` alias), ``db``, ``config show``."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import mcphost
from mcphost.db import migrate
from tests.cli import processes

SECRET_KEY = "config-show-secret-key-0123456789-abcdefghij"
ADMIN_PASSWORD = "config-show-admin-password-zyx"
METRICS_TOKEN = "config-show-metrics-token-qrs"
DB_PASSWORD = "config-show-db-password-tuv"


def test_mcpctl_is_the_same_program_as_mcphost() -> None:
    env = processes.environment()
    ctl = subprocess.run(
        [processes.executable("mcpctl"), "version"], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    host = processes.run("version", env=env)
    ctl_help = subprocess.run(
        [processes.executable("mcpctl"), "--help"], env=env, capture_output=True, text=True, timeout=60, check=False
    )

    assert ctl.returncode == 0 and host.returncode == 0, ctl.stderr + host.stderr
    assert ctl.stdout.strip() == host.stdout.strip() == mcphost.__version__
    assert all(command in ctl_help.stdout for command in ("up", "worker", "db", "config", "version"))


def test_db_upgrade_then_current_on_a_fresh_home(home: Path, empty_database_url: str | None) -> None:
    env = processes.environment(**({"MCPHOST_DATABASE_URL": empty_database_url} if empty_database_url else {}))
    head = migrate.head_revision()

    pending = processes.run("db", "current", "--home", str(home), env=env)
    upgraded = processes.run("db", "upgrade", "--home", str(home), env=env)
    current = processes.run("db", "current", "--home", str(home), env=env)
    again = processes.run("db", "upgrade", "--home", str(home), env=env)

    assert pending.returncode == 1, pending.stdout + pending.stderr  # "migrations are pending"
    assert "current: empty" in pending.stdout
    assert upgraded.returncode == 0, upgraded.stdout + upgraded.stderr
    assert f"at revision {head}" in upgraded.stdout
    assert current.returncode == 0, current.stdout + current.stderr
    assert f"current: {head}" in current.stdout and f"newest:  {head}" in current.stdout
    assert again.returncode == 0, again.stdout + again.stderr
    if empty_database_url is None:
        assert (home / "mcphost.db").is_file()


def test_config_show_masks_every_secret(home: Path) -> None:
    env = processes.environment(
        MCPHOST_SECRET_KEY=SECRET_KEY,
        MCPHOST_ADMIN_EMAIL="admin@example.com",
        MCPHOST_ADMIN_PASSWORD=ADMIN_PASSWORD,
        MCPHOST_SERVER__METRICS_TOKEN=METRICS_TOKEN,
        MCPHOST_DATABASE_URL=f"postgresql+asyncpg://mcphost:{DB_PASSWORD}@db.example:5432/mcphost",
        MCPHOST_AUTH__ALLOW_SIGNUP="false",
    )

    as_json = processes.run("config", "show", "--json", "--home", str(home), env=env)
    as_table = processes.run("config", "show", "--home", str(home), env=env)

    assert as_json.returncode == 0, as_json.stderr
    assert as_table.returncode == 0, as_table.stderr
    for secret in (SECRET_KEY, ADMIN_PASSWORD, METRICS_TOKEN, DB_PASSWORD):
        for output in (as_json.stdout, as_json.stderr, as_table.stdout, as_table.stderr):
            assert secret not in output
    shown = json.loads(as_json.stdout)
    assert shown["secret_key"] == "********"
    assert shown["admin_password"] == "********"
    assert shown["server"]["metrics_token"] not in (None, METRICS_TOKEN)
    assert shown["database_url"] == "postgresql+asyncpg://mcphost:***@db.example:5432/mcphost"
    # What is not secret is shown as it is.
    assert shown["admin_email"] == "admin@example.com"
    assert shown["auth"]["allow_signup"] is False
    assert shown["home"] == str(home)


def test_an_invalid_setting_is_refused_with_a_clear_message(home: Path) -> None:
    env = processes.environment(MCPHOST_SECRET_KEY="too-short")

    result = processes.run("config", "show", "--home", str(home), env=env)

    assert result.returncode != 0
    assert "MCPHOST_SECRET_KEY must be at least 32 characters" in result.stderr
    assert "too-short" not in result.stdout + result.stderr
    assert "Traceback" not in result.stderr
