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
from flowbus_shared.http.server import HttpServer
from flowbus_shared.http.service_app import ServiceApi, service_api
from flowbus_shared.periodic import Periodic
from flowbus_shared.runtime import Context
from flowbus_shared.step_worker import StepWorker
from flowbus_shared.topics import GOVERNANCE_DECISIONS, STEPS_GOVERNANCE

log = logging.getLogger("flowbus.governance")


DESCRIPTION = (
    "Agents and their maturity, permission decisions, durable approvals and a tamper-evident audit log."
)


def create_api(api: ServiceApi, governance: Governance, notifier: ApprovalNotifier) -> FastAPI:
    """The governance routes on `api` (from `service_api`); its /version names the policy."""
    api.app.include_router(agent_router(governance, api.auth))
    api.app.include_router(decision_router(governance, api.auth, notifier))
    api.about["policy_version"] = governance.policy.version
    return api.app


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
            publish=lambda decision: context.bus.publish(GOVERNANCE_DECISIONS, decision),
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
            self.server = HttpServer(
                self.build_app(context),
                settings.governance_http_host,
                settings.governance_http_port,
                name=self.name,
            )
        self.sweeper = Periodic(
            self.notifier.sweep, settings.governance_sweep_interval_seconds, name="governance approval sweep"
        )
        log.info("governance: policy %s", policy.version)

    def build_app(self, context: Context) -> FastAPI:
        return create_api(
            service_api(context, service=self.name, description=DESCRIPTION), self.governance, self.notifier
        )

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


def create_app(context: Context) -> FastAPI:
    """The HTTP API without serving it (the published OpenAPI document is made from it)."""
    service = GovernanceService(context, GovernanceSettings(governance_http_enabled=False))
    return service.build_app(context)
