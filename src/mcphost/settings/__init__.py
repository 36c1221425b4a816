"""Settings: nested pydantic-settings models read from ``MCPHOST_*`` environment variables.

Top-level fields use a flat name (``MCPHOST_HOME``, ``MCPHOST_DATABASE_URL``); nested groups use a double
underscore (``MCPHOST_AUTH__ALLOW_SIGNUP=false``). The app is always built from a ``Settings`` instance
(``create_app(settings)``), never from import-time globals.
"""

from __future__ import annotations

import os
import secrets
import socket
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# The groups that live in their own modules, importable from here like every other group.
from mcphost.settings.containers import BuildSettings as BuildSettings
from mcphost.settings.containers import DockerSettings as DockerSettings
from mcphost.settings.containers import RegistryCredential as RegistryCredential
from mcphost.settings.containers import RegistrySettings as RegistrySettings
from mcphost.settings.domains import DomainSettings as DomainSettings
from mcphost.settings.evaluations import EvaluationSettings as EvaluationSettings
from mcphost.settings.files import FileSettings as FileSettings
from mcphost.settings.integrations import IntegrationSettings as IntegrationSettings
from mcphost.settings.kubernetes import KubernetesSettings as KubernetesSettings
from mcphost.settings.nodes import NodeSettings as NodeSettings
from mcphost.settings.oauth import OAuthSettings as OAuthSettings
from mcphost.settings.secret_store import SecretSettings as SecretSettings
from mcphost.settings.secret_store import VaultSettings as VaultSettings
from mcphost.settings.vectors import IngestionSettings as IngestionSettings
from mcphost.settings.vectors import VectorSettings as VectorSettings
from mcphost.settings.workflows import WorkflowSettings as WorkflowSettings

SECRET_KEY_FILE = "secret.key"  # noqa: S105 (a file name)
MIN_SECRET_KEY_LENGTH = 32


class ServerSettings(BaseModel):
    """Where ``mcphost up`` listens."""

    host: str = Field("127.0.0.1", description="Interface the HTTP server binds to.")
    port: int = Field(8700, ge=1, le=65535, description="TCP port the HTTP server listens on.")
    max_body_bytes: int = Field(
        1_048_576, ge=1024, description="Largest request body the API accepts; larger bodies get 413."
    )
    metrics_token: SecretStr | None = Field(
        None, description="When set, /metrics requires 'Authorization: Bearer <this token>'."
    )
    trusted_proxies: list[str] = Field(
        default_factory=list,
        description="Proxy addresses whose X-Forwarded-For header is trusted for the client address.",
    )


class DatabaseSettings(BaseModel):
    """Connection tuning; the URL itself is the top-level ``database_url``."""

    pool_size: int = Field(10, ge=1, description="PostgreSQL connection pool size per process.")
    echo: bool = Field(False, description="Log every SQL statement (debugging only).")
    sqlite_busy_timeout_ms: int = Field(
        10_000, ge=0, description="How long a SQLite writer waits for the write lock before failing."
    )
    migrate_on_start: bool = Field(True, description="Apply pending migrations when the platform starts.")


class AuthSettings(BaseModel):
    """Accounts, sessions and tokens."""

    allow_signup: bool = Field(
        True, description="Let anyone register. When off, only the first user and invited emails can."
    )
    session_ttl_minutes: int = Field(720, ge=1, le=60 * 24 * 90, description="Lifetime of a login session and its JWT.")
    min_password_length: int = Field(10, ge=8, le=128, description="Shortest password accepted.")
    min_password_score: int = Field(
        3,
        ge=0,
        le=4,
        description="Lowest strength a new password needs on zxcvbn's scale (0 too guessable … 4 very unguessable; "
        "3 refuses common passwords, keyboard patterns, repeats and words with digits appended).",
    )
    default_server_quota: int = Field(5, ge=0, description="Servers a new user may own.")
    default_org_server_quota: int = Field(20, ge=0, description="Servers a new organisation may own.")
    login_attempts: int = Field(
        10, ge=1, description="Failed sign-ins allowed per address and email within the window."
    )
    login_accounts_per_address: int = Field(
        10,
        ge=1,
        description="Different emails that may fail to sign in from one client address within the window; then "
        "that address may sign in only with the emails already tried until the window passes (against password "
        "spraying). A user mistyping their own password counts once, so people behind one NAT rarely reach it.",
    )
    login_window_seconds: int = Field(300, ge=1, description="Window for counting failed sign-ins.")
    max_token_days: int = Field(365, ge=1, description="Longest lifetime of a personal access token.")
    default_token_days: int = Field(
        90,
        ge=1,
        description="Lifetime of a personal access token created without one (the API's default, which the CLI and "
        "the console use too); capped by max_token_days.",
    )
    allow_non_expiring_tokens: bool = Field(
        False,
        description="Allow personal access tokens that never expire (API: expires_in_days null; CLI: tokens create "
        "--no-expiry; console: 'never').",
    )
    password_hash_memory_kib: int = Field(
        65536, ge=1024, description="Memory cost of argon2id password hashing, in KiB."
    )
    password_hash_iterations: int = Field(3, ge=1, le=20, description="Time cost of argon2id password hashing.")


