"""Request and response models of evaluations: suites, cases, runs with their results, and the scoreboard."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, JsonValue, computed_field, field_validator, model_validator

from mcphost.mcp.jsonrpc import check_depth
from mcphost.models import EvaluationStatus, EvaluationTrigger, MatchMode

#: Modes comparing text: what they expect must be text.
TEXT_MODES = frozenset({MatchMode.CONTAINS, MatchMode.SIMILARITY})


class SuiteCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"example": {"name": "weather answers", "run_on_deploy": True, "schedule_seconds": 3600}},
    )

    name: str = Field(min_length=1, max_length=100)
    description: str = Field("", max_length=2000)
    org_id: uuid.UUID | None = Field(None, description="Make it an organisation's suite (you need the member role).")
    run_on_deploy: bool = Field(True, description="Run a server's cases each time a new revision of it goes live.")
    schedule_seconds: int | None = Field(
        None, ge=1, le=31_536_000, description="Run the whole suite every this many seconds (null: no schedule)."
    )

    @field_validator("name")
    @classmethod
    def _named(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value.strip()


class SuiteUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, min_length=1, max_length=100)
    description: str | None = Field(None, max_length=2000)
    run_on_deploy: bool | None = None
    schedule_seconds: int | None = Field(None, ge=1, le=31_536_000, description="null removes the schedule.")


class RunSummary(BaseModel):
    id: uuid.UUID
    status: EvaluationStatus
    trigger: EvaluationTrigger
    cases: int
    passed: int
    average_score: float | None
    finished_at: datetime | None


class SuiteOut(BaseModel):
    id: uuid.UUID
    name: str
    description: str
    owner_user_id: uuid.UUID | None
    org_id: uuid.UUID | None
    created_by: uuid.UUID | None
    run_on_deploy: bool
    schedule_seconds: int | None
    next_run_at: datetime | None = Field(description="When the schedule runs it next (null: no schedule).")
    created_at: datetime
    updated_at: datetime
    case_count: int = 0
    last_run: RunSummary | None = None


class CaseFields(BaseModel):
    """What a case checks; the shared rules of creating and changing one."""

    @staticmethod
    def check_expectation(mode: MatchMode, expected: Any, threshold: float | None) -> None:
        if expected is None:
            raise ValueError("expected must not be null: give the output the tool should answer")
        if mode in TEXT_MODES and not isinstance(expected, str):
            raise ValueError(f"match mode {mode.value} compares text: give expected as a string")
        if mode is MatchMode.JSON_SUBSET and not isinstance(expected, dict | list):
            raise ValueError("match mode json_subset needs expected to be a JSON object or array")
        if threshold is not None and mode is not MatchMode.SIMILARITY:
            raise ValueError(f"threshold applies to match mode similarity only, not {mode.value}")


class CaseCreate(CaseFields):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "example": {
                "server_id": "5f0c6d1e-8a7b-4c55-9e43-2f1d0c9b8a76",
                "tool": "echo",
                "arguments": {"text": "hello"},
                "expected": "hello",
                "match_mode": "exact",
            }
        },
    )

    server_id: uuid.UUID = Field(description="The hosted server whose tool the case calls.")
    tool: str = Field(min_length=1, max_length=500, description="A tool the server has (as last synced).")
    arguments: dict[str, Any] = Field(default_factory=dict, description="The tool's arguments.")
    expected: JsonValue = Field(description="The expected output: text, or JSON for json_subset (and exact).")
    match_mode: MatchMode = Field(MatchMode.EXACT, description="exact, contains, json_subset or similarity.")
    threshold: float | None = Field(
        None, ge=0, le=1, description="similarity only: the Jaro-Winkler similarity needed to pass (default 0.8)."
    )
    name: str | None = Field(None, max_length=200, description="Default: the tool's name.")

    @field_validator("arguments", "expected")
    @classmethod
    def _shallow(cls, value: Any) -> Any:
        check_depth(value, level=3)
        return value

    @model_validator(mode="after")
    def _coherent(self) -> CaseCreate:
        self.check_expectation(self.match_mode, self.expected, self.threshold)
        return self


class CaseUpdate(CaseFields):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, min_length=1, max_length=200)
    arguments: dict[str, Any] | None = None
    expected: JsonValue = None
    match_mode: MatchMode | None = None
    threshold: float | None = Field(None, ge=0, le=1)

    @field_validator("arguments", "expected")
    @classmethod
    def _shallow(cls, value: Any) -> Any:
        check_depth(value, level=3)
        return value


class CaseOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    suite_id: uuid.UUID
    server_id: uuid.UUID
    name: str
    tool: str
    arguments: dict[str, Any]
    expected: Any
    match_mode: MatchMode
    threshold: float | None
    recorded_from: int | None = Field(description="The invocation record it was made from, if recorded.")
    created_at: datetime


class RecordIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    server_id: uuid.UUID = Field(description="The server whose recorded tools/call invocations become cases.")
    tool: str | None = Field(None, max_length=500, description="Only calls of this tool.")
    since: datetime | None = Field(None, description="Only calls recorded at or after this time.")
    limit: int = Field(20, ge=1, le=100, description="At most this many cases, newest calls first.")
    match_mode: MatchMode = Field(MatchMode.EXACT, description="The match mode of the cases made.")
    threshold: float | None = Field(None, ge=0, le=1, description="For similarity.")

    @model_validator(mode="after")
    def _coherent(self) -> RecordIn:
        if self.threshold is not None and self.match_mode is not MatchMode.SIMILARITY:
            raise ValueError(f"threshold applies to match mode similarity only, not {self.match_mode.value}")
        return self


class Skipped(BaseModel):
    invocation: int
    reason: str


class RecordOut(BaseModel):
    created: list[CaseOut]
    skipped: list[Skipped] = Field(description="Recorded calls that could not become cases, and why.")


class RunIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    server_id: uuid.UUID | None = Field(None, description="Only the cases of this server (default: every case).")


class RunOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    suite_id: uuid.UUID
    trigger: EvaluationTrigger
    status: EvaluationStatus
    server_id: uuid.UUID | None = Field(description="Runs after a redeploy cover only that server's cases.")
    revision: int | None = Field(description="The revision whose going live started it (deploy runs).")
    run_as: uuid.UUID | None = Field(description="The user whose access the tool calls used.")
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    cases: int
    passed: int
    average_score: float | None
    error: str | None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def pass_rate(self) -> float | None:
        """passed / cases (null before any case ran)."""
        return None if not self.cases else round(self.passed / self.cases, 6)


class ResultOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    case_id: uuid.UUID | None
    server_id: uuid.UUID
    case_name: str
    tool: str
    match_mode: MatchMode
    passed: bool
    score: float = Field(description="0..1: how well the answer matched.")
    actual: Any = Field(description="The tool's answer as compared (cut to evaluations.max_output_chars).")
    duration_ms: float
    error: str | None = Field(description="Why the case could not pass: a stopped server, a tool error...")


class RunDetail(RunOut):
    results: list[ResultOut]


class ScoreboardEntry(BaseModel):
    rank: int = Field(description="1 for the best average score.")
    server_id: uuid.UUID
    server_name: str
    server_slug: str
    suite_id: uuid.UUID
    suite_name: str
    run_id: uuid.UUID = Field(description="The latest finished run that evaluated this server.")
    average_score: float
    pass_rate: float
    cases: int
    passed: int
    finished_at: datetime | None


class Scoreboard(BaseModel):
    items: list[ScoreboardEntry] = Field(description="Ranked by average score, best first.")
