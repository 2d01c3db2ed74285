"""retention_playbook: the rules choosing a playbook, the risk score, the rendered message, and
sending it through the existing slack_notification (a Slack Web API double) and email_send (a
real SMTP server on loopback) executors."""

from __future__ import annotations

import email
import email.policy
import socket
from collections.abc import Iterator
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from tests.integration.executor.projects.rig import fail, request, succeed
from tests.support.executor_deps import executor_deps
from tests.support.http_double import Recorded, http_double

TOKEN = "xoxb-1234-5678-secret-bot-token"
HEALTHY: dict[str, Any] = {
    "customer": "Acme",
    "plan": "Pro",
    "mrr": "4000",
    "currency": "USD",
    "seats": 50,
    "seats_used": 40,
    "last_login_days": 2,
    "support_tickets_open": 0,
    "nps": 9,
    "renewal_date": "2026-12-01",
    "payment_failures": 0,
}
AS_OF = "2026-05-01"
AT_RISK = {**HEALTHY, "payment_failures": 1, "seats_used": 10}
AT_RISK_MESSAGE = (
    "Acme (Pro, 4000.00 USD MRR) has 1 failed payment(s). Risk 45/100 (medium): 1 failed payment(s); "
    "low usage: 20% of seats used (10 of 50).\nNext: ask their billing contact to update the payment "
    "method within 48 hours, before the subscription lapses."
)


def playbook(tenant: str, subscription: dict[str, Any], step_id: str = "step", **config: Any) -> Any:
    return request(
        "retention_playbook",
        {"subscription": subscription, "as_of": AS_OF, **config},
        tenant,
        step_id=step_id,
    )


@pytest.mark.parametrize(
    ("changes", "chosen", "score", "matched"),
    [
        ({}, "check_in", 0, ["check_in"]),
        ({"payment_failures": 2}, "payment_recovery", 30, ["payment_recovery", "check_in"]),
        ({"seats_used": 10}, "adoption_push", 25, ["adoption_push", "check_in"]),
        (
            {"mrr": 12000, "renewal_date": "2026-06-15"},
            "executive_outreach",
            10,
            ["executive_outreach", "check_in"],
        ),
        ({"support_tickets_open": 5}, "support_escalation", 15, ["support_escalation", "check_in"]),
        (
            {"payment_failures": 1, "seats_used": 10, "support_tickets_open": 4},
            "payment_recovery",
            60,
            ["payment_recovery", "adoption_push", "support_escalation", "check_in"],
        ),
    ],
)
async def test_rules_choose_the_playbook(
    database_url: str, tenant: str, changes: dict[str, Any], chosen: str, score: int, matched: list[str]
) -> None:
    async with executor_deps(database_url) as deps:
        output = await succeed(deps, playbook(tenant, {**HEALTHY, **changes}, dry_run=True))
    assert (output["playbook"], output["risk_score"], output["matched"]) == (chosen, score, matched)
    assert output["sent"] is None
    assert output["message"].startswith("Acme (Pro, ")


async def test_the_message_carries_the_risk_and_its_reasons(database_url: str, tenant: str) -> None:
    async with executor_deps(database_url) as deps:
        output = await succeed(deps, playbook(tenant, AT_RISK, dry_run=True))
        worst = {
            **AT_RISK,
            "payment_failures": 4,
            "last_login_days": 45,
            "support_tickets_open": 9,
            "nps": 3,
            "renewal_date": "2026-04-20",
        }
        capped = await succeed(deps, playbook(tenant, worst, "worst", dry_run=True))
    assert (output["risk_score"], output["risk_level"], output["title"]) == (
        45,
        "medium",
        "Payment recovery: Acme",
    )
    assert output["reasons"] == ["1 failed payment(s)", "low usage: 20% of seats used (10 of 50)"]
    assert output["message"] == AT_RISK_MESSAGE
    assert (capped["risk_score"], capped["risk_level"]) == (100, "high")
    assert "renewal date 2026-04-20 has passed" in capped["reasons"]
    assert "NPS rating 3 (detractor)" in capped["reasons"]


async def test_a_template_can_be_replaced(database_url: str, tenant: str) -> None:
    templates = {"check_in": "Hi team, $customer looks fine (risk $risk_score); renews $renewal_date."}
    async with executor_deps(database_url) as deps:
        output = await succeed(deps, playbook(tenant, HEALTHY, dry_run=True, templates=templates))
        unknown = await fail(
            deps, playbook(tenant, HEALTHY, "b", dry_run=True, templates={"check_in": "$nope"})
        )
    assert output["message"] == "Hi team, Acme looks fine (risk 0); renews 2026-12-01."
    assert unknown[0] == "invalid_config"
    assert "nope" in unknown[1]