class JobSettings(BaseModel):
    """The durable job queue and its worker."""

    concurrency: int = Field(4, ge=1, le=256, description="Jobs one worker runs at the same time.")
    poll_interval: float = Field(1.0, gt=0, description="Seconds between queue polls when idle.")
    lease_seconds: float = Field(
        30.0,
        gt=0,
        description="How long a claim lasts without a heartbeat before another worker may take it.",
    )
    backoff_base_seconds: float = Field(2.0, gt=0, description="First retry delay; doubles per attempt.")
    backoff_max_seconds: float = Field(600.0, gt=0, description="Longest retry delay.")
    retention_days: int = Field(7, ge=1, description="Finished jobs older than this are purged.")


class EventSettings(BaseModel):
    """The publish/subscribe bus."""

    backend: Literal["auto", "memory", "postgres"] = Field(
        "auto",
        description="'memory' (one process), 'postgres' (LISTEN/NOTIFY across replicas) or 'auto' "
        "(postgres when the database is PostgreSQL).",
    )
    replay_buffer: int = Field(1000, ge=0, description="Recent events kept for SSE clients that reconnect.")
    subscriber_queue: int = Field(1000, ge=1, description="Events buffered per slow subscriber before dropping.")
    sse_heartbeat_seconds: float = Field(
        15.0, gt=0, description="Interval of SSE keep-alive comments and of re-checking a stream's credentials."
    )
    listener_check_seconds: float = Field(
        30.0, gt=0, description="How often the PostgreSQL bus checks that its listening connection is alive."
    )


class ServiceSettings(BaseModel):
    """Background loops that run inside ``mcphost up`` or ``mcphost worker``."""

    enabled: bool = Field(True, description="Run background services in the API process.")
    job_worker: bool = Field(True, description="Run the job worker loop.")
    maintenance: bool = Field(True, description="Run the maintenance loop (purges, expiry).")
    maintenance_interval_seconds: float = Field(300.0, gt=0, description="Interval of the maintenance loop.")


