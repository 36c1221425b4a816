"""Evaluations of hosted servers: limits on what a suite holds and stores, how often users may start runs, and the
scheduler that runs suites on their interval."""

from __future__ import annotations

from pydantic import BaseModel, Field


class EvaluationSettings(BaseModel):
    """Suites of test cases run against hosted servers (``/api/evaluations``)."""

    scheduler: bool = Field(
        True, description="Run the evaluation scheduler (suites with an interval) with the background services."
    )
    scheduler_interval_seconds: float = Field(
        30.0, gt=0, description="How often the scheduler looks for suites whose next run is due."
    )
    min_schedule_seconds: int = Field(
        300, ge=1, description="The shortest interval a suite may be scheduled at (a run calls every case's tool)."
    )
    max_cases_per_suite: int = Field(200, ge=1, le=10_000, description="Cases one suite may hold; more get 409.")
    max_suites_per_owner: int = Field(100, ge=1, description="Suites one user or organisation may own; more get 403.")
    max_case_json_chars: int = Field(
        65_536,
        ge=256,
        description="Largest arguments, and largest expected output, of one case (as JSON); larger get 413.",
    )
    max_output_chars: int = Field(
        16_384, ge=256, description="A result keeps at most this much of the tool's answer (the score uses all of it)."
    )
    runs_kept_per_suite: int = Field(200, ge=1, description="Newest runs kept per suite, with their results.")
    run_rate_per_minute: float = Field(
        10, gt=0, description="Runs a user may start on demand per minute, sustained; more get 429."
    )
    run_rate_burst: int = Field(5, ge=1, description="Runs a user may start on demand at once.")
