"""Reading and writing the project tables. Every write is idempotent: a unique key (the step
attempt's idempotency key, or the deal id for a contract) turns a redelivered request's insert
into a lookup of what the first delivery wrote, so a retry never stores a thing twice."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from flowbus_executor.executors.projects.model import (
    Assignment,
    ContractPlan,
    Milestone,
    Project,
    ProjectPlan,
    RolePlan,
)
from flowbus_executor.executors.projects.tables import (
    contracts,
    project_milestones,
    project_status_snapshots,
    projects,
    staffing_assignments,
)
from flowbus_executor.executors.projects.values import day_out, money_out, number_out
from flowbus_shared.step_worker import StepFailure

# Concurrent provisioning for one tenant may pick the same next contract number; one wins, the
# other tries again with the next one.
NUMBER_ATTEMPTS = 5


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex}"


def _moment(value: datetime) -> datetime:
    """SQLite gives back naive datetimes; they were written in UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _decimal(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _milestone(row: Any) -> Milestone:
    return Milestone(
        milestone_id=row.milestone_id,
        position=row.position,
        name=row.name,
        due_date=row.due_date,
        amount=_decimal(row.amount),
        deliverables=tuple(str(item) for item in row.deliverables or ()),
        completed=bool(row.completed),
        completed_on=row.completed_on,
        percent_complete=_decimal(row.percent_complete),
    )


def _role(value: Any) -> RolePlan:
    hours = value.get("hours")
    return RolePlan(str(value["role"]), tuple(value.get("skills") or ()), _decimal(hours))


async def _project(conn: AsyncConnection, where: sa.ColumnElement[bool]) -> Project | None:
    row = (await conn.execute(sa.select(projects).where(where))).first()
    if row is None:
        return None
    m = project_milestones.c
    rows = await conn.execute(
        sa.select(project_milestones).where(m.project_id == row.project_id).order_by(m.position)
    )
    return Project(
        project_id=row.project_id,
        name=row.name,
        description=row.description,
        start_date=row.start_date,
        end_date=row.end_date,
        source=row.source,
        created_at=_moment(row.created_at),
        budget=_decimal(row.budget),
        currency=row.currency,
        roles=tuple(_role(role) for role in row.roles or ()),
        milestones=tuple(_milestone(milestone) for milestone in rows),
    )


async def find_project(engine: AsyncEngine, tenant_id: str, project_id: str) -> Project | None:
    async with engine.connect() as conn:
        return await _project(
            conn, (projects.c.tenant_id == tenant_id) & (projects.c.project_id == project_id)
        )


async def require_project(engine: AsyncEngine, tenant_id: str, project_id: str) -> Project:
    project = await find_project(engine, tenant_id, project_id)
    if project is None:
        raise StepFailure("not_found", f"project {project_id!r} does not exist")
    return project


async def project_by_key(engine: AsyncEngine, tenant_id: str, key: str) -> Project | None:
    async with engine.connect() as conn:
        return await _project(conn, (projects.c.tenant_id == tenant_id) & (projects.c.idempotency_key == key))


async def _insert_project(
    conn: AsyncConnection, tenant_id: str, key: str, plan: ProjectPlan, source: str, now: datetime
) -> str:
    project_id = new_id("prj")
    await conn.execute(
        projects.insert().values(
            project_id=project_id,
            tenant_id=tenant_id,
            name=plan.name,
            description=plan.description,
            start_date=plan.start_date,
            end_date=plan.end_date,
            budget=plan.budget,
            currency=plan.currency,
            roles=[role.as_json() for role in plan.roles],
            source=source,
            idempotency_key=key,
            created_at=now,
        )
    )
    if plan.milestones:
        await conn.execute(
            project_milestones.insert(),
            [
                {
                    "milestone_id": new_id("ms"),
                    "project_id": project_id,
                    "tenant_id": tenant_id,
                    "position": position,
                    "name": milestone.name,
                    "due_date": milestone.due_date,
                    "amount": milestone.amount,
                    "deliverables": list(milestone.deliverables),
                    "completed": False,
                    "completed_on": None,
                    "percent_complete": None,
                    "updated_at": now,
                }
                for position, milestone in enumerate(plan.milestones)
            ],
        )
    return project_id


async def create_project(
    engine: AsyncEngine, tenant_id: str, key: str, plan: ProjectPlan, source: str
) -> Project:
    """Store the plan once per key; a second call with the key returns the first one's project."""
    try:
        async with engine.begin() as conn:
            await _insert_project(conn, tenant_id, key, plan, source, datetime.now(UTC))
    except IntegrityError:
        pass  # stored by an earlier delivery of this attempt; read it back below
    stored = await project_by_key(engine, tenant_id, key)
    if stored is None:
        raise StepFailure("conflict", f"project for {key} could not be stored")
    return stored


# Status snapshots


async def status_by_key(engine: AsyncEngine, tenant_id: str, key: str) -> dict[str, Any] | None:
    s = project_status_snapshots.c
    async with engine.connect() as conn:
        row = (
            await conn.execute(sa.select(s.status).where(s.tenant_id == tenant_id, s.idempotency_key == key))
        ).first()
    return None if row is None else dict(row.status)


async def save_status(
    engine: AsyncEngine,
    tenant_id: str,
    key: str,
    changed: Sequence[Milestone],
    as_of: date,
    status: dict[str, Any],
    numbers: tuple[Decimal, Decimal, Decimal],
) -> dict[str, Any]:
    """Apply the milestone changes and record the snapshot in one transaction, once per key."""
    now = datetime.now(UTC)
    progress, expected, variance = numbers
    snapshot_id = new_id("pss")
    try:
        async with engine.begin() as conn:
            for milestone in changed:
                await conn.execute(
                    project_milestones.update()
                    .where(
                        project_milestones.c.milestone_id == milestone.milestone_id,
                        project_milestones.c.tenant_id == tenant_id,
                    )
                    .values(
                        completed=milestone.completed,
                        completed_on=milestone.completed_on,
                        percent_complete=milestone.percent_complete,
                        updated_at=now,
                    )
                )
            await conn.execute(
                project_status_snapshots.insert().values(
                    snapshot_id=snapshot_id,
                    tenant_id=tenant_id,
                    project_id=status["project_id"],
                    as_of=as_of,
                    progress_percent=progress,
                    expected_percent=expected,
                    schedule_variance=variance,
                    risk=status["risk"],
                    status={**status, "snapshot_id": snapshot_id},
                    idempotency_key=key,
                    recorded_at=now,
                )
            )
    except IntegrityError:
        stored = await status_by_key(engine, tenant_id, key)
        if stored is None:
            raise
        return stored
    return {**status, "snapshot_id": snapshot_id}


# Contracts


def _contract(row: Any) -> dict[str, Any]:
    return {
        "contract_id": row.contract_id,
        "number": row.number,
        "deal_id": row.deal_id,
        "deal_name": row.deal_name,
        "customer": row.customer,
        "value": money_out(_decimal(row.value)),
        "currency": row.currency,
        "term_months": row.term_months,
        "start_date": day_out(row.start_date),
        "end_date": day_out(row.end_date),
        "project_id": row.project_id,
        "status": row.status,
        "line_items": list(row.line_items or ()),
        "created_at": _moment(row.created_at).isoformat(),
    }


async def contract_for_deal(
    engine: AsyncEngine, tenant_id: str, deal_id: str
) -> tuple[dict[str, Any], Project] | None:
    c = contracts.c
    async with engine.connect() as conn:
        row = (
            await conn.execute(sa.select(contracts).where(c.tenant_id == tenant_id, c.deal_id == deal_id))
        ).first()
        if row is None:
            return None
        project = await _project(
            conn, (projects.c.tenant_id == tenant_id) & (projects.c.project_id == row.project_id)
        )
    if project is None:
        raise StepFailure("conflict", f"contract {row.number} has lost its project {row.project_id}")
    return _contract(row), project


async def create_contract(
    engine: AsyncEngine, tenant_id: str, contract: ContractPlan, plan: ProjectPlan
) -> tuple[dict[str, Any], Project, bool]:
    """The deal's contract and project, numbered CT-000001, CT-000002, ... per tenant; `created`
    is False when the deal already had them (the first provisioning's are returned)."""
    c = contracts.c
    for _ in range(NUMBER_ATTEMPTS):
        existing = await contract_for_deal(engine, tenant_id, contract.deal_id)
        if existing is not None:
            return (*existing, False)
        try:
            async with engine.begin() as conn:
                now = datetime.now(UTC)
                last = await conn.scalar(sa.select(sa.func.max(c.seq)).where(c.tenant_id == tenant_id))
                seq = int(last or 0) + 1
                project_id = await _insert_project(
                    conn, tenant_id, f"deal:{contract.deal_id}", plan, "contract", now
                )
                await conn.execute(
                    contracts.insert().values(
                        contract_id=new_id("ct"),
                        tenant_id=tenant_id,
                        seq=seq,
                        number=f"CT-{seq:06d}",
                        deal_id=contract.deal_id,
                        deal_name=contract.deal_name,
                        customer=contract.customer,
                        value=contract.value,
                        currency=contract.currency,
                        term_months=contract.term_months,
                        start_date=contract.start_date,
                        end_date=contract.end_date,
                        project_id=project_id,
                        line_items=list(contract.line_items),
                        status="active",
                        created_at=now,
                    )
                )
        except IntegrityError:
            continue  # the deal was provisioned meanwhile, or the number was taken: look again
        stored = await contract_for_deal(engine, tenant_id, contract.deal_id)
        if stored is not None:
            return (*stored, True)
    raise StepFailure("conflict", "no free contract number after several tries", retryable=True)


# Staffing


def _assignment(row: Any) -> dict[str, Any]:
    return {
        "assignment_id": row.assignment_id,
        "project_id": row.project_id,
        "role": row.role,
        "person_id": row.person_id,
        "name": row.person_name,
        "hours": number_out(_decimal(row.hours), 2),
        "score": row.score,
    }


async def assignments_by_key(engine: AsyncEngine, tenant_id: str, key: str) -> list[dict[str, Any]]:
    a = staffing_assignments.c
    query = sa.select(staffing_assignments).where(a.tenant_id == tenant_id, a.idempotency_key == key)
    async with engine.connect() as conn:
        rows = await conn.execute(query.order_by(a.position))
        return [_assignment(row) for row in rows]


async def save_assignments(
    engine: AsyncEngine, tenant_id: str, key: str, project_id: str | None, proposed: Iterable[Assignment]
) -> list[dict[str, Any]]:
    """Store the proposed assignments once per key; a redelivery gets the stored ones back."""
    stored = await assignments_by_key(engine, tenant_id, key)
    if stored:
        return stored
    now = datetime.now(UTC)
    rows = [
        {
            "assignment_id": new_id("asg"),
            "tenant_id": tenant_id,
            "project_id": project_id,
            "role": assignment.role,
            "person_id": assignment.person_id,
            "person_name": assignment.name,
            "position": position,
            "hours": assignment.hours,
            "score": assignment.score,
            "idempotency_key": key,
            "created_at": now,
        }
        for position, assignment in enumerate(proposed)
    ]
    if rows:
        try:
            async with engine.begin() as conn:
                await conn.execute(staffing_assignments.insert(), rows)
        except IntegrityError:
            pass  # a concurrent delivery of this attempt stored them
    return await assignments_by_key(engine, tenant_id, key)
