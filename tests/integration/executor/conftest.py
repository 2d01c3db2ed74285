"""Fixtures of the executor suites: the CRM doubles wired to a real executor."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.integration.executor.crm_doubles import (
    HUBSPOT_TOKEN,
    SALESFORCE_TOKEN,
    FakeHubSpot,
    FakeSalesforce,
    Rig,
)
from tests.support.executor_deps import TENANT, executor_deps
from tests.support.http_double import http_double


@pytest.fixture
def hubspot_fake() -> FakeHubSpot:
    return FakeHubSpot()


@pytest.fixture
async def hubspot(tmp_path: Path, hubspot_fake: FakeHubSpot) -> AsyncIterator[Rig]:
    with http_double(hubspot_fake.respond) as double:
        async with executor_deps(tmp_path / "x.db", hubspot_api_url=double.url) as deps:
            await deps.vault.put(TENANT, "hubspot", "hubspot", {"access_token": HUBSPOT_TOKEN})
            yield Rig(deps, double)


@pytest.fixture
def salesforce_fake() -> FakeSalesforce:
    return FakeSalesforce()


@pytest.fixture
async def salesforce(tmp_path: Path, salesforce_fake: FakeSalesforce) -> AsyncIterator[Rig]:
    with http_double(salesforce_fake.respond) as double:
        async with executor_deps(tmp_path / "x.db") as deps:
            secrets = {"instance_url": double.url, "access_token": SALESFORCE_TOKEN}
            await deps.vault.put(TENANT, "salesforce", "salesforce", secrets)
            yield Rig(deps, double)


# HubSpot
