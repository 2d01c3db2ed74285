"""From a won deal to a contract and its delivery project. Pure.

The contract runs `term_months` (default 12) from `start_date` (default the close date) to the
day before the same date `term_months` later. The project's milestones are the deal's line items
(due on their `due_date`, else spread evenly over the term; their total must be the deal's amount,
so billing milestones add up to the contract value), or without line items the default plan:
kickoff 10% two weeks in, delivery 60% at 80% of the term, acceptance 30% at the end.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from flowbus_executor.executors.projects.model import ContractPlan, MilestonePlan, ProjectPlan, RolePlan
from flowbus_executor.executors.projects.plans import check_plan
from flowbus_executor.executors.projects.values import (
    CENT,
    Invalid,
    add_months,
    currency,
    day,
    day_out,
    decimal,
    integer,
    items,
    mapping,
    money,
    money_out,
    names,
    optional_day,
    optional_text,
    text,
)

# HubSpot's internal stage is "closedwon", Salesforce's label "Closed Won".
WON_STAGES = {"closedwon", "closed_won", "won"}
DEFAULT_TERM_MONTHS = 12
MAX_TERM_MONTHS = 120
MAX_LINE_ITEMS = 100
KICKOFF_DAYS = 14


@dataclass(frozen=True)
class Phase:
    name: str
    share: Decimal
    deliverables: tuple[str, ...]


DEFAULT_PLAN = (
    Phase("Kickoff", Decimal("0.10"), ("Kick-off meeting", "Project plan")),
    Phase("Delivery", Decimal("0.60"), ("Delivered scope",)),
    Phase("Acceptance", Decimal("0.30"), ("Customer acceptance sign-off",)),
)


def is_won(stage: str) -> bool:
    """ "closedwon", "closed_won", "won", "Closed Won", "closed-won": any case and separator."""
    return re.sub(r"[\s\-]+", "_", stage.strip().lower()) in WON_STAGES


def _customer(value: Any, field: str) -> str:
    if isinstance(value, dict):
        return text(value.get("name") or value.get("company"), f"{field}.name")
    return text(value, field)


@dataclass(frozen=True)
class LineItem:
    name: str
    amount: Decimal
    due_date: date | None
    deliverables: tuple[str, ...]
    quantity: Decimal | None


def line_item(value: Any, field: str) -> LineItem:
    """{name, amount | quantity x (price | unit_price), due_date?, deliverables?}."""
    data = mapping(value, field)
    quantity = data.get("quantity")
    quantity_value = None if quantity is None else decimal(quantity, f"{field}.quantity", minimum=Decimal(0))
    if data.get("amount") is not None:
        amount = money(data["amount"], f"{field}.amount")
    else:
        price_name = "price" if data.get("price") is not None else "unit_price"
        if quantity_value is None or data.get(price_name) is None:
            raise Invalid(field, "give amount, or quantity and price")
        price = decimal(data[price_name], f"{field}.{price_name}", minimum=Decimal(0))
        amount = (quantity_value * price).quantize(CENT, rounding=ROUND_HALF_UP)
    return LineItem(
        name=text(data.get("name"), f"{field}.name"),
        amount=amount,
        due_date=optional_day(data.get("due_date"), f"{field}.due_date"),
        deliverables=names(data.get("deliverables"), f"{field}.deliverables"),
        quantity=quantity_value,
    )


def _spread(start: date, end: date, index: int, count: int) -> date:
    """The due date of item `index` of `count` spread evenly so that the last is due at the end."""
    return start + timedelta(days=(end - start).days * (index + 1) // count)


def _unique_name(name: str, taken: set[str]) -> str:
    """Two line items of the same product become "License" and "License (2)"."""
    candidate, number = name, 1
    while candidate.casefold() in taken:
        number += 1
        candidate = f"{name} ({number})"
    taken.add(candidate.casefold())
    return candidate


def line_item_milestones(
    listed: list[Any], amount: Decimal, start: date, end: date, field: str
) -> tuple[tuple[MilestonePlan, ...], tuple[dict[str, Any], ...]]:
    parsed = [line_item(item, f"{field}[{index}]") for index, item in enumerate(listed)]
    total = sum((item.amount for item in parsed), Decimal(0))
    if total != amount:
        raise Invalid(
            field, f"line items total {money_out(total)}, not the deal's amount {money_out(amount)}"
        )
    taken: set[str] = set()
    milestones, stored = [], []
    for index, item in enumerate(parsed):
        due = item.due_date or _spread(start, end, index, len(parsed))
        if not start <= due <= end:
            raise Invalid(f"{field}[{index}].due_date", f"{due.isoformat()} is outside the contract term")
        name = _unique_name(item.name, taken)
        milestones.append(MilestonePlan(name, due, item.amount, item.deliverables or (item.name,)))
        stored.append(
            {
                "name": item.name,
                "amount": money_out(item.amount),
                "quantity": None if item.quantity is None else str(item.quantity),
                "due_date": day_out(due),
            }
        )
    return tuple(milestones), tuple(stored)


def default_milestones(amount: Decimal, start: date, end: date) -> tuple[MilestonePlan, ...]:
    """Kickoff, delivery and acceptance; acceptance takes the rounding remainder."""
    duration = (end - start).days
    dues = (
        start + timedelta(days=min(KICKOFF_DAYS, duration)),
        start + timedelta(days=duration * 8 // 10),
        end,
    )
    shares = [(amount * phase.share).quantize(CENT, rounding=ROUND_HALF_UP) for phase in DEFAULT_PLAN[:-1]]
    shares.append(amount - sum(shares, Decimal(0)))
    return tuple(
        MilestonePlan(phase.name, due, share, phase.deliverables)
        for phase, due, share in zip(DEFAULT_PLAN, dues, shares, strict=True)
    )


def deal_id_of(value: Any, field: str = "deal") -> str:
    return text(mapping(value, field).get("id"), f"{field}.id", limit=200)


def stage_of(value: Any, field: str = "deal") -> str:
    """The deal's stage: checked before anything else, since a deal not won is refused outright."""
    return text(mapping(value, field).get("stage"), f"{field}.stage", limit=200)


