"""Running one piece of work against the configured database from a CLI command, with
errors as a message and a non-zero exit instead of a traceback."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import typer
from sqlalchemy.ext.asyncio import AsyncEngine

from flowbus_shared.settings import FlowbusSettings
from flowbus_shared.store import open_store
from flowbus_shared.vault import ConnectionVault, VaultError

T = TypeVar("T")


def fail(message: str, code: int = 1) -> typer.Exit:
    typer.secho(f"error: {message}", err=True, fg="red")
    return typer.Exit(code)


def on_database(work: Callable[[AsyncEngine], Awaitable[T]]) -> T:
    async def run() -> T:
        store = await open_store(FlowbusSettings().database_url)
        try:
            return await work(store.engine)
        finally:
            await store.close()

    try:
        return asyncio.run(run())
    except (VaultError, ValueError) as error:
        raise fail(str(error)) from None


def vault_of(engine: AsyncEngine) -> ConnectionVault:
    keys = FlowbusSettings().master_keys
    return ConnectionVault(engine, keys.get_secret_value() if keys else None)
