"""The services the CLI can run, by name (imported lazily: a pod loads only its own)."""

from __future__ import annotations

import importlib
from typing import cast

from flowbus_shared.runtime import ServiceFactory

SERVICE_MODULES: dict[str, str] = {
    "orchestrator": "flowbus_orchestrator.app",
    "executor": "flowbus_executor.app",
    "governance": "flowbus_governance.app",
    "llm-gateway": "flowbus_llm_gateway.app",
}


def factory(name: str) -> ServiceFactory:
    module = importlib.import_module(SERVICE_MODULES[name])
    return cast(ServiceFactory, module.create_service)
