"""universal_integration (and api_call's `{service, action}` form) against a loopback double:
a "github" connector stored in the vault, its actions filled from the step's params."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from flowbus_executor.deps import ExecutorDeps
from flowbus_executor.executors import connectors, web
from flowbus_shared.step_worker import StepFailure
from tests.support.executor_deps import TENANT, executor_deps, step_request
from tests.support.http_double import Recorded, http_double

TOKEN = "ghp_0123456789abcdefSECRET"
REPO = {"id": 1296269, "full_name": "acme/site", "private": True}


def github(base_url: str, **auth: str) -> dict[str, Any]:
    """A connector for the part of GitHub's REST API a workflow uses."""
    return {
        "base_url": base_url,
        "auth": auth or {"scheme": "bearer", "token": TOKEN},
        "headers": {"Accept": "application/vnd.github+json"},
        "actions": {
            "create_repo": {
                "method": "POST",
                "path": "/orgs/{org}/repos",
                "body": {"name": "{name}", "private": "{private}", "description": "Repo {name} of {org}"},
                "expect": [201],
            },
            "list_repos": {"path": "/orgs/{org}/repos", "query": {"per_page": "{limit}", "type": "all"}},
        },
    }


def github_api(recorded: Recorded) -> tuple[int, Any]:
    return (201, REPO) if recorded.method == "POST" else (200, [REPO])


CREATE = {"service": "github", "action": "create_repo"}


@asynccontextmanager
async def deps_for(
    tmp_path: Path,
    connector: dict[str, Any] | None = None,
    *,
    name: str = "github",
    allowed: list[str] | None = None,
) -> AsyncIterator[ExecutorDeps]:
    hosts = ["127.0.0.1"] if allowed is None else allowed
    async with executor_deps(tmp_path / "x.db", api_call_allowed_hosts=hosts) as deps:
        if connector is not None:
            await deps.vault.put(TENANT, name, connectors.CONNECTOR_SERVICE, connector)
        yield deps


async def run(deps: ExecutorDeps, config: dict[str, Any], step_type: str = "universal_integration") -> Any:
    handlers = {**connectors.handlers(deps), **web.handlers(deps)}
    return await handlers[step_type](step_request(step_type, config))


async def fail(
    deps: ExecutorDeps, config: dict[str, Any], step_type: str = "universal_integration"
) -> StepFailure:
    with pytest.raises(StepFailure) as caught:
        await run(deps, config, step_type)
    return caught.value


async def test_create_repo_sends_path_body_and_bearer_auth(tmp_path: Path) -> None:
    with http_double(github_api) as double:
        async with deps_for(tmp_path, github(double.url)) as deps:
            output = await run(deps, {**CREATE, "params": {"org": "acme", "name": "site", "private": True}})
    assert output == {"status": 201, "body": REPO}
    [seen] = double.requests
    assert (seen.method, seen.path) == ("POST", "/orgs/acme/repos")
    # "{private}" alone keeps the bool; inside text a placeholder becomes text.
    assert seen.body == {"name": "site", "private": True, "description": "Repo site of acme"}
    assert seen.headers["Authorization"] == f"Bearer {TOKEN}"
    assert seen.headers["Accept"] == "application/vnd.github+json"
    assert seen.headers["Idempotency-Key"] == "exec-1:step:1"


async def test_api_call_with_service_and_action_uses_the_same_connector(tmp_path: Path) -> None:
    with http_double(github_api) as double:
        async with deps_for(tmp_path, github(double.url)) as deps:
            # The monolith's form: params sit beside service and action.
            output = await run(deps, {**CREATE, "org": "acme", "name": "site", "private": False}, "api_call")
    assert output == {"status": 201, "body": REPO}
    [seen] = double.requests
    assert (seen.method, seen.path) == ("POST", "/orgs/acme/repos")
    assert seen.body == {"name": "site", "private": False, "description": "Repo site of acme"}
    assert seen.headers["Authorization"] == f"Bearer {TOKEN}"


