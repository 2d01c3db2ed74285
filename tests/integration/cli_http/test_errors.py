"""What goes wrong is said clearly on stderr, with the documented exit code and nothing on
stdout: a missing execution (1), keys refused or too weak (1), an orchestrator nobody
answers at (4), and bad input caught before any request is made (2)."""

from __future__ import annotations

from pathlib import Path

from flowbus_shared.settings import FlowbusSettings
from tests.integration.cli_http.conftest import cli_system, closed_port, run_flowbus
from tests.support.system import TestSteps


async def test_refusals_name_the_problem_and_exit_1(
    sqlite_settings: FlowbusSettings, topic_prefix: str
) -> None:
    async with cli_system(sqlite_settings, TestSteps(), [], tenant=f"cli-{topic_prefix}") as cli:
        missing = await cli("executions", "show", "nope", "-o", "json", who="viewer")
        assert (missing.code, missing.stdout, missing.stderr.strip()) == (1, "", "error: no execution 'nope'")
        no_workflow = await cli("run", "ghost", who="operator")
        assert (no_workflow.code, "no workflow 'ghost'" in no_workflow.stderr) == (1, True)

        forged = "fbk_forged_0123456789abcdef"
        refused = await cli("workflows", "list", FLOWBUS_API_KEY=forged)
        assert refused.code == 1
        assert "refused the API key" in refused.stderr
        assert "FLOWBUS_API_KEY" in refused.stderr
        assert forged not in refused.stderr + refused.stdout
        anonymous = await cli("workflows", "list", FLOWBUS_API_KEY="")
        assert (anonymous.code, "no API key: set FLOWBUS_API_KEY" in anonymous.stderr) == (1, True)

        too_weak = await cli("workflows", "apply", "-", who="viewer", stdin='{"id": "x"}')
        assert too_weak.code == 1
        assert "this needs the admin role; the key has viewer" in too_weak.stderr
        assert "flowbus apikeys create --role" in too_weak.stderr

        # Options win over the environment (which here points nowhere).
        nowhere = f"http://127.0.0.1:{closed_port()}"
        by_option = await cli(
            "workflows",
            "list",
            "-o",
            "json",
            "--api-url",
            cli.url,
            "--api-key",
            cli.tokens["viewer"],
            FLOWBUS_API_URL=nowhere,
            FLOWBUS_API_KEY="",
        )
        assert by_option.code == 0, by_option.stderr
        assert isinstance(by_option.json(), list)


async def test_an_unreachable_orchestrator_exits_4_naming_the_url() -> None:
    nowhere = f"http://127.0.0.1:{closed_port()}"
    env = {"PATH": "/usr/bin:/bin", "FLOWBUS_API_URL": nowhere, "FLOWBUS_API_KEY": "fbk_x_y"}
    down = await run_flowbus(["executions", "list", "-o", "json"], env)
    assert (down.code, down.stdout) == (4, "")
    assert f"cannot reach the orchestrator at {nowhere}" in down.stderr
    assert "fbk_x_y" not in down.stderr


async def test_bad_input_exits_2_before_any_request(tmp_path: Path) -> None:
    # The API URL answers nobody: a request would end in exit code 4, not 2.
    env = {"PATH": "/usr/bin:/bin", "FLOWBUS_API_URL": f"http://127.0.0.1:{closed_port()}"}
    not_json = await run_flowbus(["run", "greeter", "--input", "{name: Ada}"], env)
    assert (not_json.code, not_json.stdout) == (2, "")
    assert "--input is not JSON" in not_json.stderr
    not_object = await run_flowbus(["run", "greeter", "--input", "[1, 2]"], env)
    assert (not_object.code, "must be a JSON object" in not_object.stderr) == (2, True)
    bad_set = await run_flowbus(["executions", "fork", "e1", "--step", "s", "--set", "tier=gold"], env)
    assert (bad_set.code, "tier='\"gold\"'" in bad_set.stderr) == (2, True)
    no_equals = await run_flowbus(["executions", "fork", "e1", "--step", "s", "--set", "tier"], env)
    assert (no_equals.code, "expected NAME=JSON" in no_equals.stderr) == (2, True)
    garbled = tmp_path / "garbled.yaml"
    garbled.write_text("id: [unclosed\nsteps: {")
    unreadable = await run_flowbus(["workflows", "apply", str(garbled)], env)
    assert (unreadable.code, "neither JSON nor YAML" in unreadable.stderr) == (2, True)
    absent = await run_flowbus(["workflows", "validate", str(tmp_path / "absent.yaml")], env)
    assert (absent.code, "No such file" in absent.stderr) == (2, True)
    unknown_format = await run_flowbus(["executions", "list", "-o", "xml"], env)
    assert unknown_format.code == 2  # typer's own usage error
