"""cost_leak_detection: where a SaaS stack leaks money, and how much stopping it would save.

Findings, each with `potential_savings_monthly` and `potential_savings_annual`:

- `unused_seats`: a subscription with `seats_used` below `seats`; saves the unused seats' cost.
- `duplicate_tool`: one category served by several tools (Slack and Teams for chat); saves at least
  the cost of all but the costliest (consolidating onto any one of them saves that much or more).
- `duplicate_billing`: one tool subscribed twice (saves all but the costliest entry), or a tool
  that is a subscription and also charged as a recurring expense (saves the expense). An expense
  belongs to a subscription when its vendor holds all the tool's words, or names the
  subscription's vendor and both carry the same category (Microsoft's Azure charges are not Teams).
- `price_rise`: the latest price per seat against the previous one in `history` (the current
  `price_per_seat` is the latest when it differs from the last entry), or a recurring expense
  whose latest month grew against the month before; reported above `price_rise_threshold` percent
  (default 5), saving the rise.

Annual billing is normalised to monthly by dividing by 12 in Decimal (28 significant digits);
nothing is rounded until written out, ROUND_HALF_UP to cents. Totals count each subscription or
expense vendor at most up to its own cost (dropping Teams is not counted again as its unused
seats), and are rounded from unrounded sums, so they may differ by a cent from the sum of the
rounded lines. Expenses to one vendor are summed per calendar month; a vendor charged in two or
more months is recurring, its cadence the median gap between those months.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from flowbus_executor.executors.analysis.money import (
    HUNDRED,
    format_money,
    parse_money,
    percent,
    setting,
    single_currency,
)
from flowbus_executor.executors.analysis.names import name_key, same_name
from flowbus_executor.executors.analysis.saas import (
    NO_SAVING,
    ZERO,
    Expense,
    Recurring,
    Saving,
    Subscription,
    expenses_from,
    recurring_expenses,
    subscriptions_from,
)


@dataclass
class Finding:
    """One leak; `parts` say which subscription or expense vendor each part of the saving is from."""

    kind: str
    detail: str
    currency: str | None
    facts: dict[str, Any]
    parts: list[tuple[tuple[Any, ...], Saving]] = field(default_factory=list)

    @property
    def saving(self) -> Saving | None:
        if self.currency is None:
            return None
        total = NO_SAVING
        for _, part in self.parts:
            total = total + part
        return total


def _money_text(amount: Decimal, currency: str | None) -> str:
    return f"{format_money(amount)} {currency}" if currency else format_money(amount)


def _together(names: Sequence[str]) -> str:
    """ "A and B both", "A, B and C all"."""
    if len(names) == 2:
        return f"{names[0]} and {names[1]} both"
    return f"{', '.join(names[:-1])} and {names[-1]} all"


def _category(value: str | None) -> str | None:
    return value.strip().lower() if value else None


def _tool_key(subscription: Subscription) -> frozenset[str]:
    return name_key(subscription.tool) or frozenset({subscription.tool.lower()})


def unused_seats(subscriptions: Sequence[Subscription]) -> list[Finding]:
    findings = []
    for index, sub in enumerate(subscriptions):
        if sub.seats_used is None or sub.seats_used >= sub.seats:
            continue
        unused = sub.seats - sub.seats_used
        share = percent(Decimal(unused), Decimal(sub.seats))
        saving = sub.cost(unused)
        findings.append(
            Finding(
                "unused_seats",
                f"{unused} of {sub.seats} {sub.tool} seats unused ({share:g}%), "
                f"{_money_text(saving.monthly, sub.currency)} a month",
                sub.currency,
                {"tool": sub.tool, "vendor": sub.vendor, "category": sub.category, "owner": sub.owner}
                | {"seats": sub.seats, "seats_used": sub.seats_used, "unused_seats": unused},
                [(("subscription", index), saving)],
            )
        )
    return findings


def duplicate_tools(subscriptions: Sequence[Subscription]) -> list[Finding]:
    """Categories served by more than one tool; a tool's cost is its costliest subscription."""
    by_category: dict[str, dict[frozenset[str], int]] = {}
    for index, sub in enumerate(subscriptions):
        category = _category(sub.category)
        if category is None:
            continue
        tools = by_category.setdefault(category, {})
        known = tools.get(_tool_key(sub))
        if known is None or sub.cost().monthly > subscriptions[known].cost().monthly:
            tools[_tool_key(sub)] = index
    findings = []
    for tools in by_category.values():
        if len(tools) < 2:
            continue
        members = list(tools.values())
        names = [subscriptions[i].tool for i in members]
        category = subscriptions[members[0]].category
        currency = single_currency(subscriptions[i].currency for i in members)
        facts = {"tool": ", ".join(names), "tools": names, "category": category}
        if currency is None:
            detail = f"{_together(names)} serve {category}; billed in different currencies, compare by hand"
            findings.append(Finding("duplicate_tool", detail, None, facts))
            continue
        keep = max(members, key=lambda i: (subscriptions[i].cost().monthly, -i))
        parts = [(("subscription", i), subscriptions[i].cost()) for i in members if i != keep]
        saving = sum((part for _, part in parts), NO_SAVING)
        detail = (
            f"{_together(names)} serve {category}; consolidating onto one saves at least "
            f"{_money_text(saving.monthly, currency)} a month (dropping all but {subscriptions[keep].tool})"
        )
        findings.append(
            Finding("duplicate_tool", detail, currency, facts | {"keep": subscriptions[keep].tool}, parts)
        )
    return findings


