"""Projects and contracts: the step types a project manager uses, over the executor's own tables
(migration 0010). The rules are pure functions in the sibling modules; these handlers only read
config, call them, and store.

project_create: config `brief` (asked of the llm-gateway for a plan) or a structured `project`
{name, description, start_date, end_date, budget?, currency?, milestones: [{name, due_date, amount?,
deliverables?}], roles: [{role, skills, hours?}]}; optional `today` for relative briefs, `model`.
A plan that breaks a rule is a retryable `bad_response` from the model, `invalid_config` from config.
Once per step attempt. output: the stored project with its and its milestones' ids.

project_status_sync: config `project_id`, `as_of?`, `spent?`, `milestone_updates?` [{milestone_id or
name, completed?, completed_on?, percent_complete?}] applied first. output: {project_id, as_of,
progress_percent, expected_percent, schedule_variance, weighting, overdue, risk, reasons,
budget_burn_percent, milestones, snapshot_id}; the snapshot is stored once per step attempt.

contract_provision: config `deal` {id, name, amount, currency, close_date, stage, customer,
line_items?, term_months?, start_date?}, `roles?`; a deal not won is a permanent `deal_not_won`.
Once per deal. output: {contract, project, created}.

auto_staffing: config `people` [{id, name, skills, capacity_hours, allocated_hours?, location?}] and
`roles` [{role, skills, hours, location?}] (or `project_id` for its stored roles), `min_coverage?`
(0.5), `limit?` (10 candidates per role), `assign?`. output: {project_id, roles: [{role, hours,
skills, candidates}], assignments, unfilled, assigned}.

retention_playbook: config `subscription` {customer, plan, mrr, seats, seats_used, last_login_days,
support_tickets_open, nps?, renewal_date, payment_failures?, currency?}, `as_of?`, `high_mrr?`,
`templates?`, and `channel` "slack" (`slack_channel`) | "email" (`email_to`) with `connection?`, or
`dry_run: true`. output: {playbook, risk_score, risk_level, reasons, matched, title, message, sent}.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flowbus_executor.deps import ExecutorDeps
from flowbus_executor.executors import email, slack
from flowbus_executor.executors.projects import briefs, contracts, retention, staffing, status, store
from flowbus_executor.executors.projects.plans import project_plan, role_plans
from flowbus_executor.executors.projects.values import (
    Invalid,
    boolean,
    decimal,
    failing_as,
    integer,
    mapping,
    number_out,
    optional_day,
    optional_money,
    optional_text,
    text,
    today_utc,
)
from flowbus_executor.llm import ask_json
from flowbus_shared.schemas import StepRequest
from flowbus_shared.step_worker import StepFailure, StepHandler

_CONFIG = "invalid_config"


async def create_project(deps: ExecutorDeps, request: StepRequest) -> dict[str, Any]:
    config, key = request.config, request.idempotency_key
    stored = await store.project_by_key(deps.engine, request.tenant_id, key)
    if stored is not None:  # a redelivery: the model is not asked again
        return stored.as_json()
    if config.get("project") is not None:
        with failing_as(_CONFIG):
            plan, source = project_plan(config["project"], "project"), "config"
    else:
        with failing_as(_CONFIG):
            brief = text(config.get("brief"), "brief", limit=briefs.MAX_BRIEF)
            today = optional_day(config.get("today"), "today") or today_utc()
        answer = await ask_json(
            deps, request, briefs.SYSTEM, briefs.user_prompt(brief, today), briefs.PLAN_SCHEMA
        )
        # Another answer may well hold, so a broken plan is worth a retry.
        with failing_as("bad_response", retryable=True, prefix="the model's plan does not hold: "):
            plan, source = project_plan(answer, "project"), "brief"
    project = await store.create_project(deps.engine, request.tenant_id, key, plan, source)
    return project.as_json()


async def sync_status(deps: ExecutorDeps, request: StepRequest) -> dict[str, Any]:
    config = request.config
    with failing_as(_CONFIG):
        project_id = text(config.get("project_id"), "project_id", limit=64)
        as_of = optional_day(config.get("as_of"), "as_of") or today_utc()
        spent = optional_money(config.get("spent"), "spent")
    stored = await store.status_by_key(deps.engine, request.tenant_id, request.idempotency_key)
    if stored is not None:
        return stored
    project = await store.require_project(deps.engine, request.tenant_id, project_id)
    with failing_as(_CONFIG):
        updates = status.parse_updates(config.get("milestone_updates"), project)
    updated, changed = status.apply_updates(project, updates, as_of)
    assessment = status.assess(updated, as_of, spent)
    output = {**assessment.output, "milestones": [m.as_json() for m in updated.milestones]}
    numbers = (assessment.progress, assessment.expected, assessment.variance)
    return await store.save_status(
        deps.engine, request.tenant_id, request.idempotency_key, changed, as_of, output, numbers
    )


async def provision_contract(deps: ExecutorDeps, request: StepRequest) -> dict[str, Any]:
    config = request.config
    with failing_as(_CONFIG):
        deal = mapping(config.get("deal") or {}, "deal")
        if not deal:
            raise Invalid("deal", "missing")
        stage = contracts.stage_of(deal)
    if not contracts.is_won(stage):
        raise StepFailure("deal_not_won", f"deal {deal.get('id')!r} is at stage {stage!r}, not won")
    with failing_as(_CONFIG):
        contract, plan = contracts.provision(deal, role_plans(config.get("roles"), "roles"))
    stored, project, created = await store.create_contract(deps.engine, request.tenant_id, contract, plan)
    return {"contract": stored, "project": project.as_json(), "created": created}


async def staff(deps: ExecutorDeps, request: StepRequest) -> dict[str, Any]:
    config = request.config
    with failing_as(_CONFIG):
        people = staffing.parse_people(config.get("people"))
        min_coverage = decimal(
            config.get("min_coverage", "0.5"), "min_coverage", minimum=Decimal(0), maximum=Decimal(1)
        )
        limit = integer(config.get("limit", 10), "limit", minimum=1, maximum=staffing.MAX_PEOPLE)
        assign = boolean(config.get("assign", False), "assign")
        project_id = optional_text(config.get("project_id"), "project_id", limit=64)
        needs = None if config.get("roles") is None else staffing.parse_needs(config["roles"])
    if project_id is not None:
        project = await store.require_project(deps.engine, request.tenant_id, project_id)
        if needs is None:
            with failing_as(_CONFIG):
                needs = staffing.needs_of_project(project.roles, project_id)
    if needs is None:
        raise StepFailure(_CONFIG, "roles: missing (or give project_id to staff its roles)")
    ranking = [
        {
            "role": need.role,
            "hours": number_out(need.hours, 2),
            "skills": [{"name": name, "level": level} for name, level in need.skills],
            "candidates": [item.as_json() for item in staffing.rank(need, people)[:limit]],
        }
        for need in needs
    ]
    proposed, unfilled = staffing.propose(needs, people, min_coverage)
    assignments = [assignment.as_json() for assignment in proposed]
    if assign:
        assignments = await store.save_assignments(
            deps.engine, request.tenant_id, request.idempotency_key, project_id, proposed
        )
    return {
        "project_id": project_id,
        "roles": ranking,
        "assignments": assignments,
        "unfilled": unfilled,
        "assigned": assign,
    }


def _email_to(value: Any) -> str | list[str]:
    """An address, comma-separated addresses or a list of them, as email_send takes them."""
    if isinstance(value, list):
        return [text(item, f"email_to[{index}]") for index, item in enumerate(value)]
    return text(value, "email_to", limit=1000)


async def run_playbook(deps: ExecutorDeps, request: StepRequest) -> dict[str, Any]:
    config = request.config
    with failing_as(_CONFIG):
        subscription = retention.subscription(config.get("subscription"))
        as_of = optional_day(config.get("as_of"), "as_of") or today_utc()
        high_mrr = optional_money(config.get("high_mrr"), "high_mrr")
        choice = retention.choose(
            subscription,
            as_of,
            retention.DEFAULT_HIGH_MRR if high_mrr is None else high_mrr,
            config.get("templates"),
        )
        dry_run = boolean(config.get("dry_run", False), "dry_run")
        if not dry_run and not config.get("channel"):
            raise Invalid("channel", "missing (slack or email, or dry_run: true)")
        channel = None if dry_run else text(config.get("channel"), "channel", limit=20).lower()
    output: dict[str, Any] = {**choice.as_json(), "sent": None}
    if channel is None:
        return output
    connection = {"connection": config["connection"]} if config.get("connection") else {}
    with failing_as(_CONFIG):
        if channel == "slack":
            target = text(config.get("slack_channel"), "slack_channel", limit=200)
            step = {"channel": target, "title": choice.title, "message": choice.message, **connection}
            handler = slack.handlers(deps)["slack_notification"]
        elif channel == "email":
            step = {
                "recipient": _email_to(config.get("email_to")),
                "subject": choice.title,
                "content": choice.message,
                **connection,
            }
            handler = email.handlers(deps)["email_send"]
        else:
            raise Invalid("channel", f"expected slack or email, got {channel!r}")
    sent = await handler(request.model_copy(update={"config": step}))
    output["sent"] = {"via": channel, **sent}
    return output


def handlers(deps: ExecutorDeps) -> dict[str, StepHandler]:
    async def project_create(request: StepRequest) -> dict[str, Any]:
        return await create_project(deps, request)

    async def project_status_sync(request: StepRequest) -> dict[str, Any]:
        return await sync_status(deps, request)

    async def contract_provision(request: StepRequest) -> dict[str, Any]:
        return await provision_contract(deps, request)

    async def auto_staffing(request: StepRequest) -> dict[str, Any]:
        return await staff(deps, request)

    async def retention_playbook(request: StepRequest) -> dict[str, Any]:
        return await run_playbook(deps, request)

    return {
        "project_create": project_create,
        "project_status_sync": project_status_sync,
        "contract_provision": contract_provision,
        "auto_staffing": auto_staffing,
        "retention_playbook": retention_playbook,
    }
