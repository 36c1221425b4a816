"""All SQL of evaluations. Reads of suites are scoped to what the principal may see (``suites_visible_to``); runs,
cases and results are reached through a suite the caller has already found."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from mcphost.accounts.principal import Principal
from mcphost.models import (
    EvaluationCase,
    EvaluationResult,
    EvaluationRun,
    EvaluationStatus,
    EvaluationSuite,
    Membership,
    Server,
)
from mcphost.servers.repository import visible_to as servers_visible_to

ACTIVE = (EvaluationStatus.QUEUED, EvaluationStatus.RUNNING)
FINISHED = (EvaluationStatus.PASSED, EvaluationStatus.FAILED, EvaluationStatus.ERROR)


def suites_visible_to(principal: Principal) -> sa.ColumnElement[bool]:
    """Suites the principal owns or that belong to an organisation it is a member of; everything for admins."""
    if principal.is_admin:
        return sa.true()
    member_of = sa.select(Membership.org_id).where(Membership.user_id == principal.user_id)
    return sa.or_(EvaluationSuite.owner_user_id == principal.user_id, EvaluationSuite.org_id.in_(member_of))


@dataclass(frozen=True)
class ScoreRow:
    server_id: uuid.UUID
    run_id: uuid.UUID
    suite_id: uuid.UUID
    finished_at: datetime | None
    average_score: float
    passed: int
    cases: int


class EvaluationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # -- suites ---------------------------------------------------------------------------------------------------

    async def add(self, row: EvaluationSuite | EvaluationCase | EvaluationRun | EvaluationResult) -> None:
        self.session.add(row)
        await self.session.flush()

    async def visible_suite(
        self, principal: Principal, suite_id: uuid.UUID, *, for_update: bool = False
    ) -> EvaluationSuite | None:
        statement = sa.select(EvaluationSuite).where(EvaluationSuite.id == suite_id, suites_visible_to(principal))
        return await self.session.scalar(statement.with_for_update() if for_update else statement)

    async def suite(self, suite_id: uuid.UUID, *, for_update: bool = False) -> EvaluationSuite | None:
        statement = sa.select(EvaluationSuite).where(EvaluationSuite.id == suite_id)
        return await self.session.scalar(statement.with_for_update() if for_update else statement)

    async def suites(self, principal: Principal, org_id: uuid.UUID | None) -> list[EvaluationSuite]:
        statement = sa.select(EvaluationSuite).where(suites_visible_to(principal))
        if org_id is not None:
            statement = statement.where(EvaluationSuite.org_id == org_id)
        return list((await self.session.scalars(statement.order_by(EvaluationSuite.name, EvaluationSuite.id))).all())

    async def count_owned(self, *, user_id: uuid.UUID | None, org_id: uuid.UUID | None) -> int:
        column = EvaluationSuite.org_id if org_id is not None else EvaluationSuite.owner_user_id
        owner = org_id if org_id is not None else user_id
        return int(await self.session.scalar(sa.select(sa.func.count()).where(column == owner)) or 0)

    async def delete(self, row: EvaluationSuite | EvaluationCase) -> None:
        await self.session.delete(row)
        await self.session.flush()

    async def due_suites(self, now: datetime, limit: int) -> list[EvaluationSuite]:
        """Scheduled suites whose next run is due, locked; rows another transaction holds are skipped (PostgreSQL),
        so two schedulers never take the same suite. SQLite serialises writing transactions instead."""
        statement = (
            sa.select(EvaluationSuite)
            .where(EvaluationSuite.schedule_seconds.is_not(None), EvaluationSuite.next_run_at <= now)
            .order_by(EvaluationSuite.next_run_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return list((await self.session.scalars(statement)).all())

    # -- cases ----------------------------------------------------------------------------------------------------

    async def cases(self, suite_id: uuid.UUID, server_id: uuid.UUID | None = None) -> list[EvaluationCase]:
        statement = sa.select(EvaluationCase).where(EvaluationCase.suite_id == suite_id)
        if server_id is not None:
            statement = statement.where(EvaluationCase.server_id == server_id)
        return list(
            (await self.session.scalars(statement.order_by(EvaluationCase.created_at, EvaluationCase.id))).all()
        )

    async def case(self, suite_id: uuid.UUID, case_id: uuid.UUID) -> EvaluationCase | None:
        return await self.session.scalar(
            sa.select(EvaluationCase).where(EvaluationCase.suite_id == suite_id, EvaluationCase.id == case_id)
        )

    async def case_counts(self, suite_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, int]:
        if not suite_ids:
            return {}
        rows = await self.session.execute(
            sa.select(EvaluationCase.suite_id, sa.func.count())
            .where(EvaluationCase.suite_id.in_(suite_ids))
            .group_by(EvaluationCase.suite_id)
        )
        return {suite_id: int(count) for suite_id, count in rows.all()}

    async def first_case_at(self, suite_id: uuid.UUID, server_id: uuid.UUID) -> datetime | None:
        """When the suite first covered the server (its oldest case of it)."""
        return await self.session.scalar(
            sa.select(sa.func.min(EvaluationCase.created_at)).where(
                EvaluationCase.suite_id == suite_id, EvaluationCase.server_id == server_id
            )
        )

    async def deploy_suites(self, server_id: uuid.UUID) -> list[EvaluationSuite]:
        """Suites that run on deploy and have cases of this server."""
        covering = sa.select(EvaluationCase.suite_id).where(EvaluationCase.server_id == server_id)
        statement = sa.select(EvaluationSuite).where(
            EvaluationSuite.run_on_deploy.is_(True), EvaluationSuite.id.in_(covering)
        )
        return list((await self.session.scalars(statement)).all())

    async def recorded_ids(self, suite_id: uuid.UUID, server_id: uuid.UUID) -> set[int]:
        rows = await self.session.scalars(
            sa.select(EvaluationCase.recorded_from).where(
                EvaluationCase.suite_id == suite_id,
                EvaluationCase.server_id == server_id,
                EvaluationCase.recorded_from.is_not(None),
            )
        )
        return {int(value) for value in rows.all() if value is not None}

    # -- runs -----------------------------------------------------------------------------------------------------

    async def add_run_once(self, values: dict[str, object]) -> EvaluationRun | None:
        """Insert a run unless one with the same ``dedupe_key`` exists; None when it did (another replica or an
        earlier event took the trigger)."""
        insert = pg_insert if self.session.get_bind().dialect.name == "postgresql" else sqlite_insert
        statement = (
            insert(EvaluationRun)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["dedupe_key"])
            .returning(EvaluationRun.id)
        )
        inserted = (await self.session.execute(statement)).scalar_one_or_none()
        if inserted is None:
            return None
        return await self.session.get(EvaluationRun, inserted)

    async def run(self, run_id: uuid.UUID, *, for_update: bool = False) -> EvaluationRun | None:
        statement = sa.select(EvaluationRun).where(EvaluationRun.id == run_id)
        return await self.session.scalar(statement.with_for_update() if for_update else statement)

    async def suite_run(self, suite_id: uuid.UUID, run_id: uuid.UUID) -> EvaluationRun | None:
        return await self.session.scalar(
            sa.select(EvaluationRun).where(EvaluationRun.suite_id == suite_id, EvaluationRun.id == run_id)
        )

    async def runs(self, suite_id: uuid.UUID, limit: int) -> list[EvaluationRun]:
        statement = (
            sa.select(EvaluationRun)
            .where(EvaluationRun.suite_id == suite_id)
            .order_by(EvaluationRun.created_at.desc(), EvaluationRun.id.desc())
            .limit(limit)
        )
        return list((await self.session.scalars(statement)).all())

    async def last_runs(self, suite_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, EvaluationRun]:
        if not suite_ids:
            return {}
        ranked = (
            sa.select(
                EvaluationRun.id,
                sa.func.row_number()
                .over(
                    partition_by=EvaluationRun.suite_id,
                    order_by=(EvaluationRun.created_at.desc(), EvaluationRun.id.desc()),
                )
                .label("position"),
            )
            .where(EvaluationRun.suite_id.in_(suite_ids))
            .subquery()
        )
        rows = await self.session.scalars(
            sa.select(EvaluationRun).join(ranked, ranked.c.id == EvaluationRun.id).where(ranked.c.position == 1)
        )
        return {run.suite_id: run for run in rows.all()}

    async def has_active_run(self, suite_id: uuid.UUID) -> bool:
        found = await self.session.scalar(
            sa.select(EvaluationRun.id)
            .where(EvaluationRun.suite_id == suite_id, EvaluationRun.status.in_(ACTIVE))
            .limit(1)
        )
        return found is not None

    async def forget_old_runs(self, suite_id: uuid.UUID, keep: int) -> None:
        """Keep the suite's newest ``keep`` runs (their results go with the others)."""
        kept = (
            sa.select(EvaluationRun.id)
            .where(EvaluationRun.suite_id == suite_id)
            .order_by(EvaluationRun.created_at.desc(), EvaluationRun.id.desc())
            .limit(keep)
        )
        await self.session.execute(
            sa.delete(EvaluationRun).where(
                EvaluationRun.suite_id == suite_id,
                EvaluationRun.status.in_(FINISHED),
                EvaluationRun.id.not_in(kept.scalar_subquery()),
            )
        )

    # -- results --------------------------------------------------------------------------------------------------

    async def results(self, run_id: uuid.UUID) -> list[EvaluationResult]:
        statement = sa.select(EvaluationResult).where(EvaluationResult.run_id == run_id).order_by(EvaluationResult.id)
        return list((await self.session.scalars(statement)).all())

    async def clear_results(self, run_id: uuid.UUID) -> None:
        await self.session.execute(sa.delete(EvaluationResult).where(EvaluationResult.run_id == run_id))

    async def scores(self, principal: Principal, suite_id: uuid.UUID | None) -> list[ScoreRow]:
        """Per server the principal may see: its results in the latest finished run (of a suite it may see) that
        evaluated it, summed up."""
        per_run = (
            sa.select(
                EvaluationResult.server_id,
                EvaluationResult.run_id,
                EvaluationRun.suite_id,
                EvaluationRun.finished_at,
                sa.func.avg(EvaluationResult.score).label("average_score"),
                sa.func.sum(sa.case((EvaluationResult.passed.is_(True), 1), else_=0)).label("passed"),
                sa.func.count().label("cases"),
                sa.func.row_number()
                .over(
                    partition_by=EvaluationResult.server_id,
                    order_by=(EvaluationRun.finished_at.desc(), EvaluationRun.id.desc()),
                )
                .label("position"),
            )
            .join(EvaluationRun, EvaluationRun.id == EvaluationResult.run_id)
            .join(EvaluationSuite, EvaluationSuite.id == EvaluationRun.suite_id)
            .join(Server, Server.id == EvaluationResult.server_id)
            .where(
                EvaluationRun.status.in_(FINISHED),
                suites_visible_to(principal),
                servers_visible_to(principal),
            )
            .group_by(
                EvaluationResult.server_id,
                EvaluationResult.run_id,
                EvaluationRun.suite_id,
                EvaluationRun.finished_at,
                EvaluationRun.id,
            )
        )
        if suite_id is not None:
            per_run = per_run.where(EvaluationRun.suite_id == suite_id)
        latest = per_run.subquery()
        rows = await self.session.execute(sa.select(latest).where(latest.c.position == 1))
        return [
            ScoreRow(
                server_id=row.server_id,
                run_id=row.run_id,
                suite_id=row.suite_id,
                finished_at=row.finished_at,
                average_score=float(row.average_score or 0.0),
                passed=int(row.passed or 0),
                cases=int(row.cases),
            )
            for row in rows.all()
        ]

    async def named(
        self, server_ids: Sequence[uuid.UUID], suite_ids: Sequence[uuid.UUID]
    ) -> tuple[dict[uuid.UUID, Server], dict[uuid.UUID, EvaluationSuite]]:
        servers: list[Server] = []
        suites: list[EvaluationSuite] = []
        if server_ids:
            servers = list((await self.session.scalars(sa.select(Server).where(Server.id.in_(server_ids)))).all())
        if suite_ids:
            statement = sa.select(EvaluationSuite).where(EvaluationSuite.id.in_(suite_ids))
            suites = list((await self.session.scalars(statement)).all())
        return {server.id: server for server in servers}, {suite.id: suite for suite in suites}