class RuntimeSettings(BaseModel):
    """Where and how hosted MCP servers run."""

    default: str = Field(
        "process",
        description="Runtime for new package, catalog and command servers: process (this machine). Image and git "
        "sources go to Docker (docker.default_for_images); a server may name its runtime.",
    )
    host: bool = Field(
        True,
        description="Host this node's servers in this process (mcphost up). Off for API-only replicas; "
        "mcphost worker never hosts them.",
    )
    node_name: str = Field(
        default_factory=socket.gethostname,
        description="Name of this node; servers of the process runtime run on the node that created them.",
    )
    allow_user_commands: bool = Field(
        False,
        description="Let non-admin users deploy 'command' sources: programs and paths of this machine, mounted "
        "read-only into the sandbox (packages only see their own environment).",
    )
    sandbox: Literal["auto", "required", "off"] = Field(
        "auto",
        description="Run servers under bubblewrap with a network of their own: 'auto' when installed (warn "
        "otherwise), 'required' (refuse to run without bubblewrap, or without pasta/slirp4netns for a server "
        "with network access) or 'off'.",
    )
    bwrap_path: str | None = Field(None, description="The bubblewrap executable (default: found on PATH).")
    network_helper: Literal["auto", "pasta", "slirp4netns"] = Field(
        "auto",
        description="What connects a sandboxed server's own network namespace to the outside: 'auto' is pasta "
        "(Debian package passt), else slirp4netns. Neither reaches the host's loopback or addresses.",
    )
    host_loopback_ports: list[Annotated[int, Field(ge=1, le=65535)]] = Field(
        default_factory=list,
        description="TCP ports of this machine's loopback that sandboxed servers may reach at 127.0.0.1:PORT "
        "(e.g. [6379] for a local Redis; needs pasta). Empty: servers reach nothing on this machine.",
    )
    cgroups: Literal["auto", "off"] = Field(
        "auto", description="Enforce memory/CPU/process limits with cgroups when usable ('off': rlimits only)."
    )
    max_pids: int = Field(
        256,
        ge=8,
        description="Processes and threads one server instance may have (pids cgroup; without one, RLIMIT_NPROC "
        "per server uid when MCP Host runs as root).",
    )
    server_uid_base: int = Field(
        1_000_000_000,
        ge=1000,
        description="When MCP Host runs as root: the first host uid (and gid) given to servers, one per server.",
    )
    server_uid_count: int = Field(
        65_536, ge=1, description="How many host uids from server_uid_base servers may be given."
    )
    python: str | None = Field(
        None, description="Python interpreter for PyPI server environments (default: the one running MCP Host)."
    )
    install_timeout_seconds: float = Field(600.0, gt=0, description="Longest package installation.")
    start_timeout_seconds: float = Field(60.0, gt=0, description="Longest wait for a server's MCP handshake.")
    stop_grace_seconds: float = Field(5.0, ge=0, description="Time a stopping server gets before it is killed.")
    restart_backoff_seconds: float = Field(1.0, gt=0, description="First restart delay after a crash; doubles.")
    restart_backoff_max_seconds: float = Field(60.0, gt=0, description="Longest restart delay.")
    crash_loop_restarts: int = Field(
        5, ge=1, description="Consecutive crashes after which a server is put in 'error' instead of restarted."
    )
    health_check_interval_seconds: float = Field(30.0, gt=0, description="Interval of MCP ping health checks.")
    health_check_timeout_seconds: float = Field(10.0, gt=0, description="A ping slower than this fails.")
    health_check_failures: int = Field(3, ge=1, description="Failed pings in a row before a restart.")


class ServerLogSettings(BaseModel):
    """What is kept of hosted servers' output."""

    max_lines_per_server: int = Field(5000, ge=100, description="Newest log lines kept per server.")
    max_bytes_per_server: int = Field(5_000_000, ge=10_000, description="Log bytes kept per server.")
    max_line_chars: int = Field(4000, ge=80, description="Longer lines are cut.")
    buffer_lines: int = Field(20_000, ge=100, description="Lines buffered for writing before new ones are dropped.")
    flush_interval_seconds: float = Field(0.5, gt=0, description="How often buffered lines are written.")


