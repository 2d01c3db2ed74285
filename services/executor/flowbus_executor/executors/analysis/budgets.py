"""budget_check: spend against budgets, and whether a new spend fits.

Budgets are keyed by category, or with `group_by` by deal stage or milestone (spend items then
carry `stage` or `milestone`); names compare case-insensitively. A budget's `period` ("2025",
"2025-03", "2025-Q1", "2025-01-01/2025-06-30", {start, end}, or monthly / quarterly / annual for
the one containing `as_of`, default today) limits the spend counted to dated items inside it;
an undated item always counts, since leaving it out could hide an overspend.

Per budget: `remaining` = limit - spent, `percent_used` (a number, two decimals), and status
`ok`, `warning` (at least `warning_percent`, default 80) or `over` (spent above the limit; spending
exactly the limit is not over). Spend in a category without a budget is `no_budget`. A request
(`category` + `amount`) is allowed when spent + amount <= limit; in a category without a budget
only with `allow_unbudgeted`. Without a request, `allowed` says nothing is over budget (nor
unbudgeted, unless allowed). Currencies are never converted: a spend or request in another
currency than its budget is refused as `invalid_config`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from flowbus_executor.executors.analysis.money import (
    HUNDRED,
    format_money,
    invalid,
    optional_date,
    parse_bool,
    parse_currency,
    parse_date,
    parse_money,
    percent,
    records,
    setting,
    single_currency,
    text_of,
    totals,
)

ZERO = Decimal(0)
# group_by -> the fields naming an item's group, first found wins.
GROUP_FIELDS = {
    "category": ("category",),
    "deal_stage": ("stage", "deal_stage", "category"),
    "milestone": ("milestone", "category"),
}


@dataclass(frozen=True)
class Period:
    start: dt.date
    end: dt.date  # inclusive
    label: str

    def holds(self, day: dt.date | None) -> bool:
        return day is None or self.start <= day <= self.end


@dataclass(frozen=True)
class Budget:
    name: str
    limit: Decimal
    currency: str | None = None
    period: Period | None = None
    spent: Decimal = ZERO  # already spent, as the budget's source reports it


@dataclass(frozen=True)
class Spend:
    name: str
    amount: Decimal
    currency: str | None = None
    date: dt.date | None = None


@dataclass(frozen=True)
class Request:
    name: str
    amount: Decimal
    currency: str | None = None


@dataclass(frozen=True)
class Rules:
    warning_percent: Decimal = Decimal(80)
    allow_unbudgeted: bool = False


def key(name: str) -> str:
    return " ".join(name.casefold().split())


def _status(spent: Decimal, limit: Decimal, rules: Rules) -> str:
    if spent > limit:
        return "over"
    if limit > 0 and spent * HUNDRED / limit >= rules.warning_percent:
        return "warning"
    return "ok"


def check(
    budgets: Sequence[Budget],
    spend: Sequence[Spend],
    request: Request | None = None,
    rules: Rules | None = None,
) -> dict[str, Any]:
    """The step's output. Raises `invalid_config` for a currency that does not match its budget."""
    rules = rules or Rules()
    by_key = {key(budget.name): budget for budget in budgets}
    spent: dict[str, Decimal] = {name: budget.spent for name, budget in by_key.items()}
    currency: dict[str, str | None] = {name: budget.currency for name, budget in by_key.items()}
    shown: dict[str, str] = {name: budget.name for name, budget in by_key.items()}
    for index, item in enumerate(spend):
        name = key(item.name)
        budget = by_key.get(name)
        if budget is not None and budget.period is not None and not budget.period.holds(item.date):
            continue
        shown.setdefault(name, item.name)
        currency[name] = _same_currency(
            currency.get(name), item.currency, f"spend[{index}].currency", item.name
        )
        spent[name] = spent.get(name, ZERO) + item.amount
    if request is not None:
        name = key(request.name)
        shown.setdefault(name, request.name)
        currency[name] = _same_currency(currency.get(name), request.currency, "currency", request.name)
    rows = []
    for name, display in shown.items():
        budget = by_key.get(name)
        used = spent.get(name, ZERO)
        row: dict[str, Any] = {"category": display}
        if budget is None:
            row |= {"limit": None, "spent": format_money(used), "remaining": None}
            row |= {"percent_used": None, "status": "no_budget"}
        else:
            row |= {
                "limit": format_money(budget.limit),
                "spent": format_money(used),
                "remaining": format_money(budget.limit - used),
                "percent_used": percent(used, budget.limit),
                "status": _status(used, budget.limit, rules),
            }
        row["currency"] = currency.get(name)
        if budget is not None and budget.period is not None:
            row["period"] = budget.period.label
        if request is not None and name == key(request.name):
            row |= _requested(budget, used, request, rules)
        rows.append(row)
    return _overall(rows, by_key, spent, currency, request, rules)


