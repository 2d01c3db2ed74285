"""`flowbus agents|approvals|audit ...` as a user runs them, on a real database."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from flowbus_governance.adapters.approvals import ApprovalStore
from flowbus_governance.adapters.audit import AuditLog
from flowbus_shared.store import open_store

FLOWBUS = str(Path(sys.executable).with_name("flowbus"))


def run(args: list[str], db: Path) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "FLOWBUS_DATABASE_URL": f"sqlite+aiosqlite:///{db}"}
    return subprocess.run([FLOWBUS, *args], env=env, capture_output=True, text=True, timeout=60, check=False)


async def _request_approval(db: Path) -> str:
    store = await open_store(f"sqlite+aiosqlite:///{db}")
    try:
        approval = await ApprovalStore(store.engine, AuditLog(store.engine)).request(
            "acme",
            agent_id="mailer",
            action="send_email",
            payload={"to": "x@y.z"},
            reason="supervised",
            expires_at=datetime.now(UTC) + timedelta(hours=1),
            execution_id="e1",
            step_id="send",
        )
        return approval.approval_id
    finally:
        await store.close()


async def _tamper(db: Path) -> None:
    store = await open_store(f"sqlite+aiosqlite:///{db}")
    try:
        async with store.engine.begin() as conn:
            await conn.execute(sa.text("DELETE FROM audit_records WHERE tenant_id = 'acme' AND seq = 2"))
    finally:
        await store.close()


def test_agents_approvals_and_audit_from_the_command_line(tmp_path: Path) -> None:
    db = tmp_path / "gov.db"
    assert (
        run(["agents", "register", "mailer", "--tenant", "acme", "--category", "support"], db).returncode == 0
    )
    duplicate = run(["agents", "register", "mailer", "--tenant", "acme"], db)
    assert (duplicate.returncode, "exists already" in duplicate.stderr) == (1, True)
    promoted = run(
        ["agents", "status", "mailer", "supervised", "--reason", "trial passed", "--tenant", "acme"], db
    )
    assert promoted.stdout.strip() == "mailer: student -> supervised"
    listed = json.loads(run(["agents", "list", "--tenant", "acme", "-o", "json"], db).stdout)
    assert [(a["agent_id"], a["status"]) for a in listed] == [("mailer", "supervised")]

    approval_id = asyncio.run(_request_approval(db))
    assert run(["approvals", "list", "--tenant", "acme"], db).stdout.startswith(approval_id)
    assert (
        run(["approvals", "approve", approval_id, "--tenant", "acme"], db).stdout.strip().endswith("approved")
    )
    again = run(["approvals", "reject", approval_id, "--tenant", "acme"], db)
    assert (again.returncode, "approved: nothing changed" in again.stderr) == (1, True)

    kinds = [
        line.split("\t")[2] for line in run(["audit", "list", "--tenant", "acme"], db).stdout.splitlines()
    ]
    assert kinds == ["approval.approved", "approval.requested", "agent.promoted", "agent.registered"]
    intact = run(["audit", "verify", "--tenant", "acme"], db)
    assert (intact.returncode, intact.stdout.strip()) == (0, "ok: 4 record(s), chain intact")
    asyncio.run(_tamper(db))
    broken = run(["audit", "verify", "--tenant", "acme"], db)
    assert broken.returncode == 1
    assert "2" in broken.stderr
