"""The LLM usage ledger and budgets: reserve before a call, settle (or release) after it.

A call reserves its estimated cost on the tenant-wide budget (and its agent's) with conditional
updates, `UPDATE ... WHERE spent + reserved + estimate <= limit`, in one transaction: PostgreSQL
re-checks the condition under the row lock and SQLite's `BEGIN IMMEDIATE` serialises writers, so a
limit is never overspent by more than one request's estimate-vs-cost error. Settling books the real
cost (`pricing.cost_usd`), frees the estimate and deletes the reservation in one transaction; the
reservation is the idempotency key, so settling twice counts once. No budget row means unlimited:
then nothing is reserved (one read) and settling is one insert, idempotent on the request id; a
budget set while such a call is in flight counts the calls reserved after it.
`month` budgets roll over: from a new month on, `spent` starts again from zero. Money is
`Numeric(18, 8)` in tables and `Decimal` in Python; SQL sums are rounded to 8 places (SQLite floats).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal, get_args

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from flowbus_llm_gateway.catalogue import Prices
from flowbus_llm_gateway.model import Usage
from flowbus_llm_gateway.pricing import cost_usd

Money = sa.Numeric(18, 8)
QUANTUM = Decimal("0.00000001")
Period = Literal["total", "month"]
GroupBy = Literal["provider", "model", "agent_id", "execution_id"]
Amount = Decimal | float | int | str
TOKEN_CLASSES = tuple(Usage.model_fields)  # input, cached input, cache write, output, reasoning
_GROUPS = get_args(GroupBy)

_metadata = sa.MetaData()
llm_usage = sa.Table(
    "llm_usage",
    _metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("tenant_id", sa.String(200), nullable=False),
    sa.Column("execution_id", sa.String(200)),
    sa.Column("step_id", sa.String(200)),
    sa.Column("agent_id", sa.String(200)),
    sa.Column("request_id", sa.String(200), nullable=False, unique=True),
    sa.Column("provider", sa.String(100), nullable=False),
    sa.Column("model", sa.String(200), nullable=False),
    *(sa.Column(name, sa.Integer, nullable=False) for name in TOKEN_CLASSES),
    sa.Column("cost_usd", Money, nullable=False),
    sa.Column("complexity", sa.String(40)),
    sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
)
llm_budgets = sa.Table(
    "llm_budgets",
    _metadata,
    sa.Column("tenant_id", sa.String(200), primary_key=True),
    sa.Column("agent_id", sa.String(200), primary_key=True),  # '' for the tenant-wide budget
    sa.Column("limit_usd", Money, nullable=False),
    sa.Column("spent_usd", Money, nullable=False),
    sa.Column("reserved_usd", Money, nullable=False),
    sa.Column("period", sa.String(10), nullable=False),
    sa.Column("period_start", sa.Date, nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)
llm_reservations = sa.Table(
    "llm_reservations",
    _metadata,
    sa.Column("request_id", sa.String(200), primary_key=True),
    sa.Column("tenant_id", sa.String(200), nullable=False),
    sa.Column("agent_id", sa.String(200)),
    sa.Column("estimate_usd", Money, nullable=False),
    sa.Column("tenant_charged", sa.Boolean, nullable=False),
    sa.Column("agent_charged", sa.Boolean, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)


def to_money(value: Amount) -> Decimal:
    """`value` as a Decimal at the tables' scale (8 places); floats go through their shortest repr."""
    return Decimal(str(value)).quantize(QUANTUM)