def _same_currency(known: str | None, given: str | None, field: str, name: str) -> str | None:
    if known is not None and given is not None and known != given:
        raise invalid(field, f"{given} does not match {name!r} in {known}; amounts are never converted")
    return known or given


def _requested(budget: Budget | None, used: Decimal, request: Request, rules: Rules) -> dict[str, Any]:
    if budget is None:
        return {
            "requested": format_money(request.amount),
            "allowed": rules.allow_unbudgeted,
            "remaining_after": None,
            "status_after": "no_budget",
        }
    after = used + request.amount
    return {
        "requested": format_money(request.amount),
        "allowed": after <= budget.limit,
        "remaining_after": format_money(budget.limit - after),
        "status_after": _status(after, budget.limit, rules),
    }


def _overall(
    rows: list[dict[str, Any]],
    by_key: Mapping[str, Budget],
    spent: Mapping[str, Decimal],
    currency: Mapping[str, str | None],
    request: Request | None,
    rules: Rules,
) -> dict[str, Any]:
    over = [row["category"] for row in rows if row["status"] == "over"]
    unbudgeted = [row["category"] for row in rows if row["status"] == "no_budget"]
    result: dict[str, Any] = {"categories": rows}
    if request is not None:
        row = next(row for row in rows if key(row["category"]) == key(request.name))
        result |= {
            "allowed": row["allowed"],
            "category": row["category"],
            "requested": row["requested"],
            "remaining_after": row["remaining_after"],
        }
    else:
        result["allowed"] = not over and (rules.allow_unbudgeted or not unbudgeted)
    limits = totals((currency[name] or "", budget.limit) for name, budget in by_key.items())
    spends = totals((currency[name] or "", amount) for name, amount in spent.items())
    loose = totals((currency[name] or "", amount) for name, amount in spent.items() if name not in by_key)
    by_currency = {
        code: {
            "total_limit": format_money(limits.get(code, ZERO)),
            "total_spent": format_money(spends.get(code, ZERO)),
            "unbudgeted_spent": format_money(loose.get(code, ZERO)),
        }
        for code in sorted(set(limits) | set(spends))
    }
    one = single_currency(by_currency)
    result |= {
        "over_budget": over,
        "warnings": [row["category"] for row in rows if row["status"] == "warning"],
        "no_budget": unbudgeted,
        "currency": one or None,
    }
    for name in ("total_limit", "total_spent", "unbudgeted_spent"):
        result[name] = by_currency[one][name] if one is not None else (None if by_currency else "0.00")
    result["by_currency"] = {code or "unspecified": values for code, values in by_currency.items()}
    return result


def period_from(value: Any, field: str, as_of: dt.date) -> Period | None:
    """A budget period, or None for none (see the module's doc for the forms accepted)."""
    if value in (None, ""):
        return None
    if isinstance(value, dict):
        start = parse_date(value.get("start"), f"{field}.start")
        end = parse_date(value.get("end"), f"{field}.end")
        label = f"{start.isoformat()}/{end.isoformat()}"
    else:
        text = str(value).strip()
        start, end = _named_period(text.lower(), as_of) or _literal_period(text, field)
        label = text if "/" in text or ".." in text else _label(text, start)
    if end < start:
        raise invalid(field, f"ends before it starts: {value!r}")
    return Period(start, end, label)


def _label(text: str, start: dt.date) -> str:
    lowered = text.lower()
    if lowered in {"monthly", "month"}:
        return f"{start:%Y-%m}"
    if lowered in {"quarterly", "quarter"}:
        return f"{start.year}-Q{(start.month - 1) // 3 + 1}"
    if lowered in {"annual", "annually", "yearly", "year"}:
        return str(start.year)
    return text


def _quarter(year: int, quarter: int) -> tuple[dt.date, dt.date]:
    start = dt.date(year, 3 * quarter - 2, 1)
    return start, _month_end(year, 3 * quarter)