class GatewaySettings(BaseModel):
    """The MCP endpoint ``/mcp/{slug}`` that clients connect to."""

    allowed_origins: list[str] = Field(
        default_factory=list,
        description="Browser origins allowed to call the MCP endpoint besides the platform's own "
        "(e.g. https://app.example.com); '*' allows any. Requests from other origins get 403.",
    )
    allowed_hosts: list[str] = Field(
        default_factory=list,
        description="Host header values accepted besides the public URL's host and localhost "
        "(DNS rebinding protection); '*' accepts any.",
    )
    max_message_bytes: int = Field(
        4_194_304, ge=1024, description="Largest JSON-RPC message a client may POST; larger bodies get 413."
    )
    request_timeout_seconds: float = Field(
        120.0, gt=0, description="Longest wait for an upstream answer before the client gets a JSON-RPC error."
    )
    rate_limit_per_second: float = Field(
        100.0, gt=0, description="Sustained requests per second allowed per credential (token bucket)."
    )
    rate_limit_burst: int = Field(200, ge=1, description="Requests a credential may send at once above the rate.")
    session_idle_seconds: float = Field(
        1800.0,
        gt=0,
        description="A client session unused this long is ended (and its per_user or per_session instance "
        "stopped); a server's own idle_seconds overrides it.",
    )
    max_sessions_per_server: int = Field(
        1000, ge=1, description="Open client sessions per server; more get 503 until some end."
    )
    max_sessions_per_credential: int | None = Field(
        None,
        ge=1,
        description="Open client sessions one credential (access key or user) may hold on one server; more get "
        "429 until some end or expire, while other credentials still get in. Below max_sessions_per_server; "
        "default: a quarter of it.",
    )
    max_instances_per_server: int = Field(
        20,
        ge=1,
        description="Instances a per_user or per_session server may run at once (a server's own max_instances "
        "overrides it). At the cap a new client ends the least recently used idle instance; when none is idle, "
        "it gets 503.",
    )
    event_buffer: int = Field(
        256, ge=0, description="Server messages kept per session for clients that resume with Last-Event-ID."
    )
    credential_cache_seconds: float = Field(
        30.0,
        ge=0,
        description="How long a checked credential is trusted before it is looked up again "
        "(revocations apply at once on this replica through events).",
    )

    @model_validator(mode="after")
    def _credential_below_server(self) -> GatewaySettings:
        per_credential = self.max_sessions_per_credential
        if per_credential is not None and 1 < self.max_sessions_per_server <= per_credential:
            raise ValueError(
                f"max_sessions_per_credential ({per_credential}) must be below max_sessions_per_server "
                f"({self.max_sessions_per_server}), or one credential could take every session"
            )
        return self

    @property
    def sessions_per_credential(self) -> int:
        """The effective per-credential cap (see ``max_sessions_per_credential``)."""
        if self.max_sessions_per_credential is not None:
            return self.max_sessions_per_credential
        return max(1, self.max_sessions_per_server // 4)


class TraceSettings(BaseModel):
    """Invocation records: one per request relayed by the gateway."""

    enabled: bool = Field(True, description="Record every gateway request and its answer.")
    max_payload_chars: int = Field(
        4096, ge=0, description="Params and results longer than this (as JSON) are cut in the record."
    )
    buffer: int = Field(50_000, ge=100, description="Records buffered for writing before new ones are dropped.")
    flush_interval_seconds: float = Field(0.5, gt=0, description="How often buffered records are written.")
    retention_days: int = Field(14, ge=1, description="Records older than this are purged.")
    max_per_server: int = Field(100_000, ge=100, description="Newest records kept per server.")


class WebhookSettings(BaseModel):
    """The webhooks of servers (``/api/servers/{id}/webhook`` and ``/github``), which redeploy them."""

    max_body_bytes: int = Field(
        5_242_880, ge=1024, description="Largest delivery a webhook accepts (GitHub push payloads can be large); 413."
    )
    rate_limit_per_minute: float = Field(
        30, gt=0, description="Deliveries a server's webhooks accept per minute, sustained; more get 429."
    )
    rate_limit_burst: int = Field(10, ge=1, description="Deliveries a server's webhooks accept at once.")
    deliveries_kept: int = Field(100, ge=1, le=10_000, description="Newest deliveries kept per server.")


class LogSettings(BaseModel):
    """Process logging."""

    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field("INFO", description="Lowest level logged.")
    json_format: bool = Field(True, description="One JSON object per line (off: human-readable lines).")
    access_log: bool = Field(True, description="Log one line per HTTP request.")


class Settings(BaseSettings):
    """Effective configuration of one MCP Host process."""

    model_config = SettingsConfigDict(
        env_prefix="MCPHOST_", env_nested_delimiter="__", extra="ignore", validate_default=True
    )

    home: Path = Field(
        default_factory=lambda: Path.home() / ".mcphost",
        description="Data directory: SQLite database, generated secret key, server data.",
    )
    database_url: str | None = Field(
        None,
        description="SQLAlchemy URL: sqlite+aiosqlite:///PATH (default: HOME/mcphost.db) or "
        "postgresql+asyncpg://USER@HOST/DB.",
    )
    public_url: str | None = Field(
        None, description="Base URL users and clients reach this instance at (default: http://HOST:PORT)."
    )
    secret_key: SecretStr | None = Field(
        None,
        description="Key signing sessions and encrypting secrets. Unset: generated once into HOME/secret.key.",
    )
    admin_email: str | None = Field(None, description="Email of an admin account created on first start.")
    admin_password: SecretStr | None = Field(None, description="Password of that bootstrap admin.")

    server: ServerSettings = Field(default_factory=ServerSettings)
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    auth: AuthSettings = Field(default_factory=AuthSettings)
    jobs: JobSettings = Field(default_factory=JobSettings)
    events: EventSettings = Field(default_factory=EventSettings)
    services: ServiceSettings = Field(default_factory=ServiceSettings)
    runtime: RuntimeSettings = Field(default_factory=RuntimeSettings)
    nodes: NodeSettings = Field(default_factory=NodeSettings)
    builds: BuildSettings = Field(default_factory=BuildSettings)
    docker: DockerSettings = Field(default_factory=DockerSettings)
    kubernetes: KubernetesSettings = Field(default_factory=KubernetesSettings)
    server_logs: ServerLogSettings = Field(default_factory=ServerLogSettings)
    gateway: GatewaySettings = Field(default_factory=GatewaySettings)
    oauth: OAuthSettings = Field(default_factory=OAuthSettings)
    traces: TraceSettings = Field(default_factory=TraceSettings)
    webhooks: WebhookSettings = Field(default_factory=WebhookSettings)
    secrets: SecretSettings = Field(default_factory=SecretSettings)
    domains: DomainSettings = Field(default_factory=DomainSettings)
    workflows: WorkflowSettings = Field(default_factory=WorkflowSettings)
    files: FileSettings = Field(default_factory=FileSettings)
    integrations: IntegrationSettings = Field(default_factory=IntegrationSettings)
    evaluations: EvaluationSettings = Field(default_factory=EvaluationSettings)
    vectors: VectorSettings = Field(default_factory=VectorSettings)
    ingestion: IngestionSettings = Field(default_factory=IngestionSettings)
    logging: LogSettings = Field(default_factory=LogSettings)

    @field_validator("home", mode="after")
    @classmethod
    def _absolute_home(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @field_validator("secret_key", mode="after")
    @classmethod
    def _strong_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < MIN_SECRET_KEY_LENGTH:
            raise ValueError(f"MCPHOST_SECRET_KEY must be at least {MIN_SECRET_KEY_LENGTH} characters")
        return value

    @field_validator("public_url", mode="after")
    @classmethod
    def _no_trailing_slash(cls, value: str | None) -> str | None:
        return value.rstrip("/") if value else value

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite+aiosqlite:///{self.home / 'mcphost.db'}"

    @property
    def effective_public_url(self) -> str:
        if self.public_url:
            return self.public_url
        host = "127.0.0.1" if self.server.host in ("0.0.0.0", "::") else self.server.host  # noqa: S104
        return f"http://{host}:{self.server.port}"

    @property
    def is_sqlite(self) -> bool:
        return self.effective_database_url.startswith("sqlite")

    @property
    def event_backend(self) -> Literal["memory", "postgres"]:
        if self.events.backend == "auto":
            return "memory" if self.is_sqlite else "postgres"
        return self.events.backend

    def masked(self) -> dict[str, Any]:
        """Effective settings as plain data with every secret replaced by a mask."""
        data = self.model_dump(mode="json")
        data["database_url"] = mask_url(self.effective_database_url)
        data["public_url"] = self.effective_public_url
        for key in ("secret_key", "admin_password"):
            data[key] = "********" if getattr(self, key) is not None else None
        return data


def mask_url(url: str) -> str:
    """Hide the password of a database URL."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def ensure_home(settings: Settings) -> None:
    """Create the data directory (private to the owner)."""
    settings.home.mkdir(parents=True, exist_ok=True, mode=0o700)


def load_secret_key(settings: Settings) -> bytes:
    """The instance key: from settings, else read from or generated once into ``HOME/secret.key`` (0600)."""
    if settings.secret_key is not None:
        return settings.secret_key.get_secret_value().encode()
    ensure_home(settings)
    path = settings.home / SECRET_KEY_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        if path.stat().st_mode & 0o077:
            path.chmod(0o600)
        key = path.read_text().strip()
        if len(key) < MIN_SECRET_KEY_LENGTH:
            raise RuntimeError(f"{path} holds a key shorter than {MIN_SECRET_KEY_LENGTH} characters") from None
        return key.encode()
    key = secrets.token_urlsafe(48)
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    return key.encode()
