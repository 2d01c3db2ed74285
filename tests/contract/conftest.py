"""Fixtures of the contract suites: each runs on every database backend (`database_url`)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from flowbus_shared.store import SqlEventStore, open_store


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[SqlEventStore]:
    opened = await open_store(database_url)
    yield opened
    await opened.close()


@pytest.fixture
def tenant() -> str:
    return f"tenant-{uuid.uuid4().hex[:8]}"  # the PostgreSQL database is shared by the session