def duplicate_subscriptions(subscriptions: Sequence[Subscription]) -> list[Finding]:
    """One tool subscribed more than once: every entry but the costliest (same currency) is extra."""
    by_tool: dict[frozenset[str], list[int]] = {}
    for index, sub in enumerate(subscriptions):
        by_tool.setdefault(_tool_key(sub), []).append(index)
    findings = []
    for members in by_tool.values():
        if len(members) < 2:
            continue
        first = subscriptions[members[0]].currency
        keep = max(
            members, key=lambda i: (subscriptions[i].currency == first, subscriptions[i].cost().monthly, -i)
        )
        for extra in members:
            if extra == keep:
                continue
            sub = subscriptions[extra]
            saving = sub.cost()
            detail = (
                f"{sub.tool} is subscribed {len(members)} times; this {sub.seats}-seat entry "
                f"costs {_money_text(saving.monthly, sub.currency)} a month"
            )
            facts = {"tool": sub.tool, "vendor": sub.vendor, "category": sub.category, "owner": sub.owner}
            findings.append(
                Finding("duplicate_billing", detail, sub.currency, facts, [(("subscription", extra), saving)])
            )
    return findings


def billed_twice(subscriptions: Sequence[Subscription], recurring: Sequence[Recurring]) -> list[Finding]:
    """Recurring expenses to a vendor that is already a subscription."""
    findings = []
    for position, charges in enumerate(recurring):
        vendor = name_key(charges.vendor)
        for sub in subscriptions:
            tool = name_key(sub.tool)
            names_tool = vendor is not None and tool is not None and tool <= vendor
            same_category = _category(sub.category) is not None and _category(sub.category) == _category(
                charges.category
            )
            if not (names_tool or (same_category and same_name(vendor, name_key(sub.vendor)))):
                continue
            saving = charges.cost
            if saving.annual <= 0:
                break
            detail = (
                f"{sub.tool} is a subscription and also charged as expenses to {charges.vendor} "
                f"({len(charges.months)} months, {_money_text(saving.monthly, charges.currency)} a month)"
            )
            facts = {"tool": sub.tool, "vendor": charges.vendor, "category": sub.category, "owner": sub.owner}
            findings.append(
                Finding(
                    "duplicate_billing", detail, charges.currency, facts, [(("expenses", position), saving)]
                )
            )
            break
    return findings


def _rise(previous: Decimal, latest: Decimal, threshold: Decimal) -> Decimal | None:
    """The rise in percent when above `threshold`, else None."""
    if previous <= 0 or latest <= previous:
        return None
    rise = (latest - previous) * HUNDRED / previous
    return rise if rise > threshold else None


