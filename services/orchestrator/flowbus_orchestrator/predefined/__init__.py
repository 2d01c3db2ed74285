"""The monolith's five predefined workflows, as data, repaired where they were broken."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import yaml

from flowbus_orchestrator.domain.definitions import WorkflowDefinition
from flowbus_orchestrator.domain.validation import parse_definition

HERE = Path(__file__).parent


@cache
def predefined_workflows() -> tuple[WorkflowDefinition, ...]:
    return tuple(parse_definition(yaml.safe_load(path.read_text())) for path in sorted(HERE.glob("*.yaml")))