def _utc(moment: datetime) -> datetime:
    """SQLite hands datetimes back naive; every stored time is UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


class LedgerError(Exception):
    """A ledger operation on an unknown or conflicting request."""


class BudgetExceeded(LedgerError):
    """A reservation would take a budget over its limit. `agent_id` is None for the tenant-wide budget."""

    def __init__(self, tenant_id: str, agent_id: str | None, remaining_usd: Decimal, estimate_usd: Decimal):
        self.tenant_id, self.agent_id = tenant_id, agent_id
        self.remaining_usd, self.estimate_usd = remaining_usd, estimate_usd
        scope = f"agent {agent_id!r} of tenant {tenant_id!r}" if agent_id else f"tenant {tenant_id!r}"
        super().__init__(f"budget of {scope} exceeded: {remaining_usd} USD left, {estimate_usd} USD asked")


@dataclass(frozen=True)
class BudgetView:
    tenant_id: str
    agent_id: str | None
    limit_usd: Decimal
    spent_usd: Decimal
    reserved_usd: Decimal
    period: str
    period_start: date

    @property
    def remaining_usd(self) -> Decimal:
        return max(self.limit_usd - self.spent_usd - self.reserved_usd, Decimal(0)).quantize(QUANTUM)


@dataclass(frozen=True)
class Reservation:
    request_id: str
    tenant_id: str
    agent_id: str | None
    estimate_usd: Decimal
    held: bool = True  # False: no budget applies, nothing was reserved


class Ledger:
    def __init__(self, engine: AsyncEngine, *, today: Callable[[], date] | None = None) -> None:
        self._engine = engine
        self._postgres = engine.dialect.name == "postgresql"  # else SQLite
        self._today = today or (lambda: datetime.now(UTC).date())

    def _month_start(self) -> date:
        return self._today().replace(day=1)

    def _view(self, row: Any) -> BudgetView:
        """The budget as it stands now: a month budget from an earlier month has spent nothing yet."""
        month = self._month_start()
        rolled = row.period == "month" and row.period_start < month
        spent = Decimal(0).quantize(QUANTUM) if rolled else to_money(row.spent_usd)
        start = month if rolled else row.period_start
        limit, reserved = to_money(row.limit_usd), to_money(row.reserved_usd)
        return BudgetView(row.tenant_id, row.agent_id or None, limit, spent, reserved, row.period, start)

    async def set_budget(
        self, tenant_id: str, limit_usd: Amount, *, agent_id: str | None = None, period: Period = "month"
    ) -> None:
        """Create or change a budget; what was spent and reserved is kept."""
        if period not in ("total", "month"):
            raise ValueError(f"period must be 'total' or 'month', not {period!r}")
        limit = to_money(limit_usd)
        if limit < 0:
            raise ValueError("a budget limit cannot be negative")
        start = self._month_start() if period == "month" else self._today()
        now, zero = datetime.now(UTC), Decimal(0)
        insert = (pg_insert if self._postgres else sqlite_insert)(llm_budgets).values(
            tenant_id=tenant_id, agent_id=agent_id or "", limit_usd=limit, spent_usd=zero
        )
        insert = insert.values(reserved_usd=zero, period=period, period_start=start, updated_at=now)
        b = llm_budgets.c
        new_start = sa.case((b.period != period, insert.excluded.period_start), else_=b.period_start)
        statement = insert.on_conflict_do_update(
            index_elements=[b.tenant_id, b.agent_id],
            set_={"limit_usd": limit, "period": period, "period_start": new_start, "updated_at": now},
        )
        async with self._engine.begin() as conn:
            await conn.execute(statement)

    async def budget(self, tenant_id: str, agent_id: str | None = None) -> BudgetView | None:
        async with self._engine.connect() as conn:
            row = (await conn.execute(sa.select(llm_budgets).where(*_key(tenant_id, agent_id)))).first()
        return None if row is None else self._view(row)

    async def budgets(self, tenant_id: str) -> list[BudgetView]:
        """The tenant's budget and its agents' budgets, tenant first."""
        query = sa.select(llm_budgets).where(llm_budgets.c.tenant_id == tenant_id)
        async with self._engine.connect() as conn:
            rows = await conn.execute(query.order_by(llm_budgets.c.agent_id))
            return [self._view(row) for row in rows]

    async def release_abandoned(self, older_than: timedelta) -> int:
        """Give back reservations older than `older_than`: their calls died with a process
        (a crash between reserve and settle) and would otherwise hold budget forever."""
        cutoff = datetime.now(UTC) - older_than
        query = sa.select(llm_reservations.c.request_id).where(llm_reservations.c.created_at < cutoff)
        async with self._engine.connect() as conn:
            stale = list((await conn.execute(query)).scalars())
        released = [request_id for request_id in stale if await self.release(request_id)]
        return len(released)

    async def reserve(
        self, tenant_id: str, estimate_usd: Amount, *, agent_id: str | None = None, request_id: str
    ) -> Reservation:
        """Hold `estimate_usd` on the tenant's budget (and the agent's), or raise BudgetExceeded.

        Reserving a request that already holds a reservation returns that reservation."""
        reservation = Reservation(request_id, tenant_id, agent_id, to_money(estimate_usd))
        if reservation.estimate_usd < 0:
            raise ValueError("an estimate cannot be negative")
        if not await self._budgeted(tenant_id, agent_id):
            return replace(reservation, held=False)
        try:
            async with self._engine.begin() as conn:
                settled = sa.select(llm_usage.c.id).where(llm_usage.c.request_id == request_id)
                if (await conn.execute(settled)).first() is not None:
                    raise LedgerError(f"request {request_id!r} is already settled")
                tenant_charged = await self._charge(conn, reservation, None)
                agent_charged = agent_id is not None and await self._charge(conn, reservation, agent_id)
                charged = {"tenant_charged": tenant_charged, "agent_charged": agent_charged}
                who = {"request_id": request_id, "tenant_id": tenant_id, "agent_id": agent_id}
                insert = llm_reservations.insert().values(
                    **who, estimate_usd=reservation.estimate_usd, **charged
                )
                await conn.execute(insert.values(created_at=datetime.now(UTC)))
        except IntegrityError:
            async with self._engine.connect() as conn:
                held = (await conn.execute(sa.select(llm_reservations).where(_held(request_id)))).first()
            if held is None or held.tenant_id != tenant_id:
                raise LedgerError(f"request {request_id!r} is already in use") from None
            return Reservation(request_id, held.tenant_id, held.agent_id, to_money(held.estimate_usd))
        return reservation

    @asynccontextmanager
    async def _single(self) -> AsyncIterator[AsyncConnection]:
        """A connection for one statement: no BEGIN/COMMIT round trips on PostgreSQL (autocommit);
        SQLite, whose writers are serialised by BEGIN IMMEDIATE, gets a short transaction."""
        if self._postgres:
            async with self._engine.connect() as conn:
                yield await conn.execution_options(isolation_level="AUTOCOMMIT")
        else:
            async with self._engine.begin() as conn:
                yield conn

    async def _budgeted(self, tenant_id: str, agent_id: str | None) -> bool:
        """Whether a budget applies to the tenant or the agent (one read, outside a transaction)."""
        query = (
            sa.select(llm_budgets.c.agent_id)
            .where(llm_budgets.c.tenant_id == tenant_id, llm_budgets.c.agent_id.in_(["", agent_id or ""]))
            .limit(1)
        )
        async with self._single() as conn:
            return (await conn.execute(query)).first() is not None

    async def _record_unbudgeted(
        self, reservation: Reservation, usage_row: dict[str, Any], cost: Decimal
    ) -> Decimal:
        """Settle a call no budget applied to: one insert, idempotent on the request id."""
        table = pg_insert(llm_usage) if self._postgres else sqlite_insert(llm_usage)
        insert = table.values(**usage_row, cost_usd=cost, recorded_at=datetime.now(UTC))
        statement = insert.on_conflict_do_nothing(index_elements=[llm_usage.c.request_id]).returning(
            llm_usage.c.id
        )
        async with self._single() as conn:
            if (await conn.execute(statement)).first() is not None:
                return cost
            recorded = sa.select(llm_usage.c.cost_usd).where(llm_usage.c.request_id == reservation.request_id)
            return to_money((await conn.execute(recorded)).scalar_one())

    async def _charge(self, conn: AsyncConnection, reservation: Reservation, agent_id: str | None) -> bool:
        """Add the estimate to one budget's reserved amount if it fits; False when there is no such budget.

        One conditional UPDATE: PostgreSQL re-evaluates its WHERE on the locked row, SQLite runs it alone."""
        b, key = llm_budgets.c, _key(reservation.tenant_id, agent_id)
        amount = sa.literal(reservation.estimate_usd, Money)
        spent, start = _rolled_over(self._month_start())
        updated = await conn.execute(
            llm_budgets.update()
            .where(*key, _round(spent + b.reserved_usd + amount) <= b.limit_usd)
            .values(spent_usd=spent, period_start=start, reserved_usd=_round(b.reserved_usd + amount))
            .values(updated_at=datetime.now(UTC))
            .returning(b.tenant_id)
        )
        if updated.first() is not None:
            return True
        row = (await conn.execute(sa.select(llm_budgets).where(*key))).first()
        if row is None:
            return False
        remaining = self._view(row).remaining_usd
        raise BudgetExceeded(reservation.tenant_id, agent_id, remaining, reservation.estimate_usd)

    async def _take(self, conn: AsyncConnection, request_id: str) -> Any:
        """Delete and return the request's reservation; the delete is the idempotency guard."""
        result = await conn.execute(
            llm_reservations.delete().where(_held(request_id)).returning(*llm_reservations.c)
        )
        return result.first()

    async def _book(self, conn: AsyncConnection, held: Any, agent_id: str | None, cost: Decimal) -> None:
        """Give the reservation's estimate back and add `cost` to the spent amounts."""
        b = llm_budgets.c
        spent, start = _rolled_over(self._month_start())
        estimate, zero = to_money(held.estimate_usd), Decimal(0)
        targets: list[tuple[str | None, Decimal]] = [(None, estimate if held.tenant_charged else zero)]
        if agent_id is not None:
            targets.append((agent_id, estimate if held.agent_charged and held.agent_id == agent_id else zero))
        for target, release in targets:
            await conn.execute(
                llm_budgets.update()
                .where(*_key(held.tenant_id, target))
                .values(spent_usd=_round(spent + sa.literal(cost, Money)), period_start=start)
                .values(reserved_usd=_round(b.reserved_usd - sa.literal(release, Money)))
                .values(updated_at=datetime.now(UTC))
            )

    async def settle(
        self,
        reservation: Reservation | str,
        usage: Usage,
        prices: Prices,
        *,
        provider: str,
        model: str,
        execution_id: str | None = None,
        step_id: str | None = None,
        agent_id: str | None = None,
        complexity: str | None = None,
    ) -> Decimal:
        """Record the call's real cost and close its reservation; a second settle returns the recorded cost."""
        request_id = reservation if isinstance(reservation, str) else reservation.request_id
        cost = to_money(cost_usd(usage, prices))
        if isinstance(reservation, Reservation) and not reservation.held:
            row = {
                "tenant_id": reservation.tenant_id,
                "execution_id": execution_id,
                "step_id": step_id,
                "agent_id": reservation.agent_id or agent_id,
                "request_id": request_id,
                "provider": provider,
                "model": model,
                **usage.model_dump(),
                "complexity": complexity,
            }
            return await self._record_unbudgeted(reservation, row, cost)
        async with self._engine.begin() as conn:
            held = await self._take(conn, request_id)
            if held is None:
                recorded = sa.select(llm_usage.c.cost_usd).where(llm_usage.c.request_id == request_id)
                previous = (await conn.execute(recorded)).scalar()
                if previous is None:
                    raise LedgerError(f"request {request_id!r} has no reservation to settle")
                return to_money(previous)
            agent = held.agent_id if held.agent_id is not None else agent_id
            await self._book(conn, held, agent, cost)
            where = {"tenant_id": held.tenant_id, "execution_id": execution_id, "step_id": step_id}
            what = {"request_id": request_id, "provider": provider, "model": model, "agent_id": agent}
            insert = llm_usage.insert().values(**where, **what, **usage.model_dump(), complexity=complexity)
            await conn.execute(insert.values(cost_usd=cost, recorded_at=datetime.now(UTC)))
        return cost

    async def release(self, reservation: Reservation | str) -> bool:
        """Give back the reservation of a call that failed before any usage; False if there is none."""
        if isinstance(reservation, Reservation) and not reservation.held:
            return False
        request_id = reservation if isinstance(reservation, str) else reservation.request_id
        async with self._engine.begin() as conn:
            held = await self._take(conn, request_id)
            if held is None:
                return False
            await self._book(conn, held, held.agent_id, Decimal(0))
        return True

    async def usage(
        self,
        tenant_id: str,
        *,
        since: datetime | None = None,
        execution_id: str | None = None,
        agent_id: str | None = None,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """The tenant's usage rows, oldest first (the newest `limit` of them, when given)."""
        query = sa.select(llm_usage).where(llm_usage.c.tenant_id == tenant_id)
        if since is not None:
            query = query.where(llm_usage.c.recorded_at >= _utc(since))
        for name, value in (("execution_id", execution_id), ("agent_id", agent_id)):
            if value is not None:
                query = query.where(llm_usage.c[name] == value)
        async with self._engine.connect() as conn:
            newest_first = query.order_by(llm_usage.c.recorded_at.desc(), llm_usage.c.id.desc()).limit(limit)
            rows = list(await conn.execute(newest_first))
            return [
                {**row._mapping, "cost_usd": to_money(row.cost_usd), "recorded_at": _utc(row.recorded_at)}
                for row in reversed(rows)
            ]

    async def totals(
        self, tenant_id: str, group_by: GroupBy = "provider", *, since: datetime | None = None
    ) -> list[dict[str, Any]]:
        """Requests, tokens per class and cost of the tenant, per value of `group_by`."""
        if group_by not in _GROUPS:
            raise ValueError(f"group_by must be one of {', '.join(_GROUPS)}, not {group_by!r}")
        column = llm_usage.c[group_by]
        query = sa.select(
            column,
            sa.func.count().label("requests"),
            *(sa.func.sum(llm_usage.c[name]).label(name) for name in TOKEN_CLASSES),
            sa.func.sum(llm_usage.c.cost_usd).label("cost_usd"),
        ).where(llm_usage.c.tenant_id == tenant_id)
        if since is not None:
            query = query.where(llm_usage.c.recorded_at >= _utc(since))
        async with self._engine.connect() as conn:
            rows = await conn.execute(query.group_by(column).order_by(column))
            return [{**row._mapping, "cost_usd": to_money(row.cost_usd)} for row in rows]


def _rolled_over(month: date) -> tuple[sa.ColumnElement[Decimal], sa.ColumnElement[date]]:
    """Spent and period start of a budget row as of `month`: a month budget from before starts afresh."""
    b = llm_budgets.c
    rolled = sa.and_(b.period == "month", b.period_start < month)
    spent = sa.case((rolled, sa.literal(Decimal(0), Money)), else_=b.spent_usd)
    return spent, sa.case((rolled, sa.literal(month, sa.Date)), else_=b.period_start)


def _round(amount: sa.ColumnElement[Decimal]) -> sa.ColumnElement[Decimal]:
    return sa.func.round(amount, sa.literal_column("8"), type_=Money)


def _held(request_id: str) -> sa.ColumnElement[bool]:
    return llm_reservations.c.request_id == request_id


def _key(tenant_id: str, agent_id: str | None) -> tuple[sa.ColumnElement[bool], sa.ColumnElement[bool]]:
    return llm_budgets.c.tenant_id == tenant_id, llm_budgets.c.agent_id == (agent_id or "")
