"""Request and response models of workflows and their runs."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, StringConstraints

from mcphost.models import RunStatus, StepStatus

StepId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")]
Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,59}$")]
Trigger = Literal["api", "console", "mcp"]
EXAMPLE_STEPS: list[JsonValue] = [
    {"id": "geocode", "server": "maps", "tool": "geocode", "arguments": {"city": "{{ input.city }}"}},
    {
        "id": "forecast",
        "server": "weather",
        "tool": "forecast",
        "arguments": {"lat": "{{ steps.geocode.output.lat }}", "lon": "{{ steps.geocode.output.lon }}"},
        "timeout_seconds": 20,
        "retry": {"attempts": 3, "backoff_seconds": 1},
    },
]


class RetryIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    attempts: int = Field(1, ge=1, le=10, description="Tries in all (1: no retry).")
    backoff_seconds: float = Field(1.0, ge=0, le=300, description="Wait before the second try.")
    backoff_multiplier: float = Field(2.0, ge=1, le=10, description="Each later wait is this many times longer.")


class StepIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: StepId = Field(description="Unique in the workflow; later steps refer to it as steps.<id>.output.")
    server: str = Field(min_length=1, max_length=200, description="The hosted server: its id or slug.")
    tool: str = Field(min_length=1, max_length=200, description="A tool the server lists.")
    arguments: dict[str, Any] = Field(
        default_factory=dict,
        description="The tool's arguments; strings may hold templates: {{ input.x }}, {{ steps.<id>.output.y }}. "
        "A string that is only one {{ … }} keeps the value's JSON type.",
    )
    needs: list[StepId] = Field(
        default_factory=list, max_length=100, description="Steps to finish first (besides those referred to)."
    )
    timeout_seconds: float | None = Field(None, gt=0, description="Per attempt (default: the platform's).")
    retry: RetryIn = Field(default_factory=RetryIn)


class WorkflowCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"example": {"name": "weather", "steps": EXAMPLE_STEPS}}
    )

    name: str = Field(min_length=1, max_length=100)
    slug: Slug | None = Field(None, description="Its endpoint is /mcp/workflows/{slug} (default: from the name).")
    description: str = Field("", max_length=2000, description="Shown as the composite tool's description.")
    input_schema: dict[str, Any] = Field(
        default_factory=lambda: {"type": "object", "properties": {}},
        description="JSON Schema of the input (an object): the composite tool's inputSchema.",
    )
    steps: list[StepIn] = Field(min_length=1, max_length=500)
    output: Any = Field(
        None,
        description='What a run returns, templated like arguments (e.g. {"forecast": "{{ steps.forecast.output }}"}'
        "); null: the last step's output (an object by step id when several steps come last).",
    )
    published: bool = Field(False, description="Offer it as a tool at /mcp/workflows/{slug}.")


class WorkflowUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, min_length=1, max_length=100)
    description: str | None = Field(None, max_length=2000)
    input_schema: dict[str, Any] | None = None
    steps: list[StepIn] | None = Field(None, min_length=1, max_length=500)
    output: Any = Field(None, description="A new output template; null: the last step's output (omit to keep it).")
    published: bool | None = None


class StepOut(BaseModel):
    id: str
    server_id: uuid.UUID
    server_slug: str | None = Field(description="Null when the server was deleted since.")
    tool: str
    arguments: dict[str, Any]
    needs: list[str] = Field(description="What it waits for: its explicit needs and the steps it refers to.")
    timeout_seconds: float
    retry: RetryIn


class WorkflowOut(BaseModel):
    id: uuid.UUID
    name: str
    slug: str
    description: str
    input_schema: dict[str, Any]
    steps: list[StepOut]
    output: Any
    published: bool
    endpoint: str = Field(description="The composite tool's MCP endpoint (answers while published).")
    version: int
    created_at: datetime
    updated_at: datetime


class RunIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"example": {"input": {"city": "Paris"}}})

    input: dict[str, Any] = Field(default_factory=dict, description="The workflow's input (its input_schema).")


class StepRunOut(BaseModel):
    step_id: str
    server_id: uuid.UUID | None
    tool: str
    status: StepStatus
    attempts: int
    input: dict[str, Any] | None = Field(description="The rendered arguments of the last attempt.")
    output: Any
    error: str | None
    started_at: datetime | None
    finished_at: datetime | None
    duration_ms: float | None


class RunOut(BaseModel):
    id: uuid.UUID
    workflow_id: uuid.UUID
    version: int
    status: RunStatus
    trigger: str
    input: dict[str, Any]
    output: Any
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    duration_ms: float | None
    steps: list[StepRunOut] | None = Field(None, description="Each step (the run's detail only).")
