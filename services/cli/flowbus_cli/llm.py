"""`flowbus llm ...`: the llm-gateway's provider keys, budgets and usage, per tenant.

Provider keys are read from standard input, so they never appear in a command line,
shell history or process list; only their fingerprints are ever printed.
"""

from __future__ import annotations

import json
import sys
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

import typer

from flowbus_cli.database import fail, on_database, vault_of
from flowbus_llm_gateway.keys import ProviderKeys
from flowbus_llm_gateway.ledger import GroupBy, Ledger

app = typer.Typer(help="LLM provider keys (bring your own), budgets and usage.", no_args_is_help=True)
keys_app = typer.Typer(help="Each tenant's provider keys, sealed in the vault.", no_args_is_help=True)
budget_app = typer.Typer(help="Spending limits per tenant and per agent.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
app.add_typer(budget_app, name="budget")
Tenant = Annotated[str, typer.Option(help="the tenant")]
Output = Annotated[str, typer.Option("--output", "-o", help="text or json")]


def _emit(rows: list[dict[str, Any]], output: str, columns: list[str]) -> None:
    if output == "json":
        typer.echo(json.dumps(rows, default=str, indent=2))
        return
    for row in rows:
        typer.echo("\t".join(str(row.get(column, "")) for column in columns))


@keys_app.command("put")
def put_key(
    provider: Annotated[
        str, typer.Argument(help="openai, anthropic, gemini, deepseek, or a name of your own")
    ],
    tenant: Tenant = "default",
    base_url: Annotated[
        str | None, typer.Option(help="for self-hosted or proxied OpenAI-compatible servers (Ollama, vLLM)")
    ] = None,
) -> None:
    """Store a provider key, read from standard input (empty for servers without keys)."""
    api_key = sys.stdin.read().strip()
    if not api_key and not base_url:
        raise fail(
            "the key is empty: pipe it in on standard input (or give --base-url for a keyless server)", 2
        )
    fingerprint = on_database(
        lambda engine: ProviderKeys(vault_of(engine)).put(tenant, provider, api_key, base_url)
    )
    typer.echo(f"stored the {provider} key of {tenant}, fingerprint {fingerprint}")


@keys_app.command("list")
def list_keys(tenant: Tenant = "default", output: Output = "text") -> None:
    """Providers and key fingerprints (never the keys)."""
    rows = on_database(lambda engine: ProviderKeys(vault_of(engine)).list(tenant))
    _emit(rows, output, ["provider", "fingerprint"])


@keys_app.command("delete")
def delete_key(provider: str, tenant: Tenant = "default") -> None:
    """Remove a provider key."""
    if not on_database(lambda engine: ProviderKeys(vault_of(engine)).delete(tenant, provider)):
        raise fail(f"tenant {tenant!r} has no {provider} key")
    typer.echo(f"deleted the {provider} key of {tenant}")


@budget_app.command("set")
def set_budget(
    limit_usd: Annotated[str, typer.Argument(help="the limit in USD, e.g. 25 or 0.50")],
    tenant: Tenant = "default",
    agent: Annotated[str | None, typer.Option(help="an agent's own budget within the tenant")] = None,
    period: Annotated[str, typer.Option(help="month (resets each month) or total")] = "month",
) -> None:
    """Create or change a budget; what was spent is kept."""
    try:
        limit = Decimal(limit_usd)
    except InvalidOperation:
        raise fail(f"{limit_usd!r} is not an amount", 2) from None
    on_database(lambda engine: Ledger(engine).set_budget(tenant, limit, agent_id=agent, period=period))  # type: ignore[arg-type]
    typer.echo(f"budget of {tenant}{f'/{agent}' if agent else ''}: {limit} USD per {period}")


@budget_app.command("show")
def show_budgets(tenant: Tenant = "default", output: Output = "text") -> None:
    """The tenant's budgets: limit, spent, reserved and remaining USD."""
    views = on_database(lambda engine: Ledger(engine).budgets(tenant))
    rows = [
        {
            "agent": v.agent_id or "(tenant)",
            "limit_usd": v.limit_usd,
            "spent_usd": v.spent_usd,
            "reserved_usd": v.reserved_usd,
            "remaining_usd": v.remaining_usd,
            "period": v.period,
        }
        for v in views
    ]
    _emit(rows, output, ["agent", "limit_usd", "spent_usd", "reserved_usd", "remaining_usd", "period"])


@app.command("usage")
def usage(
    tenant: Tenant = "default",
    group_by: Annotated[str, typer.Option(help="provider, model, agent_id or execution_id")] = "provider",
    output: Output = "text",
) -> None:
    """Requests, tokens and cost of the tenant, per provider, model, agent or execution."""
    rows = on_database(lambda engine: Ledger(engine).totals(tenant, group_by))  # type: ignore[arg-type]
    columns = [group_by, "requests", "input_tokens", "cached_input_tokens", "output_tokens", "cost_usd"]
    _emit(rows, output, columns)


__all__ = ["GroupBy", "app"]