def provision(
    value: Any, roles: tuple[RolePlan, ...] = (), field: str = "deal"
) -> tuple[ContractPlan, ProjectPlan]:
    """The contract and project plans for a won deal (the caller has checked the stage)."""
    data = mapping(value, field)
    deal_id = deal_id_of(data, field)
    deal_name = optional_text(data.get("name"), f"{field}.name") or f"Deal {deal_id}"
    amount = money(data.get("amount"), f"{field}.amount")
    code = currency(data.get("currency"), f"{field}.currency")
    close_date = day(data.get("close_date"), f"{field}.close_date")
    customer = _customer(data.get("customer"), f"{field}.customer")
    term = data.get("term_months")
    term_months = (
        DEFAULT_TERM_MONTHS
        if term is None
        else integer(term, f"{field}.term_months", minimum=1, maximum=MAX_TERM_MONTHS)
    )
    start = optional_day(data.get("start_date"), f"{field}.start_date") or close_date
    end = add_months(start, term_months) - timedelta(days=1)
    listed = items(data.get("line_items"), f"{field}.line_items")
    if len(listed) > MAX_LINE_ITEMS:
        raise Invalid(f"{field}.line_items", f"more than {MAX_LINE_ITEMS} line items")
    if listed:
        milestones, stored = line_item_milestones(listed, amount, start, end, f"{field}.line_items")
    else:
        milestones, stored = default_milestones(amount, start, end), ()
    contract = ContractPlan(deal_id, deal_name, customer, amount, code, term_months, start, end, stored)
    project = ProjectPlan(
        name=f"{customer}: {deal_name}"[:300],
        description=(
            f"Delivery of {deal_name} (deal {deal_id}) for {customer}: {money_out(amount)} {code} "
            f"over {term_months} months from {start.isoformat()}."
        ),
        start_date=start,
        end_date=end,
        budget=amount,
        currency=code,
        milestones=milestones,
        roles=roles,
    )
    return contract, check_plan(project, "project")
