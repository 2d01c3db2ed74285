"""Fixtures of the projects suites."""

from __future__ import annotations

import uuid

import pytest


@pytest.fixture
def tenant() -> str:
    """A tenant of the test's own: the PostgreSQL database is shared by the whole session."""
    return f"tenant-{uuid.uuid4().hex[:12]}"