async def test_explicit_params_win_over_other_config_keys(tmp_path: Path) -> None:
    with http_double(github_api) as double:
        async with deps_for(tmp_path, github(double.url)) as deps:
            await run(
                deps, {**CREATE, "org": "other", "name": "site", "private": 0, "params": {"org": "acme"}}
            )
    assert double.requests[0].path == "/orgs/acme/repos"
    assert double.requests[0].body["private"] == 0


async def test_path_params_are_url_quoted_and_query_templates_filled(tmp_path: Path) -> None:
    with http_double(github_api) as double:
        async with deps_for(tmp_path, github(double.url)) as deps:
            output = await run(
                deps, {"service": "github", "action": "list_repos", "org": "a b/../c", "limit": 5}
            )
    assert output == {"status": 200, "body": [REPO]}
    assert double.requests[0].path == "/orgs/a%20b%2F..%2Fc/repos?per_page=5&type=all"


async def test_a_connection_override_names_another_connector(tmp_path: Path) -> None:
    with http_double(github_api) as double:
        async with deps_for(tmp_path, github(double.url), name="github-enterprise") as deps:
            config = {
                **CREATE,
                "connection": "github-enterprise",
                "org": "acme",
                "name": "x",
                "private": True,
            }
            assert (await run(deps, config))["status"] == 201
    assert len(double.requests) == 1


async def test_missing_placeholders_are_named(tmp_path: Path) -> None:
    with http_double(github_api) as double:
        async with deps_for(tmp_path, github(double.url)) as deps:
            failure = await fail(deps, {**CREATE, "params": {"name": "site"}})
    assert (failure.error_type, failure.retryable) == ("invalid_config", False)
    assert "org" in failure.message
    assert "private" in failure.message
    assert double.requests == []


async def test_an_unknown_action_is_invalid_config(tmp_path: Path) -> None:
    async with deps_for(tmp_path, github("http://127.0.0.1:9")) as deps:
        failure = await fail(deps, {"service": "github", "action": "delete_everything"})
    assert failure.error_type == "invalid_config"
    assert "delete_everything" in failure.message
    assert "create_repo" in failure.message


@pytest.mark.parametrize("step_type", ["universal_integration", "api_call"])
async def test_a_service_without_a_connector_is_invalid_config(tmp_path: Path, step_type: str) -> None:
    async with deps_for(tmp_path) as deps:
        config = {"service": "calendar", "action": "schedule_meeting", "title": "Kick-off"}
        failure = await fail(deps, config, step_type)
    assert (failure.error_type, failure.retryable) == ("invalid_config", False)
    assert "'calendar'" in failure.message


async def test_a_connection_that_is_not_a_connector_is_refused(tmp_path: Path) -> None:
    async with deps_for(tmp_path) as deps:
        await deps.vault.put(TENANT, "github", "github", {"token": TOKEN})
        failure = await fail(deps, {**CREATE, "org": "acme", "name": "x", "private": True})
    assert failure.error_type == "invalid_config"
    assert TOKEN not in failure.message


@pytest.mark.parametrize(
    ("auth", "header", "value", "query"),
    [
        (
            {"scheme": "basic", "username": "bot", "password": "pw-0123456789"},
            "Authorization",
            "Basic " + base64.b64encode(b"bot:pw-0123456789").decode(),
            "",
        ),
        (
            {"scheme": "header", "header": "X-Api-Token", "value": "hdr-0123456789"},
            "X-Api-Token",
            "hdr-0123456789",
            "",
        ),
        (
            {"scheme": "query", "param": "access_token", "value": "qry-0123456789"},
            None,
            None,
            "?access_token=qry-0123456789",
        ),
    ],
)
async def test_auth_schemes_arrive(
    tmp_path: Path, auth: dict[str, str], header: str | None, value: str | None, query: str
) -> None:
    with http_double(github_api) as double:
        async with deps_for(tmp_path, github(double.url, **auth)) as deps:
            await run(deps, {**CREATE, "org": "acme", "name": "site", "private": True})
    [seen] = double.requests
    assert seen.path == f"/orgs/acme/repos{query}"
    if header is not None:
        assert seen.headers[header] == value