async def test_sends_through_slack(database_url: str, tenant: str) -> None:
    def posted(_recorded: Recorded) -> tuple[int, Any]:
        return 200, {"ok": True, "channel": "C024BE91L", "ts": "1700000000.000100"}

    with http_double(posted) as double:
        async with executor_deps(database_url, slack_api_url=double.url) as deps:
            await deps.vault.put(tenant, "slack", "slack", {"bot_token": TOKEN})
            output = await succeed(
                deps, playbook(tenant, AT_RISK, channel="slack", slack_channel="#customer-success")
            )
    [call] = double.requests
    assert (call.method, call.path) == ("POST", "/chat.postMessage")
    assert call.headers["Authorization"] == f"Bearer {TOKEN}"
    assert call.body == {
        "channel": "#customer-success",
        "text": f"*Payment recovery: Acme*\n{AT_RISK_MESSAGE}",
    }
    assert output["playbook"] == "payment_recovery"
    assert output["sent"]["via"] == "slack"
    assert (output["sent"]["channel"], output["sent"]["ts"]) == ("C024BE91L", "1700000000.000100")


async def test_a_slack_refusal_fails_the_step_as_slack_classified_it(database_url: str, tenant: str) -> None:
    with http_double(lambda _recorded: (200, {"ok": False, "error": "channel_not_found"})) as double:
        async with executor_deps(database_url, slack_api_url=double.url) as deps:
            await deps.vault.put(tenant, "slack", "slack", {"bot_token": TOKEN})
            error_type, message, retryable = await fail(
                deps, playbook(tenant, AT_RISK, channel="slack", slack_channel="#gone")
            )
    assert (error_type, retryable) == ("not_found", False)
    assert "channel_not_found" in message


class Inbox:
    def __init__(self) -> None:
        self.envelopes: list[Envelope] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.envelopes.append(envelope)
        return "250 Message accepted"


@pytest.fixture
def smtp() -> Iterator[tuple[int, Inbox]]:
    with socket.socket() as probe:  # aiosmtpd checks its own port, so it needs a real number
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield port, inbox
    controller.stop()


async def test_sends_by_email(database_url: str, tenant: str, smtp: tuple[int, Inbox]) -> None:
    port, inbox = smtp
    secrets = {"host": "127.0.0.1", "port": str(port), "security": "none", "from_address": "cs@vendor.test"}
    async with executor_deps(database_url) as deps:
        await deps.vault.put(tenant, "smtp", "smtp", secrets)
        output = await succeed(deps, playbook(tenant, AT_RISK, channel="email", email_to="owner@vendor.test"))
    [envelope] = inbox.envelopes
    assert isinstance(envelope.content, bytes)
    message = email.message_from_bytes(envelope.content.replace(b"\r\n", b"\n"), policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    assert message["Subject"] == "Payment recovery: Acme"
    assert envelope.rcpt_tos == ["owner@vendor.test"]
    body = message.get_body(("plain",))
    assert body is not None
    assert body.get_content().strip() == AT_RISK_MESSAGE
    assert output["sent"]["via"] == "email"
    assert output["sent"]["recipient"] == ["owner@vendor.test"]


async def test_bad_config_names_the_field(database_url: str, tenant: str) -> None:
    cases = [
        ({}, "channel: missing"),
        ({"channel": "sms"}, "channel: expected slack or email"),
        ({"channel": "slack"}, "slack_channel: missing"),
        ({"channel": "email"}, "email_to: missing"),
    ]
    async with executor_deps(database_url) as deps:
        for index, (config, named) in enumerate(cases):
            error_type, message, _ = await fail(deps, playbook(tenant, HEALTHY, f"s{index}", **config))
            assert error_type == "invalid_config"
            assert message.startswith(named)
        seats = await fail(deps, playbook(tenant, {**HEALTHY, "seats": 0}, "seats", dry_run=True))
        renewal = await fail(
            deps, playbook(tenant, {**HEALTHY, "renewal_date": None}, "renewal", dry_run=True)
        )
        no_slack = await fail(deps, playbook(tenant, HEALTHY, "conn", channel="slack", slack_channel="#cs"))
    assert seats[0] == "invalid_config"
    assert "subscription.seats" in seats[1]
    assert renewal[:2] == ("invalid_config", "subscription.renewal_date: missing")
    assert no_slack[0] == "missing_connection"
