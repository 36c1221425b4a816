"""Request and response models of the server endpoints."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from mcphost.api.schemas import DisplayName
from mcphost.models import DesiredState, Isolation, PinPolicy, ServerStatus
from mcphost.servers.sources import Source

ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
CONFIG_KEY = re.compile(r"^[A-Za-z0-9_]{1,64}$")
_MEMORY = re.compile(r"^(\d+(?:\.\d+)?)\s*([KMGT]i?B?|B)?$", re.IGNORECASE)
_MEMORY_UNITS = {"": 1 / 2**20, "b": 1 / 2**20, "k": 1 / 1024, "m": 1, "g": 1024, "t": 1024**2}
MAX_VALUE = 8192
MAX_INSTANCES = 1000
MIN_IDLE_SECONDS = 10
MAX_IDLE_SECONDS = 7 * 86_400
ServerName = DisplayName


def _check_env(values: dict[str, Any], what: str) -> dict[str, Any]:
    """Valid names, bounded values (a None value, meaning 'remove', is allowed where the schema allows it)."""
    if len(values) > 200:
        raise ValueError(f"at most 200 {what}")
    for name, value in values.items():
        if not ENV_NAME.match(name):
            raise ValueError(f"{name!r} is not a valid environment variable name")
        if name.upper().startswith("MCPHOST_"):
            raise ValueError(f"{name!r}: names starting with MCPHOST_ are reserved")
        if value is not None and (len(value) > MAX_VALUE or "\x00" in value):
            raise ValueError(f"{name}: values are at most {MAX_VALUE} characters, without NUL")
    return values


def parse_memory_mib(value: str | int) -> int:
    """'512M', '1.5G', '1GiB' or a number of MiB, as MiB."""
    if isinstance(value, int):
        return value
    match = _MEMORY.match(value.strip())
    if not match:
        raise ValueError(f"{value!r} is not a memory size such as 512M or 2G")
    unit = (match.group(2) or "m")[0].lower()
    return max(1, round(float(match.group(1)) * _MEMORY_UNITS[unit]))


class Resources(BaseModel):
    model_config = ConfigDict(extra="forbid")

    cpu_limit: float | None = Field(None, gt=0, le=256, description="CPU cores, e.g. 0.5.")
    memory_limit: int | None = Field(
        None, ge=16, le=1_048_576, description="Memory in MiB; strings such as '512M' or '2G' are accepted."
    )
    gpu: int = Field(0, ge=0, le=16, description="GPUs requested (runtimes without GPUs report it).")

    @field_validator("memory_limit", mode="before")
    @classmethod
    def _memory(cls, value: Any) -> Any:
        return parse_memory_mib(value) if isinstance(value, str) else value

    @field_validator("gpu", mode="before")
    @classmethod
    def _gpu_flag(cls, value: Any) -> Any:
        return int(value) if isinstance(value, bool) else value


ConfigValue = str | int | float | bool


ToolName = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]+$")]


class ToolRules(BaseModel):
    """Which tools the gateway hides and refuses: disabled for everyone, or kept for a role and above in the
    server's organisation (members, admins or owners). Administrators of the instance are never refused."""

    model_config = ConfigDict(extra="forbid")

    disabled: list[ToolName] = Field(default_factory=list, max_length=1000, description="Tools nobody may see or call.")
    min_role: dict[ToolName, Literal["member", "admin", "owner"]] = Field(
        default_factory=dict,
        max_length=1000,
        description="Organisation servers: the least role that may see and call each tool (viewers never call).",
    )

    @field_validator("disabled")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        return sorted(set(value))


