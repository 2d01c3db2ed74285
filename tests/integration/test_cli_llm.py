"""`flowbus llm ...` and `flowbus apikeys ...` as a user runs them: keys in on stdin and
never printed back, budgets and usage per tenant, API keys shown once."""

from __future__ import annotations

import asyncio
import base64
import json
import subprocess
import sys
from pathlib import Path

from flowbus_shared.auth import ApiKeys
from flowbus_shared.store import open_store

FLOWBUS = str(Path(sys.executable).with_name("flowbus"))
KEY = "k1:" + base64.b64encode(b"k" * 32).decode()
SECRET = "sk-proj-never-print-me"


def run(args: list[str], db: Path, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": "/usr/bin:/bin",
        "FLOWBUS_DATABASE_URL": f"sqlite+aiosqlite:///{db}",
        "FLOWBUS_MASTER_KEYS": KEY,
    }
    return subprocess.run(
        [FLOWBUS, *args], input=stdin, env=env, capture_output=True, text=True, timeout=60, check=False
    )


def test_provider_keys_budgets_and_usage(tmp_path: Path) -> None:
    db = tmp_path / "cli.db"
    put = run(["llm", "keys", "put", "openai", "--tenant", "acme"], db, SECRET + "\n")
    assert put.returncode == 0, put.stderr
    assert "fingerprint" in put.stdout
    local = run(
        ["llm", "keys", "put", "ollama", "--tenant", "acme", "--base-url", "http://127.0.0.1:11434/v1"], db
    )
    assert local.returncode == 0, local.stderr
    listed = run(["llm", "keys", "list", "--tenant", "acme", "-o", "json"], db)
    assert [row["provider"] for row in json.loads(listed.stdout)] == ["ollama", "openai"]
    assert run(["llm", "keys", "list", "--tenant", "globex"], db).stdout == ""
    budget = run(["llm", "budget", "set", "25.50", "--tenant", "acme"], db)
    assert budget.returncode == 0, budget.stderr
    agent = run(
        ["llm", "budget", "set", "5", "--tenant", "acme", "--agent", "helper", "--period", "total"], db
    )
    assert agent.returncode == 0, agent.stderr
    shown = json.loads(run(["llm", "budget", "show", "--tenant", "acme", "-o", "json"], db).stdout)
    assert [(row["agent"], row["limit_usd"], row["period"]) for row in shown] == [
        ("(tenant)", "25.50000000", "month"),
        ("helper", "5.00000000", "total"),
    ]
    usage = run(["llm", "usage", "--tenant", "acme", "--group-by", "model"], db)
    assert (usage.returncode, usage.stdout) == (0, "")
    assert run(["llm", "keys", "delete", "openai", "--tenant", "acme"], db).returncode == 0
    for result in (put, local, listed, budget, usage):
        assert SECRET not in result.stdout + result.stderr


def test_bad_input_gets_a_reason_and_a_non_zero_exit(tmp_path: Path) -> None:
    db = tmp_path / "cli.db"
    empty = run(["llm", "keys", "put", "openai"], db, "")
    assert empty.returncode == 2
    assert "standard input" in empty.stderr
    amount = run(["llm", "budget", "set", "lots"], db)
    assert amount.returncode == 2
    assert "not an amount" in amount.stderr
    period = run(["llm", "budget", "set", "5", "--period", "week"], db)
    assert period.returncode == 1
    assert "period" in period.stderr
    group = run(["llm", "usage", "--group-by", "colour"], db)
    assert group.returncode == 1
    assert "group_by" in group.stderr
    missing = run(["llm", "keys", "delete", "anthropic"], db)
    assert missing.returncode == 1
    assert "no anthropic key" in missing.stderr
    role = run(["apikeys", "create", "--role", "root"], db)
    assert role.returncode == 2
    assert "role" in role.stderr


def test_an_api_key_is_shown_once_works_and_can_be_revoked(tmp_path: Path) -> None:
    db = tmp_path / "cli.db"
    created = run(["apikeys", "create", "--tenant", "acme", "--role", "admin", "--name", "ci"], db)
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip()
    assert token.startswith("fbk_")
    assert "not shown again" in created.stderr

    async def principal() -> object:
        store = await open_store(f"sqlite+aiosqlite:///{db}")
        try:
            return await ApiKeys(store.engine, cache_seconds=0).authenticate(token)
        finally:
            await store.close()

    found = asyncio.run(principal())
    assert getattr(found, "tenant_id", None) == "acme"
    listed = run(["apikeys", "list", "--tenant", "acme"], db).stdout
    key_id = token.split("_")[1]
    assert listed.startswith(f"{key_id}\tadmin\tactive\tci")
    assert token.split("_", 2)[2] not in listed
    assert run(["apikeys", "revoke", key_id, "--tenant", "acme"], db).returncode == 0
    assert asyncio.run(principal()) is None
    assert "revoked" in run(["apikeys", "list", "--tenant", "acme"], db).stdout
