"""Every verdict goes out on `governance-decisions` for audit observers, from the running service."""

from __future__ import annotations

import json
from pathlib import Path

from flowbus_governance.app import GovernanceService
from flowbus_governance.governance import Where
from flowbus_governance.settings import GovernanceSettings
from flowbus_shared.bus import MemoryBus
from flowbus_shared.runtime import Context, Runtime, Service
from flowbus_shared.settings import FlowbusSettings
from flowbus_shared.topics import GOVERNANCE_DECISIONS


async def test_each_verdict_is_published_once_per_decision(
    tmp_path: Path, memory_settings: FlowbusSettings
) -> None:
    settings = memory_settings.model_copy(update={"database_url": f"sqlite+aiosqlite:///{tmp_path / 'g.db'}"})
    services: list[GovernanceService] = []

    def governance(context: Context) -> Service:
        services.append(GovernanceService(context, GovernanceSettings(governance_http_enabled=False)))
        return services[0]

    runtime = Runtime(settings, [governance], name="governance-test")
    await runtime.start()
    try:
        use_cases = services[0].governance
        await use_cases.agents.register("acme", "mailer", name="Mailer", status="supervised", confidence=0.75)
        allowed = await use_cases.check(
            "acme", "mailer", "read", where=Where("exec-1", "check", 1), decision_id="dec-1"
        )
        held = await use_cases.check(
            "acme",
            "mailer",
            "send_email",
            {"rows": 3},
            where=Where("exec-1", "purge", 1),
            decision_id="dec-2",
        )
        bus = runtime.context.bus
        assert isinstance(bus, MemoryBus)
        records = bus.records(settings.topic(GOVERNANCE_DECISIONS.suffix))
    finally:
        await runtime.stop()
    published = {r["message_id"]: r for r in (json.loads(record.value) for record in records)}
    assert set(published) == {"dec-1", "dec-2"}
    first, second = published["dec-1"], published["dec-2"]
    assert (first["verdict"], first["execution_id"], first["step_id"]) == (
        allowed.decision.verdict,
        "exec-1",
        "check",
    )
    assert (first["tenant_id"], first["agent_id"], first["agent_maturity"]) == (
        "acme",
        "mailer",
        "supervised",
    )
    assert (allowed.decision.verdict, held.decision.verdict) == ("allow", "approval_required")
    assert (second["verdict"], second["action_complexity"]) == ("approval_required", 3)
    assert first["policy_version"] == allowed.decision.policy_version
    assert held.approval is not None
    assert second["payload_hash"] == held.approval.payload_hash
