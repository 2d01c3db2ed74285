"""The connections commands as a user runs them: secrets in on stdin, never out."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path

FLOWBUS = str(Path(sys.executable).with_name("flowbus"))
KEY = "k1:" + base64.b64encode(b"k" * 32).decode()
SECRET = "xoxb-never-print-me"


def run(args: list[str], env: dict[str, str], stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [FLOWBUS, "connections", *args],
        input=stdin,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_put_list_rotate_delete(tmp_path: Path) -> None:
    env = {
        "PATH": "/usr/bin:/bin",
        "FLOWBUS_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}",
        "FLOWBUS_MASTER_KEYS": KEY,
    }
    put = run(
        ["put", "slack", "--service", "slack", "--tenant", "acme"], env, json.dumps({"bot_token": SECRET})
    )
    assert put.returncode == 0, put.stderr
    assert "fingerprint" in put.stdout
    listed = run(["list", "--tenant", "acme"], env)
    assert listed.stdout.startswith("slack\tslack\t")
    new_key = "k2:" + base64.b64encode(b"n" * 32).decode()
    rotated = run(["rotate"], {**env, "FLOWBUS_MASTER_KEYS": f"{new_key},{KEY}"})
    assert "re-sealed 1 connection" in rotated.stdout
    assert "key k2" in run(["list", "--tenant", "acme"], {**env, "FLOWBUS_MASTER_KEYS": new_key}).stdout
    assert run(["delete", "slack", "--tenant", "acme"], env).returncode == 0
    missing = run(["delete", "slack", "--tenant", "acme"], env)
    assert missing.returncode == 1
    assert "no connection 'slack'" in missing.stderr
    for result in (put, listed, rotated):
        assert SECRET not in result.stdout + result.stderr


def test_bad_input_is_refused_with_a_reason(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "FLOWBUS_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"}
    not_json = run(["put", "x", "--service", "slack"], {**env, "FLOWBUS_MASTER_KEYS": KEY}, "token=abc")
    assert (not_json.returncode, "not JSON" in not_json.stderr) == (2, True)
    no_key = run(["put", "x", "--service", "slack"], env, json.dumps({"token": SECRET}))
    assert no_key.returncode == 1
    assert "FLOWBUS_MASTER_KEYS" in no_key.stderr
    assert SECRET not in no_key.stderr