async def test_failures_are_classified_and_never_show_the_token(tmp_path: Path) -> None:
    with http_double(lambda r: (401, {"message": "Bad credentials", "got": r.headers})) as double:
        async with deps_for(tmp_path, github(double.url)) as deps:
            failure = await fail(deps, {**CREATE, "org": "acme", "name": "site", "private": True})
    assert (failure.error_type, failure.retryable) == ("unauthorized", False)
    assert TOKEN not in failure.message
    assert "github answered 401" in failure.message
    with http_double(lambda _r: (502, {"message": "bad gateway"})) as double:
        async with deps_for(tmp_path, github(double.url)) as deps:
            failure = await fail(deps, {**CREATE, "org": "acme", "name": "site", "private": True})
    assert (failure.error_type, failure.retryable) == ("server_error", True)


async def test_an_answer_outside_the_action_expect_list_fails(tmp_path: Path) -> None:
    with http_double(lambda _r: (200, REPO)) as double:
        async with deps_for(tmp_path, github(double.url)) as deps:
            failure = await fail(deps, {**CREATE, "org": "acme", "name": "site", "private": True})
    assert (failure.error_type, failure.retryable) == ("unexpected_status", False)


@pytest.mark.parametrize("base_url", ["http://169.254.169.254", "http://10.0.0.7:8080/api", "file:///etc"])
async def test_the_base_url_goes_through_the_ssrf_guard(tmp_path: Path, base_url: str) -> None:
    async with deps_for(tmp_path, github(base_url)) as deps:
        failure = await fail(deps, {**CREATE, "org": "acme", "name": "site", "private": True})
    assert (failure.error_type, failure.retryable) == ("forbidden_address", False)


async def test_a_loopback_connector_needs_the_allow_list(tmp_path: Path) -> None:
    with http_double(github_api) as double:
        async with deps_for(tmp_path, github(double.url), allowed=[]) as deps:
            failure = await fail(deps, {**CREATE, "org": "acme", "name": "site", "private": True})
    assert failure.error_type == "forbidden_address"
    assert double.requests == []


@pytest.mark.parametrize(
    ("connector", "error_type"),
    [
        ({"actions": {}}, "invalid_connection"),
        ({"base_url": "http://127.0.0.1:9", "actions": "create_repo"}, "invalid_connection"),
        ({**github("http://127.0.0.1:9"), "auth": {"scheme": "kerberos"}}, "invalid_connection"),
        ({**github("http://127.0.0.1:9"), "auth": {"scheme": "bearer"}}, "invalid_connection"),
    ],
)
async def test_a_broken_connector_is_reported(
    tmp_path: Path, connector: dict[str, Any], error_type: str
) -> None:
    async with deps_for(tmp_path, connector) as deps:
        failure = await fail(deps, {**CREATE, "org": "acme", "name": "site", "private": True})
    assert (failure.error_type, failure.retryable) == (error_type, False)


@pytest.mark.parametrize(
    "config", [{"service": "github"}, {"action": "create_repo"}, {**CREATE, "params": [1]}]
)
async def test_service_action_and_params_are_checked(tmp_path: Path, config: dict[str, Any]) -> None:
    async with deps_for(tmp_path, github("http://127.0.0.1:9")) as deps:
        failure = await fail(deps, config)
    assert failure.error_type == "invalid_config"


async def test_a_connector_may_turn_the_idempotency_header_off(tmp_path: Path) -> None:
    with http_double(github_api) as double:
        async with deps_for(tmp_path, {**github(double.url), "idempotency_header": None}) as deps:
            await run(deps, {**CREATE, "org": "acme", "name": "site", "private": True})
    assert "Idempotency-Key" not in double.requests[0].headers
