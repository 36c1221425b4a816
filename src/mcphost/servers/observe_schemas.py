"""Response models of what can be observed of a server: logs, usage, manifest, capabilities."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from mcphost.models import LogStream


class LogLineOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    ts: datetime
    stream: LogStream = Field(description="stderr (the server's output) or platform (what MCP Host did).")
    line: str


class UsageEventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str = Field(description="create, install, start, stop, restart, crash, error, redeploy, delete.")
    ts: datetime
    data: dict[str, Any]


class UsageBucket(BaseModel):
    start: datetime
    counts: dict[str, int]


class MetricsOut(BaseModel):
    interval: Literal["minute", "hour", "day"]
    since: datetime
    events: list[UsageEventOut] = Field(description="The newest events, newest first.")
    buckets: list[UsageBucket] = Field(description="Events per kind in each interval since `since`, oldest first.")
    totals: dict[str, int]


class CapabilitiesOut(BaseModel):
    tools: list[dict[str, Any]]
    resources: list[dict[str, Any]]
    resource_templates: list[dict[str, Any]]
    prompts: list[dict[str, Any]]
    synced_at: datetime | None


class ManifestOut(BaseModel):
    server_info: dict[str, Any] = Field(alias="serverInfo")
    protocol_version: str = Field(alias="protocolVersion")
    capabilities: dict[str, Any]
    instructions: str | None = None

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)