def _month_end(year: int, month: int) -> dt.date:
    following = dt.date(year + month // 12, month % 12 + 1, 1)
    return following - dt.timedelta(days=1)


def _named_period(text: str, as_of: dt.date) -> tuple[dt.date, dt.date] | None:
    if text in {"monthly", "month"}:
        return as_of.replace(day=1), _month_end(as_of.year, as_of.month)
    if text in {"quarterly", "quarter"}:
        return _quarter(as_of.year, (as_of.month - 1) // 3 + 1)
    if text in {"annual", "annually", "yearly", "year"}:
        return dt.date(as_of.year, 1, 1), dt.date(as_of.year, 12, 31)
    return None


def _literal_period(text: str, field: str) -> tuple[dt.date, dt.date]:
    try:
        for separator in ("/", ".."):
            if separator in text:
                first, last = text.split(separator, 1)
                return dt.date.fromisoformat(first.strip()), dt.date.fromisoformat(last.strip())
        if len(text) == 4 and text.isdigit():
            return dt.date(int(text), 1, 1), dt.date(int(text), 12, 31)
        if len(text) == 7 and text[4] == "-" and text[5:].upper().startswith("Q") and text[6] in "1234":
            return _quarter(int(text[:4]), int(text[6]))
        if len(text) == 7 and text[4] == "-":
            year, month = int(text[:4]), int(text[5:])
            return dt.date(year, month, 1), _month_end(year, month)
    except ValueError:
        pass
    raise invalid(field, f"expected a period like 2025, 2025-03, 2025-Q1 or start/end dates, got {text!r}")


def _group_name(item: Mapping[str, Any], fields: Sequence[str], where: str) -> str:
    for name in fields:
        text = text_of(item, name)
        if text is not None:
            return text
    raise invalid(f"{where}.{fields[0]}", "missing")


def budgets_from(config: Mapping[str, Any], fields: Sequence[str], as_of: dt.date) -> list[Budget]:
    """`budgets` as a list of {category|stage|milestone, limit, currency, period?, spent?} or a
    mapping name -> limit (or -> {limit, currency?, period?, spent?})."""
    raw = config.get("budgets")
    default = setting(config, "currency")
    items: list[tuple[str, dict[str, Any]]] = []
    if isinstance(raw, dict):
        for name, value in raw.items():
            item = dict(value) if isinstance(value, dict) else {"limit": value}
            items.append((f"budgets.{name}", item | {fields[0]: name}))
    else:
        items = [(f"budgets[{index}]", item) for index, item in enumerate(records(config, "budgets"))]
    result: list[Budget] = []
    seen: set[str] = set()
    for where, item in items:
        name = _group_name(item, fields, where)
        if key(name) in seen:
            raise invalid(where, f"a second budget for {name!r}")
        seen.add(key(name))
        code = item.get("currency") or default
        already = item.get("spent")
        result.append(
            Budget(
                name=name,
                limit=parse_money(item.get("limit"), f"{where}.limit", minimum=ZERO),
                currency=None if code in (None, "") else parse_currency(code, f"{where}.currency"),
                period=period_from(item.get("period"), f"{where}.period", as_of),
                spent=ZERO if already in (None, "") else parse_money(already, f"{where}.spent"),
            )
        )
    return result


def spend_from(config: Mapping[str, Any], fields: Sequence[str]) -> list[Spend]:
    default = setting(config, "currency")
    result = []
    for index, item in enumerate(records(config, "spend", required=False)):
        where = f"spend[{index}]"
        code = item.get("currency") or default
        result.append(
            Spend(
                name=_group_name(item, fields, where),
                amount=parse_money(item.get("amount"), f"{where}.amount"),
                currency=None if code in (None, "") else parse_currency(code, f"{where}.currency"),
                date=optional_date(item, "date", where),
            )
        )
    return result


def request_from(config: Mapping[str, Any], fields: Sequence[str]) -> Request | None:
    """The spend asked for now: `amount` with `category` (or the group's own field)."""
    amount = setting(config, "amount")
    if amount is None:
        return None
    name = next((text for field in fields if (text := text_of(config, field)) is not None), None)
    if name is None:
        raise invalid(fields[0], "missing: a requested amount needs the category it is spent on")
    code = setting(config, "currency")
    return Request(
        name=name,
        amount=parse_money(amount, "amount", minimum=ZERO),
        currency=None if code is None else parse_currency(code, "currency"),
    )


def check_config(config: Mapping[str, Any], today: dt.date | None = None) -> dict[str, Any]:
    """The whole step over a config."""
    group_by = str(config.get("group_by") or "category")
    fields = GROUP_FIELDS.get(group_by)
    if fields is None:
        raise invalid("group_by", f"expected category, deal_stage or milestone, got {group_by!r}")
    as_of_value = setting(config, "as_of")
    as_of = parse_date(as_of_value, "as_of") if as_of_value else (today or dt.datetime.now(dt.UTC).date())
    warning = setting(config, "warning_percent")
    unbudgeted = setting(config, "allow_unbudgeted")
    rules = Rules(
        warning_percent=Decimal(80)
        if warning is None
        else parse_money(warning, "warning_percent", minimum=ZERO),
        allow_unbudgeted=False if unbudgeted is None else parse_bool(unbudgeted, "allow_unbudgeted"),
    )
    budgets = budgets_from(config, fields, as_of)
    result = check(budgets, spend_from(config, fields), request_from(config, fields), rules)
    return {"group_by": group_by, "as_of": as_of.isoformat()} | result
