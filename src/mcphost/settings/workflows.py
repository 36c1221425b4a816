"""Workflows: limits on definitions, runs and what a run keeps (every one of them protects the platform from a
definition or a server that would otherwise take without end)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class WorkflowSettings(BaseModel):
    """Chains of tool calls on hosted servers, run as durable jobs by the process that hosts the servers."""

    max_steps: int = Field(50, ge=1, le=500, description="Most steps one workflow may have.")
    max_definition_bytes: int = Field(
        65_536, ge=1024, description="Largest workflow definition (steps, arguments, input schema), as JSON."
    )
    max_parallel_steps: int = Field(
        4, ge=1, le=64, description="Steps of one run that call their servers at the same time, at most."
    )
    max_concurrent_runs: int = Field(
        8, ge=1, le=256, description="Runs one hosting process executes at once (their own worker, apart from jobs)."
    )
    max_active_runs_per_user: int = Field(
        10, ge=1, description="Queued and running runs one user may have at once; more are refused with 429."
    )
    max_output_bytes: int = Field(
        262_144,
        ge=1024,
        description="Largest output a step (or a run) keeps, as JSON; a larger result fails the step with the reason.",
    )
    max_argument_bytes: int = Field(
        262_144, ge=1024, description="Largest rendered arguments of one step, as JSON; larger fails the step."
    )
    default_step_timeout_seconds: float = Field(
        60.0, gt=0, description="How long a step's tool call may take when its definition says nothing."
    )
    max_step_timeout_seconds: float = Field(
        3600.0, gt=0, description="Longest timeout a step may ask for (per attempt)."
    )
    mcp_call_timeout_seconds: float = Field(
        600.0,
        gt=0,
        description="How long a tools/call of a published workflow waits for its run to finish before answering "
        "with an error (the run goes on; its result is in the run history).",
    )
    runs_kept: int = Field(
        200, ge=1, description="Runs kept per workflow; older finished runs are removed as new ones are queued."
    )
