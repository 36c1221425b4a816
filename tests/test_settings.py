"""Settings as an operator meets them: environment variables, the generated secret key, masking, the
bootstrap admin, and the README's configuration table."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from mcphost.settings import SECRET_KEY_FILE, Settings, load_secret_key
from tests.conftest import make_settings
from tests.support.accounts import PASSWORD, assert_error, bearer, sign_in, sign_up
from tests.support.apps import app_client

REPO = Path(__file__).resolve().parent.parent


def test_without_a_secret_key_one_is_generated_once_and_reused(tmp_path: Path) -> None:
    home = tmp_path / "home"
    settings = Settings(home=home)

    first = load_secret_key(settings)
    second = load_secret_key(Settings(home=home))

    key_file = home / SECRET_KEY_FILE
    assert first == second
    assert len(first) >= 32
    assert key_file.read_text().strip().encode() == first
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert home.stat().st_mode & 0o077 == 0


def test_each_home_gets_its_own_key(tmp_path: Path) -> None:
    assert load_secret_key(Settings(home=tmp_path / "a")) != load_secret_key(Settings(home=tmp_path / "b"))


def test_a_configured_secret_key_wins_and_no_file_is_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MCPHOST_SECRET_KEY", "k" * 40)

    key = load_secret_key(Settings(home=tmp_path / "home"))

    assert key == b"k" * 40
    assert not (tmp_path / "home" / SECRET_KEY_FILE).exists()


def test_a_short_secret_key_is_rejected_with_a_clear_message(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MCPHOST_SECRET_KEY", "too-short")

    with pytest.raises(ValidationError) as raised:
        Settings()

    assert "MCPHOST_SECRET_KEY must be at least 32 characters" in str(raised.value)


def test_a_truncated_key_file_is_refused_instead_of_used(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / SECRET_KEY_FILE).write_text("short\n")

    with pytest.raises(RuntimeError, match="shorter than 32 characters"):
        load_secret_key(Settings(home=home))


def test_environment_variables_reach_nested_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MCPHOST_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("MCPHOST_AUTH__ALLOW_SIGNUP", "false")
    monkeypatch.setenv("MCPHOST_SERVER__PORT", "9123")
    monkeypatch.setenv("MCPHOST_JOBS__CONCURRENCY", "7")
    monkeypatch.setenv("MCPHOST_EVENTS__BACKEND", "memory")

    settings = Settings()

    assert settings.home == (tmp_path / "data").resolve()
    assert settings.auth.allow_signup is False
    assert settings.server.port == 9123
    assert settings.jobs.concurrency == 7
    assert settings.event_backend == "memory"
    assert settings.effective_public_url == "http://127.0.0.1:9123"
    assert settings.effective_database_url == f"sqlite+aiosqlite:///{settings.home / 'mcphost.db'}"


async def test_signup_turned_off_in_the_environment_is_enforced(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MCPHOST_AUTH__ALLOW_SIGNUP", "false")
    settings = make_settings(tmp_path / "home", database_url)

    async with app_client(settings) as client:
        await sign_up(client, "first@example.com")
        second = await client.post("/api/auth/register", json={"email": "second@example.com", "password": PASSWORD})

    assert_error(second, 403, "signup_disabled")


def test_masked_hides_every_secret_value() -> None:
    secrets = {
        "secret_key": "masked-secret-key-0123456789-abcdefghijkl",
        "admin_password": "masked-admin-password",
        "metrics_token": "masked-metrics-token",
        "db_password": "masked-db-password",
    }
    settings = Settings(
        secret_key=secrets["secret_key"],
        admin_email="admin@example.com",
        admin_password=secrets["admin_password"],
        server={"metrics_token": secrets["metrics_token"]},
        database_url=f"postgresql+asyncpg://mcphost:{secrets['db_password']}@db.example/mcphost",
    )

    masked = settings.masked()

    rendered = repr(masked)
    assert not [name for name, value in secrets.items() if value in rendered]
    assert masked["secret_key"] == masked["admin_password"] == "********"
    assert masked["database_url"] == "postgresql+asyncpg://mcphost:***@db.example/mcphost"
    assert masked["admin_email"] == "admin@example.com"
    assert Settings().masked()["secret_key"] is None  # unset is shown as unset, not as a mask


async def test_the_bootstrap_admin_can_sign_in_after_start(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MCPHOST_ADMIN_EMAIL", "root@example.com")
    monkeypatch.setenv("MCPHOST_ADMIN_PASSWORD", "bootstrap admin passphrase")
    settings = make_settings(tmp_path / "home", database_url)

    async with app_client(settings) as client:
        admin = await sign_in(client, "root@example.com", "bootstrap admin passphrase")
        me = await client.get("/api/me", headers=admin.headers)
        users = await client.get("/api/users", headers=admin.headers)
    async with app_client(settings) as client:  # a restart neither fails nor creates the admin twice
        again = await client.get("/api/users", headers=admin.headers)

    assert me.status_code == 200 and me.json()["role"] == "admin"
    assert users.status_code == 200, users.text
    assert [user["email"] for user in again.json()["items"]] == ["root@example.com"]


async def test_sessions_survive_a_restart_with_the_generated_key(tmp_path: Path, database_url: str) -> None:
    settings = make_settings(tmp_path / "home", database_url, secret_key=None)

    async with app_client(settings) as client:
        account = await sign_up(client, "keeper@example.com")
    async with app_client(settings) as client:
        me = await client.get("/api/me", headers=bearer(account.token))

    assert me.status_code == 200, me.text
    assert (tmp_path / "home" / SECRET_KEY_FILE).is_file()


async def test_a_new_key_invalidates_old_sessions(tmp_path: Path, database_url: str) -> None:
    settings = make_settings(tmp_path / "home", database_url, secret_key=None)
    async with app_client(settings) as client:
        account = await sign_up(client, "rotated@example.com")
    (tmp_path / "home" / SECRET_KEY_FILE).unlink()

    async with app_client(settings) as client:
        me = await client.get("/api/me", headers=bearer(account.token))

    assert_error(me, 401)


def test_the_readme_configuration_table_matches_the_settings() -> None:
    result = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "settings_table.py"), "--check", str(REPO / "README.md")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr
