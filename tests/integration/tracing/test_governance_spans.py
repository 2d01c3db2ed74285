"""A governance check is a `governance.check` span with the verdict and the policy version,
and the decision it announces is sent from inside it."""

from __future__ import annotations

from pathlib import Path

from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from flowbus_governance.app import GovernanceService
from flowbus_governance.governance import Where
from flowbus_governance.settings import GovernanceSettings
from flowbus_shared.runtime import Context, Runtime, Service
from flowbus_shared.settings import FlowbusSettings


async def test_each_check_is_a_span_with_its_verdict(
    tmp_path: Path, memory_settings: FlowbusSettings, spans: InMemorySpanExporter
) -> None:
    settings = memory_settings.model_copy(update={"database_url": f"sqlite+aiosqlite:///{tmp_path / 'g.db'}"})
    services: list[GovernanceService] = []

    def governance(context: Context) -> Service:
        services.append(GovernanceService(context, GovernanceSettings(governance_http_enabled=False)))
        return services[0]

    runtime = Runtime(settings, [governance], name="governance-trace-test")
    await runtime.start()
    try:
        use_cases = services[0].governance
        await use_cases.agents.register("acme", "mailer", name="Mailer", status="supervised", confidence=0.75)
        allowed = await use_cases.check("acme", "mailer", "read", where=Where("exec-1", "check", 1))
        held = await use_cases.check(
            "acme", "mailer", "send_email", {"rows": 3}, where=Where("exec-1", "mail", 1)
        )
        unknown = await use_cases.check("acme", "ghost", "read")
    finally:
        await runtime.stop()

    checks = sorted(
        (s for s in spans.get_finished_spans() if s.name == "governance.check"),
        key=lambda s: s.start_time or 0,
    )
    assert len(checks) == 3
    for span, result, agent in zip(
        checks, (allowed, held, unknown), ("mailer", "mailer", "ghost"), strict=True
    ):
        assert span.attributes is not None
        assert span.attributes["flowbus.governance.verdict"] == result.decision.verdict
        assert span.attributes["flowbus.governance.policy_version"] == result.decision.policy_version
        assert span.attributes["flowbus.governance.decision.id"] == result.decision_id
        assert span.attributes["flowbus.agent.id"] == agent
        assert span.attributes["flowbus.tenant.id"] == "acme"
        assert span.status.status_code is not StatusCode.ERROR  # a verdict is an answer, not an error
    assert [s.attributes["flowbus.governance.action"] for s in checks if s.attributes] == [
        "read",
        "send_email",
        "read",
    ]
    assert (allowed.decision.verdict, held.decision.verdict) == ("allow", "approval_required")
    assert unknown.decision.verdict != "allow"
    assert checks[1].attributes is not None
    assert checks[1].attributes["flowbus.execution.id"] == "exec-1"
    assert checks[1].attributes["flowbus.agent.maturity"] == "supervised"

    sends = [
        s
        for s in spans.get_finished_spans()
        if s.name.startswith("send ") and "governance-decisions" in s.name
    ]
    assert {s.parent.span_id for s in sends if s.parent} == {c.context.span_id for c in checks}
