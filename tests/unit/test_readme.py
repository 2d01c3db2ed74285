"""The README documents every setting, and its two set-up commands exist."""

from __future__ import annotations

import re
from pathlib import Path

from flowbus_cli.settings import CliSettings
from flowbus_executor.settings import ExecutorSettings
from flowbus_governance.settings import GovernanceSettings
from flowbus_llm_gateway.settings import GatewaySettings
from flowbus_orchestrator.settings import OrchestratorSettings
from flowbus_shared.http.settings import HttpSettings
from flowbus_shared.identity.settings import IdentitySettings
from flowbus_shared.settings import FlowbusSettings

ROOT = Path(__file__).resolve().parents[2]


def test_every_setting_is_documented() -> None:
    readme = (ROOT / "README.md").read_text()
    fields = [
        *FlowbusSettings.model_fields,
        *ExecutorSettings.model_fields,
        *GatewaySettings.model_fields,
        *GovernanceSettings.model_fields,
        *HttpSettings.model_fields,
        *IdentitySettings.model_fields,
        *OrchestratorSettings.model_fields,
        *CliSettings.model_fields,
    ]
    missing = [name for name in fields if f"`FLOWBUS_{name.upper()}`" not in readme]
    assert missing == []


def test_the_two_commands_are_make_targets() -> None:
    makefile = (ROOT / "Makefile").read_text()
    for target in ("demo", "test"):
        assert re.search(rf"^{target}:", makefile, re.M), target
    assert "make test" in (ROOT / ".ci" / "run").read_text()
