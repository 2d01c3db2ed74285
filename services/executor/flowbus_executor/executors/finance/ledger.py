"""A double-entry ledger per tenant: accounts, journal entries and their lines.

`post` writes an entry only when it balances (debits == credits in every currency) and
only once per idempotency key, in one transaction of three statements (account check,
entry insert, lines as one executemany). `balance` and `trial_balance` read it back.
Amounts are Decimal here and BIGINT minor units in the tables (see money.py).
"""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from flowbus_executor.executors.finance.chart import (
    ACCOUNT_TYPES,
    DEFAULT_ACCOUNTS,
    DEFAULT_CHART,
    Account,
    AccountType,
)
from flowbus_executor.executors.finance.money import (
    ZERO,
    MoneyError,
    currency_code,
    from_minor,
    money_str,
    to_minor,
)
from flowbus_executor.executors.finance.tables import (
    insert_unless_present,
    ledger_accounts,
    ledger_entries,
    ledger_lines,
)

Database = AsyncEngine | AsyncConnection


class LedgerError(Exception):
    """An entry the ledger refuses; `error_type` is the step failure it becomes."""

    error_type = "invalid_entry"


class Unbalanced(LedgerError):
    error_type = "unbalanced"

    def __init__(self, totals: dict[str, tuple[Decimal, Decimal]]) -> None:
        self.totals = totals  # currency -> (debits, credits), only the currencies that differ
        parts = [
            f"{currency} debits {money_str(debit, currency)} != credits {money_str(credit, currency)}"
            f" (difference {money_str(debit - credit, currency)})"
            for currency, (debit, credit) in sorted(totals.items())
        ]
        super().__init__("unbalanced entry: " + "; ".join(parts))


class UnknownAccount(LedgerError):
    error_type = "unknown_account"


class IdempotencyConflict(LedgerError):
    """The key was already posted with different lines: the same source, different numbers."""

    error_type = "conflict"

    def __init__(self, message: str, existing: PostedEntry) -> None:
        super().__init__(message)
        self.existing = existing


@dataclass(frozen=True)
class Line:
    account: str
    currency: str
    debit: Decimal = ZERO
    credit: Decimal = ZERO
    memo: str = ""

    @classmethod
    def signed(cls, account: str, amount: Decimal, currency: str, memo: str = "") -> Line:
        """A debit for a positive amount, a credit for a negative one."""
        if amount >= 0:
            return cls(account, currency, debit=amount, memo=memo)
        return cls(account, currency, credit=-amount, memo=memo)

    def as_dict(self) -> dict[str, str]:
        return {
            "account": self.account,
            "debit": money_str(self.debit, self.currency),
            "credit": money_str(self.credit, self.currency),
            "currency": self.currency,
            "memo": self.memo,
        }


@dataclass(frozen=True)
class Entry:
    lines: Sequence[Line]
    idempotency_key: str
    entry_date: date
    description: str = ""
    source: str = ""


@dataclass(frozen=True)
class PostedEntry:
    entry_id: str
    tenant_id: str
    entry_date: date
    description: str
    source: str
    idempotency_key: str
    lines: tuple[Line, ...]
    created: bool  # False when an earlier post of the same key is returned

    def as_dict(self) -> dict[str, Any]:
        return {
            "entry_id": self.entry_id,
            "date": self.entry_date.isoformat(),
            "description": self.description,
            "source": self.source,
            "posted_now": self.created,
            "lines": [line.as_dict() for line in self.lines],
        }


@dataclass(frozen=True)
class TrialBalanceRow:
    code: str
    name: str
    type: AccountType
    currency: str
    debit: Decimal  # the net balance sits in one column, the other is zero
    credit: Decimal


@dataclass(frozen=True)
class TrialBalance:
    rows: tuple[TrialBalanceRow, ...]
    totals: dict[str, tuple[Decimal, Decimal]] = field(default_factory=dict)  # currency -> (dr, cr)

    @property
    def balanced(self) -> bool:
        return all(debit == credit for debit, credit in self.totals.values())

    def net(self, currency: str) -> Decimal:
        """Debits minus credits over every account: zero for a sound ledger."""
        debit, credit = self.totals.get(currency, (ZERO, ZERO))
        return debit - credit


