"""All SQL of workflows and their runs. Every read on behalf of a principal is scoped to the workflows its user owns,
so another user's workflow or run is not found rather than forbidden. Administrators are no exception: a workflow
acts with its owner's access, and nobody else starts, changes or reads it."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from mcphost.accounts.principal import Principal
from mcphost.db.pagination import paginate
from mcphost.models import RunStatus, Server, Workflow, WorkflowRun, WorkflowStepRun

ACTIVE = (RunStatus.QUEUED, RunStatus.RUNNING)


def _owned_by(principal: Principal, owner: InstrumentedAttribute[uuid.UUID]) -> sa.ColumnElement[bool]:
    return owner == principal.user_id


class WorkflowRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def visible(
        self, principal: Principal, workflow_id: uuid.UUID, *, for_update: bool = False
    ) -> Workflow | None:
        statement = sa.select(Workflow).where(Workflow.id == workflow_id, _owned_by(principal, Workflow.owner_user_id))
        return await self.session.scalar(statement.with_for_update() if for_update else statement)

    async def get(self, workflow_id: uuid.UUID) -> Workflow | None:
        return await self.session.get(Workflow, workflow_id)

    async def by_slug(self, slug: str) -> Workflow | None:
        return await self.session.scalar(sa.select(Workflow).where(Workflow.slug == slug))

    async def slug_taken(self, slug: str) -> bool:
        return await self.session.scalar(sa.select(Workflow.id).where(Workflow.slug == slug)) is not None

    async def page(self, principal: Principal, *, limit: int, cursor: str | None) -> tuple[list[Workflow], str | None]:
        statement = sa.select(Workflow).where(_owned_by(principal, Workflow.owner_user_id))
        return await paginate(
            self.session, statement, created_at=Workflow.created_at, row_id=Workflow.id, limit=limit, cursor=cursor
        )

    async def add(self, workflow: Workflow) -> Workflow:
        self.session.add(workflow)
        await self.session.flush()
        return workflow

    async def delete(self, workflow: Workflow) -> None:
        await self.session.delete(workflow)
        await self.session.flush()

    async def servers(self, server_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Server]:
        if not server_ids:
            return {}
        rows = await self.session.scalars(sa.select(Server).where(Server.id.in_(set(server_ids))))
        return {server.id: server for server in rows}

    async def server_by_ref(self, ref: str) -> Server | None:
        """A server by id or slug (whether the owner may use it is the caller's to check)."""
        try:
            server_id = uuid.UUID(ref)
        except ValueError:
            return await self.session.scalar(sa.select(Server).where(Server.slug == ref))
        return await self.session.get(Server, server_id)


class RunRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, run: WorkflowRun, steps: Sequence[WorkflowStepRun], *, keep: int) -> WorkflowRun:
        """Record a queued run and its steps, and forget the workflow's finished runs beyond the newest ``keep``."""
        self.session.add(run)
        await self.session.flush()
        self.session.add_all(steps)
        await self.session.flush()
        kept = (
            sa.select(WorkflowRun.id)
            .where(WorkflowRun.workflow_id == run.workflow_id)
            .order_by(WorkflowRun.created_at.desc(), WorkflowRun.id.desc())
            .limit(keep)
        )
        await self.session.execute(
            sa.delete(WorkflowRun).where(
                WorkflowRun.workflow_id == run.workflow_id,
                WorkflowRun.status.not_in(ACTIVE),
                WorkflowRun.id.not_in(kept.scalar_subquery()),
            )
        )
        return run

    async def active_count(self, owner_user_id: uuid.UUID) -> int:
        statement = sa.select(sa.func.count()).where(
            WorkflowRun.owner_user_id == owner_user_id, WorkflowRun.status.in_(ACTIVE)
        )
        return int(await self.session.scalar(statement) or 0)

    async def visible(
        self, principal: Principal, workflow_id: uuid.UUID, run_id: uuid.UUID, *, for_update: bool = False
    ) -> WorkflowRun | None:
        statement = sa.select(WorkflowRun).where(
            WorkflowRun.id == run_id,
            WorkflowRun.workflow_id == workflow_id,
            _owned_by(principal, WorkflowRun.owner_user_id),
        )
        return await self.session.scalar(statement.with_for_update() if for_update else statement)

    async def get(self, run_id: uuid.UUID, *, for_update: bool = False) -> WorkflowRun | None:
        statement = sa.select(WorkflowRun).where(WorkflowRun.id == run_id)
        return await self.session.scalar(statement.with_for_update() if for_update else statement)

    async def page(
        self, workflow_id: uuid.UUID, *, limit: int, cursor: str | None
    ) -> tuple[list[WorkflowRun], str | None]:
        statement = sa.select(WorkflowRun).where(WorkflowRun.workflow_id == workflow_id)
        return await paginate(
            self.session,
            statement,
            created_at=WorkflowRun.created_at,
            row_id=WorkflowRun.id,
            limit=limit,
            cursor=cursor,
        )

    async def steps(self, run_id: uuid.UUID) -> list[WorkflowStepRun]:
        statement = (
            sa.select(WorkflowStepRun).where(WorkflowStepRun.run_id == run_id).order_by(WorkflowStepRun.position)
        )
        return list((await self.session.scalars(statement)).all())

    async def step(self, run_id: uuid.UUID, step_id: str) -> WorkflowStepRun | None:
        return await self.session.scalar(
            sa.select(WorkflowStepRun).where(WorkflowStepRun.run_id == run_id, WorkflowStepRun.step_id == step_id)
        )

    async def status(self, run_id: uuid.UUID) -> tuple[RunStatus, bool] | None:
        """The run's status and whether cancellation was asked for (one narrow query, polled while it runs)."""
        row = (
            await self.session.execute(
                sa.select(WorkflowRun.status, WorkflowRun.cancel_requested).where(WorkflowRun.id == run_id)
            )
        ).first()
        return (row[0], row[1]) if row is not None else None
