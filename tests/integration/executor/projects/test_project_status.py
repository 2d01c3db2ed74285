"""project_status_sync: milestone updates applied, progress weighted by amount (or count),
schedule variance against elapsed time, overdue milestones, budget burn, the stored snapshot."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from flowbus_executor.deps import ExecutorDeps
from tests.integration.executor.projects.rig import fail, request, rows, succeed
from tests.support.executor_deps import executor_deps

# 2026-01-01 to 2026-12-31: 364 days, so 2026-07-02 (182 days in) is exactly half way.
PAID: dict[str, Any] = {
    "name": "Warehouse rollout",
    "start_date": "2026-01-01",
    "end_date": "2026-12-31",
    "budget": "10000",
    "currency": "USD",
    "milestones": [
        {"name": "Design", "due_date": "2026-02-01", "amount": 1000},
        {"name": "Build", "due_date": "2026-06-01", "amount": 3000},
        {"name": "Launch", "due_date": "2026-12-01", "amount": 6000},
    ],
}
# 2026-01-01 to 2026-04-10: 99 days; no amounts, so each milestone weighs the same.
UNPAID: dict[str, Any] = {
    "name": "Intranet refresh",
    "start_date": "2026-01-01",
    "end_date": "2026-04-10",
    "milestones": [
        {"name": f"M{number}", "due_date": due}
        for number, due in enumerate(["2026-01-20", "2026-02-20", "2026-03-20", "2026-04-10"], start=1)
    ],
}


async def create(deps: ExecutorDeps, tenant: str, plan: dict[str, Any]) -> dict[str, Any]:
    return await succeed(deps, request("project_create", {"project": plan}, tenant, step_id="create"))


async def sync(deps: ExecutorDeps, tenant: str, step_id: str = "sync", **config: Any) -> dict[str, Any]:
    return await succeed(deps, request("project_status_sync", config, tenant, step_id=step_id))


async def test_updates_then_amount_weighted_progress_and_overdue_risk(database_url: str, tenant: str) -> None:
    async with executor_deps(database_url) as deps:
        project = await create(deps, tenant, PAID)
        build_id = project["milestones"][1]["milestone_id"]
        status = await sync(
            deps,
            tenant,
            project_id=project["project_id"],
            as_of="2026-07-02",
            milestone_updates=[
                {"name": "design", "completed": True},  # names match case-insensitively
                {"milestone_id": build_id, "percent_complete": 50},
            ],
        )
        milestones = {row["name"]: row for row in await rows(deps, "project_milestones", tenant)}
        [snapshot] = await rows(deps, "project_status_snapshots", tenant)

    # (1000 done + half of 3000) of 10000; half the time has gone.
    assert (status["progress_percent"], status["expected_percent"], status["schedule_variance"]) == (
        25,
        50,
        25,
    )
    assert status["weighting"] == "amount"
    assert [(m["name"], m["days_overdue"]) for m in status["overdue"]] == [("Build", 31)]
    assert status["risk"] == "high"  # overdue by more than 14 days; 25 points behind alone is medium
    assert status["reasons"] == [
        "milestone 'Build' is overdue by 31 days (due 2026-06-01)",
        "25 points behind schedule (expected 50%, actual 25%)",
    ]
    assert status["snapshot_id"].startswith("pss_")

    assert milestones["Design"]["completed"] is True
    assert milestones["Design"]["completed_on"] == date(2026, 7, 2)  # completed as of the sync
    assert milestones["Build"]["percent_complete"] == Decimal("50.00")
    assert milestones["Launch"]["completed"] is False
    assert snapshot["snapshot_id"] == status["snapshot_id"]
    assert (snapshot["risk"], snapshot["progress_percent"], snapshot["as_of"]) == (
        "high",
        Decimal("25.00"),
        date(2026, 7, 2),
    )
    assert snapshot["status"]["reasons"] == status["reasons"]


async def test_count_weighting_on_track_then_behind(database_url: str, tenant: str) -> None:
    async with executor_deps(database_url) as deps:
        project = await create(deps, tenant, UNPAID)
        project_id = project["project_id"]
        on_track = await sync(
            deps,
            tenant,
            project_id=project_id,
            as_of="2026-02-10",
            milestone_updates=[
                {"name": "M1", "completed": True, "completed_on": "2026-01-19"},
                {"name": "M2", "percent_complete": 60},
            ],
        )
        # Nine days later M2 is reopened at 0%: 25% done where 49.5% was due.
        behind = await sync(
            deps,
            tenant,
            "sync-2",
            project_id=project_id,
            as_of="2026-02-19",
            milestone_updates=[{"name": "M2", "percent_complete": 0}],
        )
        snapshots = await rows(deps, "project_status_snapshots", tenant)
    assert on_track["weighting"] == "count"
    assert (on_track["progress_percent"], on_track["expected_percent"]) == (40, 40.4)
    assert (on_track["risk"], on_track["overdue"]) == ("low", [])
    assert on_track["reasons"] == ["on track: nothing overdue, schedule variance 0.4 points"]
    assert on_track["milestones"][0]["completed_on"] == "2026-01-19"
    assert (behind["progress_percent"], behind["expected_percent"], behind["schedule_variance"]) == (
        25,
        49.5,
        24.5,
    )
    assert (behind["risk"], behind["reasons"]) == (
        "medium",
        ["24.5 points behind schedule (expected 49.5%, actual 25%)"],
    )
    assert len(snapshots) == 2


async def test_a_milestone_a_few_days_late_is_medium(database_url: str, tenant: str) -> None:
    async with executor_deps(database_url) as deps:
        project = await create(deps, tenant, UNPAID)
        status = await sync(deps, tenant, project_id=project["project_id"], as_of="2026-01-25")
    assert status["risk"] == "medium"
    assert status["reasons"][0] == "milestone 'M1' is overdue by 5 days (due 2026-01-20)"


async def test_budget_burn_ahead_of_progress(database_url: str, tenant: str) -> None:
    async with executor_deps(database_url) as deps:
        project_id = (await create(deps, tenant, PAID))["project_id"]
        modest = await sync(deps, tenant, "a", project_id=project_id, as_of="2026-01-15", spent="1500")
        heavy = await sync(deps, tenant, "b", project_id=project_id, as_of="2026-01-15", spent=3000)
        over = await sync(deps, tenant, "c", project_id=project_id, as_of="2026-01-15", spent="10000.01")
    assert (modest["risk"], modest["budget_burn_percent"]) == ("medium", 15)
    assert modest["reasons"] == ["budget burn 15% runs 15 points ahead of progress 0%"]
    assert (heavy["risk"], heavy["budget_burn_percent"]) == ("high", 30)
    assert over["risk"] == "high"
    assert over["reasons"] == ["over budget: spent 10000.01 of 10000.00"]


async def test_a_redelivered_attempt_returns_the_first_snapshot(database_url: str, tenant: str) -> None:
    async with executor_deps(database_url) as deps:
        project_id = (await create(deps, tenant, PAID))["project_id"]
        step = request(
            "project_status_sync",
            {
                "project_id": project_id,
                "as_of": "2026-03-01",
                "milestone_updates": [{"name": "Design", "completed": True}],
            },
            tenant,
        )
        first = await succeed(deps, step)
        again = await succeed(deps, step)
        snapshots = await rows(deps, "project_status_snapshots", tenant)
    assert again == first
    assert len(snapshots) == 1


async def test_unknown_projects_and_milestones_are_refused(database_url: str, tenant: str) -> None:
    async with executor_deps(database_url) as deps:
        project_id = (await create(deps, tenant, PAID))["project_id"]
        missing = await fail(deps, request("project_status_sync", {"project_id": "prj_nope"}, tenant))
        unknown = await fail(
            deps,
            request(
                "project_status_sync",
                {"project_id": project_id, "milestone_updates": [{"name": "Party", "completed": True}]},
                tenant,
                step_id="b",
            ),
        )
        percent = await fail(
            deps,
            request(
                "project_status_sync",
                {"project_id": project_id, "milestone_updates": [{"name": "Build", "percent_complete": 140}]},
                tenant,
                step_id="c",
            ),
        )
        no_id = await fail(deps, request("project_status_sync", {}, tenant, step_id="d"))
        # Another tenant's project is not found either.
        other = await fail(deps, request("project_status_sync", {"project_id": project_id}, f"{tenant}-x"))
        snapshots = await rows(deps, "project_status_snapshots", tenant)
    assert missing[:1] == ("not_found",)
    assert not missing[2]
    assert unknown[0] == "invalid_config"
    assert "milestone_updates[0]" in unknown[1]
    assert "Party" in unknown[1]
    assert percent[0] == "invalid_config"
    assert "milestone_updates[0].percent_complete" in percent[1]
    assert no_id[0] == "invalid_config"
    assert "project_id" in no_id[1]
    assert other[0] == "not_found"
    assert snapshots == []