class _ServerFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    env: dict[str, str] | None = Field(None, description="Environment variables, in clear.")
    config: dict[str, ConfigValue] | None = Field(None, description="Passed as CFG_<KEY> environment variables.")
    secret_env: dict[str, str] | None = Field(
        None, description="Secret environment variables: encrypted at rest, never returned (only their names)."
    )
    resources: Resources | None = None
    isolation: Isolation | None = Field(
        None,
        description="shared (one instance), per_user or per_session instances. Unset at create: shared, or "
        "per_user for a catalog entry whose inputs are each user's own.",
    )
    network: Literal["default", "none"] | None = Field(None, description="'none' cuts the server off the network.")
    max_instances: int | None = Field(
        None,
        ge=1,
        le=MAX_INSTANCES,
        description="per_user and per_session isolation: instances run at once. At the cap, a new client ends the "
        "least recently used idle instance (its session, if it had one, ends too). Null: the platform's default "
        "(gateway.max_instances_per_server).",
    )
    idle_seconds: int | None = Field(
        None,
        ge=MIN_IDLE_SECONDS,
        le=MAX_IDLE_SECONDS,
        description="A client session, and its per_user or per_session instance, unused this long is ended. "
        "Null: the platform's default (gateway.session_idle_seconds).",
    )
    tool_rules: ToolRules | None = Field(
        None, description="Tools disabled, or kept for a role in the organisation (changed by owners and org admins)."
    )
    per_user_env: list[str] | None = Field(
        None,
        max_length=50,
        description="Variables each user supplies for themselves (PUT /api/servers/{id}/credentials): their "
        "per_user or per_session instances get their own values. Needs per_user or per_session isolation. Unset at "
        "create: none, or a catalog entry's per-user inputs.",
    )
    pin_policy: PinPolicy | None = Field(
        None,
        description="When a tool, prompt or resource definition changes (or a new one appears): 'pin' holds it "
        "until an owner approves it (the default), 'warn' records the change and serves it, 'off' does neither.",
    )

    @field_validator("env", "secret_env")
    @classmethod
    def _env_names(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        return _check_env(value, "variables") if value is not None else None

    @field_validator("per_user_env")
    @classmethod
    def _per_user_names(cls, value: list[str] | None) -> list[str] | None:
        return sorted(_check_env(dict.fromkeys(value, ""), "variables")) if value is not None else None

    @field_validator("config")
    @classmethod
    def _config_keys(cls, value: dict[str, ConfigValue] | None) -> dict[str, ConfigValue] | None:
        if value is None:
            return None
        if len(value) > 200:
            raise ValueError("at most 200 config keys")
        for key, item in value.items():
            if not CONFIG_KEY.match(key):
                raise ValueError(f"config key {key!r} may only use letters, digits and _")
            if isinstance(item, str) and len(item) > MAX_VALUE:
                raise ValueError(f"{key}: values are at most {MAX_VALUE} characters")
        return value


class ServerCreate(_ServerFields):
    name: ServerName
    source: Source
    org_id: uuid.UUID | None = Field(None, description="Create it in this organisation (you need member role).")
    start: bool = Field(True, description="Start it once installed.")
    runtime: str | None = Field(
        None,
        pattern=r"^[a-z][a-z0-9_-]{0,31}$",
        description="Where it runs: process (this machine) or docker (a container). Default: docker for image and "
        "git sources when an engine answers, the configured default (runtime.default) for the others.",
    )


class ServerUpdate(_ServerFields):
    """Fields left out stay as they are. For secret_env, a null value removes that secret."""

    name: ServerName | None = None
    secret_env: dict[str, str | None] | None = Field(None, description="Set secrets; null removes one.")  # type: ignore[assignment]


class RedeployOptions(BaseModel):
    """How a redeploy prepares the source anew. A redeploy always resolves it again (a package's newest version when
    unpinned, an image's tag, a branch's head); a git build reuses the image of a commit it built before and the
    layer cache unless told otherwise."""

    model_config = ConfigDict(extra="forbid")

    no_cache: bool = Field(False, description="Git sources: build without the layer cache, every step again.")
    pull: bool = Field(False, description="Git sources: pull newer base images for the build (docker build --pull).")

    def flags(self) -> dict[str, bool]:
        """What the lifecycle layer adds to the source for ``prepare``."""
        return {"refresh": True, "no_cache": self.no_cache, "pull": self.pull}


class ServerOut(BaseModel):
    id: uuid.UUID
    name: str
    slug: str
    owner_user_id: uuid.UUID | None
    org_id: uuid.UUID | None
    source: dict[str, Any]
    runtime: str
    status: ServerStatus
    status_reason: str | None
    desired_state: DesiredState
    endpoint_url: str
    env: dict[str, str]
    config: dict[str, ConfigValue]
    secret_env: list[str] = Field(description="Names of the secret variables (values are never returned).")
    resources: Resources
    isolation: Isolation
    network: str
    max_instances: int | None = Field(description="Instances at once (per_user, per_session); null: the default.")
    idle_seconds: int | None = Field(description="Idle time before a session and its instance end; null: default.")
    evictions: int = Field(
        description="Idle instances ended at the cap to let a new client in, since the server was created."
    )
    pin_policy: PinPolicy
    tool_rules: ToolRules
    per_user_env: list[str] = Field(description="Variables each user supplies for themselves.")
    held: dict[str, list[str]] = Field(
        description="Tools, prompts and resources held until an owner approves their changed definitions, by kind "
        "(GET /api/servers/{id}/pins shows the changes)."
    )
    restart_count: int
    revision: int = Field(
        description="The live revision: the number of the deploy whose source and settings the server has now "
        "(GET /api/servers/{id}/revisions lists them)."
    )
    warnings: list[str]
    created_at: datetime
    updated_at: datetime
    last_started_at: datetime | None


class ServerCreated(ServerOut):
    access_key: str = Field(description="A key for the server's endpoint. It is shown only in this response.")
    webhook_secret: str = Field(
        description="The secret of the server's webhooks (POST /api/servers/{id}/webhook and /github). It is shown "
        "only in this response; POST /api/servers/{id}/webhook/rotate makes a new one."
    )


class AccessKeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: ServerName = "default"


class AccessKeyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    prefix: str
    created_at: datetime
    created_by: uuid.UUID | None = Field(description="The account the key acts for; null once it was deleted.")
    created_by_email: str | None = None
    creator_has_access: bool = Field(
        True,
        description="Whether the creator may still use the server; a key whose creator lost access (disabled, "
        "deleted, removed from the organisation, or now a viewer) is refused by the endpoint.",
    )
    last_used_at: datetime | None
    revoked_at: datetime | None


class AccessKeyCreated(AccessKeyOut):
    key: str = Field(description="The access key. It is shown only in this response.")
