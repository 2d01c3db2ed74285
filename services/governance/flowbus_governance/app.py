"""Wiring of the governance service: the step worker on `flowbus.steps.governance`, the HTTP
API, and the sweeper that expires due approvals and delivers decisions to the orchestrator."""

from __future__ import annotations

import logging

from fastapi import FastAPI

from flowbus_governance import steps
from flowbus_governance.adapters.agents import AgentRepository
from flowbus_governance.adapters.approvals import ApprovalStore
from flowbus_governance.adapters.audit import AuditLog
from flowbus_governance.api.agent_routes import agent_router
from flowbus_governance.api.decision_routes import decision_router
from flowbus_governance.domain.policy import default_policy, load_policy
from flowbus_governance.governance import Governance
from flowbus_governance.notifier import ApprovalNotifier
from flowbus_governance.settings import GovernanceSettings
from flowbus_shared.attempts import AttemptLog
from flowbus_shared.auth import ApiKeys
from flowbus_shared.http import Authenticator, install_problem_handlers
from flowbus_shared.http.server import HttpServer
from flowbus_shared.periodic import Periodic
from flowbus_shared.runtime import Context
from flowbus_shared.step_worker import StepWorker
from flowbus_shared.topics import STEPS_GOVERNANCE

log = logging.getLogger("flowbus.governance")


def create_api(governance: Governance, auth: Authenticator, notifier: ApprovalNotifier) -> FastAPI:
    app = FastAPI(
        title="flowbus governance",
        version="1",
        description="Agents and their maturity, permission decisions, durable approvals and a "
        "tamper-evident audit log.",
    )
    install_problem_handlers(app)
    app.include_router(agent_router(governance, auth))
    app.include_router(decision_router(governance, auth, notifier))

    @app.get("/healthz", tags=["health"])
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "policy_version": governance.policy.version}

    return app


class GovernanceService:
    name = "governance"

    def __init__(self, context: Context, settings: GovernanceSettings | None = None) -> None:
        self.settings = settings = settings or GovernanceSettings()
        engine = context.store.engine
        policy = (
            load_policy(settings.governance_policy_file)
            if settings.governance_policy_file
            else default_policy()
        )
        audit = AuditLog(engine)
        approvals = ApprovalStore(engine, audit)
        self.governance = Governance(
            AgentRepository(engine, audit),
            approvals,
            audit,
            policy,
            approval_ttl_seconds=settings.governance_approval_ttl_seconds,
        )
        self.notifier = ApprovalNotifier(context.bus, approvals)
        self.worker = StepWorker(
            name="governance",
            bus=context.bus,
            queue=STEPS_GOVERNANCE,
            group=context.settings.group("governance"),
            handlers=steps.handlers(self.governance),
            attempts=AttemptLog(engine),
        )
        self.server: HttpServer | None = None
        if settings.governance_http_enabled:
            api = create_api(self.governance, Authenticator(ApiKeys(engine)), self.notifier)
            self.server = HttpServer(
                api, settings.governance_http_host, settings.governance_http_port, name=self.name
            )
        self.sweeper = Periodic(
            self.notifier.sweep, settings.governance_sweep_interval_seconds, name="governance approval sweep"
        )
        log.info("governance: policy %s", policy.version)

    def register(self) -> None:
        self.worker.register()

    async def start(self) -> None:
        await self.worker.start()
        if self.server is not None:
            await self.server.start()
        self.sweeper.start()

    async def stop(self) -> None:
        await self.sweeper.stop()
        if self.server is not None:
            await self.server.stop()
        await self.worker.stop()


def create_service(context: Context) -> GovernanceService:
    return GovernanceService(context)