def price_rises(
    subscriptions: Sequence[Subscription], recurring: Sequence[Recurring], threshold: Decimal
) -> list[Finding]:
    findings = []
    for index, sub in enumerate(subscriptions):
        series = sorted(sub.history, key=lambda point: point.date)
        prices = [point.price_per_seat for point in series]
        if not prices or prices[-1] != sub.price_per_seat:
            prices.append(sub.price_per_seat)
        if len(prices) < 2 or (rise := _rise(prices[-2], prices[-1], threshold)) is None:
            continue
        saving = Saving.per((prices[-1] - prices[-2]) * sub.seats, sub.per_year)
        since = series[-1].date.isoformat() if series and series[-1].price_per_seat == prices[-1] else None
        detail = (
            f"{sub.tool} went from {_money_text(prices[-2], sub.currency)} to "
            f"{_money_text(prices[-1], sub.currency)} per seat ({format_money(rise)}%)"
            + (f" on {since}" if since else "")
            + f", {_money_text(saving.monthly, sub.currency)} a month more for {sub.seats} seats"
        )
        facts = {"tool": sub.tool, "vendor": sub.vendor, "category": sub.category, "owner": sub.owner}
        facts |= {"previous_price": format_money(prices[-2]), "latest_price": format_money(prices[-1])}
        findings.append(
            Finding(
                "price_rise",
                detail,
                sub.currency,
                facts | {"rise_percent": float(format_money(rise))},
                [(("subscription", index), saving)],
            )
        )
    for position, charges in enumerate(recurring):
        (_, previous), (month, latest) = charges.months[-2], charges.months[-1]
        if (rise := _rise(previous, latest, threshold)) is None:
            continue
        saving = Saving.per(latest - previous, charges.per_year)
        detail = (
            f"charges to {charges.vendor} grew from {_money_text(previous, charges.currency)} to "
            f"{_money_text(latest, charges.currency)} ({format_money(rise)}%) in {month:%Y-%m}, "
            f"{_money_text(saving.monthly, charges.currency)} a month more"
        )
        facts = {"vendor": charges.vendor, "category": charges.category}
        facts |= {"previous_amount": format_money(previous), "latest_amount": format_money(latest)}
        findings.append(
            Finding(
                "price_rise",
                detail,
                charges.currency,
                facts | {"rise_percent": float(format_money(rise))},
                [(("expenses", position), saving)],
            )
        )
    return findings


def detect(
    subscriptions: Sequence[Subscription], expenses: Sequence[Expense], threshold: Decimal = Decimal(5)
) -> dict[str, Any]:
    """Every finding, costliest first, with totals per currency."""
    recurring = recurring_expenses(expenses)
    findings = [
        *unused_seats(subscriptions),
        *duplicate_tools(subscriptions),
        *duplicate_subscriptions(subscriptions),
        *billed_twice(subscriptions, recurring),
        *price_rises(subscriptions, recurring, threshold),
    ]
    limits: dict[tuple[Any, ...], tuple[str, Saving]] = {
        ("subscription", index): (sub.currency, sub.cost()) for index, sub in enumerate(subscriptions)
    }
    limits |= {
        ("expenses", position): (charges.currency, charges.cost) for position, charges in enumerate(recurring)
    }
    claimed: dict[tuple[Any, ...], Saving] = {}
    for finding in findings:
        if finding.currency is not None:
            for source, part in finding.parts:
                claimed[source] = claimed.get(source, NO_SAVING) + part
    by_currency: dict[str, dict[str, Decimal]] = {}
    for sub in subscriptions:
        row = by_currency.setdefault(sub.currency, _empty_row())
        row["subscriptions_monthly"] += sub.cost().monthly
        row["subscriptions_annual"] += sub.cost().annual
    for source, part in claimed.items():
        source_currency, limit = limits[source]
        saving = part.capped(limit)
        row = by_currency.setdefault(source_currency, _empty_row())
        row["potential_savings_monthly"] += saving.monthly
        row["potential_savings_annual"] += saving.annual
    currency = single_currency(by_currency)
    one = by_currency.get(currency) if currency else None
    rendered = [_render(finding) for finding in findings]
    rendered.sort(
        key=lambda item: (item["currency"] is None, -Decimal(item["potential_savings_annual"] or 0))
    )
    return {
        "findings": rendered,
        "currency": currency,
        "total_potential_savings_monthly": _total(one, by_currency, "potential_savings_monthly"),
        "total_potential_savings_annual": _total(one, by_currency, "potential_savings_annual"),
        "by_currency": {
            name: {key: format_money(value) for key, value in row.items()}
            for name, row in sorted(by_currency.items())
        },
    }


def _empty_row() -> dict[str, Decimal]:
    names = (
        "subscriptions_monthly",
        "subscriptions_annual",
        "potential_savings_monthly",
        "potential_savings_annual",
    )
    return dict.fromkeys(names, ZERO)


def _total(one: dict[str, Decimal] | None, by_currency: Mapping[str, Any], name: str) -> str | None:
    if one is not None:
        return format_money(one[name])
    return None if by_currency else "0.00"


def _render(finding: Finding) -> dict[str, Any]:
    saving = finding.saving
    return {
        "kind": finding.kind,
        **{key: value for key, value in finding.facts.items() if value is not None},
        "detail": finding.detail,
        "currency": finding.currency,
        "potential_savings_monthly": format_money(saving.monthly) if saving else None,
        "potential_savings_annual": format_money(saving.annual) if saving else None,
    }


def detect_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """The whole step over a config."""
    subscriptions = subscriptions_from(config)
    expenses = expenses_from(config, subscriptions)
    threshold = setting(config, "price_rise_threshold")
    limit = Decimal(5) if threshold is None else parse_money(threshold, "price_rise_threshold", minimum=ZERO)
    return detect(subscriptions, expenses, limit)
