"""Choosing a retention playbook for an at-risk subscription, and its message. Pure.

Risk score (0-100, capped) adds up the signals: failed payments (20, +10 per further one, at most
40), seat usage (< 40%: 25, < 70%: 10), days since the last login (> 30: 20, > 14: 10), open tickets
(> 3: 15, any: 5), NPS rating 0-10 (<= 6: 15, 7-8: 5) and the renewal (passed: 20, within 30 days: 15,
60: 10, 90: 5). Level: high >= 60, medium >= 30, else low.

Playbooks, first match wins: payment_recovery (a failed payment: nothing else matters if the
subscription lapses), adoption_push (usage < 40%), executive_outreach (MRR >= `high_mrr`, default
5000, and renewal within 60 days), support_escalation (> 3 open tickets), else check_in.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from flowbus_executor.executors.projects.values import (
    HUNDRED,
    Invalid,
    day,
    integer,
    mapping,
    money,
    money_out,
    number_out,
    optional_currency,
    optional_text,
    text,
)

DEFAULT_HIGH_MRR = Decimal(5000)
LOW_USAGE = Decimal(40)
PLAYBOOKS = ("payment_recovery", "adoption_push", "executive_outreach", "support_escalation", "check_in")

TITLES = {
    "payment_recovery": "Payment recovery: $customer",
    "adoption_push": "Adoption push: $customer",
    "executive_outreach": "Executive outreach: $customer",
    "support_escalation": "Support escalation: $customer",
    "check_in": "Check-in: $customer",
}
TEMPLATES = {
    "payment_recovery": (
        "$customer ($plan, $mrr MRR) has $payment_failures failed payment(s). Risk $risk_score/100 "
        "($risk_level): $reasons.\nNext: ask their billing contact to update the payment method within "
        "48 hours, before the subscription lapses."
    ),
    "adoption_push": (
        "$customer ($plan, $mrr MRR) uses $seats_used of $seats seats ($usage_percent%). Risk "
        "$risk_score/100 ($risk_level): $reasons.\nNext: offer an onboarding session for the unused "
        "seats and share the three features their peers use most."
    ),
    "executive_outreach": (
        "$customer ($plan, $mrr MRR) renews on $renewal_date, in $days_to_renewal days. Risk "
        "$risk_score/100 ($risk_level): $reasons.\nNext: an executive sponsor calls their decision "
        "maker this week to review value delivered and the renewal."
    ),
    "support_escalation": (
        "$customer ($plan, $mrr MRR) has $tickets open support tickets. Risk $risk_score/100 "
        "($risk_level): $reasons.\nNext: escalate the tickets to a support lead and send the customer a "
        "resolution plan within one business day."
    ),
    "check_in": (
        "$customer ($plan, $mrr MRR): risk $risk_score/100 ($risk_level): $reasons.\nNext: a friendly "
        "check-in from the account manager to hear how it is going."
    ),
}


@dataclass(frozen=True)
class Subscription:
    customer: str
    plan: str
    mrr: Decimal
    currency: str | None
    seats: int
    seats_used: int
    last_login_days: int
    tickets: int
    nps: int | None
    renewal_date: date
    payment_failures: int

    @property
    def usage(self) -> Decimal:
        return Decimal(self.seats_used) / Decimal(self.seats) * HUNDRED


def subscription(value: Any, field: str = "subscription") -> Subscription:
    data = mapping(value, field)
    nps = data.get("nps")
    customer = data.get("customer")
    if isinstance(customer, Mapping):
        customer = customer.get("name")
    return Subscription(
        customer=text(customer, f"{field}.customer"),
        plan=text(data.get("plan"), f"{field}.plan"),
        mrr=money(data.get("mrr"), f"{field}.mrr"),
        currency=optional_currency(data.get("currency"), f"{field}.currency"),
        seats=integer(data.get("seats"), f"{field}.seats", minimum=1),
        seats_used=integer(data.get("seats_used"), f"{field}.seats_used"),
        last_login_days=integer(data.get("last_login_days"), f"{field}.last_login_days"),
        tickets=integer(data.get("support_tickets_open"), f"{field}.support_tickets_open"),
        nps=None if nps is None else integer(nps, f"{field}.nps", maximum=10),
        renewal_date=day(data.get("renewal_date"), f"{field}.renewal_date"),
        payment_failures=integer(data.get("payment_failures") or 0, f"{field}.payment_failures"),
    )


def _risk(sub: Subscription, days_to_renewal: int) -> tuple[int, list[str]]:
    signals: list[tuple[int, str]] = []
    if sub.payment_failures:
        signals.append(
            (min(40, 20 + 10 * (sub.payment_failures - 1)), f"{sub.payment_failures} failed payment(s)")
        )
    usage = f"{number_out(sub.usage)}% of seats used ({sub.seats_used} of {sub.seats})"
    if sub.usage < LOW_USAGE:
        signals.append((25, f"low usage: {usage}"))
    elif sub.usage < 70:
        signals.append((10, f"modest usage: {usage}"))
    if sub.last_login_days > 30:
        signals.append((20, f"no login for {sub.last_login_days} days"))
    elif sub.last_login_days > 14:
        signals.append((10, f"no login for {sub.last_login_days} days"))
    if sub.tickets > 3:
        signals.append((15, f"{sub.tickets} open support tickets"))
    elif sub.tickets:
        signals.append((5, f"{sub.tickets} open support ticket(s)"))
    if sub.nps is not None and sub.nps <= 8:
        signals.append(
            (
                15 if sub.nps <= 6 else 5,
                f"NPS rating {sub.nps} ({'detractor' if sub.nps <= 6 else 'passive'})",
            )
        )
    if days_to_renewal < 0:
        signals.append((20, f"renewal date {sub.renewal_date.isoformat()} has passed"))
    elif days_to_renewal <= 90:
        points = 15 if days_to_renewal <= 30 else 10 if days_to_renewal <= 60 else 5
        signals.append((points, f"renews in {days_to_renewal} days"))
    return min(100, sum(points for points, _ in signals)), [reason for _, reason in signals]


def _level(score: int) -> str:
    return "high" if score >= 60 else "medium" if score >= 30 else "low"


def matching(sub: Subscription, days_to_renewal: int, high_mrr: Decimal) -> list[str]:
    """Every playbook whose rule matches, in priority order; check_in always does."""
    rules = {
        "payment_recovery": sub.payment_failures > 0,
        "adoption_push": sub.usage < LOW_USAGE,
        "executive_outreach": sub.mrr >= high_mrr and days_to_renewal <= 60,
        "support_escalation": sub.tickets > 3,
        "check_in": True,
    }
    return [name for name in PLAYBOOKS if rules[name]]


def _fill(template: str, values: dict[str, str], where: str) -> str:
    try:
        return string.Template(template).substitute(values)
    except KeyError as missing:
        raise Invalid(where, f"unknown variable {missing.args[0]!r}") from None
    except ValueError as error:
        raise Invalid(where, str(error)) from None


@dataclass(frozen=True)
class Choice:
    playbook: str
    risk_score: int
    risk_level: str
    reasons: list[str]
    matched: list[str]
    title: str
    message: str

    def as_json(self) -> dict[str, Any]:
        return {
            "playbook": self.playbook,
            "risk_score": self.risk_score,
            "risk_level": self.risk_level,
            "reasons": self.reasons,
            "matched": self.matched,
            "title": self.title,
            "message": self.message,
        }


def choose(
    sub: Subscription, as_of: date, high_mrr: Decimal = DEFAULT_HIGH_MRR, templates: Any = None
) -> Choice:
    """The playbook, risk and message; `templates` ({playbook: text}) overrides the built-in ones."""
    overrides = mapping(templates or {}, "templates")
    unknown = sorted(set(overrides) - set(PLAYBOOKS))
    if unknown:
        raise Invalid("templates", f"unknown playbook {unknown[0]!r}; known: {', '.join(PLAYBOOKS)}")
    days = (sub.renewal_date - as_of).days
    score, reasons = _risk(sub, days)
    matched = matching(sub, days, high_mrr)
    playbook = matched[0]
    level = _level(score)
    mrr = money_out(sub.mrr) or "0.00"
    values = {
        "customer": sub.customer,
        "plan": sub.plan,
        "mrr": f"{mrr} {sub.currency}" if sub.currency else mrr,
        "seats": str(sub.seats),
        "seats_used": str(sub.seats_used),
        "usage_percent": str(number_out(sub.usage)),
        "last_login_days": str(sub.last_login_days),
        "tickets": str(sub.tickets),
        "payment_failures": str(sub.payment_failures),
        "nps": "" if sub.nps is None else str(sub.nps),
        "renewal_date": sub.renewal_date.isoformat(),
        "days_to_renewal": str(days),
        "risk_score": str(score),
        "risk_level": level,
        "reasons": "; ".join(reasons) or "no warning signs",
    }
    template = (
        optional_text(overrides.get(playbook), f"templates.{playbook}", limit=4000) or TEMPLATES[playbook]
    )
    return Choice(
        playbook=playbook,
        risk_score=score,
        risk_level=level,
        reasons=reasons or ["no warning signs"],
        matched=matched,
        title=_fill(TITLES[playbook], values, f"title of {playbook}"),
        message=_fill(template, values, f"templates.{playbook}"),
    )