def checked_lines(entry: Entry) -> tuple[Line, ...]:
    """The entry's non-zero lines, normalised; LedgerError unless it is a valid, balanced entry."""
    if not entry.idempotency_key or len(entry.idempotency_key) > 500:
        raise LedgerError("an entry needs an idempotency key of at most 500 characters")
    lines: list[Line] = []
    totals: dict[str, list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
    for line in entry.lines:
        try:
            currency = currency_code(line.currency)
            to_minor(line.debit, currency)
            to_minor(line.credit, currency)
        except MoneyError as error:
            raise LedgerError(f"account {line.account}: {error}") from None
        if line.debit < 0 or line.credit < 0:
            raise LedgerError(f"account {line.account}: debit and credit cannot be negative")
        if line.debit and line.credit:
            raise LedgerError(f"account {line.account}: a line is a debit or a credit, not both")
        if not line.debit and not line.credit:
            continue
        lines.append(Line(str(line.account), currency, line.debit, line.credit, line.memo[:500]))
        totals[currency][0] += line.debit
        totals[currency][1] += line.credit
    if len(lines) < 2:
        raise LedgerError("an entry needs at least two non-zero lines")
    unequal = {cur: (dr, cr) for cur, (dr, cr) in totals.items() if dr != cr}
    if unequal:
        raise Unbalanced(unequal)
    return tuple(lines)


async def post(db: Database, tenant: str, entry: Entry) -> PostedEntry:
    """Post `entry` once: a second post of its idempotency key returns the first (created
    False), or IdempotencyConflict when its lines differ. Given a connection, runs in the
    caller's transaction; given an engine, in a transaction of its own."""
    lines = checked_lines(entry)
    if isinstance(db, AsyncEngine):
        async with db.begin() as conn:
            return await _post(conn, tenant, entry, lines)
    return await _post(db, tenant, entry, lines)


async def _post(conn: AsyncConnection, tenant: str, entry: Entry, lines: tuple[Line, ...]) -> PostedEntry:
    await _require_accounts(conn, tenant, {line.account for line in lines})
    entry_id = f"je_{uuid.uuid4().hex}"
    inserted = (
        await conn.execute(
            insert_unless_present(conn, ledger_entries)
            .values(
                entry_id=entry_id,
                tenant_id=tenant,
                entry_date=entry.entry_date,
                description=entry.description,
                source=entry.source[:500],
                idempotency_key=entry.idempotency_key,
                created_at=datetime.now(UTC),
            )
            .returning(ledger_entries.c.entry_id)
        )
    ).first()
    if inserted is None:
        existing = await find_entry(conn, tenant, entry.idempotency_key)
        if existing is None:  # pragma: no cover - the key's row vanished between statements
            raise LedgerError(f"entry {entry.idempotency_key!r} could not be posted")
        if _fingerprint(existing.lines) != _fingerprint(lines):
            raise IdempotencyConflict(
                f"{entry.idempotency_key!r} was already posted as {existing.entry_id} with other amounts",
                existing,
            )
        return existing
    await conn.execute(
        ledger_lines.insert(),
        [
            {
                "entry_id": entry_id,
                "line_no": number,
                "tenant_id": tenant,
                "account_code": line.account,
                "currency": line.currency,
                "debit_minor": to_minor(line.debit, line.currency),
                "credit_minor": to_minor(line.credit, line.currency),
                "memo": line.memo,
            }
            for number, line in enumerate(lines, start=1)
        ],
    )
    return PostedEntry(
        entry_id,
        tenant,
        entry.entry_date,
        entry.description,
        entry.source,
        entry.idempotency_key,
        lines,
        True,
    )


def _fingerprint(lines: Iterable[Line]) -> Counter[tuple[str, str, Decimal, Decimal]]:
    return Counter((line.account, line.currency, line.debit, line.credit) for line in lines)


async def _require_accounts(conn: AsyncConnection, tenant: str, codes: set[str]) -> None:
    """UnknownAccount unless every code is one of the tenant's accounts; the default chart is
    created the first time a tenant uses one of its codes."""
    found = await _existing_codes(conn, tenant, codes)
    if codes - found and (codes - found) & DEFAULT_ACCOUNTS.keys():
        await ensure_chart(conn, tenant)
        found = await _existing_codes(conn, tenant, codes)
    if codes - found:
        raise UnknownAccount(f"no account {', '.join(sorted(codes - found))} in the chart of accounts")


async def _existing_codes(conn: AsyncConnection, tenant: str, codes: set[str]) -> set[str]:
    rows = await conn.execute(
        sa.select(ledger_accounts.c.code).where(
            ledger_accounts.c.tenant_id == tenant, ledger_accounts.c.code.in_(sorted(codes))
        )
    )
    return {row.code for row in rows}


async def ensure_chart(db: Database, tenant: str) -> None:
    """Add the default chart's accounts the tenant does not have yet (its own ones stay)."""
    rows = [_account_row(tenant, account) for account in DEFAULT_CHART]
    if isinstance(db, AsyncEngine):
        async with db.begin() as conn:
            await conn.execute(insert_unless_present(conn, ledger_accounts), rows)
    else:
        await db.execute(insert_unless_present(db, ledger_accounts), rows)


def _account_row(tenant: str, account: Account) -> dict[str, Any]:
    return {
        "tenant_id": tenant,
        "code": account.code,
        "name": account.name,
        "account_type": account.type,
        "contra": account.contra,
        "created_at": datetime.now(UTC),
    }


async def create_account(db: Database, tenant: str, account: Account) -> Account:
    """Add an account to the tenant's chart (idempotent: an existing code keeps its definition)."""
    if account.type not in ACCOUNT_TYPES or not account.code or len(account.code) > 20:
        raise LedgerError(f"invalid account {account.code!r} of type {account.type!r}")
    if isinstance(db, AsyncEngine):
        async with db.begin() as conn:
            await conn.execute(insert_unless_present(conn, ledger_accounts), [_account_row(tenant, account)])
    else:
        await db.execute(insert_unless_present(db, ledger_accounts), [_account_row(tenant, account)])
    return account


async def accounts(db: Database, tenant: str) -> dict[str, Account]:
    """The tenant's chart by code (the default chart until its first posting)."""
    async with _reading(db) as conn:
        rows = (
            await conn.execute(sa.select(ledger_accounts).where(ledger_accounts.c.tenant_id == tenant))
        ).all()
    if not rows:
        return dict(DEFAULT_ACCOUNTS)
    return {row.code: Account(row.code, row.name, row.account_type, bool(row.contra)) for row in rows}


async def find_entry(db: Database, tenant: str, idempotency_key: str) -> PostedEntry | None:
    """The entry posted under `idempotency_key`, with its lines, or None."""
    found = await find_entries(db, tenant, [idempotency_key])
    return found.get(idempotency_key)


async def find_entries(db: Database, tenant: str, keys: Sequence[str]) -> dict[str, PostedEntry]:
    """The entries posted under any of `keys`, by key (two queries whatever their number)."""
    if not keys:
        return {}
    async with _reading(db) as conn:
        heads = (
            await conn.execute(
                sa.select(ledger_entries).where(
                    ledger_entries.c.tenant_id == tenant, ledger_entries.c.idempotency_key.in_(list(keys))
                )
            )
        ).all()
        if not heads:
            return {}
        lines = (
            await conn.execute(
                sa.select(ledger_lines)
                .where(ledger_lines.c.entry_id.in_([head.entry_id for head in heads]))
                .order_by(ledger_lines.c.entry_id, ledger_lines.c.line_no)
            )
        ).all()
    by_entry: dict[str, list[Line]] = defaultdict(list)
    for row in lines:
        debit, credit = from_minor(row.debit_minor, row.currency), from_minor(row.credit_minor, row.currency)
        by_entry[row.entry_id].append(Line(row.account_code, row.currency, debit, credit, row.memo))
    return {
        head.idempotency_key: PostedEntry(
            head.entry_id,
            tenant,
            head.entry_date,
            head.description,
            head.source,
            head.idempotency_key,
            tuple(by_entry[head.entry_id]),
            False,
        )
        for head in heads
    }


async def balance(
    db: Database, tenant: str, account_code: str, *, currency: str | None = None, as_of: date | None = None
) -> dict[str, Decimal]:
    """The account's balance per currency on its normal side (an asset's debit balance and a
    liability's credit balance are both positive), from entries dated up to `as_of`."""
    chart = await accounts(db, tenant)
    account = chart.get(account_code) or DEFAULT_ACCOUNTS.get(account_code)
    if account is None:
        raise UnknownAccount(f"no account {account_code} in the chart of accounts")
    query = _sums(tenant, as_of).where(ledger_lines.c.account_code == account_code)
    if currency is not None:
        query = query.where(ledger_lines.c.currency == currency)
    async with _reading(db) as conn:
        rows = (await conn.execute(query)).all()
    sign = 1 if account.debit_normal else -1
    return {
        row.currency: from_minor(sign * (int(row.debits) - int(row.credits)), row.currency) for row in rows
    }


async def trial_balance(db: Database, tenant: str, *, as_of: date | None = None) -> TrialBalance:
    """Every account's net balance per currency in its debit or credit column, with the
    column totals per currency (equal when the ledger is sound)."""
    chart = await accounts(db, tenant)
    async with _reading(db) as conn:
        rows = (await conn.execute(_sums(tenant, as_of).order_by(ledger_lines.c.account_code))).all()
    result: list[TrialBalanceRow] = []
    totals: dict[str, tuple[Decimal, Decimal]] = {}
    for row in rows:
        account = chart.get(row.account_code) or Account(row.account_code, row.account_code, "asset")
        net = from_minor(int(row.debits) - int(row.credits), row.currency)
        debit, credit = (net, ZERO) if net >= 0 else (ZERO, -net)
        result.append(TrialBalanceRow(account.code, account.name, account.type, row.currency, debit, credit))
        so_far = totals.get(row.currency, (ZERO, ZERO))
        totals[row.currency] = (so_far[0] + debit, so_far[1] + credit)
    return TrialBalance(tuple(result), totals)


def _sums(tenant: str, as_of: date | None) -> sa.Select[Any]:
    lines = ledger_lines.c
    query = sa.select(
        lines.account_code,
        lines.currency,
        sa.func.coalesce(sa.func.sum(lines.debit_minor), 0).label("debits"),
        sa.func.coalesce(sa.func.sum(lines.credit_minor), 0).label("credits"),
    ).where(lines.tenant_id == tenant)
    if as_of is not None:
        query = query.join(ledger_entries, ledger_entries.c.entry_id == lines.entry_id).where(
            ledger_entries.c.entry_date <= as_of
        )
    return query.group_by(lines.account_code, lines.currency)


@asynccontextmanager
async def _reading(db: Database) -> AsyncIterator[AsyncConnection]:
    """A connection to read with: the caller's, or a short-lived one of the engine."""
    if isinstance(db, AsyncConnection):
        yield db
    else:
        async with db.connect() as conn:
            yield conn
