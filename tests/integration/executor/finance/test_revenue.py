"""revenue_recognition: the deferral once, each ended period or completed milestone once,
a schedule that sums exactly to the contract total."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from flowbus_executor.deps import ExecutorDeps
from flowbus_executor.executors.finance import balance, chart, trial_balance
from tests.integration.executor.finance.conftest import Run

D = Decimal
RATABLE = {
    "contract_id": "C-2026-17",
    "customer": "Initech",
    "total": "10000.00",
    "currency": "USD",
    "method": "ratable",
    "start": "2026-01-01",
    "end": "2026-12-31",
}


async def recognised(run: Run, config: dict[str, Any], **options: Any) -> dict[str, Any]:
    result = await run("revenue_recognition", config, **options)
    assert result.status == "succeeded", result.error
    assert result.output is not None
    return result.output


async def test_ratable_contract_month_by_month(run: Run, deps: ExecutorDeps, tenant: str) -> None:
    output = await recognised(run, {**RATABLE, "as_of": "2026-03-31"})
    schedule = output["schedule"]
    assert len(schedule) == 12
    assert [row["amount"] for row in schedule] == ["833.33"] * 11 + ["833.37"]  # the last absorbs rounding
    assert sum(D(row["amount"]) for row in schedule) == D("10000.00")
    assert (schedule[0]["start"], schedule[0]["end"]) == ("2026-01-01", "2026-01-31")
    assert (schedule[1]["start"], schedule[1]["end"]) == ("2026-02-01", "2026-02-28")
    assert [row["status"] for row in schedule] == ["posted"] * 3 + ["pending"] * 9
    assert schedule[2]["recognised_on"] == "2026-03-31"
    assert (output["recognised_to_date"], output["deferred_remaining"]) == ("2499.99", "7500.01")
    assert output["posted_now"] == 4  # the deferral and three months
    assert output["deferral"]["date"] == "2026-01-01"
    assert await balance(deps.engine, tenant, chart.ACCOUNTS_RECEIVABLE) == {"USD": D("10000.00")}
    assert await balance(deps.engine, tenant, chart.DEFERRED_REVENUE) == {"USD": D("7500.01")}
    assert await balance(deps.engine, tenant, chart.REVENUE) == {"USD": D("2499.99")}

    again = await recognised(run, {**RATABLE, "as_of": "2026-03-31"}, attempt=2)
    assert again["posted_now"] == 0
    assert again["deferral"]["entry_id"] == output["deferral"]["entry_id"]
    assert await balance(deps.engine, tenant, chart.REVENUE) == {"USD": D("2499.99")}

    # Mid-June: April and May have ended, June has not.
    later = await recognised(run, {**RATABLE, "as_of": "2026-06-15"}, attempt=3)
    assert later["posted_now"] == 2
    assert [row["status"] for row in later["schedule"]].count("posted") == 5
    assert later["recognised_to_date"] == "4166.65"

    # After the term everything is recognised and the deferred balance is gone.
    done = await recognised(run, {**RATABLE, "as_of": "2027-01-01"}, attempt=4)
    assert done["posted_now"] == 7
    assert (done["recognised_to_date"], done["deferred_remaining"]) == ("10000.00", "0.00")
    assert await balance(deps.engine, tenant, chart.DEFERRED_REVENUE) == {"USD": D("0.00")}
    assert await balance(deps.engine, tenant, chart.REVENUE) == {"USD": D("10000.00")}
    trial = await trial_balance(deps.engine, tenant)
    assert trial.balanced
    assert trial.totals["USD"] == (D("10000.00"), D("10000.00"))


async def test_partial_months_are_prorated_by_day(run: Run) -> None:
    config = {
        **RATABLE,
        "total": "1000.00",
        "start": "2026-01-01",
        "end": "2026-02-14",
        "as_of": "2026-01-01",
    }
    output = await recognised(run, config)
    # 31 of 45 days in January, 14 in February.
    assert [(row["period"], row["amount"]) for row in output["schedule"]] == [
        ("2026-01", "688.89"),
        ("2026-02", "311.11"),
    ]
    assert output["schedule"][1]["end"] == "2026-02-14"


async def test_mid_month_start_runs_month_to_month(run: Run) -> None:
    config = {**RATABLE, "total": "900.00", "start": "2026-01-15", "end": "2026-04-14", "as_of": "2026-02-14"}
    output = await recognised(run, config)
    assert [(row["start"], row["end"], row["amount"], row["status"]) for row in output["schedule"]] == [
        ("2026-01-15", "2026-02-14", "300.00", "posted"),
        ("2026-02-15", "2026-03-14", "300.00", "pending"),
        ("2026-03-15", "2026-04-14", "300.00", "pending"),
    ]


async def test_milestone_contract(run: Run, deps: ExecutorDeps, tenant: str) -> None:
    milestones: list[dict[str, Any]] = [
        {"name": "Design", "percent": 30, "completed": True, "completed_on": "2026-02-01"},
        {"name": "Build", "percent": "50", "completed": False},
        {"name": "Launch", "amount": "10000.00", "completed": True, "completed_on": "2026-04-01"},
    ]
    config: dict[str, Any] = {
        "contract_id": "M-9",
        "customer": "Umbrella GmbH",
        "total": "50000.00",
        "currency": "EUR",
        "method": "milestone",
        "start": "2026-01-10",
        "as_of": "2026-03-01",
        "milestones": milestones,
    }
    output = await recognised(run, config)
    assert [(row["period"], row["amount"], row["status"]) for row in output["schedule"]] == [
        ("Design", "15000.00", "posted"),
        ("Build", "25000.00", "pending"),
        ("Launch", "10000.00", "pending"),  # completed after as_of
    ]
    assert output["schedule"][0]["recognised_on"] == "2026-02-01"
    assert (output["recognised_to_date"], output["deferred_remaining"]) == ("15000.00", "35000.00")
    assert await balance(deps.engine, tenant, chart.DEFERRED_REVENUE) == {"EUR": D("35000.00")}
    milestones[1].update(completed=True, completed_on="2026-03-20")
    later = await recognised(run, {**config, "as_of": "2026-04-02"}, attempt=2)
    assert later["posted_now"] == 2
    assert later["deferred_remaining"] == "0.00"
    assert await balance(deps.engine, tenant, chart.REVENUE) == {"EUR": D("50000.00")}


async def test_percent_milestones_absorb_rounding(run: Run) -> None:
    thirds = [{"name": name, "percent": "33.33333", "completed": False} for name in ("A", "B", "C")]
    config = {
        **RATABLE,
        "total": "100.00",
        "method": "milestone",
        "milestones": thirds,
        "as_of": "2026-01-01",
    }
    output = await recognised(run, config)
    assert [row["amount"] for row in output["schedule"]] == ["33.33", "33.33", "33.34"]


async def test_changed_contract_is_refused(run: Run, deps: ExecutorDeps, tenant: str) -> None:
    await recognised(run, {**RATABLE, "as_of": "2026-01-31"})
    result = await run(
        "revenue_recognition", {**RATABLE, "total": "12000.00", "as_of": "2026-01-31"}, attempt=2
    )
    assert result.status == "failed"
    assert result.error is not None
    assert result.error.error_type == "contract_changed"
    assert await balance(deps.engine, tenant, chart.ACCOUNTS_RECEIVABLE) == {"USD": D("10000.00")}


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"method": "straight"}, "ratable or milestone"),
        ({"end": "2025-12-31"}, "end is before start"),
        ({"start": None}, "start and end"),
        ({"total": "-5"}, "greater than zero"),
        ({"total": "10.001"}, "more decimals"),
        ({"currency": "EURO"}, "ISO 4217"),
        ({"method": "milestone", "milestones": [{"name": "A", "amount": "10.00"}]}, "not the contract total"),
        ({"method": "milestone", "milestones": [{"name": "A"}]}, "amount or a percent"),
    ],
)
async def test_bad_contracts_are_invalid_config(run: Run, change: dict[str, Any], words: str) -> None:
    result = await run("revenue_recognition", {**RATABLE, **change})
    assert result.status == "failed"
    assert result.error is not None
    assert (result.error.error_type, result.error.retryable) == ("invalid_config", False)
    assert words in result.error.message
